import Core
import Extract
import Load
import Stream

/// A PostgreSQL type OID: an open set (postgres-nio's `PostgresDataType` does the same), with
/// the types Conduit maps named.
package struct PostgresDataType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    package var rawValue: UInt32
    package init(rawValue: UInt32) { self.rawValue = rawValue }
    package init(_ rawValue: UInt32) { self.rawValue = rawValue }

    package static let bool = Self(16)
    package static let bytea = Self(17)
    package static let char = Self(18)
    package static let name = Self(19)
    package static let int8 = Self(20)
    package static let int2 = Self(21)
    package static let int4 = Self(23)
    package static let text = Self(25)
    package static let oid = Self(26)
    package static let json = Self(114)
    package static let xml = Self(142)
    package static let float4 = Self(700)
    package static let float8 = Self(701)
    package static let money = Self(790)
    package static let bpchar = Self(1042)
    package static let varchar = Self(1043)
    package static let date = Self(1082)
    package static let time = Self(1083)
    package static let timestamp = Self(1114)
    package static let timestamptz = Self(1184)
    package static let interval = Self(1186)
    package static let timetz = Self(1266)
    package static let numeric = Self(1700)
    package static let uuid = Self(2950)
    package static let jsonb = Self(3802)
    package static let unknown = Self(705)

    /// Array type → element type, for the arrays of the types above.
    static let elementTypes: [PostgresDataType: PostgresDataType] = [
        Self(1000): .bool, Self(1001): .bytea, Self(1002): .char, Self(1003): .name, Self(1016): .int8,
        Self(1005): .int2, Self(1007): .int4, Self(1009): .text, Self(1028): .oid, Self(199): .json,
        Self(1021): .float4, Self(1022): .float8, Self(791): .money, Self(1014): .bpchar, Self(1015): .varchar,
        Self(1182): .date, Self(1183): .time, Self(1115): .timestamp, Self(1185): .timestamptz,
        Self(1187): .interval, Self(1270): .timetz, Self(1231): .numeric, Self(2951): .uuid, Self(3807): .jsonb,
    ]

    /// The element type when this is an array type Conduit knows.
    package var elementType: PostgresDataType? { Self.elementTypes[self] }

    /// The SQL name, for CREATE TABLE and casts; nil for a type Conduit does not know by OID.
    package var sqlName: String? {
        if let element = elementType, let name = element.sqlName { return name + "[]" }
        switch self {
        case .bool: return "boolean"
        case .bytea: return "bytea"
        case .char: return "\"char\""
        case .name: return "name"
        case .int8: return "bigint"
        case .int2: return "smallint"
        case .int4: return "integer"
        case .text: return "text"
        case .oid: return "oid"
        case .json: return "json"
        case .xml: return "xml"
        case .float4: return "real"
        case .float8: return "double precision"
        case .money: return "money"
        case .bpchar: return "character"
        case .varchar: return "character varying"
        case .date: return "date"
        case .time: return "time without time zone"
        case .timestamp: return "timestamp without time zone"
        case .timestamptz: return "timestamp with time zone"
        case .interval: return "interval"
        case .timetz: return "time with time zone"
        case .numeric: return "numeric"
        case .uuid: return "uuid"
        case .jsonb: return "jsonb"
        default: return nil
        }
    }

    package var description: String { sqlName ?? "oid \(rawValue)" }
}
