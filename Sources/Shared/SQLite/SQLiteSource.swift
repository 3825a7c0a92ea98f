package import Config
package import Core
package import Extract
import Load
package import Stream

/// A SQLite source: runs a resource's query and writes its rows as NDJSON, one step at a time,
/// and describes a query's columns by compiling it. Values map by storage class; a column
/// declared BOOLEAN gives `true`/`false` for 0 and 1, and one declared JSON embeds text that is
/// valid JSON — so SQLite → NDJSON → SQLite keeps both.
package final class SQLiteSource: Source {
    let config: SourceConfig

    package init(source: SourceConfig) {
        config = source
    }

    package func extract(
        resource: ResourceConfig, lastValue: StateValue?, horizonMemory: JSONValue?, output: GroupSafeOutput
    ) throws(ConduitError) -> ExtractedRows {
        let sql = QueryTemplate(resource.query, dialect: .sqlite).rendered(placeholderReplacement: "?1")
        return try Self.extract(
            source: config, sql: sql, parameter: lastValue, resource: resource.name,
            incrementalColumn: resource.incrementalColumn, output: output)
    }

    /// The query's columns and their declared types, from compiling it (`sqlite3_column_decltype`).
    package func describe(resource: ResourceConfig) throws(ConduitError) -> [SourceColumn] {
        let sql = QueryTemplate(resource.query, dialect: .sqlite).rendered(placeholderReplacement: "?1")
        let path = config.connection.path ?? ""
        return try converting { () throws(SQLiteError) in
            let database = try SQLiteDatabase(path: path, readOnly: true)
            let statement = try database.prepare(sql, context: "describing the query of \(resource.name) on \(path)")
            return (0..<statement.columnCount).map { column in
                let declared = statement.declaredType(column)
                return SourceColumn(
                    name: statement.columnName(column), sourceType: declared,
                    kind: ColumnKind(sqliteDeclaredType: declared), sourceKind: SQLiteConnector.typeName,
                    // A table column declared without a type is created without one too.
                    sourceTypeIsPortable: !declared.isEmpty || statement.isTableColumn(column))
            }
        }
    }

    /// Runs `sql` with `?1` bound to `parameter` (when the query has it) and writes each row to
    /// `output`, following `incrementalColumn` for value groups and the last value (see ``GroupSafeOutput``).
    package static func extract(
        source: SourceConfig, sql: String, parameter: StateValue?, resource: String, incrementalColumn: String?,
        output: GroupSafeOutput
    ) throws(ConduitError) -> ExtractedRows {
        let path = source.connection.path ?? ""
        let context = "running the query of \(resource) on \(path)"
        // The statement keeps its database open.
        let statement = try converting { () throws(SQLiteError) in
            let database = try SQLiteDatabase(path: path, readOnly: true)
            let statement = try database.prepare(sql, context: context)
            if statement.parameterCount > 0 {
                try statement.bind(parameter ?? .number("0"), at: 1, context: context)
            }
            return statement
        }
        let kinds = (0..<statement.columnCount).map { ColumnKind(sqliteDeclaredType: statement.declaredType($0)) }
        var writer = NDJSONRowWriter(
            columnNames: (0..<statement.columnCount).map { statement.columnName($0) }, incrementalColumn: incrementalColumn,
            output: output)
        do throws(ConduitError) {
            while try converting({ () throws(SQLiteError) in try statement.step(context: context) }) {
                try writer.writeRow { column, buffer in
                    statement.appendJSON(column: column, declared: kinds[column], to: &buffer)
                }
            }
        } catch {
            writer.abandon()
            throw error
        }
        try writer.finish()
        return ExtractedRows(rows: writer.rowsWritten, lastValue: writer.lastValue)
    }
}

@available(*, unavailable)
extension SQLiteSource: Sendable {}
