package import Config
package import Core
package import Extract
import Glibc
package import State
package import Stream

/// The state of one load: the table's columns, the columns rows currently fill, and the batch.
struct LoadSession {
    let destination: any LoadDestination
    let batchSize: Int
    /// Asks the source for its column types; nil with `--infer-types`.
    let describeSource: (() throws(ConduitError) -> [SourceColumn])?
    let sourceType: SourceType
    /// Set when the run checkpoints (under `conduit-state commit`, for an ordered incremental resource).
    let checkpoints: CheckpointPlan?

    /// The checkpoint this run resumes after: rows up to it are already in the table.
    private var resumeAfter: StateValue?
    private var checkpointRows: Int64 = 0
    /// The incremental value of the last row written, as its JSON bytes, and whether it was a string.
    private var lastValue: [UInt8] = []
    private var lastValueIsString = false
    private var currentValue: [UInt8] = []
    private(set) var skippedRows = 0
    private(set) var warnings: [String] = []

    /// The table's columns, nil until the table exists.
    private var tableColumns: [DestinationColumn]?
    /// The columns rows fill, in order, and a lookup from key bytes to their position.
    private var targets: [DestinationColumn] = []
    private var targetPositions: [[UInt8]: Int] = [:]
    private var sourceColumns: [String: SourceColumn]?
    private var row = JSONRow()
    private var positions: [Int] = []
    /// The previous row's keys and positions: rows almost always repeat them, and comparing
    /// bytes is cheaper than a dictionary lookup.
    private var previousKeys: [[UInt8]] = []
    private var previousPositions: [Int] = []
    private var inBatch = false
    private(set) var rowsInBatch = 0
    private(set) var rows = 0
    private(set) var committedRows = 0

    init(
        destination: any LoadDestination, batchSize: Int, describeSource: (() throws(ConduitError) -> [SourceColumn])?,
        sourceType: SourceType, checkpoints: CheckpointPlan?
    ) {
        self.destination = destination
        self.batchSize = max(batchSize, 1)
        self.describeSource = describeSource
        self.sourceType = sourceType
        self.checkpoints = checkpoints
    }

    mutating func start() throws(ConduitError) {
        tableColumns = try destination.existingColumns()
        guard let checkpoints else { return }
        try destination.prepareCheckpoints()
        // A checkpoint of this run is the interrupted run this one continues; any other belongs to a finished run.
        if let stored = try destination.readCheckpoint(resource: checkpoints.resource), stored.run == checkpoints.run {
            switch try? JSONParser.parse(stored.value) {
            case .number(let text)?: resumeAfter = .number(text)
            case .string(let text)?: resumeAfter = .string(text)
            default: throw .io("the checkpoint of \(checkpoints.resource) in \(destination.label) is unreadable: \(stored.value)")
            }
            checkpointRows = stored.rows
        }
    }

    /// At the end of input under `conduit-state commit`: the input ended because the stream
    /// did only if `conduit-state` says so on the end-of-stream descriptor. Otherwise its writer
    /// died, the last value group may be partial, and nothing more may commit.
    func confirmEndOfStream() throws(ConduitError) {
        guard let descriptor = checkpoints?.endOfStreamFD else { return }
        var byte: UInt8 = 0
        while true {
            let count = read(descriptor, &byte, 1)
            if count == 1 { return }
            if count < 0 && errno == EINTR && SignalForwarding.stopSignal == nil { continue }
            throw .io("the input ended without conduit-state confirming the end of the stream (was it killed?); the open batch was not committed")
        }
    }

