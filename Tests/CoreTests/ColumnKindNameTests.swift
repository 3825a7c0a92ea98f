import Core
import Testing

/// Every kind of the mapping (SPEC section 4), listed here rather than taken from the code, so a
/// kind added without a name breaks the round trip below.
let allScalarKinds: [ColumnKind] = [
    .smallint, .integer, .bigint, .numeric, .real, .double, .boolean, .text, .uuid, .json, .jsonb,
    .timestamptz, .timestamp, .date, .time, .timetz, .interval, .bytea,
]

/// `ColumnKind(name:)` reads what `description` writes: `conduit-extract --describe` prints the
/// names and `conduit-load --schema` reads them back.
@Suite struct ColumnKindNameTests {
    /// Guards that every scalar kind, and its array, reads back from its own name.
    @Test(arguments: allScalarKinds)
    func nameRoundTrips(kind: ColumnKind) throws {
        #expect(ColumnKind(name: kind.description) == kind)
        #expect(ColumnKind(name: ColumnKind.array(kind).description) == .array(kind))
        #expect(ColumnKind(name: ColumnKind.array(.array(kind)).description) == .array(.array(kind)))
    }

    /// Guards that no two kinds share a name, so the round trip cannot pick the wrong one.
    @Test func namesAreDistinct() {
        let names = allScalarKinds.map(\.description)
        #expect(Set(names).count == names.count, "\(names)")
    }

    /// Guards the names SPEC section 4 and the describe output use, PostgreSQL's spelling.
    @Test(arguments: [
        ("smallint", ColumnKind.smallint), ("integer", .integer), ("bigint", .bigint), ("numeric", .numeric),
        ("real", .real), ("double precision", .double), ("boolean", .boolean), ("text", .text), ("uuid", .uuid),
        ("json", .json), ("jsonb", .jsonb), ("timestamp with time zone", .timestamptz),
        ("timestamp without time zone", .timestamp), ("date", .date), ("time without time zone", .time),
        ("time with time zone", .timetz), ("interval", .interval), ("bytea", .bytea),
        ("integer[]", .array(.integer)), ("text[][]", .array(.array(.text))), ("bytea[]", .array(.bytea)),
    ])
    func knownNames(name: String, kind: ColumnKind) {
        #expect(ColumnKind(name: name) == kind)
        #expect(kind.description == name)
    }

    /// Guards that a name outside the mapping is refused rather than guessed.
    @Test(arguments: [
        "", "[]", "int", "int4", "BIGINT", "varchar", "double", "timestamptz", "integer[", "[]integer", " bigint", "bigint ",
    ])
    func unknownNamesAreRefused(name: String) {
        #expect(ColumnKind(name: name) == nil)
    }

    /// Guards `isArray`: true for arrays at any depth, false for every scalar.
    @Test(arguments: allScalarKinds)
    func isArray(kind: ColumnKind) {
        #expect(!kind.isArray)
        #expect(ColumnKind.array(kind).isArray)
    }
}
