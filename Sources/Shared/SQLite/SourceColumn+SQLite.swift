package import Core
import Extract

extension SourceColumn {
    /// The declared type a SQLite destination creates for this column (`""`: none, like the
    /// source's), nil when the values must decide.
    package var sqliteType: String? {
        if sourceKind == SQLiteConnector.typeName { return portableType(to: SQLiteConnector.typeName) }
        if let kind { return kind.sqliteName }
        return sourceType.isEmpty ? nil : "TEXT"
    }
}
