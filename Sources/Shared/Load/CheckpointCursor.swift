import Core
import State
import Stream

/// The checkpoint side of a load: follows each row's incremental value, skips rows the
/// destination's checkpoint of this run already covers (a resumed run), tells where a batch may
/// end (only where the value changes), and writes each batch's checkpoint in its transaction.
struct CheckpointCursor {
    let plan: CheckpointPlan
    /// The checkpoint this run resumes after: rows up to it are already in the table.
    private var resumeAfter: StateValue?
    /// Rows the run's checkpoints have made durable, this run's and the interrupted run's.
    private var checkpointRows: Int64 = 0
    /// The incremental value of the last row loaded, as its JSON bytes, and whether it was a string.
    private var lastValue: [UInt8] = []
    private var lastValueIsString = false
    private var currentValue: [UInt8] = []
    private var currentIsString = false
    private(set) var skippedRows = 0
    /// The destination's checkpoint as this loader last saw it (read at its start, or written
    /// by its last batch): the next one replaces only that.
    private var lastStored: StoredCheckpoint?

    /// What to do with a row.
    enum Decision: Equatable {
        /// A checkpoint of this run covers it: it is in the table already.
        case skip
        /// Load it; `startsNewGroup` when its value differs from the last row's (a batch may end before it).
        case load(startsNewGroup: Bool)
    }

    /// Whether a resumed run skips the rows its checkpoint covers. With `lookback` it does not:
    /// the destination skips rows it holds by key, and a row that committed late below the
    /// checkpoint, read again, must still go in.
    let skipsCovered: Bool

    init(plan: CheckpointPlan, skipsCovered: Bool = true) {
        self.plan = plan
        self.skipsCovered = skipsCovered
    }

    /// Reads the destination's checkpoint: one of this run's is the interrupted run this one
    /// continues; any other belongs to a finished run and decides nothing.
    mutating func start(_ destination: any LoadDestination) throws(ConduitError) {
        try destination.prepareCheckpoints()
        let read = try destination.readCheckpoint(resource: plan.resource)
        lastStored = read.map { StoredCheckpoint(run: $0.run, value: $0.value) }
        guard let stored = read, stored.run == plan.run else { return }
        checkpointRows = stored.rows
        guard skipsCovered else { return }
        switch try? JSONParser.parse(stored.value) {
        case .number(let text)?: resumeAfter = .number(text)
        case .string(let text)?: resumeAfter = .string(text)
        default: throw .io("the checkpoint of \(plan.resource) in \(destination.label) is unreadable: \(stored.value)")
        }
    }

    /// Captures the row's incremental value and decides. `member`: the index of the row's last
    /// member holding the incremental column, when the caller knows it (nil: looked up by key).
    mutating func admit(_ row: JSONRow, member: Int? = nil, lineNumber: Int) throws(ConduitError) -> Decision {
        currentIsString = try captureValue(of: row, member: member, lineNumber: lineNumber)
        if let resumeAfter {
            let value = Self.value(currentValue, isString: currentIsString)
            guard let order = value.compare(to: resumeAfter) else {
                throw .badInput(
                    "line \(lineNumber): \(plan.column) \(value.plainText) does not compare with the checkpoint \(resumeAfter.plainText)"
                )
            }
            if order != .descending {
                skippedRows += 1
                return .skip
            }
            self.resumeAfter = nil
        }
        return .load(startsNewGroup: !sameValue())
    }

    /// The admitted row is being loaded: its value is now the last one.
    mutating func rowWillLoad() {
        swap(&lastValue, &currentValue)
        lastValueIsString = currentIsString
    }

    /// Writes the checkpoint of the batch about to commit, in its transaction; returns it.
    func writeCheckpoint(to destination: any LoadDestination, batchRows: Int) throws(ConduitError) -> StateValue? {
        guard !lastValue.isEmpty else { return nil }
        let value = Self.value(lastValue, isString: lastValueIsString)
        try destination.writeCheckpoint(
            resource: plan.resource, run: plan.run, value: value.jsonValue.serialized(), rows: checkpointRows + Int64(batchRows),
            replacing: lastStored)
        return value
    }

    /// After the batch committed: counts its rows and copies the checkpoint to the ledger.
    /// Returns a warning when the copy failed (the destination's checkpoint is the authority; the
    /// next run absorbs a lagging copy).
    mutating func committed(_ checkpoint: StateValue, batchRows: Int) -> String? {
        checkpointRows += Int64(batchRows)
        lastStored = StoredCheckpoint(run: plan.run, value: checkpoint.jsonValue.serialized())
        guard let ledger = plan.ledger else { return nil }
        do {
            try ledger.record(checkpoint: checkpoint, rows: checkpointRows, run: plan.run, for: plan.resource)
            return nil
        } catch {
            return "could not copy the checkpoint to \(ledger.label): \(error.message)"
        }
    }

    /// Copies the row's incremental value (JSON bytes: number text, or the decoded string) into
    /// `currentValue`; returns whether it is a string.
    private mutating func captureValue(of row: JSONRow, member: Int?, lineNumber: Int) throws(ConduitError) -> Bool {
        let members = row.members
        let found =
            member.flatMap { $0 < members.count ? members[$0].value : nil } ?? row.lastValue(forKey: plan.columnBytes)
        switch found {
        case .number(let range)?:
            currentValue.overwrite(with: row.lineBytes(range))
            return false
        case .string(let bytes)?:
            row.withBytes(bytes) { currentValue.overwrite(with: $0) }
            return true
        case nil:
            throw .badInput(
                "line \(lineNumber): the row has no \(JSONEscaping.quoted(plan.column)) key, the resource's incremental_column")
        default:
            throw .badInput(
                "line \(lineNumber): \(JSONEscaping.quoted(plan.column)) must be a number or a string to checkpoint on")
        }
    }

    /// Whether the current row's value equals the last row's: the same bytes, or the same number or instant written differently.
    private func sameValue() -> Bool {
        guard !lastValue.isEmpty else { return true }
        if currentIsString == lastValueIsString && currentValue == lastValue { return true }
        // The usual shapes (plain integers, timestamps written alike) are equal only as the same
        // bytes, which they are not.
        let decidedByBytes = currentValue.withUnsafeBufferPointer { current in
            lastValue.withUnsafeBufferPointer { last in
                CursorText.isDecidedByBytes(
                    current, last, areStrings: currentIsString && lastValueIsString,
                    areNumbers: !currentIsString && !lastValueIsString)
            }
        }
        if decidedByBytes { return false }
        return Self.value(currentValue, isString: currentIsString).compare(to: Self.value(lastValue, isString: lastValueIsString))
            == .equal
    }

    private static func value(_ bytes: [UInt8], isString: Bool) -> StateValue {
        let text = String(decoding: bytes, as: UTF8.self)
        return isString ? .string(text) : .number(text)
    }
}
