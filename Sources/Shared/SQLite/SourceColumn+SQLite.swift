import Config
public import Core
import Extract
import Load
import Stream

extension SourceColumn {
    /// The declared type a SQLite destination creates for this column (`""`: none, like the
    /// source's), nil when the values must decide.
    public var sqliteType: String? {
        if sourceKind == SQLiteConnector.typeName { return portableType(to: SQLiteConnector.typeName) }
        if let kind { return kind.sqliteName }
        return sourceType.isEmpty ? nil : "TEXT"
    }
}
