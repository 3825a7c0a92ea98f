internal import CLibPQ
public import Config
public import Core
public import Extract
import Glibc
import Load
public import Stream

/// A PostgreSQL source: runs a resource's query and writes its rows as NDJSON, streaming (a
/// cursor fetched in batches, so memory stays flat whatever the row count), and describes a
/// query's columns without running it.
public final class PostgresSource: Source {
    private let connection: PostgresConnection
    private let label: String
    /// Rows per FETCH: large enough to amortise round trips, small enough to keep memory flat.
    static let fetchSize = 10_000

    /// The first PostgreSQL object id for user-defined objects: below it, every type is built in.
    static let firstUserObjectID: UInt32 = 16_384

    /// Connects and fixes the session settings the JSON mapping relies on. The server's notices
    /// (`RAISE NOTICE` in a function the query calls) go to `notices`.
    public init(
        source: SourceConfig, applicationName: String = "conduit-extract", notices: ServerNoticeHandler? = nil
    ) throws(ConduitError) {
        do {
            connection = try PostgresConnection(settings: source.connection, applicationName: applicationName, notices: notices)
            label = connection.label
            var settings = [
                "SET TIME ZONE 'UTC'", "SET datestyle = 'ISO, YMD'", "SET intervalstyle = 'iso_8601'",
                "SET extra_float_digits = 1", "SET bytea_output = 'hex'", "SET client_encoding = 'UTF8'",
                "SET cursor_tuple_fraction = 1.0",
            ]
            if let schema = source.connection.schema {
                settings.append("SET search_path = \(try connection.escapeLiteral(schema))")
            }
            try connection.execute(settings.joined(separator: "; "), context: "setting up the session on \(connection.label)")
        } catch {
            throw error.conduitError
        }
    }

    public func extract(
        resource: ResourceConfig, lastValue: StateValue?, horizonMemory: JSONValue?, output: OutputStream
    ) throws(ConduitError) -> ExtractedRows {
        let template = QueryTemplate(resource.query, dialect: .postgresql)
        let sql = template.rendered(placeholderReplacement: "$1")
        var parameterType: PostgresDataType?
        var parameter: String?
        var horizon: PostgresSafeHorizon?
        if template.containsPlaceholder || resource.isIncremental {
            let description: PostgresResult
            do {
                description = try connection.describe(sql, context: "checking the query of \(resource.name) on \(label)")
            } catch {
                throw error.conduitError
            }
            if description.parameterCount > 0 {
                parameterType = description.parameterType(0)
                parameter = lastValue?.plainText ?? Self.firstRunValue(for: parameterType)
            }
            if resource.safeHorizon, let column = resource.incrementalColumn,
                let index = (0..<description.columnCount).first(where: { description.columnName($0) == column })
            {
                let type = description.columnType(index)
                horizon = PostgresSafeHorizon(
                    columnIndex: index, type: type, tableOID: description.columnTable(index),
                    tableColumn: description.columnTableColumn(index), style: PostgresTextEncoder.Style(type),
                    typeModifier: description.columnTypeModifier(index))
            }
        }
        return try extract(
            sql: sql, parameter: parameter, parameterType: parameterType, resource: resource.name,
            incrementalColumn: resource.incrementalColumn, ordered: resource.ordered, horizon: horizon, memory: horizonMemory,
            output: output)
    }

    /// The default for a first run: everything for time types, else 0 as the user's document says.
    static func firstRunValue(for type: PostgresDataType?) -> String {
        switch type {
        case .timestamp?, .timestamptz?, .date?: "-infinity"
        default: "0"
        }
    }

