package import Core
import Extract
import Load
import Stream

extension SourceColumn {
    /// The type a PostgreSQL destination creates for this column, nil when the values must decide.
    package var postgresType: String? {
        if let type = portableType(to: PostgresConnector.typeName) { return type }
        if let kind { return kind.postgresName }
        // A PostgreSQL type the destination may not have (an enum, a domain): its text.
        return sourceType.isEmpty ? nil : (sourceType.hasSuffix("[]") ? "text[]" : "text")
    }
}
