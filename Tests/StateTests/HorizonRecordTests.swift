import TestSupport
import Testing

@testable import Core
@testable import State

/// The note `conduit-extract` keeps of what the safe horizon held back, which `conduit-state show`
/// and `--dry-run` print.
@Suite struct HorizonRecordTests {
    /// What is written reads back the same, and the sentence says rows, value and blocker.
    @Test func roundTrip() throws {
        let folder = try Sandbox()
        let state = StateFile(path: folder.path(".conduit_state.json"))
        let record = HorizonRecord(
            at: "2026-01-02T03:04:05Z", heldRows: 3, heldFrom: .number("12"),
            blocker: "the transaction of pid 42 (role app, idle in transaction), open 9.5 s", pid: 42, ageSeconds: 9.5)
        try record.write(state: state, resource: "users")
        #expect(FileIO.exists(folder.path(".conduit_state.json.users.horizon")))
        #expect(HorizonRecord.read(state: state, resource: "users") == record)
        #expect(
            record.sentence
                == "the last extract (2026-01-02T03:04:05Z) held back 3 rows from 12: the transaction of pid 42 (role app, idle in transaction), open 9.5 s; they load in a run after it ends"
        )
    }

    /// A run that held nothing replaces one that held rows; a second such run writes nothing.
    @Test func nothingHeldAfterNothingHeldWritesNothing() throws {
        let folder = try Sandbox()
        let state = StateFile(path: folder.path("s.json"))
        let held = HorizonRecord(
            at: "2026-01-01T00:00:00Z", heldRows: 1, heldFrom: .string("2026-01-01T00:00:00Z"), blocker: nil, pid: nil,
            ageSeconds: nil)
        try held.write(state: state, resource: "r")
        let none = HorizonRecord(at: "2026-01-01T00:01:00Z", heldRows: 0, heldFrom: nil, blocker: nil, pid: nil, ageSeconds: nil)
        try none.write(state: state, resource: "r")
        #expect(HorizonRecord.read(state: state, resource: "r") == none)
        let later = HorizonRecord(at: "2026-01-01T00:02:00Z", heldRows: 0, heldFrom: nil, blocker: nil, pid: nil, ageSeconds: nil)
        try later.write(state: state, resource: "r")
        #expect(HorizonRecord.read(state: state, resource: "r")?.at == "2026-01-01T00:01:00Z")
    }

    /// A missing or unreadable note is no note (it is never state).
    @Test func unreadableIsNone() throws {
        let folder = try Sandbox()
        let state = StateFile(path: folder.path("s.json"))
        #expect(HorizonRecord.read(state: state, resource: "r") == nil)
        try folder.write("{not json", to: "s.json.r.horizon")
        #expect(HorizonRecord.read(state: state, resource: "r") == nil)
    }
}
