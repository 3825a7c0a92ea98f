import Foundation
import TestSupport
import Testing

@testable import Core
@testable import State
@testable import Stream

/// How `conduit-state commit` judges a stream against the records its extract leaves (SPEC
/// section 5: confirmation is exact): `StreamEnd.judge` over `EndConfirmation` records written
/// and read through a real state file and run lock in a temporary folder, and `StartRule` over
/// the start records.
@Suite struct StreamEndJudgeTests {
    static let resource = "sync_events"

    /// A state file in a fresh folder, and the confirmation records of the test resource beside it.
    struct Fixture {
        let folder: Sandbox
        let state: StateFile
        let confirmation: EndConfirmation

        init() throws {
            folder = try Sandbox()
            state = StateFile(path: folder.path(".conduit_state.json"))
            confirmation = EndConfirmation(state: state, resource: StreamEndJudgeTests.resource)
        }

        /// conduit-extract's end for `run`, having written `bytes`.
        func extractEnds(run: RunLock, bytes: String, lastValue: StateValue?, extract: String = "e1") throws {
            var digest = StreamDigest()
            digest.update(Array(bytes.utf8))
            let rows = bytes.split(separator: "\n").count
            try confirmation.confirmEnd(run: run.run.id, extract: extract, rows: rows, digest: digest, lastValue: lastValue)
        }

        /// What the commit received, as the judgement sees it.
        func received(_ bytes: String, maximum: StateValue?, maximumLine: Int = 1) -> StreamEnd.Received {
            var digest = StreamDigest()
            digest.update(Array(bytes.utf8))
            return StreamEnd.Received(
                rows: bytes.split(separator: "\n").count, bytes: digest.byteCount, hash: digest.hexValue, maximum: maximum,
                maximumLine: maximumLine, sawBigInteger: false)
        }

        func judge(run: RunLock, _ received: StreamEnd.Received) -> StreamEnd {
            StreamEnd.judge(
                confirmation.records(for: run.run.id).ends, received: received, resource: StreamEndJudgeTests.resource)
        }
    }

    static let written = "{\"id\":1}\n{\"id\":2}\n{\"id\":2}\n{\"id\":3}\n"

    /// The phrase of an unconfirmed end, or nil for any other judgement.
    static func unconfirmedReason(_ end: StreamEnd) -> String? {
        guard case .unconfirmed(let reason, let status) = end else { return nil }
        // Unconfirmed is not a failure of this run: the complete groups still commit.
        #expect(status == .success)
        return reason
    }

