package import Config
package import Core
package import Extract
import Load
package import Stream

/// A PostgreSQL source: runs a resource's query and writes its rows as NDJSON, streaming (a
/// cursor fetched in batches, so memory stays flat whatever the row count), and describes a
/// query's columns without running it.
package final class PostgresSource: Source {
    private let connection: PostgresConnection
    private let label: String
    /// Rows per FETCH: large enough to amortise round trips, small enough to keep memory flat.
    static let fetchSize = 10_000

    /// The first PostgreSQL object id for user-defined objects: below it, every type is built in.
    static let firstUserObjectID: UInt32 = 16_384

    /// Connects and fixes the session settings the JSON mapping relies on. The server's notices
    /// (`RAISE NOTICE` in a function the query calls) go to `notices`.
    package init(
        source: SourceConfig, applicationName: String = "conduit-extract", notices: ServerNoticeHandler? = nil
    ) throws(ConduitError) {
        connection = try converting { () throws(PostgresError) in
            let connection = try PostgresConnection(
                settings: source.connection, applicationName: applicationName, notices: notices)
            var settings = [
                "SET TIME ZONE 'UTC'", "SET datestyle = 'ISO, YMD'", "SET intervalstyle = 'iso_8601'",
                "SET extra_float_digits = 1", "SET bytea_output = 'hex'", "SET client_encoding = 'UTF8'",
                "SET cursor_tuple_fraction = 1.0",
            ]
            if let schema = source.connection.schema {
                settings.append("SET search_path = \(try connection.escapeLiteral(schema))")
            }
            try connection.execute(settings.joined(separator: "; "), context: "setting up the session on \(connection.label)")
            return connection
        }
        label = connection.label
    }

    package func extract(
        resource: ResourceConfig, lastValue: StateValue?, horizonMemory: JSONValue?, output: GroupSafeOutput
    ) throws(ConduitError) -> ExtractedRows {
        let template = QueryTemplate(resource.query, dialect: .postgresql)
        let sql = template.rendered(placeholderReplacement: "$1")
        var parameterType: PostgresDataType?
        var parameter: String?
        var horizon: PostgresSafeHorizon?
        if template.containsPlaceholder || resource.isIncremental {
            let description = try converting { () throws(PostgresError) in
                try connection.describe(sql, context: "checking the query of \(resource.name) on \(label)")
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
    package func describe(resource: ResourceConfig) throws(ConduitError) -> [SourceColumn] {
        let sql = QueryTemplate(resource.query, dialect: .postgresql).rendered(placeholderReplacement: "$1")
        let context = "describing the query of \(resource.name) on \(label)"
        return try converting { () throws(PostgresError) in
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
            let catalog = try PostgresTypeCatalog.load(
                (0..<count).map { described.columnType($0) }, connection: connection, context: context)
            return (0..<count).map { column in
                let type = described.columnType(column)
                return SourceColumn(
                    name: described.columnName(column), sourceType: names.string(row: column, column: 0) ?? type.description,
                    kind: catalog.kind(for: type), isPostgresBuiltin: type.rawValue < Self.firstUserObjectID)
            }
        }
    }

    /// The type PostgreSQL infers for the query's `$1`, or nil when the query has no parameter.
    /// The corresponding libpq calls are `PQprepare` and `PQdescribePrepared`.
    package func parameterType(of sql: String, resource: String) throws(ConduitError) -> PostgresDataType? {
        try converting { () throws(PostgresError) in
            let description = try connection.describe(sql, context: "checking the query of \(resource) on \(label)")
            return description.parameterCount > 0 ? description.parameterType(0) : nil
        }
    }

    /// Runs `sql` with `$1` bound to `lastValue` (text, typed as `parameterType`) and writes
    /// each row to `output` as one JSON object. Follows `incrementalColumn` for the output's
    /// value groups and the last value (see ``GroupSafeOutput``).
    ///
    /// With a `horizon`, rows at and above the first value that a transaction in flight could
    /// still precede are not written (``PostgresSafeHorizon``); the result says how many.
    package func extract(
        sql: String, parameter: String?, parameterType: PostgresDataType?, resource: String, incrementalColumn: String?,
        ordered: Bool = true, output: GroupSafeOutput
    ) throws(ConduitError) -> ExtractedRows {
        try extract(
            sql: sql, parameter: parameter, parameterType: parameterType, resource: resource,
            incrementalColumn: incrementalColumn,
            ordered: ordered, horizon: nil, memory: nil, output: output)
    }

    /// The extract in the steps docs/ARCHITECTURE.md ("How a row travels", step 1) and
    /// docs/INCREMENTAL.md ("Rows that commit late") describe. Their order is what keeps rows
    /// from being lost: the horizon is read before the snapshot, in the `BEGIN` round trip; the
    /// cursor's declaration takes the snapshot; only then are rows fetched and held back.
    func extract(
        sql: String, parameter: String?, parameterType: PostgresDataType?, resource: String, incrementalColumn: String?,
        ordered: Bool, horizon plan: PostgresSafeHorizon?, memory: JSONValue?, output: GroupSafeOutput
    ) throws(ConduitError) -> ExtractedRows {
        let context = "running the query of \(resource) on \(label)"
        let reading = try readHorizonAndBegin(
            plan, sql: sql, parameter: parameter, parameterType: parameterType, incrementalColumn: incrementalColumn,
            memory: memory, context: context)
        // The cursor's declaration, the transaction's first statement, takes the snapshot.
        try converting { () throws(PostgresError) in
            try connection.declareCursor(Self.cursor, for: sql, parameter: parameter, type: parameterType, context: context)
        }
        let decision = plan.map { Self.bound($0, reading: reading, memory: memory, incrementalColumn: incrementalColumn ?? "") }
        var holdBack = plan.flatMap { plan in
            decision?.bound.map { PostgresHoldBack(horizon: plan, bound: $0, ordered: ordered) }
        }

        var writer: NDJSONRowWriter?
        do throws(ConduitError) {
            try fetchRows(
                into: &writer, holdingBack: &holdBack, incrementalColumn: incrementalColumn, output: output, context: context)
            try converting { () throws(PostgresError) in try connection.closeCursorAndCommit(Self.cursor, context: context) }
        } catch {
            // The rows before the failure go out in whole value groups; the open group does not.
            writer?.abandon()
            throw error
        }
        try writer?.finish()

        let outcome = decision.map { decision in
            var outcome = HorizonOutcome(
                heldRows: 0, heldFrom: nil, blocker: nil, pid: nil, ageSeconds: nil, warnings: decision.warnings)
            holdBack?.record(in: &outcome)
            return outcome
        }
        return ExtractedRows(
            rows: writer?.rowsWritten ?? 0, lastValue: writer?.lastValue, horizon: outcome, horizonMemory: decision?.memory)
    }

    /// The cursor the extract reads through.
    static let cursor = "conduit_extract"
    /// The transaction the cursor reads in: one snapshot for the whole query, and no writes.
    static let beginSnapshot = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

    /// Reads the safe horizon before the snapshot and begins the transaction: the tables the
    /// query reads, from its plan (`EXPLAIN`), then, in the same round trip as `BEGIN`, who could
    /// still write rows below which value (``PostgresSafeHorizon``). A transaction that starts
    /// after this read starts after its time and draws after its position. Without a horizon the
    /// column's type allows, only `BEGIN`, and nothing read (nil).
    private func readHorizonAndBegin(
        _ plan: PostgresSafeHorizon?, sql: String, parameter: String?, parameterType: PostgresDataType?,
        incrementalColumn: String?,
        memory: JSONValue?, context: String
    ) throws(ConduitError) -> PostgresSafeHorizon.Reading? {
        try converting { () throws(PostgresError) in
            guard let plan, plan.isSupported else {
                try connection.execute(Self.beginSnapshot, context: context)
                return nil
            }
            // The tables the query reads, from its plan: their writers count too.
            let explained = try connection.query(
                PostgresSafeHorizon.explain(sql), parameters: parameter.map { [$0] } ?? [],
                types: parameterType.map { [$0.rawValue] } ?? [], context: context)
            let tables: (names: [String], unseen: [String]) =
                explained.string(row: 0, column: 0)
                .flatMap { try? JSONParser.parse($0) }.map(PostgresSafeHorizon.tables(inPlan:)) ?? ([], [])
            let pending = PostgresHorizonMemory.pendingHolders(in: memory, rule: plan.memoryKey)
            let statement =
                plan.isTimeLike
                ? plan.timeQuery(relations: tables.names, pending: pending)
                : plan.sequenceQuery(relations: tables.names, pending: pending)
            // Read before the snapshot, in the same round trip as BEGIN.
            let result = try connection.silencingNotices { () throws(PostgresError) in
                try connection.queryFirst(statement + "; COMMIT; " + Self.beginSnapshot, context: context)
            }
            var reading =
                plan.isTimeLike ? plan.timeReading(result) : plan.sequenceReading(result, column: incrementalColumn ?? "")
            reading.unseen = tables.unseen
            return reading
        }
    }

    /// The bound: what the reading allows, weighed against what earlier runs read (`memory`), the
    /// memory the next run may use, and a warning for each guarantee this run cannot give. A
    /// horizon that read nothing bounds nothing, and says why.
    private static func bound(
        _ plan: PostgresSafeHorizon, reading: PostgresSafeHorizon.Reading?, memory: JSONValue?, incrementalColumn column: String
    ) -> (bound: PostgresSafeHorizon.Bound?, memory: JSONValue?, warnings: [String]) {
        if let reading {
            let decided = plan.bound(from: reading, memory: memory)
            return (decided.bound, decided.memory?.json, plan.warnings(reading, column: column))
        }
        if plan.isIntegerLike {
            return (
                nil, nil,
                [
                    "the safe horizon holds back nothing: \(column) is not a column read straight from a table (an expression, or a view), so the extract cannot tell which sequence draws it; lookback covers it, safe_horizon: false silences this"
                ]
            )
        }
        return (
            nil, nil,
            [
                "the safe horizon holds back nothing: it bounds numeric, timestamp and date columns, and \(column) is \(plan.type.description); safe_horizon: false silences this"
            ]
        )
    }

    /// Fetches the cursor's rows ``fetchSize`` at a time, asking for the next batch before
    /// encoding this one (the server produces it meanwhile), and writes each row through `writer`,
    /// made for the first batch's columns; each value goes from libpq's text format to JSON
    /// (``PostgresTextEncoder``). The hold-back ends the stream before the first row beyond its
    /// bound (ordered) or leaves out each such row (unordered), and counts what it kept.
    private func fetchRows(
        into writer: inout NDJSONRowWriter?, holdingBack holdBack: inout PostgresHoldBack?, incrementalColumn: String?,
        output: GroupSafeOutput, context: String
    ) throws(ConduitError) {
        try converting { () throws(PostgresError) in
            try connection.requestRows(Self.fetchSize, from: Self.cursor, context: context)
        }
        var batch = try converting { () throws(PostgresError) in try connection.receiveRows(context: context) }
        // Once per query, before the next FETCH is in flight.
        let styles = try valueStyles(of: batch, context: context)
        let scalars = styles.map(\.scalar)
        writer = NDJSONRowWriter(
            columnNames: (0..<batch.columnCount).map { batch.columnName($0) }, incrementalColumn: incrementalColumn,
            output: output)
        while true {
            let count = batch.rowCount
            let isFull = count == Self.fetchSize
            if isFull {
                try converting { () throws(PostgresError) in
                    try connection.requestRows(Self.fetchSize, from: Self.cursor, context: context)
                }
            }
            if count == 0 { return }
            let passing = holdBack?.passingPrefix(of: batch) ?? count
            // The per-value closure captures only views (no reference to count): retaining the
            // result and the arrays on every value cost a tenth of the extract.
            try batch.withValues { (values) throws(ConduitError) in
                try scalars.withUnsafeBufferPointer { (scalars) throws(ConduitError) in
                    try styles.withUnsafeBufferPointer { (styles) throws(ConduitError) in
                        for row in 0..<passing {
                            if holdBack?.holdsOnItsOwn(row: row, of: batch) == true { continue }
                            try writer?.writeRowMembers { (buffer, keys) -> Range<Int> in
                                var groupValue = 0..<0
                                for column in 0..<keys.count {
                                    keys.appendKey(column, to: &buffer)
                                    let valueStart = buffer.count
                                    values.withValue(row: row, column: column) { text in
                                        if let text {
                                            if let scalar = scalars[column] {
                                                PostgresTextEncoder.append(text, scalar: scalar, to: &buffer)
                                            } else {
                                                PostgresTextEncoder.append(text, style: styles[column], to: &buffer)
                                            }
                                        } else {
                                            buffer.append("null")
                                        }
                                    }
                                    if column == keys.groupColumn { groupValue = valueStart..<buffer.count }
                                }
                                return groupValue
                            }
                        }
                    }
                }
            }
            if passing < count {
                holdBack?.heldRows += count - passing
                holdBack?.heldRows += try countRemaining(batchWasFull: isFull, context: context)
                return
            }
            if !isFull { return }
            batch = try converting { () throws(PostgresError) in try connection.receiveRows(context: context) }
        }
    }

    /// How to write each column's values: the catalog says how to write the types Conduit does
    /// not name (an enum array, a domain, `inet[]`); asked only when the query returned rows.
    private func valueStyles(of batch: PostgresResult, context: String) throws(ConduitError) -> [PostgresTextEncoder.Style] {
        let types = (0..<batch.columnCount).map { batch.columnType($0) }
        var catalog = PostgresTypeCatalog()
        if batch.rowCount > 0 {
            catalog = try converting { () throws(PostgresError) in
                try PostgresTypeCatalog.load(types, connection: connection, context: context)
            }
        }
        return types.map { catalog.style(for: $0) }
    }

    /// The rows the cursor still holds once the hold-back ended the stream: the batch already
    /// asked for (when the last one was full), then `MOVE FORWARD ALL`, which counts without
    /// sending rows.
    private func countRemaining(batchWasFull: Bool, context: String) throws(ConduitError) -> Int {
        guard batchWasFull else { return 0 }
        return try converting { () throws(PostgresError) in
            let next = try connection.receiveRows(context: context)
            guard next.rowCount == Self.fetchSize else { return next.rowCount }
            return next.rowCount + (try connection.skipRemainingRows(of: Self.cursor, context: context))
        }
    }
}

@available(*, unavailable)
extension PostgresSource: Sendable {}
