import Glibc

/// `conduit-load RESOURCE`: reads NDJSON rows on stdin and writes them to the resource's
/// destination in batch transactions (SPEC section 6, append mode).
///
/// Columns follow the keys: a missing table is created from the first row's keys, a key the
/// table lacks becomes a new column, a key a row leaves out loads NULL. New columns get the
/// source's type for that name (asked of the source without running the query, see
/// ``SourceDescriber``), else a type inferred from the value.
public struct LoadRun {
    public var configuration: Configuration
    public var resource: ResourceConfig
    /// Create columns from the values alone, without describing the source query.
    public var inferTypes: Bool
    public var reporter: Reporter
    /// Rows per transaction when the configuration does not say.
    public static let defaultBatchSize = 100_000

    public init(configuration: Configuration, resource: ResourceConfig, inferTypes: Bool, reporter: Reporter) {
        self.configuration = configuration
        self.resource = resource
        self.inferTypes = inferTypes
        self.reporter = reporter
    }

    /// Loads stdin. Returns success only when every row read is committed.
    public func run(input: Int32 = 0) throws(ConduitError) -> ExitStatus {
        let started = MonotonicClock.now
        let destinationConfig = configuration.destination(of: resource)
        let mode = configuration.effectiveMode(of: resource)
        guard mode == .append else {
            throw .configuration("resource \(resource.name): mode \(mode.rawValue) is not supported by this release of conduit-load; only append is")
        }
        SignalForwarding.install()
        let table = configuration.effectiveTable(of: resource)
        let destination: any LoadDestination
        switch destinationConfig.type {
        case .postgresql:
            destination = try PostgresDestination(config: destinationConfig, table: table)
        case .sqlite:
            destination = try SQLiteDestination(config: destinationConfig, table: table)
        case .snowflake:
            throw .configuration("resource \(resource.name): the snowflake destination is not supported by this release of conduit-load")
        }

        var session = LoadSession(
            destination: destination, batchSize: configuration.effectiveBatchSize(of: resource) ?? Self.defaultBatchSize,
            describeSource: inferTypes ? nil : { () throws(ConduitError) in
                try SourceDescriber.describe(resource: resource, in: configuration)
            },
            sourceType: configuration.source(of: resource).type)
        var reader = LineReader(descriptor: input)
        var progress = ProgressMeter(reporter: reporter, noun: "rows")
        let outcome: LineReader.Outcome
        do {
            try session.start()
            outcome = try reader.forEachLine { (line, number) throws(ConduitError) in
                try session.load(line, lineNumber: number)
                progress.update(session.rows)
            }
            if case .endOfStream = outcome { try session.finish() }
        } catch {
            destination.rollback()
            progress.finish()
            throw session.explain(error)
        }
        progress.finish()
        if case .stopped(let signal) = outcome {
            destination.rollback()
            reporter.warning(
                "stopped by signal \(signal); rolled back the open batch" + session.committedNote)
            return ExitStatus(rawValue: 128 + signal)
        }

        let seconds = MonotonicClock.now - started
        let rate = seconds > 0 ? Int(Double(session.rows) / seconds) : session.rows
        reporter.summary(
            "\(resource.name): \(session.rows) rows, \(reader.bytesRead) bytes in \(CommitRun.format(seconds))s (\(rate) rows/s) into \(destination.label)",
            fields: [
                ("resource", .string(resource.name)), ("rows", .number(String(session.rows))),
                ("bytes", .number(String(reader.bytesRead))), ("seconds", .number(CommitRun.format(seconds))),
                ("rows_per_second", .number(String(rate))), ("table", .string(table)),
            ])
        return .success
    }
}

/// The state of one load: the table's columns, the columns rows currently fill, and the batch.
struct LoadSession {
    let destination: any LoadDestination
    let batchSize: Int
    /// Asks the source for its column types; nil with `--infer-types`.
    let describeSource: (() throws(ConduitError) -> [SourceColumn])?
    let sourceType: SourceType

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

    init(destination: any LoadDestination, batchSize: Int, describeSource: (() throws(ConduitError) -> [SourceColumn])?, sourceType: SourceType) {
        self.destination = destination
        self.batchSize = max(batchSize, 1)
        self.describeSource = describeSource
        self.sourceType = sourceType
    }

    mutating func start() throws(ConduitError) {
        tableColumns = try destination.existingColumns()
    }

    mutating func load(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws(ConduitError) {
        do {
            try row.scan(line)
        } catch {
            throw .badInput("line \(lineNumber): not a valid JSON object: \(error)")
        }
        if row.members.isEmpty {
            throw .badInput("line \(lineNumber): an empty object has no column to load")
        }
        if !inBatch {
            try destination.begin()
            inBatch = true
        }
        try resolvePositions(lineNumber: lineNumber)
        try destination.write(row, positions: positions, lineNumber: lineNumber)
        rows += 1
        rowsInBatch += 1
        if rowsInBatch >= batchSize { try commitBatch() }
    }

    mutating func finish() throws(ConduitError) {
        if inBatch { try commitBatch() }
    }

    private mutating func commitBatch() throws(ConduitError) {
        try destination.commit()
        inBatch = false
        committedRows = rows
        rowsInBatch = 0
    }

    /// Fills `positions` for the current row, adding columns (and the table) as keys appear.
    private mutating func resolvePositions(lineNumber: Int) throws(ConduitError) {
        positions.removeAll(keepingCapacity: true)
        let members = row.members
        var sameAsPrevious = members.count == previousKeys.count
        for (index, member) in members.enumerated() {
            if sameAsPrevious {
                let matches = row.withBytes(member.key) { key in
                    previousKeys[index].withUnsafeBufferPointer { $0.elementsEqual(key) }
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