    /// The query's result columns: `PQprepare` and `PQdescribePrepared`, then `format_type` for
    /// each column's exact spelling (`numeric(12,2)`, `integer[]`).
    public func describe(resource: ResourceConfig) throws(ConduitError) -> [SourceColumn] {
        let sql = QueryTemplate(resource.query, dialect: .postgresql).rendered(placeholderReplacement: "$1")
        let context = "describing the query of \(resource.name) on \(label)"
        do {
            let described = try connection.describe(sql, context: context)
            let count = described.columnCount
            guard count > 0 else { return [] }
            let oids = (0..<count).map { String(described.columnType($0).rawValue) }
            let modifiers = (0..<count).map { String(described.columnTypeModifier($0)) }
            let names = try connection.query(
                "SELECT format_type(t.oid, t.modifier) FROM unnest($1::oid[], $2::int4[]) WITH ORDINALITY AS t(oid, modifier, n) ORDER BY t.n",
                parameters: ["{" + oids.joined(separator: ",") + "}", "{" + modifiers.joined(separator: ",") + "}"],
                context: context)
            // Enums, domains and arrays of types Conduit does not name: one catalog query, if any.
            let catalog = try PostgresTypeCatalog.load((0..<count).map { described.columnType($0) }, connection: connection, context: context)
            return (0..<count).map { column in
                let type = described.columnType(column)
                return SourceColumn(
                    name: described.columnName(column), sourceType: names.string(row: column, column: 0) ?? type.description,
                    kind: catalog.kind(for: type), isPostgresBuiltin: type.rawValue < Self.firstUserObjectID)
            }
        } catch {
            throw error.conduitError
        }
    }

    /// The type PostgreSQL infers for the query's `$1`, or nil when the query has no parameter.
    /// The corresponding libpq calls are `PQprepare` and `PQdescribePrepared`.
    public func parameterType(of sql: String, resource: String) throws(ConduitError) -> PostgresDataType? {
        do {
            let description = try connection.describe(sql, context: "checking the query of \(resource) on \(label)")
            return description.parameterCount > 0 ? description.parameterType(0) : nil
        } catch {
            throw error.conduitError
        }
    }

    /// Runs `sql` with `$1` bound to `lastValue` (text, typed as `parameterType`) and writes
    /// each row to `output` as one JSON object. Follows `incrementalColumn` for the output's
    /// value groups and the last value (see ``OutputStream``).
    ///
    /// With a `horizon`, rows at and above the first value that a transaction in flight could
    /// still precede are not written (``PostgresSafeHorizon``); the result says how many.
    public func extract(
        sql: String, parameter: String?, parameterType: PostgresDataType?, resource: String, incrementalColumn: String?,
        ordered: Bool = true, output: OutputStream
    ) throws(ConduitError) -> ExtractedRows {
        try extract(
            sql: sql, parameter: parameter, parameterType: parameterType, resource: resource, incrementalColumn: incrementalColumn,
            ordered: ordered, horizon: nil, memory: nil, output: output)
    }

