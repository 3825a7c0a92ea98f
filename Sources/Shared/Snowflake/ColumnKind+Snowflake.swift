package import Core

extension ColumnKind {
    /// The Snowflake type a created column of this kind gets. Integers of every width are
    /// NUMBER(38,0) (Snowflake stores all integers so); JSON, JSONB and arrays are VARIANT;
    /// kinds Snowflake has no type for (uuid, interval, time with time zone) keep their text.
    package var snowflakeName: String {
        switch self {
        case .smallint, .integer, .bigint: "NUMBER(38,0)"
        // A numeric without its own precision: the widest NUMBER with nine decimal places (as
        // dlt does); a value with more is refused line by line rather than rounded.
        case .numeric: "NUMBER(38,9)"
        case .real, .double: "FLOAT"
        case .boolean: "BOOLEAN"
        case .text, .uuid, .interval, .timetz: "VARCHAR"
        case .json, .jsonb, .array: "VARIANT"
        case .timestamptz: "TIMESTAMP_TZ"
        case .timestamp: "TIMESTAMP_NTZ"
        case .date: "DATE"
        case .time: "TIME"
        case .bytea: "BINARY"
        }
    }

    /// The kind of a Snowflake column type as `information_schema.columns.data_type` spells it
    /// (`NUMBER`, `TEXT`, `TIMESTAMP_TZ`), with the scale of a NUMBER; nil for a type outside the
    /// mapping (GEOGRAPHY, VECTOR), whose values load as text.
    package init?(snowflakeType type: String, scale: Int?) {
        switch type.uppercased() {
        case "NUMBER", "DECIMAL", "NUMERIC", "FIXED":
            self = (scale ?? 0) == 0 ? .bigint : .numeric
        case "INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "BYTEINT": self = .bigint
        case "FLOAT", "FLOAT4", "FLOAT8", "DOUBLE", "DOUBLE PRECISION", "REAL": self = .double
        case "BOOLEAN": self = .boolean
        case "TEXT", "VARCHAR", "STRING", "CHAR", "CHARACTER": self = .text
        case "VARIANT", "OBJECT", "ARRAY": self = .jsonb
        case "TIMESTAMP_TZ", "TIMESTAMP_LTZ": self = .timestamptz
        case "TIMESTAMP_NTZ", "TIMESTAMP", "DATETIME": self = .timestamp
        case "DATE": self = .date
        case "TIME": self = .time
        case "BINARY", "VARBINARY": self = .bytea
        default: return nil
        }
    }
}

extension SourceColumn {
    /// The type a Snowflake destination creates for this column, nil when the values must
    /// decide: a PostgreSQL `numeric(p,s)` keeps its precision and scale as NUMBER(p,s);
    /// `character varying(n)` is VARCHAR (Snowflake's own limit is the larger).
    package var snowflakeType: String? {
        guard let kind else { return sourceType.isEmpty ? nil : "VARCHAR" }
        if kind == .numeric, let (precision, scale) = Self.precisionAndScale(sourceType), precision <= 38 {
            return "NUMBER(\(precision),\(scale))"
        }
        return kind.snowflakeName
    }

    /// `numeric(10,2)` → (10, 2); `numeric(12)` → (12, 0); nil without a precision.
    static func precisionAndScale(_ type: String) -> (Int, Int)? {
        guard let open = type.firstIndex(of: "("), let close = type.lastIndex(of: ")"), open < close else { return nil }
        let parts = type[type.index(after: open)..<close].split(separator: ",").map { $0.trimmingCharacters(in: " ") }
        guard let precision = parts.first.flatMap({ Int($0) }) else { return nil }
        let scale = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        guard scale >= 0, scale <= precision else { return nil }
        return (precision, scale)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
