import Core
import SQLite
import Testing

/// Every kind of the mapping, and arrays.
let allKinds: [ColumnKind] = [
    .smallint, .integer, .bigint, .numeric, .real, .double, .boolean, .text, .uuid, .json, .jsonb,
    .timestamptz, .timestamp, .date, .time, .timetz, .interval, .bytea, .array(.integer), .array(.array(.text)),
]

/// The SQLite side of the type mapping: declared types → kinds (SPEC section 4: "SQLite by
/// affinity") and the declared types a created column gets.
@Suite struct ColumnKindSQLiteTests {
    /// Guards the well-known names, matched case-insensitively and with the type's size dropped.
    @Test(arguments: [
        ("BOOLEAN", ColumnKind.boolean), ("bool", .boolean), ("JSON", .json), ("jsonb", .jsonb),
        ("TIMESTAMPTZ", .timestamptz), ("timestamp with time zone", .timestamptz),
        ("TIMESTAMP  WITH   TIME ZONE", .timestamptz), ("TIMESTAMP", .timestamp), ("DATETIME", .timestamp),
        ("timestamp without time zone", .timestamp), ("DATE", .date), ("TIME", .time),
        ("time without time zone", .time), ("INTERVAL", .interval), ("UUID", .uuid), ("BYTEA", .bytea),
        ("SMALLINT", .smallint), ("int2", .smallint),
    ])
    func wellKnownNames(declared: String, kind: ColumnKind) {
        #expect(ColumnKind(sqliteDeclaredType: declared) == kind)
    }

    /// Guards SQLite's own affinity rules (sqlite.org/datatype3.html 3.1), in their order: INT
    /// before CHAR/CLOB/TEXT, before BLOB, before REAL/FLOA/DOUB, else NUMERIC.
    @Test(arguments: [
        ("INTEGER", ColumnKind.bigint), ("INT", .bigint), ("BIGINT", .bigint), ("TINYINT", .bigint),
        ("MEDIUMINT", .bigint), ("UNSIGNED BIG INT", .bigint), ("INT8", .bigint),
        // SQLite's own example: "FLOATING POINT" holds "INT", so it has INTEGER affinity.
        ("FLOATING POINT", .bigint),
        ("CHARACTER(20)", .text), ("VARCHAR(255)", .text), ("varying character(255)", .text), ("NCHAR(55)", .text),
        ("NATIVE CHARACTER(70)", .text), ("NVARCHAR(100)", .text), ("TEXT", .text), ("CLOB", .text),
        ("BLOB", .bytea), ("blob", .bytea),
        ("REAL", .double), ("DOUBLE", .double), ("DOUBLE PRECISION", .double), ("FLOAT", .double),
        ("NUMERIC", .numeric), ("DECIMAL(10,5)", .numeric), ("NUMERIC(12, 2)", .numeric), ("STRING", .numeric),
        ("ANYTHING", .numeric),
    ])
    func affinityRules(declared: String, kind: ColumnKind) {
        #expect(ColumnKind(sqliteDeclaredType: declared) == kind)
    }

    /// Guards that a time zone named after a precision still counts: `TIMESTAMP(3) WITH TIME ZONE`
    /// is a timestamptz, and `TIME WITH TIME ZONE` a timetz, as their unparenthesized forms
    /// suggest (else a PostgreSQL destination would create `timestamp without time zone` and
    /// silently drop the offsets).
    @Test(arguments: [
        ("TIMESTAMP(3) WITH TIME ZONE", ColumnKind.timestamptz), ("timestamp(6) with time zone", .timestamptz),
        ("TIME WITH TIME ZONE", .timetz),
    ])
    func timeZonesAfterAPrecision(declared: String, kind: ColumnKind) {
        #expect(ColumnKind(sqliteDeclaredType: declared) == kind)
    }

    /// Guards that an expression column (no declared type) has no kind: its values decide.
    @Test func emptyDeclaredTypeHasNoKind() {
        #expect(ColumnKind(sqliteDeclaredType: "") == nil)
    }

    /// Guards the declared type each kind creates, chosen for its affinity.
    @Test(arguments: [
        (ColumnKind.smallint, "INTEGER"), (.integer, "INTEGER"), (.bigint, "INTEGER"), (.numeric, "NUMERIC"),
        (.real, "REAL"), (.double, "REAL"), (.boolean, "BOOLEAN"), (.text, "TEXT"), (.uuid, "TEXT"),
        (.json, "JSON"), (.jsonb, "JSON"), (.array(.integer), "JSON"), (.timestamptz, "TIMESTAMPTZ"),
        (.timestamp, "TIMESTAMP"), (.date, "DATE"), (.time, "TIME"), (.timetz, "TIME"), (.interval, "TEXT"),
        (.bytea, "BLOB"),
    ])
    func sqliteNames(kind: ColumnKind, name: String) {
        #expect(kind.sqliteName == name)
    }

    /// Guards that a table conduit-load creates reads back, through a SQLite source, as a kind
    /// that creates the same declared type again (a SQLite → SQLite round trip keeps its types).
    @Test(arguments: allKinds)
    func createdTypeReadsBackStably(kind: ColumnKind) throws {
        let readBack = try #require(ColumnKind(sqliteDeclaredType: kind.sqliteName))
        #expect(readBack.sqliteName == kind.sqliteName)
    }

    /// Guards that a created type's SQLite affinity suits the kind: an INTERVAL or POINT-like
    /// name would read as INTEGER affinity, and an integer kind must not get text affinity.
    @Test(arguments: allKinds)
    func createdTypeHasSuitableAffinity(kind: ColumnKind) {
        let name = kind.sqliteName.uppercased()
        let integerAffinity = name.contains("INT")
        switch kind {
        case .smallint, .integer, .bigint:
            #expect(integerAffinity)
        default:
            #expect(!integerAffinity, "\(kind) would get INTEGER affinity from \(name)")
        }
    }
}