    func extract(
        sql: String, parameter: String?, parameterType: PostgresDataType?, resource: String, incrementalColumn: String?,
        ordered: Bool, horizon plan: PostgresSafeHorizon?, memory: JSONValue?, output: OutputStream
    ) throws(ConduitError) -> ExtractedRows {
        let context = "running the query of \(resource) on \(label)"
        let types = parameterType.map { [$0.rawValue] } ?? []
        var reading: PostgresSafeHorizon.Reading?
        do {
            if let plan, plan.isSupported {
                // The tables the query reads, from its plan: their writers count too.
                let explained = try connection.query(
                    PostgresSafeHorizon.explain(sql), parameters: parameter.map { [$0] } ?? [], types: types, context: context)
                let tables: (names: [String], unseen: [String]) = explained.string(row: 0, column: 0)
                    .flatMap { try? JSONParser.parse($0) }.map(PostgresSafeHorizon.tables(inPlan:)) ?? ([], [])
                let relations = tables.names
                let pending = PostgresHorizonMemory.pendingHolders(in: memory, rule: plan.memoryKey)
                let statement = plan.isTimeLike
                    ? plan.timeQuery(relations: relations, pending: pending)
                    : plan.sequenceQuery(relations: relations, pending: pending)
                // Read before the snapshot, in the same round trip as BEGIN: a transaction that
                // starts after this read starts after its time and draws after its position.
                let result = try connection.silencingNotices { () throws(PostgresError) in
                    try connection.queryFirst(statement + "; COMMIT; BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", context: context)
                }
                reading = plan.isTimeLike ? plan.timeReading(result) : plan.sequenceReading(result, column: incrementalColumn ?? "")
                reading?.unseen = tables.unseen
            } else {
                try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", context: context)
            }
        } catch {
            throw error.conduitError
        }
        try connection.withHandle { handle throws(ConduitError) in
            let declare = "DECLARE conduit_extract NO SCROLL CURSOR FOR " + sql
            var types = types
            let result: OpaquePointer?
            if let parameter {
                let value = strdup(parameter)
                defer { free(value) }
                var values: [UnsafePointer<CChar>?] = [UnsafePointer(value)]
                result = PQexecParams(handle, declare, 1, &types, &values, nil, nil, 0)
            } else {
                result = PQexecParams(handle, declare, 0, nil, nil, nil, nil, 0)
            }
            defer { PQclear(result) }
            guard let result, PQresultStatus(result) == PGRES_COMMAND_OK else {
                throw PostgresError.from(result: result, connection: handle, context: context).conduitError
            }
        }

        // The snapshot is the cursor's (the transaction's first statement took it).
        var bound: PostgresSafeHorizon.Bound?
        var outcome: HorizonOutcome?
        var keptMemory: JSONValue?
        if let plan {
            var warnings: [String] = []
            if let reading {
                let decided = plan.bound(from: reading, memory: memory)
                bound = decided.bound
                keptMemory = decided.memory?.json
                warnings = plan.warnings(reading, column: incrementalColumn ?? "")
            } else if plan.isIntegerLike {
                warnings = [
                    "the safe horizon holds back nothing: \(incrementalColumn ?? "") is not a column read straight from a table (an expression, or a view), so the extract cannot tell which sequence draws it; lookback covers it, safe_horizon: false silences this"
                ]
            } else {
                warnings = [
                    "the safe horizon holds back nothing: it bounds numeric, timestamp and date columns, and \(incrementalColumn ?? "") is \(plan.type.description); safe_horizon: false silences this"
                ]
            }
            outcome = HorizonOutcome(heldRows: 0, heldFrom: nil, blocker: nil, pid: nil, ageSeconds: nil, warnings: warnings)
        }
        var held = 0
        var heldFrom: StateValue?
        var scratch: [UInt8] = []
        /// The cursor column's value in `row` of `batch` as the stream orders it.
        func value(_ batch: PostgresResult, _ row: Int, _ plan: PostgresSafeHorizon) -> StateValue? {
            scratch.removeAll(keepingCapacity: true)
            let present = batch.withValue(row: row, column: plan.columnIndex) { text -> Bool in
                guard let text else { return false }
                PostgresTextEncoder.append(text, style: plan.style, to: &scratch)
                return true
            }
            return present ? PostgresSafeHorizon.stateValue(json: scratch) : nil
        }
        /// Whether the row must wait: its value is beyond the bound.
        func holds(_ batch: PostgresResult, _ row: Int) -> Bool {
            guard let plan, let bound, let current = value(batch, row, plan), bound.holds(current) else { return false }
            if heldFrom == nil { heldFrom = current }
            return true
        }

        var rows = 0
        var groups: ValueGroupTracker?
        // A local buffer: appending through the class property would pay an exclusivity check per byte.
        var buffer: [UInt8] = []
        buffer.reserveCapacity(OutputStream.flushThreshold + 64 * 1024)
        var keys: [[UInt8]] = []
        var styles: [PostgresTextEncoder.Style] = []
        var groupIndex: Int?
        let fetch = "FETCH FORWARD \(Self.fetchSize) FROM conduit_extract"
        do throws(ConduitError) {
        do {
            try connection.send(fetch, context: context)
        } catch {
            throw error.conduitError
        }
        while true {
            let batch: PostgresResult
            do {
                batch = try connection.receiveRows(context: context)
                if keys.isEmpty {
                    // Once per query, before the next FETCH is in flight: the catalog says how to
                    // write the types Conduit does not name (an enum array, a domain, inet[]).
                    let types = (0..<batch.columnCount).map { batch.columnType($0) }
                    var catalog = PostgresTypeCatalog()
                    if batch.rowCount > 0 { catalog = try PostgresTypeCatalog.load(types, connection: connection, context: context) }
                    for column in 0..<batch.columnCount {
                        var key: [UInt8] = []
                        JSONEscaping.appendQuoted(batch.columnName(column), to: &key)
                        key.append(UInt8(ascii: ":"))
                        keys.append(key)
                        styles.append(catalog.style(for: types[column]))
                    }
                    groupIndex = incrementalColumn.flatMap { name in (0..<keys.count).first { batch.columnName($0) == name } }
                    groups = groupIndex.map { _ in ValueGroupTracker(tracksMaximum: !output.holdsValueGroups) }
                }
                // Ask for the next batch before encoding this one: the server produces it meanwhile.
                if batch.rowCount == Self.fetchSize { try connection.send(fetch, context: context) }
            } catch {
                throw error.conduitError
            }
            let count = batch.rowCount
            if count == 0 { break }
            // Ordered: the rows before the first held one pass, and nothing after it (a batch
            // whose last row passes passes whole). Unordered: each row on its own.
            var end = count
            if bound != nil && ordered && holds(batch, count - 1) {
                heldFrom = nil
                end = (0..<count).first { holds(batch, $0) } ?? count
            }
            for row in 0..<end {
                if bound != nil && !ordered && holds(batch, row) {
                    held += 1
                    continue
                }
                let rowStart = buffer.count
                var valueRange = 0..<0
                buffer.append(UInt8(ascii: "{"))
                for column in 0..<keys.count {
                    if column > 0 { buffer.append(UInt8(ascii: ",")) }
                    buffer.append(contentsOf: keys[column])
                    let valueStart = buffer.count
                    batch.withValue(row: row, column: column) { text in
                        if let text {
                            PostgresTextEncoder.append(text, style: styles[column], to: &buffer)
                        } else {
                            buffer.append(contentsOf: "null".utf8)
                        }
                    }
                    if column == groupIndex { valueRange = valueStart..<buffer.count }
                }
                buffer.append(contentsOf: "}\n".utf8)
                if groups != nil {
                    buffer.withUnsafeBufferPointer { groups?.rowAppended(at: rowStart, value: UnsafeBufferPointer(rebasing: $0[valueRange])) }
                }
                if buffer.count >= OutputStream.flushThreshold { try output.flush(&buffer, groups: &groups) }
            }
            if end < count {
                held += try countRemaining(afterHolding: count - end, batchWasFull: count == Self.fetchSize, context: context)
                rows += end
                break
            }
            rows += count
            if count < Self.fetchSize { break }
        }
        do {
            try connection.execute("CLOSE conduit_extract; COMMIT", context: context)
        } catch {
            throw error.conduitError
        }
        } catch {
            // The rows before the failure go out in whole value groups; the open group does not.
            output.abandon(&buffer, groups: groups)
            throw error
        }
        try output.finish(&buffer, groups: &groups)
        if held > 0, let bound {
            outcome?.heldRows = held
            outcome?.heldFrom = heldFrom
            outcome?.blocker = bound.blocker
            outcome?.pid = bound.pid
            outcome?.ageSeconds = bound.age
        }
        return ExtractedRows(rows: ordered ? rows : rows - held, lastValue: groups?.upperBound, horizon: outcome, horizonMemory: keptMemory)
    }

    /// The rows the cursor still holds once the horizon stopped the stream: the batch already
    /// asked for, then `MOVE FORWARD ALL` (which counts without sending rows).
    private func countRemaining(afterHolding heldInBatch: Int, batchWasFull: Bool, context: String) throws(ConduitError) -> Int {
        var held = heldInBatch
        guard batchWasFull else { return held }
        do {
            let next = try connection.receiveRows(context: context)
            held += next.rowCount
            if next.rowCount == Self.fetchSize {
                held += try connection.query("MOVE FORWARD ALL FROM conduit_extract", context: context).commandTuples
            }
        } catch {
            throw error.conduitError
        }
        return held
    }
}

@available(*, unavailable)
extension PostgresSource: Sendable {}

extension PostgresConnection {
    /// Gives `body` the raw handle; only this module's wrappers use it.
    func withHandle<T>(_ body: (OpaquePointer) throws(ConduitError) -> T) throws(ConduitError) -> T {
        try body(handle)
    }
}
