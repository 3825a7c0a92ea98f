package import Config
package import Core
import Extract
package import Load
package import Stream

/// Loads rows into a PostgreSQL table with `COPY … FROM STDIN` in text format, one transaction
/// per batch. Rows are encoded straight from the scanned NDJSON bytes into COPY text and sent in
/// large chunks; the server's errors are traced back to the input line through the COPY line number.
package final class PostgresDestination: LoadDestination {
    private let connection: PostgresConnection
    /// `"schema"."table"` or `"table"`, quoted.
    private let qualifiedName: String
    /// The checkpoint table, in the same schema.
    private let checkpointTable: String
    private let tableName: String
    package let label: String
    /// Bytes of COPY data sent per `PQputCopyData`, which copies them into libpq's own buffer:
    /// 32 KB stays in the cache (the loader from a file: 322 → 298 ms, best of 12; 16 KB and
    /// 64 KB measured no better).
    static let chunkSize = 32 * 1024

    private var targets: [DestinationColumn] = []
    /// How each target column takes JSON values.
    private var encodings: [PostgresLoadEncoder.Encoding] = []
    private var copyStatement = ""
    private var inCopy = false
    /// The current COPY's unsent lines and line numbers (nil only while a row is appended).
    private var copyStream: CopyStream? = CopyStream()
    private var fieldBytes: [UInt8] = []
    private var fieldRanges: [Range<Int>?] = []
    /// `merge`: the key it upserts on; rows go to a temporary staging table first.
    private var mergeKey: [String] = []
    /// The temporary staging table's columns (name → type), beyond its line counter.
    private var mergeColumns: [(name: String, type: String)] = []
    /// Whether staged rows wait to be merged into the table.
    private var mergePending = false
    /// Whether merged rows update the ones the table holds (`merge`) or leave them (`append` with `lookback`).
    private var mergeUpdates = true
    static let mergeStaging = "pg_temp.conduit_merge"
    /// `"schema".` or nothing: where this table and its staging table live.
    private let schemaPrefix: String

    /// Connects for `table`. The server's notices (a trigger's `RAISE NOTICE`) go to `notices`.
    package init(config: DestinationConfig, table: String, notices: ServerNoticeHandler? = nil) throws(ConduitError) {
        connection = try converting { () throws(PostgresError) in
            let connection = try PostgresConnection(
                settings: config.connection, applicationName: "conduit-load", notices: notices)
            // Inputs without a zone or in an ambiguous date order are read the same on every server.
            try connection.execute(
                "SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC'; SET datestyle = 'ISO, YMD'",
                context: "setting up the session on \(connection.label)")
            return connection
        }
        tableName = table
        let schema = config.connection.schema
        schemaPrefix = schema.map { Self.quote($0) + "." } ?? ""
        qualifiedName = (schema.map { Self.quote($0) + "." } ?? "") + Self.quote(table)
        checkpointTable = (schema.map { Self.quote($0) + "." } ?? "") + Self.quote(checkpointTableName)
        label = "\(qualifiedName) on \(connection.label)"
    }

    /// Quotes an identifier: double quotes around it, inner double quotes doubled.
    static func quote(_ identifier: String) -> String {
        "\"" + identifier.replacingAll("\"", with: "\"\"") + "\""
    }

    package func existingColumns() throws(ConduitError) -> [DestinationColumn]? {
        try columns(of: qualifiedName)
    }

    /// The columns of a table (quoted, qualified name), nil when there is no such table.
    private func columns(of qualified: String) throws(ConduitError) -> [DestinationColumn]? {
        let context = "reading the columns of \(qualified) on \(connection.label)"
        return try converting { () throws(PostgresError) in
            let columns = try connection.query(
                """
                SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.atttypid::int8, t.typcategory = 'A'
                FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
                """, parameters: [qualified], context: context)
            guard columns.rowCount > 0 else { return nil }
            return (0..<columns.rowCount).map { row in
                let oid = columns.string(row: row, column: 2).flatMap { UInt32($0) } ?? 0
                let isArray = columns.string(row: row, column: 3) == "t"
                return DestinationColumn(
                    name: columns.string(row: row, column: 0) ?? "",
                    type: columns.string(row: row, column: 1) ?? "",
                    kind: ColumnKind(postgres: PostgresDataType(oid)) ?? (isArray ? .array(.text) : nil))
            }
        }
    }

    package var schemaChangesAreTransactional: Bool { true }

    package func typeName(for kind: ColumnKind) -> String { kind.postgresName }

    package func newColumnType(source: SourceColumn?, inferred: ColumnKind) -> String {
        source?.postgresType ?? typeName(for: inferred)
    }

    package func validateColumnName(_ name: String) -> String? {
        if name.isEmpty { return "PostgreSQL has no empty column names" }
        if name.utf8.count > 63 { return "longer than 63 bytes, PostgreSQL's limit for a name" }
        if name.utf8.contains(0) { return "PostgreSQL names cannot hold U+0000" }
        return nil
    }

    package func begin() throws(ConduitError) {
        try execute("BEGIN", doing: "starting a batch on \(label)")
    }

    package func createTable(_ columns: [(name: String, type: String)], primaryKey: [String]) throws(ConduitError) {
        try endCopy()
        var list = columns.map { Self.quote($0.name) + " " + $0.type }
        if !primaryKey.isEmpty { list.append("PRIMARY KEY (\(primaryKey.map(Self.quote).joined(separator: ", ")))") }
        try execute("CREATE TABLE \(qualifiedName) (\(list.joined(separator: ", ")))", doing: "creating \(label)")
    }

    package func addColumn(name: String, type: String) throws(ConduitError) {
        try endCopy()
        try execute(
            "ALTER TABLE \(qualifiedName) ADD COLUMN \(Self.quote(name)) \(type)",
            doing: "adding column \(Self.quote(name)) to \(label)")
    }

    package func setTargetColumns(_ columns: [DestinationColumn]) throws(ConduitError) {
        try endCopy()
        targets = columns
        encodings = columns.map { PostgresLoadEncoder.Encoding($0.kind) }
        fieldRanges = Array(repeating: nil, count: columns.count)
        let names = columns.map { Self.quote($0.name) }.joined(separator: ", ")
        guard !mergeKey.isEmpty else {
            copyStatement = "COPY \(qualifiedName) (\(names)) FROM STDIN"
            return
        }
        // merge: rows go to the staging table, which gets every column the rows fill, typed as the table's.
        if mergeColumns.isEmpty {
            try connection.silencingNotices { () throws(ConduitError) in
                try execute(
                    "CREATE TEMP TABLE IF NOT EXISTS conduit_merge (_conduit_line bigserial)",
                    doing: "creating the merge staging table for \(label)")
            }
        }
        for column in columns where !mergeColumns.contains(where: { $0.name == column.name }) {
            try execute(
                "ALTER TABLE \(Self.mergeStaging) ADD COLUMN \(Self.quote(column.name)) \(column.type)",
                doing: "adding column \(Self.quote(column.name)) to the merge staging table of \(label)")
            mergeColumns.append((column.name, column.type))
        }
        copyStatement = "COPY \(Self.mergeStaging) (\(names)) FROM STDIN"
    }

    package func enableMerge(primaryKey: [String]) throws(ConduitError) {
        try enableMerge(primaryKey: primaryKey, updateExisting: true)
    }

    package func enableMerge(primaryKey: [String], updateExisting: Bool) throws(ConduitError) {
        mergeKey = primaryKey
        mergeUpdates = updateExisting
    }

    /// `merge`: upserts the staged rows into the table, the last row of each key winning, and empties the staging table.
    private func mergeStagedRows() throws(ConduitError) {
        try endCopy()
        guard mergePending else { return }
        mergePending = false
        let columns = mergeColumns.map { Self.quote($0.name) }.joined(separator: ", ")
        let key = mergeKey.map(Self.quote).joined(separator: ", ")
        let updates = mergeColumns.filter { column in !mergeKey.contains(column.name) }
            .map { "\(Self.quote($0.name)) = EXCLUDED.\(Self.quote($0.name))" }.joined(separator: ", ")
        let action = updates.isEmpty || !mergeUpdates ? "DO NOTHING" : "DO UPDATE SET \(updates)"
        // merge: the last row of a key wins; insert-only: the first (later ones would be skipped anyway).
        let order = mergeUpdates ? "DESC" : "ASC"
        try execute(
            """
            INSERT INTO \(qualifiedName) (\(columns)) SELECT DISTINCT ON (\(key)) \(columns) FROM \(Self.mergeStaging)
            ORDER BY \(key), _conduit_line \(order) ON CONFLICT (\(key)) \(action); TRUNCATE \(Self.mergeStaging)
            """,
            doing: mergeUpdates
                ? "merging the batch into \(label) on (\(key))" : "inserting the batch's new rows into \(label) on (\(key))")
    }

    package func resetStaging(like template: String) throws(ConduitError) {
        let templateName = schemaPrefix + Self.quote(template)
        try connection.silencingNotices { () throws(ConduitError) in
            try execute(
                "DROP TABLE IF EXISTS \(qualifiedName)", doing: "dropping the staging table \(label) left by an unfinished run")
        }
        if try columns(of: templateName) != nil {
            try execute(
                "CREATE TABLE \(qualifiedName) (LIKE \(templateName) INCLUDING ALL)", doing: "creating the staging table \(label)"
            )
        }
    }

    package func publishStaging(into table: String, primaryKey: [String]) throws(ConduitError) {
        let target = schemaPrefix + Self.quote(table)
        let context = "replacing the rows of \(target) on \(connection.label)"
        try execute("BEGIN", doing: context)
        do throws(ConduitError) {
            let staged = try columns(of: qualifiedName)
            let existing = try columns(of: target)
            if let staged {
                if let existing {
                    for column in staged where !existing.contains(where: { $0.name == column.name }) {
                        try execute("ALTER TABLE \(target) ADD COLUMN \(Self.quote(column.name)) \(column.type)", doing: context)
                    }
                } else {
                    try execute("CREATE TABLE \(target) (LIKE \(qualifiedName) INCLUDING ALL)", doing: context)
                }
            }
            if existing != nil { try execute("DELETE FROM \(target)", doing: context) }
            if let staged {
                let names = staged.map { Self.quote($0.name) }.joined(separator: ", ")
                try execute(
                    "INSERT INTO \(target) (\(names)) SELECT \(names) FROM \(qualifiedName); DROP TABLE \(qualifiedName)",
                    doing: context)
            }
            try execute("COMMIT", doing: context)
        } catch {
            try? connection.execute("ROLLBACK", context: "rolling back")
            throw error
        }
    }

    package func write(_ row: JSONRow, positions: [Int], lineNumber: Int) throws(ConduitError) {
        if !mergeKey.isEmpty { mergePending = true }
        if !inCopy {
            try converting { () throws(PostgresError) in try connection.startCopy(copyStatement, context: "loading into \(label)")
            }
            inCopy = true
        }
        // The stream is taken out of its property for the row (a class's stored property pays a
        // dynamic exclusivity check on every access, which was a sixth of the loader's time).
        guard var stream = copyStream.take() else {
            throw .internalError("loading into \(label): the COPY buffer is in use")
        }
        let problem = encode(row, positions: positions, lineNumber: lineNumber, into: &stream.buffer)
        if problem == nil { stream.lineNumbers.append(lineNumber) }
        let isFull = stream.buffer.count >= Self.chunkSize
        copyStream = consume stream
        if let problem { throw problem }
        if isFull { try flush() }
    }

    /// Appends one row's COPY line to `buffer`; on a value's error, appends nothing and returns it.
    private func encode(_ row: JSONRow, positions: [Int], lineNumber: Int, into buffer: inout ByteBuffer) -> ConduitError? {
        let encodings = self.encodings
        let members = row.members
        var inOrder = members.count == encodings.count
        if inOrder {
            for index in 0..<positions.count where positions[index] != index {
                inOrder = false
                break
            }
        }
        let start = buffer.count
        if inOrder {
            // The usual row: every column once, in the table's order; encode straight into the buffer.
            let line = row.lineBuffer
            for index in 0..<members.count {
                if index > 0 { buffer.append(0x09) }
                if let problem = PostgresLoadEncoder.append(
                    members[index].value, of: row, line: line, as: encodings[index], to: &buffer)
                {
                    buffer.removeSuffix(from: start)
                    return valueError(problem, column: index, lineNumber: lineNumber)
                }
            }
        } else {
            var fieldBytes = self.fieldBytes
            var fieldRanges = self.fieldRanges
            defer {
                self.fieldBytes = fieldBytes
                self.fieldRanges = fieldRanges
            }
            fieldBytes.removeAll(keepingCapacity: true)
            for index in 0..<fieldRanges.count { fieldRanges[index] = nil }
            for index in 0..<members.count {
                let position = positions[index]
                let start = fieldBytes.count
                if let problem = PostgresLoadEncoder.append(
                    members[index].value, of: row, as: encodings[position], to: &fieldBytes)
                {
                    return valueError(problem, column: position, lineNumber: lineNumber)
                }
                fieldRanges[position] = start..<fieldBytes.count
            }
            fieldBytes.withUnsafeBufferPointer { fields in
                for position in 0..<fieldRanges.count {
                    if position > 0 { buffer.append(0x09) }
                    if let range = fieldRanges[position] {
                        buffer.append(contentsOf: UnsafeBufferPointer(rebasing: fields[range]))
                    } else {
                        buffer.append("\\N")
                    }
                }
            }
        }
        buffer.append(0x0A)
        return nil
    }

    private func valueError(_ problem: String, column: Int, lineNumber: Int) -> ConduitError {
        .badInput("line \(lineNumber): column \(Self.quote(targets[column].name)) (\(targets[column].type)): \(problem)")
    }

    private func flush() throws(ConduitError) {
        guard var stream = copyStream.take() else { return }
        let sent = stream.buffer.withUnsafeBufferPointer { connection.putCopyData($0) }
        stream.buffer.removeAll()
        copyStream = consume stream
        if !sent {
            // The server refused the COPY already; its error says why and where.
            try endCopy()
            throw .internalError("loading into \(label): the server stopped the COPY without saying why")
        }
    }

    private func endCopy() throws(ConduitError) {
        guard inCopy else { return }
        try flush()
        inCopy = false
        do {
            try connection.endCopy(context: "loading into \(label)")
        } catch {
            throw copyError(error)
        }
        copyStream?.lineNumbers.removeAll(keepingCapacity: true)
    }

    /// Rewrites the server's `COPY t, line 3, column id: "abc"` as the stream's line and the column.
    private func copyError(_ error: PostgresError) -> ConduitError {
        let mapped = error.conduitError
        // The context can have several lines ("JSON data, line 1: …" first); the COPY one says where.
        guard let context = error.serverContext,
            let copyContext = context.split(separator: "\n").first(where: { $0.hasPrefix("COPY ") }),
            let lineRange = copyContext.firstRange(of: ", line ")
        else { return mapped }
        let rest = copyContext[lineRange.upperBound...]
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        let lineNumbers = copyStream?.lineNumbers ?? []
        guard let copyLine = Int(digits), copyLine >= 1, copyLine <= lineNumbers.count else { return mapped }
        var text = "line \(lineNumbers[copyLine - 1])"
        let afterLine = rest.dropFirst(digits.count)
        if afterLine.hasPrefix(", column ") {
            let name = afterLine.dropFirst(", column ".count).prefix { $0 != ":" }
            text += ": column \(Self.quote(String(name)))"
        }
        text += ": \(error.message)"
        if let sqlState = error.sqlState { text += " (SQLSTATE \(sqlState))" }
        if let detail = error.detail { text += "; detail: \(detail)" }
        if let hint = error.hint { text += "; hint: \(hint)" }
        return ConduitError(mapped.kind, "loading into \(label): " + text)
    }

    package func commit() throws(ConduitError) {
        try mergeStagedRows()
        try execute("COMMIT", doing: "committing a batch to \(label)")
    }

    package func prepareCheckpoints() throws(ConduitError) {
        let sql =
            "CREATE TABLE IF NOT EXISTS \(checkpointTable) (resource text NOT NULL, table_name text NOT NULL, run text NOT NULL, value text NOT NULL, rows bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (resource, table_name))"
        try converting { () throws(PostgresError) in
            do throws(PostgresError) {
                // Its "already exists, skipping" notice says nothing to the user.
                try connection.silencingNotices { () throws(PostgresError) in
                    try connection.execute(sql, context: "creating \(checkpointTable) on \(connection.label)")
                }
            } catch  where error.sqlState == "23505" {
                // Another load created it at the same moment (pg_type's unique index): it exists now.
            }
        }
    }

    package func readCheckpoint(resource: String) throws(ConduitError) -> (run: String, value: String, rows: Int64)? {
        try converting { () throws(PostgresError) in
            let result = try connection.query(
                "SELECT run, value, rows FROM \(checkpointTable) WHERE resource = $1 AND table_name = $2",
                parameters: [resource, qualifiedName],
                context: "reading the checkpoint of \(resource) from \(connection.label)")
            guard result.rowCount == 1, let run = result.string(row: 0, column: 0), let value = result.string(row: 0, column: 1)
            else { return nil }
            return (run, value, result.string(row: 0, column: 2).flatMap { Int64($0) } ?? 0)
        }
    }

    package func writeCheckpoint(
        resource: String, run: String, value: String, rows: Int64, replacing: StoredCheckpoint?
    ) throws(ConduitError) {
        try mergeStagedRows()
        let written = try converting { () throws(PostgresError) -> Int in
            let context = "writing the checkpoint of \(resource) to \(connection.label)"
            guard let replacing else {
                return try connection.query(
                    """
                    INSERT INTO \(checkpointTable) (resource, table_name, run, value, rows) VALUES ($1, $2, $3, $4, $5)
                    ON CONFLICT (resource, table_name) DO NOTHING
                    """, parameters: [resource, qualifiedName, run, value, String(rows)], context: context
                ).commandTuples
            }
            // A concurrent writer's row lock makes this wait, then see its value: at most one wins.
            return try connection.query(
                """
                UPDATE \(checkpointTable) SET run = $3, value = $4, rows = $5, updated_at = now()
                WHERE resource = $1 AND table_name = $2 AND run = $6 AND value = $7
                """, parameters: [resource, qualifiedName, run, value, String(rows), replacing.run, replacing.value],
                context: context
            ).commandTuples
        }
        guard written == 1 else { throw CheckpointConflict.error(resource: resource, in: connection.label) }
    }

    package func rollback() {
        mergePending = false
        if inCopy {
            inCopy = false
            copyStream?.buffer.removeAll()
            copyStream?.lineNumbers.removeAll(keepingCapacity: true)
            try? connection.abortCopy()
        }
        // Without an open transaction the server warns "there is no transaction in progress": nothing to report.
        connection.silencingNotices { try? connection.execute("ROLLBACK", context: "rolling back") }
    }

    private func execute(_ sql: String, doing context: String) throws(ConduitError) {
        try converting { () throws(PostgresError) in try connection.execute(sql, context: context) }
    }
}

@available(*, unavailable)
extension PostgresDestination: Sendable {}

/// The COPY in progress: its lines not sent yet, and the input line of each of its rows, so an
/// error's "line N" becomes the stream's line. One value, so a row takes it out of the
/// destination and puts it back with one exclusivity check each way.
private struct CopyStream: ~Copyable {
    var buffer = ByteBuffer(capacity: PostgresDestination.chunkSize + 64 * 1024)
    var lineNumbers: [Int] = []
}
