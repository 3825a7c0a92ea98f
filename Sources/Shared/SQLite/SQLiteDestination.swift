package import Config
package import Core
import Extract
package import Load
package import Stream

/// Loads rows into a SQLite table with one prepared INSERT, one transaction per batch; each
/// value is checked against the column's declared type first (``SQLiteValueCheck``).
/// Values bind by kind: integers as INTEGER, other numbers as REAL (text for a TEXT column),
/// booleans as 0/1, objects and arrays as JSON text, base64 strings as blobs in BLOB columns.
package final class SQLiteDestination: LoadDestination {
    private let database: SQLiteDatabase
    private let quotedTable: String
    private let tableName: String
    package let label: String
    private var targets: [DestinationColumn] = []
    private var insert: SQLiteStatement?
    /// `merge`: the key each INSERT upserts on.
    private var mergeKey: [String] = []
    /// Whether merged rows update the ones the table holds (`merge`) or leave them (`append` with `lookback`).
    private var mergeUpdates = true

    package init(config: DestinationConfig, table: String) throws(ConduitError) {
        let path = config.connection.path ?? ""
        database = try converting { () throws(SQLiteError) in try SQLiteDatabase(path: path, readOnly: false) }
        tableName = table
        quotedTable = Self.quote(table)
        label = "\(quotedTable) in \(path)"
    }

    static func quote(_ identifier: String) -> String {
        "\"" + identifier.replacingAll("\"", with: "\"\"") + "\""
    }

    package func existingColumns() throws(ConduitError) -> [DestinationColumn]? {
        try columns(of: tableName)
    }

    /// The columns of a table, nil when there is no such table.
    private func columns(of table: String) throws(ConduitError) -> [DestinationColumn]? {
        let context = "reading the columns of \(Self.quote(table))"
        return try converting { () throws(SQLiteError) in
            let statement = try database.prepare("SELECT name, type FROM pragma_table_info(?1)", context: context)
            try statement.bind(.string(table), at: 1, context: context)
            var columns: [DestinationColumn] = []
            while try statement.step(context: context) {
                let type = statement.text(column: 1)
                columns.append(
                    DestinationColumn(name: statement.text(column: 0), type: type, kind: ColumnKind(sqliteDeclaredType: type)))
            }
            return columns.isEmpty ? nil : columns
        }
    }

    package var schemaChangesAreTransactional: Bool { true }

    package func typeName(for kind: ColumnKind) -> String { kind.sqliteName }

    package func newColumnType(source: SourceColumn?, inferred: ColumnKind) -> String {
        source?.sqliteType ?? typeName(for: inferred)
    }

    package func validateColumnName(_ name: String) -> String? {
        if name.isEmpty { return "an empty name" }
        if name.utf8.contains(0) { return "SQLite names cannot hold U+0000" }
        return nil
    }

    package func begin() throws(ConduitError) {
        try execute("BEGIN IMMEDIATE", doing: "starting a batch on \(label)")
    }

    package func createTable(_ columns: [(name: String, type: String)], primaryKey: [String]) throws(ConduitError) {
        var list = columns.map { Self.quote($0.name) + ($0.type.isEmpty ? "" : " " + $0.type) }
        if !primaryKey.isEmpty { list.append("PRIMARY KEY (\(primaryKey.map(Self.quote).joined(separator: ", ")))") }
        try execute("CREATE TABLE \(quotedTable) (\(list.joined(separator: ", ")))", doing: "creating \(label)")
    }

    package func enableMerge(primaryKey: [String]) throws(ConduitError) {
        try enableMerge(primaryKey: primaryKey, updateExisting: true)
    }

    package func enableMerge(primaryKey: [String], updateExisting: Bool) throws(ConduitError) {
        mergeKey = primaryKey
        mergeUpdates = updateExisting
    }

    package func resetStaging(like template: String) throws(ConduitError) {
        try execute("DROP TABLE IF EXISTS \(quotedTable)", doing: "dropping the staging table \(label) left by an unfinished run")
        if let definition = try tableDefinition(template, renamedTo: tableName) {
            try execute(definition, doing: "creating the staging table \(label)")
        }
    }

    package func publishStaging(into table: String, primaryKey: [String]) throws(ConduitError) {
        let target = Self.quote(table)
        let context = "replacing the rows of \(target) in \(database.path)"
        try execute("BEGIN IMMEDIATE", doing: context)
        do throws(ConduitError) {
            let staged = try columns(of: tableName)
            let existing = try columns(of: table)
            if let staged {
                if let existing {
                    for column in staged where !existing.contains(where: { $0.name == column.name }) {
                        try execute(
                            "ALTER TABLE \(target) ADD COLUMN \(Self.quote(column.name))\(column.type.isEmpty ? "" : " " + column.type)",
                            doing: context)
                    }
                } else if let definition = try tableDefinition(tableName, renamedTo: table) {
                    try execute(definition, doing: context)
                }
            }
            if existing != nil { try execute("DELETE FROM \(target)", doing: context) }
            if let staged {
                let names = staged.map { Self.quote($0.name) }.joined(separator: ", ")
                try execute("INSERT INTO \(target) (\(names)) SELECT \(names) FROM \(quotedTable)", doing: context)
                try execute("DROP TABLE \(quotedTable)", doing: context)
            }
            try execute("COMMIT", doing: context)
        } catch {
            try? database.execute("ROLLBACK", context: "rolling back")
            throw error
        }
    }

    /// `table`'s CREATE TABLE statement (constraints and all) for a table named `name`; nil
    /// when there is no such table.
    private func tableDefinition(_ table: String, renamedTo name: String) throws(ConduitError) -> String? {
        let context = "reading the definition of \(Self.quote(table))"
        return try converting { () throws(SQLiteError) in
            let statement = try database.prepare(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1", context: context)
            try statement.bind(.string(table), at: 1, context: context)
            guard try statement.step(context: context) else { return nil }
            let sql = statement.text(column: 0)
            // "CREATE TABLE <name> (…": everything from the first parenthesis is the definition.
            guard let open = sql.firstIndex(of: "(") else { return nil }
            return "CREATE TABLE \(Self.quote(name)) " + sql[open...]
        }
    }

    package func addColumn(name: String, type: String) throws(ConduitError) {
        insert = nil
        try execute(
            "ALTER TABLE \(quotedTable) ADD COLUMN \(Self.quote(name))\(type.isEmpty ? "" : " " + type)",
            doing: "adding column \(Self.quote(name)) to \(label)")
    }

    package func setTargetColumns(_ columns: [DestinationColumn]) throws(ConduitError) {
        targets = columns
        let names = columns.map { Self.quote($0.name) }.joined(separator: ", ")
        let values = (1...max(columns.count, 1)).map { "?\($0)" }.joined(separator: ", ")
        var upsert = ""
        if !mergeKey.isEmpty {
            let updates = columns.filter { !mergeKey.contains($0.name) }
                .map { "\(Self.quote($0.name)) = excluded.\(Self.quote($0.name))" }.joined(separator: ", ")
            // Rows apply in order, so within a run the last row of a key wins.
            // Insert-only (append with lookback): a key the table holds keeps its row, so the first row of a key wins.
            upsert =
                " ON CONFLICT (\(mergeKey.map(Self.quote).joined(separator: ", "))) "
                + (updates.isEmpty || !mergeUpdates ? "DO NOTHING" : "DO UPDATE SET \(updates)")
        }
        try converting { () throws(SQLiteError) in
            insert = try database.prepare(
                "INSERT INTO \(quotedTable) (\(names)) VALUES (\(values))\(upsert)", context: "loading into \(label)")
        }
    }

    package func write(_ row: JSONRow, positions: [Int], lineNumber: Int) throws(ConduitError) {
        guard let insert else { throw .internalError("loading into \(label): no columns chosen before the first row") }
        insert.clearBindings()
        defer { insert.reset() }
        for (index, member) in row.members.enumerated() {
            let position = positions[index]
            if let refusal = SQLiteValueCheck.refusal(of: member.value, in: row, kind: targets[position].kind) {
                let column = targets[position]
                throw .badInput(
                    "loading into \(label): line \(lineNumber): column \(Self.quote(column.name)) (\(column.type)) cannot take \(refusal)"
                )
            }
            let code = bind(member.value, of: row, kind: targets[position].kind, to: insert, at: position + 1)
            guard code == 0 else {
                throw .internalError(
                    "line \(lineNumber): binding column \(Self.quote(targets[position].name)): \(insert.lastMessage)")
            }
        }
        do {
            _ = try insert.step(context: "loading into \(label)")
        } catch {
            throw ConduitError(
                error.conduitError.kind, "loading into \(label): line \(lineNumber): \(error.message) (SQLite code \(error.code))"
            )
        }
    }

    private func bind(
        _ value: JSONRow.Value, of row: JSONRow, kind: ColumnKind?, to statement: SQLiteStatement, at index: Int
    ) -> Int32 {
        switch value {
        case .null:
            return statement.bindNull(at: index)
        case .bool(let flag):
            return statement.bindInteger(flag ? 1 : 0, at: index)
        case .number(let range):
            let bytes = row.lineBytes(range)
            let text = String(decoding: bytes, as: UTF8.self)
            if kind == .text { return statement.bindText(bytes: bytes, at: index) }
            if let integer = Int64(text) { return statement.bindInteger(integer, at: index) }
            if let real = Double(text), real.isFinite { return statement.bindReal(real, at: index) }
            return statement.bindText(bytes: bytes, at: index)
        case .string(let bytes):
            return row.withBytes(bytes) { text in
                if kind == .bytea, let blob = Base64.decode(text) { return statement.bindBlob(blob, at: index) }
                if kind == .real || kind == .double, let infinity = SQLiteValueCheck.infinity(text) {
                    return statement.bindReal(infinity, at: index)
                }
                if kind == .json || kind == .jsonb || kind?.isArray == true, (try? JSONParser.parse(text)) != nil {
                    // Text that reads as JSON ("123", "true", "[1]") goes into a JSON column as a
                    // JSON string, or it would come back as the number, boolean or array it spells
                    // (and "123" would become an integer by the column's affinity). Other text stays
                    // bare, as a SQLite source holds it, and reads back as the same string.
                    var quoted: [UInt8] = []
                    JSONEscaping.appendQuoted(bytes: text, to: &quoted)
                    return quoted.withUnsafeBufferPointer { statement.bindText(bytes: $0, at: index) }
                }
                return statement.bindText(bytes: text, at: index)
            }
        case .container(let range):
            return statement.bindText(bytes: row.lineBytes(range), at: index)
        }
    }

    package func commit() throws(ConduitError) {
        try execute("COMMIT", doing: "committing a batch to \(label)")
    }

    package func prepareCheckpoints() throws(ConduitError) {
        try execute(
            "CREATE TABLE IF NOT EXISTS \(Self.quote(checkpointTableName)) (resource TEXT NOT NULL, table_name TEXT NOT NULL, run TEXT NOT NULL, value TEXT NOT NULL, rows INTEGER NOT NULL, updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')), PRIMARY KEY (resource, table_name))",
            doing: "creating the checkpoint table in \(label)")
    }

    package func readCheckpoint(resource: String) throws(ConduitError) -> (run: String, value: String, rows: Int64)? {
        let context = "reading the checkpoint of \(resource) from \(label)"
        return try converting { () throws(SQLiteError) in
            let statement = try database.prepare(
                "SELECT run, value, rows FROM \(Self.quote(checkpointTableName)) WHERE resource = ?1 AND table_name = ?2",
                context: context)
            try statement.bind(.string(resource), at: 1, context: context)
            try statement.bind(.string(tableName), at: 2, context: context)
            guard try statement.step(context: context) else { return nil }
            return (statement.text(column: 0), statement.text(column: 1), Int64(statement.text(column: 2)) ?? 0)
        }
    }

    package func writeCheckpoint(
        resource: String, run: String, value: String, rows: Int64, replacing: StoredCheckpoint?
    ) throws(ConduitError) {
        let context = "writing the checkpoint of \(resource) to \(label)"
        let written = try converting { () throws(SQLiteError) -> Int64 in
            let table = Self.quote(checkpointTableName)
            let statement = try database.prepare(
                replacing == nil
                    ? """
                    INSERT INTO \(table) (resource, table_name, run, value, rows) VALUES (?1, ?2, ?3, ?4, ?5)
                    ON CONFLICT (resource, table_name) DO NOTHING
                    """
                    : """
                    UPDATE \(table) SET run = ?3, value = ?4, rows = ?5, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
                    WHERE resource = ?1 AND table_name = ?2 AND run = ?6 AND value = ?7
                    """, context: context)
            try statement.bind(.string(resource), at: 1, context: context)
            try statement.bind(.string(tableName), at: 2, context: context)
            try statement.bind(.string(run), at: 3, context: context)
            try statement.bind(.string(value), at: 4, context: context)
            try statement.bind(.number(String(rows)), at: 5, context: context)
            if let replacing {
                try statement.bind(.string(replacing.run), at: 6, context: context)
                try statement.bind(.string(replacing.value), at: 7, context: context)
            }
            _ = try statement.step(context: context)
            return database.changes
        }
        guard written == 1 else { throw CheckpointConflict.error(resource: resource, in: label) }
    }

    package func rollback() {
        insert?.reset()
        try? database.execute("ROLLBACK", context: "rolling back")
    }

    private func execute(_ sql: String, doing context: String) throws(ConduitError) {
        try converting { () throws(SQLiteError) in
            try database.execute(sql, context: context)
        }
    }
}

@available(*, unavailable)
extension SQLiteDestination: Sendable {}