    mutating func load(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws(ConduitError) {
        // The row borrows the reader's bytes for this call only.
        defer { row.release() }
        do {
            try row.scan(line)
        } catch {
            throw .badInput("line \(lineNumber): not a valid JSON object: \(error)")
        }
        if row.members.isEmpty && targets.isEmpty {
            // Later, {} is a row of NULLs; as the first row it says nothing to create or fill.
            throw .badInput("line \(lineNumber): an empty object before any row with keys: no column to load it into")
        }
        if let checkpoints {
            let isString = try captureIncrementalValue(checkpoints, lineNumber: lineNumber)
            if let resumeAfter {
                let value = incrementalValue(currentValue, isString: isString)
                guard let order = value.compare(to: resumeAfter) else {
                    throw .badInput("line \(lineNumber): \(checkpoints.column) \(value.plainText) does not compare with the checkpoint \(resumeAfter.plainText)")
                }
                if order != .descending {
                    skippedRows += 1
                    return
                }
                self.resumeAfter = nil
            }
            // A batch ends only where the value changes: rows sharing a value never straddle a checkpoint.
            if rowsInBatch >= batchSize && !sameValue(isString: isString) { try commitBatch() }
            swap(&lastValue, &currentValue)
            lastValueIsString = isString
        } else if rowsInBatch >= batchSize {
            try commitBatch()
        }
        if !inBatch {
            try destination.begin()
            inBatch = true
        }
        try resolvePositions(lineNumber: lineNumber)
        try destination.write(row, positions: positions, lineNumber: lineNumber)
        rows += 1
        rowsInBatch += 1
    }

    mutating func finish() throws(ConduitError) {
        if inBatch { try commitBatch() }
    }

    private mutating func commitBatch() throws(ConduitError) {
        var checkpoint: StateValue?
        if let checkpoints, !lastValue.isEmpty {
            let value = incrementalValue(lastValue, isString: lastValueIsString)
            checkpoint = value
            try destination.writeCheckpoint(
                resource: checkpoints.resource, run: checkpoints.run, value: value.jsonValue.serialized(),
                rows: checkpointRows + Int64(rows - committedRows))
        }
        try destination.commit()
        inBatch = false
        checkpointRows += Int64(rows - committedRows)
        committedRows = rows
        rowsInBatch = 0
        if let checkpoints, let checkpoint, let ledger = checkpoints.ledger {
            // The local copy may lag the destination's (which committed with the rows); the next run absorbs that.
            do {
                try ledger.record(checkpoint: checkpoint, rows: checkpointRows, run: checkpoints.run, for: checkpoints.resource)
            } catch {
                if warnings.isEmpty { warnings.append("could not copy the checkpoint to \(ledger.path): \(error.message)") }
            }
        }
    }

    /// Copies the row's incremental value (JSON bytes: number text, or the decoded string) into
    /// `currentValue`; returns whether it is a string.
    private mutating func captureIncrementalValue(_ plan: CheckpointPlan, lineNumber: Int) throws(ConduitError) -> Bool {
        var found: JSONRow.Value?
        for member in row.members where row.withBytes(member.key, { plan.columnBytes.withUnsafeBufferPointer($0.elementsEqual) }) {
            found = member.value
        }
        currentValue.removeAll(keepingCapacity: true)
        switch found {
        case .number(let range)?:
            currentValue.append(contentsOf: row.lineBytes(range))
            return false
        case .string(let bytes)?:
            row.withBytes(bytes) { currentValue.append(contentsOf: $0) }
            return true
        case nil:
            throw .badInput("line \(lineNumber): the row has no \(JSONEscaping.quoted(plan.column)) key, the resource's incremental_column")
        default:
            throw .badInput("line \(lineNumber): \(JSONEscaping.quoted(plan.column)) must be a number or a string to checkpoint on")
        }
    }

    /// Whether the current row's value equals the last row's: the same bytes, or the same number or instant written differently.
    private func sameValue(isString: Bool) -> Bool {
        guard !lastValue.isEmpty else { return true }
        if isString == lastValueIsString && currentValue == lastValue { return true }
        return incrementalValue(currentValue, isString: isString).compare(to: incrementalValue(lastValue, isString: lastValueIsString)) == .equal
    }

    private func incrementalValue(_ bytes: [UInt8], isString: Bool) -> StateValue {
        let text = String(decoding: bytes, as: UTF8.self)
        return isString ? .string(text) : .number(text)
    }

    /// Fills `positions` for the current row, adding columns (and the table) as keys appear.
    private mutating func resolvePositions(lineNumber: Int) throws(ConduitError) {
        positions.removeAll(keepingCapacity: true)
        let members = row.members
        var sameAsPrevious = members.count == previousKeys.count
        for (index, member) in members.enumerated() {
            if sameAsPrevious {
                let matches = row.withBytes(member.key) { key in
                    previousKeys[index].withUnsafeBufferPointer { previous in
                        guard previous.count == key.count else { return false }
                        guard let left = previous.baseAddress, let right = key.baseAddress else { return true }
                        return memcmp(left, right, key.count) == 0
                    }
                }
                if matches {
                    positions.append(previousPositions[index])
                    continue
                }
                sameAsPrevious = false
            }
            let key = row.withBytes(member.key) { Array($0) }
            if let position = targetPositions[key] {
                positions.append(position)
            } else {
                positions.append(try addTarget(key: key, member: member, lineNumber: lineNumber))
            }
        }
        if !sameAsPrevious {
            previousKeys = members.map { member in row.withBytes(member.key) { Array($0) } }
            previousPositions = positions
        }
    }

    /// A key no earlier row had: finds or creates its column and makes rows fill it from now on.
    private mutating func addTarget(key: [UInt8], member: JSONRow.Member, lineNumber: Int) throws(ConduitError) -> Int {
        let name = String(decoding: key, as: UTF8.self)
        if let problem = destination.validateColumnName(name) {
            throw .badInput("line \(lineNumber): key \(JSONEscaping.quoted(name)) cannot be a column of \(destination.label): \(problem)")
        }
        if tableColumns == nil {
            // The first row decides the table's columns: create it, inside this batch's transaction.
            let columns = try row.members.map { (member) throws(ConduitError) -> (name: String, type: String) in
                let name = row.string(member.key)
                if let problem = destination.validateColumnName(name) {
                    throw .badInput("line \(lineNumber): key \(JSONEscaping.quoted(name)) cannot be a column of \(destination.label): \(problem)")
                }
                return (name, try newColumnType(name: name, value: member.value))
            }
            var unique: [(name: String, type: String)] = []
            for column in columns where !unique.contains(where: { $0.name.utf8.elementsEqual(column.name.utf8) }) {
                unique.append(column)
            }
            try destination.createTable(unique)
            tableColumns = try destination.existingColumns()
        }
        var column = tableColumns?.first { $0.name.utf8.elementsEqual(name.utf8) }
        if column == nil {
            try destination.addColumn(name: name, type: try newColumnType(name: name, value: member.value))
            tableColumns = try destination.existingColumns()
            column = tableColumns?.first { $0.name.utf8.elementsEqual(name.utf8) }
        }
        guard let column else {
            throw .internalError("line \(lineNumber): column \(JSONEscaping.quoted(name)) was added to \(destination.label) but is not there")
        }
        targets.append(column)
        targetPositions[key] = targets.count - 1
        try destination.setTargetColumns(targets)
        return targets.count - 1
    }

    private mutating func newColumnType(name: String, value: JSONRow.Value) throws(ConduitError) -> String {
        if sourceColumns == nil {
            var byName: [String: SourceColumn] = [:]
            if let describeSource {
                do {
                    for column in try describeSource() where byName[column.name] == nil { byName[column.name] = column }
                } catch {
                    throw ConduitError(error.kind, "learning the source's column types to create columns in \(destination.label) (--infer-types skips this): \(error.message)")
                }
            }
            sourceColumns = byName
        }
        let source = sourceColumns?[name]
        return destination.newColumnType(
            source: source, sourceType: describeSource == nil ? nil : sourceType, inferred: ColumnKind.inferred(from: row.jsonValue(value)))
    }

    /// The message for a failed run: what stays committed from earlier batches.
    func explain(_ error: ConduitError) -> ConduitError {
        ConduitError(error.kind, error.message + "; the open batch was rolled back" + committedNote)
    }

    var committedNote: String {
        committedRows > 0 ? " (\(committedRows) rows of earlier batches stay committed)" : ", nothing was written"
    }
}

/// How a run checkpoints: only under `conduit-state commit` (which passes the run's token in the
/// environment) and only for an incremental resource whose stream is ordered.
struct CheckpointPlan {
    let resource: String
    let column: String
    let columnBytes: [UInt8]
    /// `<lineage>.<epoch>` of the state file's ledger: checkpoints written under another token are not this run's.
    let run: String
    let ledger: CheckpointLedger?
    /// See ``CheckpointEnvironment/endOfStreamFD``.
    let endOfStreamFD: Int32?

    init?(resource: ResourceConfig, environment: [String: String]) {
        guard let column = resource.incrementalColumn, resource.ordered,
              let run = environment[CheckpointEnvironment.run], !run.isEmpty else { return nil }
        self.resource = resource.name
        self.column = column
        columnBytes = Array(column.utf8)
        self.run = run
        ledger = environment[CheckpointEnvironment.ledger].map { CheckpointLedger(path: $0) }
        endOfStreamFD = environment[CheckpointEnvironment.endOfStreamFD].flatMap { Int32($0) }
    }
}
