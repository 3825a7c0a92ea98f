import Config
import Core
import State
import Stream

/// One load: reads rows one at a time and groups them into batch transactions. The parts with
/// jobs of their own: ``CheckpointCursor`` (what a checkpoint covers, where a batch may end),
/// ``TableShape`` (the table's columns, creating and adding them as keys appear).
struct LoadSession {
    let destination: any LoadDestination
    let batchSize: Int
    /// Set when the run checkpoints (under `conduit-state commit`, for an ordered incremental resource).
    let checkpoints: CheckpointPlan?
    /// Under `conduit-state commit`: where it confirms the real end of the stream (``CheckpointEnvironment/endOfStreamFD``).
    let endOfStreamFD: Int32?
    /// `merge`: the key every row must carry.
    private let mergeKey: [[UInt8]]
    /// A key no row may hold twice (``CheckpointEnvironment/uniqueKey``): `conduit-state commit`
    /// reads only its first occurrence.
    private let uniqueKey: [UInt8]?

    private var cursor: CheckpointCursor?
    /// `cursor != nil`, kept apart: testing the optional copied the cursor on every row.
    private let hasCursor: Bool
    private var shape: TableShape
    private var row = JSONRow()
    /// The ``TableShape/previousKeysGeneration`` whose keys `row` expects (nil: none yet).
    private var expectedKeysGeneration: Int?
    /// Where the incremental column is among the previous row's keys, for the generation it was
    /// found in: a row repeating those keys holds its value there, with no search by key.
    private var cursorMember: (generation: Int, index: Int?)?
    private(set) var warnings: [String] = []
    private var inBatch = false
    private(set) var rowsInBatch = 0
    private(set) var rows = 0
    private(set) var committedRows = 0

    var skippedRows: Int { cursor?.skippedRows ?? 0 }

    init(
        destination: any LoadDestination, batchSize: Int, describeSource: (() throws(ConduitError) -> [SourceColumn])?,
        checkpoints: CheckpointPlan?, endOfStreamFD: Int32?, primaryKey: [String] = [],
        merge: Bool = false, resumesByKey: Bool = false, evolution: SchemaEvolution = .evolve, uniqueKey: String? = nil
    ) {
        self.uniqueKey = uniqueKey.map { Array($0.utf8) }
        self.destination = destination
        self.batchSize = max(batchSize, 1)
        self.checkpoints = checkpoints
        self.endOfStreamFD = endOfStreamFD
        mergeKey = merge ? primaryKey.map { Array($0.utf8) } : []
        cursor = checkpoints.map { CheckpointCursor(plan: $0, skipsCovered: !resumesByKey) }
        hasCursor = checkpoints != nil
        shape = TableShape(describeSource: describeSource, primaryKey: primaryKey, evolution: evolution)
    }

    mutating func start() throws(ConduitError) {
        let destination = self.destination
        try shape.start(destination)
        try cursor?.start(destination)
    }

