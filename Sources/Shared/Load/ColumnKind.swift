/// What a column holds, in the terms of the stream's type mapping (SPEC section 4). The bridge
/// between a source's types and the types of a table `conduit-load` creates.
public indirect enum ColumnKind: Sendable, Equatable, CustomStringConvertible {
    case smallint, integer, bigint, numeric, real, double, boolean
    case text, uuid, json, jsonb
    case timestamptz, timestamp, date, time, timetz, interval
    case bytea
    case array(ColumnKind)

    public var isArray: Bool {
        if case .array = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .array(let element): "\(element)[]"
        default: postgresName
        }
    }

    /// The PostgreSQL type a created column gets.
    public var postgresName: String {
        switch self {
        case .smallint: "smallint"
        case .integer: "integer"
        case .bigint: "bigint"
        case .numeric: "numeric"
        case .real: "real"
        case .double: "double precision"
        case .boolean: "boolean"
        case .text: "text"
        case .uuid: "uuid"
        case .json: "json"
        case .jsonb: "jsonb"
        case .timestamptz: "timestamp with time zone"
        case .timestamp: "timestamp without time zone"
        case .date: "date"
        case .time: "time without time zone"
        case .timetz: "time with time zone"
        case .interval: "interval"
        case .bytea: "bytea"
        case .array(let element): element.postgresName + "[]"
        }
    }

    /// The SQLite declared type a created column gets. The names are chosen for their affinity
    /// (SQLite's rules read INT, CHAR/TEXT, BLOB, REAL/DOUB in the name) and so that a SQLite
    /// source reading the table back maps each column the same way (``init(sqliteDeclaredType:)``).
    public var sqliteName: String {
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

    /// The kind of a PostgreSQL type; nil for types outside the mapping (enums, domains, composites, …),
    /// which travel as their text.
    public init?(postgres type: PostgresDataType) {
        if let element = type.elementType {
            guard let kind = ColumnKind(postgres: element) else { return nil }
            self = .array(kind)
            return
        }
        switch type {
        case .int2: self = .smallint
        case .int4: self = .integer
        case .int8: self = .bigint
        case .numeric: self = .numeric
        case .float4: self = .real
        case .float8: self = .double
        case .bool: self = .boolean
        case .text, .varchar, .bpchar, .name, .char: self = .text
        case .uuid: self = .uuid
        case .json: self = .json
        case .jsonb: self = .jsonb
        case .timestamptz: self = .timestamptz
        case .timestamp: self = .timestamp
        case .date: self = .date
        case .time: self = .time
        case .timetz: self = .timetz
        case .interval: self = .interval
        case .bytea: self = .bytea
        default: return nil
        }
    }

    /// The kind a SQLite declared type stands for: well-known names first (BOOLEAN, JSON,
    /// DATETIME, …), then SQLite's own affinity rules. Nil for an empty declared type (an
    /// expression column), whose values decide.
    public init?(sqliteDeclaredType declared: String) {
        let upper = declared.uppercased()
        // "VARCHAR(20)", "NUMERIC(12, 2)": the name is what comes before the parenthesis.
        let name = String(upper.prefix { $0 != "(" }).split(separator: " ").joined(separator: " ")
        switch name {
        case "": return nil
        case "BOOLEAN", "BOOL": self = .boolean
        case "JSON": self = .json
        case "JSONB": self = .jsonb
        case "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE": self = .timestamptz
        case "TIMESTAMP", "DATETIME", "TIMESTAMP WITHOUT TIME ZONE": self = .timestamp
        case "DATE": self = .date
        case "TIME", "TIME WITHOUT TIME ZONE": self = .time
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

    /// The kind inferred from one value, for a key no source column describes (added by `jq`,
    /// say): integers → bigint, other numbers → numeric, RFC 3339 timestamps → timestamptz,
    /// booleans, objects and arrays → jsonb, anything else (null included) → text.
    public static func inferred(from value: JSONValue) -> ColumnKind {
        switch value {
        case .null: return .text
        case .bool: return .boolean
        case .number(let text):
            let isInteger = !text.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
            return isInteger && Int64(text) != nil ? .bigint : .numeric
        case .string(let text):
            return isRFC3339DateTime(text) ? .timestamptz : .text
        case .array, .object: return .jsonb
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`: a full RFC 3339 date-time, offset required
    /// (without one the instant is unknown, so it is not a timestamptz).
    static func isRFC3339DateTime(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Bool {
            range.upperBound <= bytes.count && range.allSatisfy { bytes[$0] >= 0x30 && bytes[$0] <= 0x39 }
        }
        func byte(_ index: Int, in set: String) -> Bool { index < bytes.count && set.utf8.contains(bytes[index]) }
        guard digits(0..<4), byte(4, in: "-"), digits(5..<7), byte(7, in: "-"), digits(8..<10), byte(10, in: "Tt "),
              digits(11..<13), byte(13, in: ":"), digits(14..<16), byte(16, in: ":"), digits(17..<19) else { return false }
        var index = 19
        if byte(index, in: ".") {
            index += 1
            let start = index
            while digits(index..<index + 1) { index += 1 }
            guard index > start else { return false }
        }
        if byte(index, in: "Zz") { return index + 1 == bytes.count }
        guard byte(index, in: "+-"), digits(index + 1..<index + 3), byte(index + 3, in: ":"), digits(index + 4..<index + 6) else {
            return false
        }
        return index + 6 == bytes.count
    }
}
