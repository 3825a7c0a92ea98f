public import Config
public import Core
public import Extract
import Load
public import Stream

/// A SQLite source: runs a resource's query and writes its rows as NDJSON, one step at a time,
/// and describes a query's columns by compiling it. Values map by storage class; a column
/// declared BOOLEAN gives `true`/`false` for 0 and 1, and one declared JSON embeds text that is
/// valid JSON — so SQLite → NDJSON → SQLite keeps both.
public final class SQLiteSource: Source {
    let config: SourceConfig

    public init(source: SourceConfig) {
        config = source
    }

    public func extract(
        resource: ResourceConfig, lastValue: StateValue?, horizonMemory: JSONValue?, output: OutputStream
    ) throws(ConduitError) -> ExtractedRows {
        let sql = QueryTemplate(resource.query, dialect: .sqlite).rendered(placeholderReplacement: "?1")
        return try Self.extract(
            source: config, sql: sql, parameter: lastValue, resource: resource.name,
            incrementalColumn: resource.incrementalColumn, output: output)
    }

    /// The query's columns and their declared types, from compiling it (`sqlite3_column_decltype`).
    public func describe(resource: ResourceConfig) throws(ConduitError) -> [SourceColumn] {
        let sql = QueryTemplate(resource.query, dialect: .sqlite).rendered(placeholderReplacement: "?1")
        let path = config.connection.path ?? ""
        do {
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
        } catch {
            throw error.conduitError
        }
    }

    /// Runs `sql` with `?1` bound to `parameter` (when the query has it) and writes each row to
    /// `output`, following `incrementalColumn` for value groups and the last value (see ``OutputStream``).
    public static func extract(
        source: SourceConfig, sql: String, parameter: StateValue?, resource: String, incrementalColumn: String?, output: OutputStream
    ) throws(ConduitError) -> ExtractedRows {
        let path = source.connection.path ?? ""
        let context = "running the query of \(resource) on \(path)"
        do {
            let database = try SQLiteDatabase(path: path, readOnly: true)
            let statement = try database.prepare(sql, context: context)
            if statement.parameterCount > 0 {
                try statement.bind(parameter ?? .number("0"), at: 1, context: context)
            }
            var keys: [[UInt8]] = []
            let kinds = (0..<statement.columnCount).map { ColumnKind(sqliteDeclaredType: statement.declaredType($0)) }
            for column in 0..<statement.columnCount {
                var key: [UInt8] = []
                JSONEscaping.appendQuoted(statement.columnName(column), to: &key)
                key.append(UInt8(ascii: ":"))
                keys.append(key)
            }
            var buffer: [UInt8] = []
            buffer.reserveCapacity(OutputStream.flushThreshold + 64 * 1024)
            var rows = 0
            let groupIndex = incrementalColumn.flatMap { name in (0..<keys.count).first { statement.columnName($0) == name } }
            var groups = groupIndex.map { _ in ValueGroupTracker(tracksMaximum: !output.holdsValueGroups) }
            do {
            while try statement.step(context: context) {
                let rowStart = buffer.count
                var valueRange = 0..<0
                buffer.append(UInt8(ascii: "{"))
                for column in 0..<keys.count {
                    if column > 0 { buffer.append(UInt8(ascii: ",")) }
                    buffer.append(contentsOf: keys[column])
                    let valueStart = buffer.count
                    statement.appendJSON(column: column, declared: kinds[column], to: &buffer)
                    if column == groupIndex { valueRange = valueStart..<buffer.count }
                }
                buffer.append(contentsOf: "}\n".utf8)
                rows += 1
                if groups != nil {
                    buffer.withUnsafeBufferPointer { groups?.rowAppended(at: rowStart, value: UnsafeBufferPointer(rebasing: $0[valueRange])) }
                }
                if buffer.count >= OutputStream.flushThreshold { try output.flush(&buffer, groups: &groups) }
            }
            } catch {
                // The rows before the failure go out in whole value groups; the open group does not.
                output.abandon(&buffer, groups: groups)
                throw error
            }
            try output.finish(&buffer, groups: &groups)
            return ExtractedRows(rows: rows, lastValue: groups?.upperBound)
        } catch let error as SQLiteError {
            throw error.conduitError
        } catch let error as ConduitError {
            throw error
        } catch {
            throw .internalError("\(context): \(error)")
        }
    }
}

@available(*, unavailable)
extension SQLiteSource: Sendable {}