    /// Guards that an extract that wrote no end record (failed, stopped, cut off) leaves the end unconfirmed.
    @Test func noRecordIsUnconfirmed() throws {
        let fixture = try Fixture()
        let lock = try fixture.state.acquireRunLock(for: Self.resource)
        let reason = try #require(
            Self.unconfirmedReason(fixture.judge(run: lock, fixture.received(Self.written, maximum: .number("3")))))
        #expect(reason.contains("the stream ended early"), "\(reason)")
    }

    /// Guards that an end record of exactly the bytes received confirms the end, and that the record reads back whole.
    @Test(arguments: [StateValue.number("9007199254740993"), .string("2024-05-01T12:00:00.123456Z")])
    func identicalBytesConfirm(lastValue: StateValue) throws {
        let fixture = try Fixture()
        let lock = try fixture.state.acquireRunLock(for: Self.resource)
        try fixture.extractEnds(run: lock, bytes: Self.written, lastValue: lastValue)
        let ends = fixture.confirmation.records(for: lock.run.id).ends
        #expect(ends.count == 1)
        #expect(ends.first?.rows == 4)
        #expect(ends.first?.bytes == Self.written.utf8.count)
        #expect(ends.first?.lastValue == lastValue)
        #expect(ends.first?.pid == Int(getpid()))
        #expect(fixture.judge(run: lock, fixture.received(Self.written, maximum: lastValue)) == .confirmed)
    }

    /// One way what arrived can differ from what the extract wrote, and the words that must say so.
    struct Modification: Sendable, CustomTestStringConvertible {
        var received: String
        var says: String
        var testDescription: String { says }
    }

    /// Guards that any other bytes are "modified in between", never confirmed, and the message
    /// says what happened: rows removed, added, or rewritten in place (the same count).
    @Test(arguments: [
        Modification(received: "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n", says: "removed 1 row"),
        Modification(received: "{\"id\":1}\n{\"id\":2}\n{\"id\":2}\n{\"id\":2}\n{\"id\":3}\n", says: "added 1 row"),
        Modification(received: "{\"id\":1}\n{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n", says: "rewrote, reordered or swapped rows"),
        Modification(received: "{\"id\":1}\n{\"id\":2}\n{\"id\":2}\n{\"id\":3} \n", says: "rewrote, reordered or swapped rows"),
        Modification(received: "{\"id\":1}\n{\"id\":2}\n{\"id\":2}\n", says: "removed 1 row"),
        Modification(received: "{\"id\":1}\n{\"id\":2}\n", says: "removed 2 rows"),
    ])
    func otherBytesAreModified(_ modification: Modification) throws {
        let fixture = try Fixture()
        let lock = try fixture.state.acquireRunLock(for: Self.resource)
        try fixture.extractEnds(run: lock, bytes: Self.written, lastValue: .number("3"))
        let reason = try #require(
            Self.unconfirmedReason(fixture.judge(run: lock, fixture.received(modification.received, maximum: .number("3")))))
        #expect(reason.contains("the stream was modified between conduit-extract and this commit"), "\(reason)")
        #expect(reason.contains(modification.says), "\(reason)")
        #expect(!reason.contains("1 rows"), "\(reason)")
    }

    /// Guards that two extracts' records for the run (a second pipeline beside the first) still
    /// confirm the stream whose bytes one of them wrote, and name both pids when neither did.
    @Test func twoExtractsConfirmOnlyTheirOwnBytes() throws {
        let fixture = try Fixture()
        let lock = try fixture.state.acquireRunLock(for: Self.resource)
        try fixture.extractEnds(run: lock, bytes: Self.written, lastValue: .number("3"), extract: "a")
        try fixture.extractEnds(run: lock, bytes: "{\"id\":1}\n", lastValue: .number("1"), extract: "b")
        #expect(fixture.judge(run: lock, fixture.received(Self.written, maximum: .number("3"))) == .confirmed)
        let reason = try #require(
            Self.unconfirmedReason(fixture.judge(run: lock, fixture.received("{\"id\":2}\n", maximum: .number("2")))))
        #expect(reason.contains("2 runs of conduit-extract (pids \(getpid()), \(getpid()))"), "\(reason)")
    }

    /// Guards that a stream whose greatest value is above the extract's last value (a stage
    /// rewrote the column) voids the run with 65, naming the line; at or below it, nothing is said.
    @Test func valuesAboveTheExtractsAreRewritten() throws {
        let fixture = try Fixture()
        let lock = try fixture.state.acquireRunLock(for: Self.resource)
        try fixture.extractEnds(run: lock, bytes: Self.written, lastValue: .number("3"))
        let ends = fixture.confirmation.records(for: lock.run.id).ends
        let rewritten = StreamEnd.rewritten(
            ends, received: fixture.received("{\"id\":1003}\n", maximum: .number("1003"), maximumLine: 4), column: "id")
        guard case .void(let reason, let status)? = rewritten else {
            Issue.record("expected a void run, got \(String(describing: rewritten))")
            return
        }
        #expect(status == .dataError)
        #expect(reason.hasPrefix("line 4: \"id\" is 1003, above 3, the last value conduit-extract wrote"), "\(reason)")
        #expect(StreamEnd.rewritten(ends, received: fixture.received("{\"id\":3}\n", maximum: .number("3")), column: "id") == nil)
        #expect(StreamEnd.rewritten(ends, received: fixture.received("{\"id\":2}\n", maximum: .number("2")), column: "id") == nil)
        // Timestamps compare by instant: the same instant written with an offset is not above.
        #expect(
            StreamEnd.rewritten(
                [
                    EndConfirmation.End(
                        extract: "x", pid: 1, rows: 1, bytes: 1, hash: "0", lastValue: .string("2024-05-01T12:00:00Z"))
                ],
                received: fixture.received("{}\n", maximum: .string("2024-05-01T14:00:00+02:00")), column: "t") == nil)
    }

    /// Guards --from after every stage finished: identical bytes confirm; as many rows in other
    /// bytes are the filters' own output (filtered, all commits); fewer or more rows leave the
    /// last group unconfirmed (a filter that selects cannot be told from `head`).
    @Test func finishedFilters() throws {
        let fixture = try Fixture()
        let lock = try fixture.state.acquireRunLock(for: Self.resource)
        try fixture.extractEnds(run: lock, bytes: Self.written, lastValue: .number("3"))
        let ends = fixture.confirmation.records(for: lock.run.id).ends
        #expect(
            StreamEnd.judgeFinished(
                ends, received: fixture.received(Self.written, maximum: .number("3")), resource: Self.resource) == .confirmed)
        let rewritten = Self.written.replacingOccurrences(of: "id", with: "ID")
        #expect(
            StreamEnd.judgeFinished(ends, received: fixture.received(rewritten, maximum: .number("3")), resource: Self.resource)
                == .filtered(through: .number("3")))
        let selected = StreamEnd.judgeFinished(
            ends, received: fixture.received("{\"id\":1}\n", maximum: .number("1")), resource: Self.resource)
        let reason = try #require(Self.unconfirmedReason(selected))
        #expect(
            reason.contains("its filters changed the number of rows (conduit-extract wrote 4 rows and 1 arrived)"), "\(reason)")
    }

    /// Guards that records of another run (an earlier run's extract) are ignored.
    @Test func recordOfAnotherRunIsIgnored() throws {
        let fixture = try Fixture()
        /// An earlier run: its lock is released when this returns.
        func earlierRunLeavesRecords() throws -> String {
            let earlier = try fixture.state.acquireRunLock(for: Self.resource)
            try fixture.extractEnds(run: earlier, bytes: Self.written, lastValue: .number("3"))
            return earlier.run.id
        }
        let earlierRun = try earlierRunLeavesRecords()
        let lock = try fixture.state.acquireRunLock(for: Self.resource)
        try #require(lock.run.id != earlierRun)
        #expect(fixture.confirmation.records(for: earlierRun).ends.count == 1)
        #expect(Self.unconfirmedReason(fixture.judge(run: lock, fixture.received(Self.written, maximum: .number("3")))) != nil)
    }

    /// Guards that lines in the records file that are not records (garbage, missing fields, the
    /// old format, another run's id) neither confirm nor spoil this run's one record.
    @Test func malformedLinesAreNotRecords() throws {
        let fixture = try Fixture()
        let lock = try fixture.state.acquireRunLock(for: Self.resource)
        let id = lock.run.id
        let junk =
            "not json\n{\"run\":\"\(id)\",\"pid\":1}\n{\"run\":\"\(id)\",\"rows\":4,\"last_value\":3}\n"
            + "{\"run\":\"\(id)\",\"extract\":\"e\",\"pid\":1,\"event\":\"end\",\"rows\":\"4\",\"bytes\":36,\"hash\":\"0\"}\n"
            + "{\"run\":\"\(id)\",\"extract\":\"e\",\"pid\":1,\"event\":\"start\",\"state\":\"/x\"}\n"
            + "[\"\(id)\"]\n{\"run\":\"x\(id)\",\"extract\":\"e\",\"pid\":1,\"event\":\"end\",\"rows\":4,\"bytes\":36,\"hash\":\"0\"}\n"
        try Data(junk.utf8).write(to: URL(fileURLWithPath: fixture.state.path + "." + Self.resource + ".run.ends"))
        let records = fixture.confirmation.records(for: id)
        #expect(records.starts.isEmpty && records.ends.isEmpty)
        try fixture.extractEnds(run: lock, bytes: Self.written, lastValue: .number("3"))
        #expect(fixture.judge(run: lock, fixture.received(Self.written, maximum: .number("3"))) == .confirmed)
    }

    /// Guards that an extract finds no run when no commit holds the run lock, and that `clear` removes the records.
    @Test func noRunInProgressAndClear() throws {
        let fixture = try Fixture()
        #expect(fixture.confirmation.awaitRun(wait: 0, resource: Self.resource) == nil)
        let lock = try fixture.state.acquireRunLock(for: Self.resource)
        #expect(fixture.confirmation.awaitRun(wait: 0, resource: Self.resource) == lock.run.id)
        try fixture.extractEnds(run: lock, bytes: Self.written, lastValue: .number("3"))
        fixture.confirmation.clear()
        #expect(fixture.confirmation.records(for: lock.run.id).ends.isEmpty)
    }

    // MARK: - Where a stream may start

    func rule(
        committed: StateValue?, checkpoint: StateValue? = nil, initialValue: StateValue? = nil, fixture: Fixture
    ) -> StartRule {
        StartRule(
            resource: Self.resource, committed: committed, checkpoint: checkpoint, initialValue: initialValue,
            stateIdentity: fixture.confirmation.stateIdentity, fingerprint: "f")
    }

    /// The start records of one extract that started from `value`.
    func starts(
        from value: StateValue?, fixture: Fixture, origin: String = "--last-value", kind: String = "last_value",
        read: StateValue? = nil
    ) throws -> [EndConfirmation.Start] {
        let lock = try fixture.state.acquireRunLock(for: Self.resource)
        try fixture.confirmation.announceStart(
            run: lock.run.id, extract: "e", startedFrom: value, origin: origin, originKind: kind, read: read, resource: "f")
        return fixture.confirmation.records(for: lock.run.id).starts
    }

    /// Guards that a given start (`--last-value`) at the committed value is accepted, one below
    /// it accepted with a warning that rows load again, and one above it refused with 65, naming
    /// both values and the `conduit-state set` that skips on purpose.
    @Test func startAboveTheCommittedValueIsRefused() throws {
        let fixture = try Fixture()
        let recorded = try starts(from: .number("6"), fixture: fixture)
        #expect(recorded.first?.state == fixture.confirmation.stateIdentity)
        #expect(recorded.first?.origin == "--last-value")
        #expect(try rule(committed: .number("6"), fixture: fixture).check(recorded, atLine: 1).isEmpty)
        let below = try rule(committed: .number("7"), fixture: fixture).check(recorded, atLine: 1)
        #expect(
            below.first?.contains("started from 6 (--last-value), below the committed value 7: rows between them load again")
                == true, "\(below)")
        let error = #expect(throws: ConduitError.self) {
            try rule(committed: .number("2"), fixture: fixture).check(recorded, atLine: 1)
        }
        #expect(error?.kind == .badInput)
        #expect(
            error?.message.contains(
                "line 1: conduit-extract (pid \(getpid())) started from 6 (--last-value) but the committed value of \(Self.resource) is 2"
            ) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("conduit-state set \(Self.resource) 6") == true)
    }

    /// Guards a start read from the state: it must be exactly this run's own value (the
    /// committed one, or a checkpoint ahead of it), even below it after lookback; any other read
    /// means another run committed in between, a 75 that loads nothing.
    @Test func startReadFromTheStateMustBeThisRunsOwn() throws {
        let fixture = try Fixture()
        let fromCheckpoint = try starts(
            from: .number("9"), fixture: fixture, origin: "the checkpoint", kind: "checkpoint", read: .number("9"))
        #expect(
            try rule(committed: .number("2"), checkpoint: .number("9"), fixture: fixture).check(fromCheckpoint, atLine: 1).isEmpty
        )
        let raced = #expect(throws: ConduitError.self) {
            try rule(committed: .number("2"), checkpoint: .number("8"), fixture: fixture).check(fromCheckpoint, atLine: 1)
        }
        #expect(raced?.kind == .busy)
        #expect(
            raced?.message.contains(
                "read 9 for \(Self.resource) but the checkpoint of the interrupted run is now 8: another run committed between the two reads"
            ) == true, "\(raced?.message ?? "")")
        let lookback = try Fixture()
        let lowered = try starts(
            from: .number("3"), fixture: lookback, origin: "the state file", kind: "state", read: .number("5"))
        #expect(try rule(committed: .number("5"), fixture: lookback).check(lowered, atLine: 1).isEmpty)
        #expect(throws: ConduitError.self) { try rule(committed: .number("4"), fixture: lookback).check(lowered, atLine: 1) }
    }

    /// Guards the first run: the default start (nil) always passes; a given start passes
    /// only at or below initial_value, or 0 without one.
    @Test func firstRunStarts() throws {
        let fixture = try Fixture()
        #expect(
            try rule(committed: nil, fixture: fixture).check(
                try starts(from: nil, fixture: fixture, kind: "first_run"), atLine: 1
            ).isEmpty)
        let fresh = try Fixture()
        let fromFive = try starts(from: .number("5"), fixture: fresh)
        #expect(throws: ConduitError.self) { try rule(committed: nil, fixture: fresh).check(fromFive, atLine: 1) }
        #expect(try rule(committed: nil, initialValue: .number("5"), fixture: fresh).check(fromFive, atLine: 1).isEmpty)
    }

    /// Guards that a stream with no start record (an extract of another state file, or no
    /// extract at all) is refused, and that one of another kind of value is refused naming both kinds.
    @Test func missingOrMismatchedStartIsRefused() throws {
        let fixture = try Fixture()
        let missing = #expect(throws: ConduitError.self) {
            try rule(committed: .number("2"), fixture: fixture).check([], atLine: 1)
        }
        #expect(missing?.message.contains("no conduit-extract of \(Self.resource) reading this state file") == true)
        #expect(missing?.message.contains("--external") == true)
        let text = try starts(from: .string("abc"), fixture: fixture)
        var otherResource = text
        otherResource[0].resource = "another"
        let resource = #expect(throws: ConduitError.self) {
            try rule(committed: .number("2"), fixture: fixture).check(otherResource, atLine: 1)
        }
        #expect(resource?.message.contains("as another configuration defines it") == true)
        let kinds = #expect(throws: ConduitError.self) {
            try rule(committed: .number("2"), fixture: fixture).check(text, atLine: 1)
        }
        #expect(kinds?.message.contains("the string abc") == true, "\(kinds?.message ?? "")")
        var foreign = text
        foreign[0].state = "/elsewhere/.conduit_state.json"
        foreign[0].startedFrom = .number("1")
        let other = #expect(throws: ConduitError.self) {
            try rule(committed: .number("2"), fixture: fixture).check(foreign, atLine: 1)
        }
        #expect(other?.message.contains("read the state file /elsewhere/.conduit_state.json") == true)
    }
}
