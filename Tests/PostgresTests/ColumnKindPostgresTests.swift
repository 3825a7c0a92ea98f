import Core
import Testing

@testable import Postgres

/// The PostgreSQL side of the type mapping: type OIDs → kinds (what a PostgreSQL source
/// describes) and kinds → type names (what a created column gets).
@Suite struct ColumnKindPostgresTests {
    /// Every scalar type OID Conduit names.
    static let scalarTypes: [PostgresDataType] = [
        .bool, .bytea, .char, .name, .int8, .int2, .int4, .text, .oid, .json, .xml, .float4, .float8, .money, .bpchar,
        .varchar, .date, .time, .timestamp, .timestamptz, .interval, .timetz, .numeric, .uuid, .jsonb, .unknown,
    ]

    /// Guards the scalar mapping of SPEC section 4, OID by OID.
    @Test(arguments: [
        (PostgresDataType.int2, ColumnKind.smallint), (.int4, .integer), (.int8, .bigint), (.numeric, .numeric),
        (.float4, .real), (.float8, .double), (.bool, .boolean), (.text, .text), (.varchar, .text), (.bpchar, .text),
        (.name, .text), (.char, .text), (.uuid, .uuid), (.json, .json), (.jsonb, .jsonb), (.timestamptz, .timestamptz),
        (.timestamp, .timestamp), (.date, .date), (.time, .time), (.timetz, .timetz), (.interval, .interval),
        (.bytea, .bytea),
    ])
    func scalarTypes(type: PostgresDataType, kind: ColumnKind) {
        #expect(ColumnKind(postgres: type) == kind)
    }

    /// Guards array OIDs: an array of the element's kind (PostgreSQL has one array type whatever the dimensions).
    @Test(arguments: [
        (UInt32(1005), ColumnKind.smallint), (1007, .integer), (1016, .bigint), (1231, .numeric), (1021, .real),
        (1022, .double), (1000, .boolean), (1009, .text), (1015, .text), (1014, .text), (2951, .uuid), (199, .json),
        (3807, .jsonb), (1185, .timestamptz), (1115, .timestamp), (1182, .date), (1183, .time), (1270, .timetz),
        (1187, .interval), (1001, .bytea),
    ])
    func arrayTypes(oid: UInt32, element: ColumnKind) {
        #expect(ColumnKind(postgres: PostgresDataType(oid)) == .array(element))
    }

    /// Guards that types outside the mapping have no kind (they travel as text): xml, money,
    /// unknown, an enum's OID, and arrays of those.
    @Test(arguments: [
        PostgresDataType.xml, .money, .unknown, PostgresDataType(16_385), PostgresDataType(791), PostgresDataType(143),
    ])
    func unmappedTypes(type: PostgresDataType) {
        #expect(ColumnKind(postgres: type) == nil)
    }

    /// Guards the type names created columns get: PostgreSQL's canonical names (as `format_type` writes them).
    @Test(arguments: [
        (ColumnKind.smallint, "smallint"), (.integer, "integer"), (.bigint, "bigint"), (.numeric, "numeric"),
        (.real, "real"), (.double, "double precision"), (.boolean, "boolean"), (.text, "text"), (.uuid, "uuid"),
        (.json, "json"), (.jsonb, "jsonb"), (.timestamptz, "timestamp with time zone"),
        (.timestamp, "timestamp without time zone"), (.date, "date"), (.time, "time without time zone"),
        (.timetz, "time with time zone"), (.interval, "interval"), (.bytea, "bytea"), (.array(.integer), "integer[]"),
        (.array(.array(.text)), "text[][]"), (.array(.double), "double precision[]"),
    ])
    func postgresNames(kind: ColumnKind, name: String) {
        #expect(kind.postgresName == name)
    }

    /// Guards the round trip a PostgreSQL → PostgreSQL load relies on (SPEC section 4: a created
    /// table gets the source's column types): the column created for a kind is of a type whose
    /// OID maps back to the same kind.
    @Test(arguments: [
        ColumnKind.smallint, .integer, .bigint, .numeric, .real, .double, .boolean, .text, .uuid, .json, .jsonb,
        .timestamptz, .timestamp, .date, .time, .timetz, .interval, .bytea,
    ])
    func createdTypeDescribesAsTheSameKind(kind: ColumnKind) throws {
        let allTypes = Self.scalarTypes + PostgresDataType.elementTypes.keys.sorted { $0.rawValue < $1.rawValue }
        for wanted in [kind, .array(kind)] {
            let type = try #require(allTypes.first { $0.sqlName == wanted.postgresName }, "no type named \(wanted.postgresName)")
            #expect(ColumnKind(postgres: type) == wanted, "\(type)")
        }
    }

    /// Guards that `postgresName` is the mapping's own name for the kind, so `--describe`
    /// output and created columns agree.
    @Test(arguments: [
        ColumnKind.smallint, .integer, .bigint, .numeric, .real, .double, .boolean, .text, .uuid, .json, .jsonb,
        .timestamptz, .timestamp, .date, .time, .timetz, .interval, .bytea, .array(.bytea), .array(.array(.jsonb)),
    ])
    func postgresNameReadsBackAsTheKind(kind: ColumnKind) {
        #expect(ColumnKind(name: kind.postgresName) == kind)
    }
}