    /// At the end of input under `conduit-state commit`: the input ended because the stream
    /// did only if `conduit-state` says so on the end-of-stream descriptor. Otherwise its writer
    /// died, the last value group may be partial, and nothing more may commit.
    func confirmEndOfStream() throws(ConduitError) {
        guard let descriptor = endOfStreamFD else { return }
        var byte: UInt8 = 0
        while true {
            let outcome = withUnsafeMutableBytes(of: &byte) { SystemCall.read(descriptor, into: $0) }
            if outcome == .bytes(1) { return }
            if outcome == .interrupted && SignalForwarding.stopSignal == nil { continue }
            throw .io(
                "the input ended without conduit-state confirming the end of the stream (was it killed?); the open batch was not committed"
            )
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
        if row.members.isEmpty && !shape.hasTargets {
            // Later, {} is a row of NULLs; as the first row it says nothing to create or fill.
            throw .badInput("line \(lineNumber): an empty object before any row with keys: no column to load it into")
        }
        if !mergeKey.isEmpty { try checkMergeKey(lineNumber: lineNumber) }
        // A row repeating the keys of the last row placed (which passed this check) holds the
        // unique key once at most.
        let repeatsPreviousKeys = shape.repeatsPreviousKeys(row, expectedGeneration: expectedKeysGeneration)
        if let uniqueKey, !repeatsPreviousKeys, row.holdsKeyTwice(uniqueKey) {
            throw .badInput(JSONRow.repeatedKeyRefusal(uniqueKey, lineNumber: lineNumber))
        }
        if hasCursor {
            let member = repeatsPreviousKeys ? cursorMemberOfPreviousKeys() : nil
            switch try cursor?.admit(row, member: member, lineNumber: lineNumber) {
            case .skip?: return
            case .load(let startsNewGroup)?:
                // A batch ends only where the value changes: rows sharing a value never straddle a checkpoint.
                if rowsInBatch >= batchSize && startsNewGroup { try commitBatch() }
            case nil: break
            }
            cursor?.rowWillLoad()
        } else if rowsInBatch >= batchSize {
            try commitBatch()
        }
        if !inBatch {
            try destination.begin()
            inBatch = true
        }
        let positions = try shape.positions(
            of: row, lineNumber: lineNumber, in: destination, repeatsPreviousKeys: repeatsPreviousKeys)
        if !repeatsPreviousKeys && expectedKeysGeneration != shape.previousKeysGeneration {
            expectedKeysGeneration = shape.expectKeys(of: &row)
        }
        try destination.write(row, positions: positions, lineNumber: lineNumber)
        rows += 1
        rowsInBatch += 1
    }

    /// The index of the incremental column among the previous row's keys (nil: not among them).
    private mutating func cursorMemberOfPreviousKeys() -> Int? {
        let generation = shape.previousKeysGeneration
        if let cursorMember, cursorMember.generation == generation { return cursorMember.index }
        let index = checkpoints.flatMap { shape.lastPreviousKeyIndex(of: $0.columnBytes) }
        cursorMember = (generation, index)
        return index
    }

    /// A merged row must say which row it is: every primary key column, not null.
    private func checkMergeKey(lineNumber: Int) throws(ConduitError) {
        for key in mergeKey {
            let member = row.members.last { member in
                row.withBytes(member.key) { $0.elementsEqual(key) }
            }
            let name = String(decoding: key, as: UTF8.self)
            guard let member else {
                throw .badInput(
                    "line \(lineNumber): the row has no \(JSONEscaping.quoted(name)) key, part of the primary_key that merge upserts on"
                )
            }
            if case .null = member.value {
                throw .badInput(
                    "line \(lineNumber): \(JSONEscaping.quoted(name)) is null, but it is part of the primary_key that merge upserts on"
                )
            }
        }
    }

    mutating func finish() throws(ConduitError) {
        if inBatch { try commitBatch() }
    }

    private mutating func commitBatch() throws(ConduitError) {
        let batchRows = rows - committedRows
        let checkpoint = try cursor?.writeCheckpoint(to: destination, batchRows: batchRows)
        try destination.commit()
        inBatch = false
        committedRows = rows
        rowsInBatch = 0
        if let checkpoint, let warning = cursor?.committed(checkpoint, batchRows: batchRows), warnings.isEmpty {
            warnings.append(warning)
        }
    }

    /// The message for a failed run: what stays committed from earlier batches.
    func explain(_ error: ConduitError) -> ConduitError {
        guard destination.commitOutcomeUnknown else {
            return ConduitError(error.kind, error.message + "; the open batch was rolled back" + committedNote)
        }
        let resume =
            cursor == nil
            ? "this run keeps no checkpoint, so look at the table before loading these rows again"
            : "the batch committed together with its checkpoint or not at all, and the next run resumes from the checkpoint that holds"
        return ConduitError(
            error.kind,
            error.message
                + "; the open batch's COMMIT was sent but no answer came, so whether it committed is unknown: \(resume)\(earlierBatchesNote)"
        )
    }

    var committedNote: String {
        committedRows > 0 ? earlierBatchesNote : ", nothing was written"
    }

    /// ` (N rows of earlier batches stay committed)`, or nothing when there were none.
    private var earlierBatchesNote: String {
        committedRows > 0 ? " (\(Plural.count(committedRows, "row")) of earlier batches stay committed)" : ""
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
    init?(resource: ResourceConfig, environment: [String: String], opener: StateOpener = .fileOnly) throws(ConduitError) {
        guard let column = resource.incrementalColumn, resource.ordered,
            let run = environment[CheckpointEnvironment.run], !run.isEmpty
        else { return nil }
        self.resource = resource.name
        self.column = column
        columnBytes = Array(column.utf8)
        self.run = run
        ledger = try opener.openForLoader(environment: environment).map { CheckpointLedger(state: $0) }
    }
}
