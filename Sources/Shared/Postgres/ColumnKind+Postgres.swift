package import Core
import Extract
import Load
import Stream

extension ColumnKind {
    /// The PostgreSQL type a created column gets: the mapping's own name for the kind, which
    /// SPEC 4 spells in PostgreSQL's words (`double precision`, `integer[]`).
    package var postgresName: String { description }

    /// The kind of a PostgreSQL type; nil for types outside the mapping (enums, domains, composites, …),
    /// which travel as their text.
    package init?(postgres type: PostgresDataType) {
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
}
