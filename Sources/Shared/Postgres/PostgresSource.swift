package import Config
package import Core
package import Extract
import Load
package import Stream

/// A PostgreSQL source: runs a resource's query and writes its rows as NDJSON, streaming
/// (`COPY (query) TO STDOUT`, read in batches, so memory stays flat whatever the row count), and
/// describes a query's columns without running it.
package final class PostgresSource: Source {
    private let connection: PostgresConnection
    private let label: String
    /// Rows read from the COPY before they are written (the hold-back looks at a batch's last
    /// row first): small enough to keep memory flat.
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
            template: template, parameter: parameter, parameterType: parameterType,
            resource: resource.name, incrementalColumn: resource.incrementalColumn, ordered: resource.ordered, horizon: horizon,
            memory: horizonMemory, output: output)
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

    /// The extract in the steps docs/ARCHITECTURE.md ("How a row travels", step 1) and
    /// docs/INCREMENTAL.md ("Rows that commit late") describe. Their order is what keeps rows
    /// from being lost: the horizon is read before the snapshot, in the `BEGIN` round trip; the
    /// cursor's declaration takes the snapshot; only then are rows fetched and held back.
    func extract(
        template: QueryTemplate, parameter: String?, parameterType: PostgresDataType?,
        resource: String, incrementalColumn: String?, ordered: Bool, horizon plan: PostgresSafeHorizon?, memory: JSONValue?,
        output: GroupSafeOutput
    ) throws(ConduitError) -> ExtractedRows {
        let context = "running the query of \(resource) on \(label)"
        let sql = template.rendered(placeholderReplacement: "$1")
        let reading = try readHorizonAndBegin(
            plan, sql: sql, parameter: parameter, parameterType: parameterType, incrementalColumn: incrementalColumn,
            memory: memory, context: context)
        // Inside the transaction, the query is described again: that takes the snapshot and the
        // locks of the tables it reads, held to the end, so the COPY's columns are the ones
        // described (a concurrent ALTER TABLE waits for this transaction).
        let description = try converting { () throws(PostgresError) in try connection.describe(sql, context: context) }
        let statement = try copyStatement(template, parameter: parameter, type: parameterType, context: context)
        let types = (0..<description.columnCount).map { description.columnType($0) }
        let styles = try converting { () throws(PostgresError) in
            let catalog = try PostgresTypeCatalog.load(types, connection: connection, context: context)
            return types.map { catalog.style(for: $0) }
        }
        try converting { () throws(PostgresError) in
            do throws(PostgresError) {
                try connection.startCopyOut(statement, context: context)
            } catch {
                // Its position would count in the COPY statement, not in the query as written.
                var unplaced = error
                unplaced.position = nil
                throw unplaced
            }
        }
        let decision = plan.map { Self.bound($0, reading: reading, memory: memory, incrementalColumn: incrementalColumn ?? "") }
        var holdBack = plan.flatMap { plan in
            decision?.bound.map { PostgresHoldBack(horizon: plan, bound: $0, ordered: ordered) }
        }

        var writer: NDJSONRowWriter? = NDJSONRowWriter(
            columnNames: (0..<description.columnCount).map { description.columnName($0) },
            incrementalColumn: incrementalColumn, output: output)
        do throws(ConduitError) {
            try fetchRows(into: &writer, styles: styles, holdingBack: &holdBack, context: context)
            try converting { () throws(PostgresError) in try connection.execute("COMMIT", context: context) }
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

    /// The transaction the COPY reads in: one snapshot for the whole query, and no writes. The
    /// COPY is one statement however long the stream runs (a cursor's FETCHes were one each), so
    /// within this transaction no `statement_timeout` stops it, as pg_dump does for its COPYs; a
    /// `SET` takes no snapshot, the COPY after it does.
    static let beginSnapshot = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = 0"

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

    /// `COPY (query) TO STDOUT` for the resource's query, with `:last_value` as a literal: COPY
    /// takes no parameters. The value is first checked as a bound parameter of the type
    /// PostgreSQL inferred (a value that is not one fails here, as a parameter would), then
    /// written as the literal libpq's `PQescapeLiteral` quotes, cast to that type; the query's
    /// trailing semicolons and comments are left out, so that it can be enclosed.
    private func copyStatement(
        _ template: QueryTemplate, parameter: String?, type: PostgresDataType?, context: String
    ) throws(ConduitError) -> String {
        var replacement = "$1"
        if let parameter {
            replacement = try converting { () throws(PostgresError) in
                // The type's own name, with no modifier: what a parameter of it is (`character`
                // would be `char(1)`, `bit` `bit(1)`). Selecting `$1 IS NULL` reads the value.
                let checked = try connection.query(
                    """
                    SELECT quote_ident(n.nspname) || '.' || quote_ident(t.typname), $1 IS NULL
                    FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = $2
                    """,
                    parameters: [parameter, String(type?.rawValue ?? PostgresDataType.text.rawValue)],
                    types: [type?.rawValue ?? PostgresDataType.text.rawValue, PostgresDataType.oid.rawValue], context: context)
                guard let typeName = checked.string(row: 0, column: 0) else {
                    throw PostgresError(
                        context: context, message: "the server could not name the type of :last_value", isConnectionFailure: false
                    )
                }
                return "CAST(\(try connection.escapeLiteral(parameter)) AS \(typeName))"
            }
        }
        return "COPY (\n" + template.renderedStatement(placeholderReplacement: replacement) + "\n) TO STDOUT"
    }

    /// Reads the COPY's rows ``fetchSize`` at a time and writes each through `writer`; each value
    /// goes from COPY text to JSON (``PostgresCopyText``, then ``PostgresTextEncoder``). The
    /// hold-back ends the stream before the first row beyond its bound (ordered) or leaves out
    /// each such row (unordered), and counts what it kept.
    private func fetchRows(
        into writer: inout NDJSONRowWriter?, styles: [PostgresTextEncoder.Style], holdingBack holdBack: inout PostgresHoldBack?,
        context: String
    ) throws(ConduitError) {
        let scalars = styles.map(\.scalar)
        let rows = PostgresCopyRows()
        var fields = [Range<Int>](repeating: 0..<0, count: styles.count)
        var escaped = [Bool](repeating: false, count: styles.count)
        var decoded: [UInt8] = []
        while true {
            let more = try converting { () throws(PostgresError) in
                try connection.receiveCopyRows(upTo: Self.fetchSize, into: rows, context: context)
            }
            let count = rows.count
            if count == 0 { return }
            let passing = holdBack?.passingPrefix(of: rows) ?? count
            // The per-value closure captures only views and locals: retaining arrays on every
            // value cost a tenth of the extract.
            try scalars.withUnsafeBufferPointer { (scalars) throws(ConduitError) in
                try styles.withUnsafeBufferPointer { (styles) throws(ConduitError) in
                    try fields.withUnsafeMutableBufferPointer { (fields) throws(ConduitError) in
                        try escaped.withUnsafeMutableBufferPointer { (escaped) throws(ConduitError) in
                            for row in 0..<passing {
                                if holdBack?.holdsOnItsOwn(row: row, of: rows) == true { continue }
                                let failure = rows.withRow(row) { (bytes) -> ConduitError? in
                                    guard PostgresCopyText.split(bytes, fields: fields, escaped: escaped) else {
                                        return .internalError(
                                            "\(context): a COPY row did not hold \(fields.count) fields: \(String(decoding: bytes.prefix(200), as: UTF8.self))"
                                        )
                                    }
                                    do throws(ConduitError) {
                                        try writer?.writeRow { column, buffer in
                                            let text = UnsafeBufferPointer(rebasing: bytes[fields[column]])
                                            guard escaped[column] else {
                                                Self.append(
                                                    text, scalar: scalars[column], styles: styles, column: column, to: &buffer)
                                                return
                                            }
                                            if PostgresCopyText.isNull(text) {
                                                buffer.append("null")
                                                return
                                            }
                                            PostgresCopyText.unescape(text, into: &decoded)
                                            decoded.withUnsafeBufferPointer {
                                                Self.append(
                                                    $0, scalar: scalars[column], styles: styles, column: column, to: &buffer)
                                            }
                                        }
                                    } catch {
                                        return error
                                    }
                                    return nil
                                }
                                if let failure { throw failure }
                            }
                        }
                    }
                }
            }
            if passing < count {
                holdBack?.heldRows += count - passing
                if more { holdBack?.heldRows += try countRemaining(rows, context: context) }
                return
            }
            rows.removeAll()
            if !more { return }
        }
    }

    /// Appends one non-NULL value's JSON: in its scalar style when it has one (reading a
    /// ``PostgresTextEncoder/Style`` out of the array copies an array style's payload box).
    @inline(__always)
    private static func append(
        _ text: UnsafeBufferPointer<UInt8>, scalar: PostgresTextEncoder.Scalar?,
        styles: UnsafeBufferPointer<PostgresTextEncoder.Style>, column: Int, to buffer: inout ByteBuffer
    ) {
        if let scalar {
            PostgresTextEncoder.append(text, scalar: scalar, to: &buffer)
        } else {
            PostgresTextEncoder.append(text, style: styles[column], to: &buffer)
        }
    }

    /// The rows the COPY still sends once the hold-back ended the stream: read and counted, not written.
    private func countRemaining(_ rows: PostgresCopyRows, context: String) throws(ConduitError) -> Int {
        var remaining = 0
        while true {
            rows.removeAll()
            let more = try converting { () throws(PostgresError) in
                try connection.receiveCopyRows(upTo: Self.fetchSize, into: rows, context: context)
            }
            remaining += rows.count
            if !more { return remaining }
        }
    }
}

@available(*, unavailable)
extension PostgresSource: Sendable {}
