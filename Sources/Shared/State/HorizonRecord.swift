package import Core
import Stream

/// What the safe horizon held back in the latest extract of a resource (docs/INCREMENTAL.md,
/// "Rows that commit late"): written by `conduit-extract` to the state's backend (for the file,
/// `<state file>.<resource>.horizon`), shown by `conduit-state show` and `--dry-run`. Beside the
/// note for people it keeps the source's `memory`: what the horizon saw that a later run may use
/// to release rows sooner (for PostgreSQL, sequence positions and the transactions that were in
/// flight when they were read). Losing or spoiling the file only delays rows: a memory that does
/// not match the source is ignored, and without one the next run decides from what it sees.
package struct HorizonRecord: Sendable, Equatable {
    /// When the extract ran (RFC 3339 UTC).
    package var at: String
    /// Rows the extract held back (0: nothing was held).
    package var heldRows: Int
    /// The incremental value of the first row held back.
    package var heldFrom: StateValue?
    /// What held them: the transaction, its backend's pid and how long it had been open.
    package var blocker: String?
    package var pid: Int?
    package var ageSeconds: Double?
    /// The source's own memory for the next run's horizon, opaque here.
    package var memory: JSONValue?

    package init(
        at: String, heldRows: Int, heldFrom: StateValue?, blocker: String?, pid: Int?, ageSeconds: Double?,
        memory: JSONValue? = nil
    ) {
        self.at = at
        self.heldRows = heldRows
        self.heldFrom = heldFrom
        self.blocker = blocker
        self.pid = pid
        self.ageSeconds = ageSeconds
        self.memory = memory
    }

    /// One line for people: `held back 3 rows from 12 (…) at 2026-…Z`, or that nothing was held.
    package var sentence: String {
        guard heldRows > 0 else { return "the last extract (\(at)) held back no rows" }
        var text = "the last extract (\(at)) held back \(Plural.count(heldRows, "row"))"
        if let heldFrom { text += " from \(heldFrom.jsonValue.serialized())" }
        if let blocker { text += ": \(blocker)" }
        return text + "; they load in a run after it ends"
    }

    /// Writes the record atomically, without fsync (a note: losing it in a crash costs nothing).
    /// A run that held nothing after one that held nothing, with the same memory, writes
    /// nothing, so a no-op run costs no write.
    package func write(state: any StateBackend, resource: String) throws(ConduitError) {
        if heldRows == 0, let previous = Self.read(state: state, resource: resource), previous.heldRows == 0,
            previous.memory == memory
        {
            return
        }
        var fields = [
            JSONMember(key: "at", value: .string(at)), JSONMember(key: "held_rows", value: .number(String(heldRows))),
        ]
        if let heldFrom { fields.append(JSONMember(key: "held_from", value: heldFrom.jsonValue)) }
        if let blocker { fields.append(JSONMember(key: "blocker", value: .string(blocker))) }
        if let pid { fields.append(JSONMember(key: "pid", value: .number(String(pid)))) }
        if let ageSeconds { fields.append(JSONMember(key: "age_seconds", value: .number(RunSummary.formatSeconds(ageSeconds)))) }
        if let memory { fields.append(JSONMember(key: "memory", value: memory)) }
        try state.writeHorizonRecord(
            Array((JSONValue.object(fields).prettySerialized(sortKeys: true) + "\n").utf8), resource: resource)
    }

    /// The resource's record, nil when there is none or it is unreadable (a note, not state).
    package static func read(state: any StateBackend, resource: String) -> HorizonRecord? {
        guard let bytes = state.horizonRecord(of: resource),
            case .object(let members)? = try? JSONParser.parse(String(decoding: bytes, as: UTF8.self))
        else { return nil }
        var record = HorizonRecord(at: "", heldRows: 0, heldFrom: nil, blocker: nil, pid: nil, ageSeconds: nil)
        for member in members {
            switch (member.key, member.value) {
            case ("at", .string(let text)): record.at = text
            case ("held_rows", .number(let text)): record.heldRows = Int(text) ?? 0
            case ("held_from", .number(let text)): record.heldFrom = .number(text)
            case ("held_from", .string(let text)): record.heldFrom = .string(text)
            case ("blocker", .string(let text)): record.blocker = text
            case ("pid", .number(let text)): record.pid = Int(text)
            case ("age_seconds", .number(let text)): record.ageSeconds = Double(text)
            case ("memory", let value): record.memory = value
            default: break
            }
        }
        return record
    }

    /// The current time, RFC 3339 UTC to the second.
    package static func now() -> String { CheckpointLedger.now() }
}
