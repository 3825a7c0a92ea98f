package import Core
import Extract
import Load
import Stream

extension ColumnKind {
    /// The SQLite declared type a created column gets. The names are chosen for their affinity
    /// (SQLite's rules read INT, CHAR/TEXT, BLOB, REAL/DOUB in the name) and so that a SQLite
    /// source reading the table back maps each column the same way (``init(sqliteDeclaredType:)``).
    package var sqliteName: String {
        switch self {
        case .smallint, .integer, .bigint: "INTEGER"
        case .numeric: "NUMERIC"
        case .real, .double: "REAL"
        case .boolean: "BOOLEAN"
        case .text, .uuid: "TEXT"
        case .json, .jsonb, .array: "JSON"
        case .timestamptz: "TIMESTAMPTZ"
        case .timestamp: "TIMESTAMP"
        case .date: "DATE"
        case .time, .timetz: "TIME"
        // "INTERVAL" would read as INTEGER affinity.
        case .interval: "TEXT"
        case .bytea: "BLOB"
        }
    }

    /// The kind a SQLite declared type stands for: well-known names first (BOOLEAN, JSON,
    /// DATETIME, …), then SQLite's own affinity rules. Nil for an empty declared type (an
    /// expression column), whose values decide.
    package init?(sqliteDeclaredType declared: String) {
        let upper = declared.uppercased()
        // "VARCHAR(20)", "NUMERIC(12, 2)", "TIMESTAMP(3) WITH TIME ZONE": the name is the words
        // outside the parentheses.
        var words = ""
        var depth = 0
        for character in upper {
            if character == "(" {
                depth += 1
                words.append(" ")
            } else if character == ")" {
                depth = max(depth - 1, 0)
                words.append(" ")
            } else if depth == 0 {
                words.append(character)
            }
        }
        let name = words.split(separator: " ").joined(separator: " ")
        switch name {
        case "": return nil
        case "BOOLEAN", "BOOL": self = .boolean
        case "JSON": self = .json
        case "JSONB": self = .jsonb
        case "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE": self = .timestamptz
        case "TIMESTAMP", "DATETIME", "TIMESTAMP WITHOUT TIME ZONE": self = .timestamp
        case "DATE": self = .date
        case "TIME", "TIME WITHOUT TIME ZONE": self = .time
        case "TIMETZ", "TIME WITH TIME ZONE": self = .timetz
        case "INTERVAL": self = .interval
        case "UUID": self = .uuid
        case "BYTEA": self = .bytea
        case "SMALLINT", "INT2": self = .smallint
        default:
            // https://sqlite.org/datatype3.html#determination_of_column_affinity, in its order.
            if name.contains("INT") {
                self = .bigint
            } else if name.contains("CHAR") || name.contains("CLOB") || name.contains("TEXT") {
                self = .text
            } else if name.contains("BLOB") {
                self = .bytea
            } else if name.contains("REAL") || name.contains("FLOA") || name.contains("DOUB") {
                self = .double
            } else {
                self = .numeric
            }
        }
    }
}
