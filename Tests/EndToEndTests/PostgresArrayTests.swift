import Foundation
import TestSupport
import Testing

/// Arrays whose element type Conduit does not name — an enum, a domain over integer and over
/// text, inet, cidr, macaddr, a domain over an array — against the real PostgreSQL that
/// scripts/test.sh starts: JSON arrays of mapped elements (SPEC section 4), described as arrays,
/// and loaded back unchanged.
@Suite struct PostgresArrayTests {
    /// The columns every test reads, in order.
    static let columns = "id, moods, addrs, nets, macs, counts, labels, grid, list, score"

    /// A sandbox whose ingest.yml reads `<prefix>_src` into `<prefix>_dst` (resource `rows`,
    /// incremental on id) and reads 25,000 generated enum arrays (resource `many`), with the
    /// test's own enum and domains (`<prefix>_mood`, `_positive`, `_label`, `_intlist`) so tests run side by side.
    static func prepare(prefix p: String) throws -> (Sandbox, [String: String]) {
        let box = try Sandbox()
        let environment = try PostgresFixture.environment()
        try box.write(
            """
            sources:
            \(PostgresFixture.entry("pg"))
            destinations:
            \(PostgresFixture.entry("warehouse", extra: ["table: \(p)_dst"]))
            resources:
              - name: rows
                source: pg
                destination: warehouse
                incremental_column: id
                query: "SELECT * FROM \(p)_src WHERE id > :last_value ORDER BY id"
              - name: many
                source: pg
                destination: warehouse
                query: "SELECT g AS id, ARRAY['sad', NULL, 'meh, ok']::\(p)_mood[] AS moods FROM generate_series(1, 25000) g"
            """, to: "ingest.yml")
        try PostgresFixture.recreate(
            ["\(p)_src", "\(p)_dst"],
            with: #"""
                DROP TYPE IF EXISTS \#(p)_mood CASCADE; DROP DOMAIN IF EXISTS \#(p)_positive, \#(p)_label, \#(p)_intlist CASCADE;
                CREATE TYPE \#(p)_mood AS ENUM ('sad', 'happy', 'meh, ok');
                CREATE DOMAIN \#(p)_positive AS integer CHECK (VALUE > 0);
                CREATE DOMAIN \#(p)_label AS text;
                CREATE DOMAIN \#(p)_intlist AS integer[];
                CREATE TABLE \#(p)_src(id bigint, moods \#(p)_mood[], addrs inet[], nets cidr[], macs macaddr[],
                  counts \#(p)_positive[], labels \#(p)_label[], grid \#(p)_positive[], list \#(p)_intlist, score \#(p)_positive);
                INSERT INTO \#(p)_src VALUES
                 (1, '{sad,happy}', '{192.168.0.1/24,::1}', '{10.0.0.0/8,2001:db8::/32}', '{08:00:2b:01:02:03}',
                  '{1,2,3}', '{plain}', '{{1,2},{3,4}}', '{5,6}', 7),
                 (2, ARRAY['meh, ok', NULL]::\#(p)_mood[], ARRAY[NULL]::inet[], '{}', '{NULL}', ARRAY[1, NULL]::\#(p)_positive[],
                  ARRAY['a b', 'q"uote', 'back\slash', 'NULL', '', NULL, E'tab\tnl\n', '{,}', '😀']::\#(p)_label[], '{}', '{}', NULL),
                 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
                """#, in: box, environment)
        return (box, environment)
    }

    /// Each array column leaves as a JSON array mapped like its element type, one catalog look-up across several FETCH batches.
    @Test func extractsArraysOfAnyElementType() throws {
        let (box, environment) = try Self.prepare(prefix: "arr_extract")
        let result = try box.run("conduit-extract rows", environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        let expected = [
            #"{"id":1,"moods":["sad","happy"],"addrs":["192.168.0.1/24","::1"],"nets":["10.0.0.0/8","2001:db8::/32"],"macs":["08:00:2b:01:02:03"],"counts":[1,2,3],"labels":["plain"],"grid":[[1,2],[3,4]],"list":[5,6],"score":7}"#,
            #"{"id":2,"moods":["meh, ok",null],"addrs":[null],"nets":[],"macs":[null],"counts":[1,null],"labels":["a b","q\"uote","back\\slash","NULL","",null,"tab\tnl\n","{,}","😀"],"grid":[],"list":[],"score":null}"#,
            #"{"id":3,"moods":null,"addrs":null,"nets":null,"macs":null,"counts":null,"labels":null,"grid":null,"list":null,"score":null}"#,
        ]
        #expect(result.stdout == expected.joined(separator: "\n") + "\n")

        let many = try box.run(
            "conduit-extract many > many.ndjson && wc -l < many.ndjson && sed -n '1p;25000p' many.ndjson && sort -u -t, -k2 many.ndjson | wc -l",
            environment: environment)
        #expect(many.status == 0, "\(many.stderr)")
        #expect(
            many.stdout == """
                25000
                {"id":1,"moods":["sad",null,"meh, ok"]}
                {"id":25000,"moods":["sad",null,"meh, ok"]}
                1

                """)
    }

    /// --describe reports array columns of unnamed element types as arrays (text[] for enum, inet, cidr, macaddr, text-domain elements; integer[] for an integer domain's).
    @Test func describesArraysOfAnyElementType() throws {
        let (box, environment) = try Self.prepare(prefix: "arr_describe")
        let result = try box.run("conduit-extract --describe rows", environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        // A column of a domain (list, score) reaches the client as its base type: the server's
        // row description says integer[] and integer. An array of a domain keeps its own type.
        #expect(
            result.stdout == #"""
                {"name":"id","source_type":"bigint","kind":"bigint"}
                {"name":"moods","source_type":"arr_describe_mood[]","kind":"text[]"}
                {"name":"addrs","source_type":"inet[]","kind":"text[]"}
                {"name":"nets","source_type":"cidr[]","kind":"text[]"}
                {"name":"macs","source_type":"macaddr[]","kind":"text[]"}
                {"name":"counts","source_type":"arr_describe_positive[]","kind":"integer[]"}
                {"name":"labels","source_type":"arr_describe_label[]","kind":"text[]"}
                {"name":"grid","source_type":"arr_describe_positive[]","kind":"integer[]"}
                {"name":"list","source_type":"integer[]","kind":"integer[]"}
                {"name":"score","source_type":"integer","kind":"integer"}

                """#)
    }

    /// PG → NDJSON → PG into a table conduit-load creates: built-in inet[]/cidr[]/macaddr[] kept, enum and domain arrays as text[]/integer[], every value the same.
    @Test func roundTripsIntoCreatedTable() throws {
        let p = "arr_created"
        let (box, environment) = try Self.prepare(prefix: p)
        let load = try box.run("conduit-extract rows | conduit-load rows", environment: environment)
        #expect(load.status == 0, "\(load.stderr)")
        #expect(
            try PostgresFixture.columns(of: "\(p)_dst", in: box, environment) == """
                id|bigint
                moods|text[]
                addrs|inet[]
                nets|cidr[]
                macs|macaddr[]
                counts|integer[]
                labels|text[]
                grid|integer[]
                list|integer[]
                score|integer

                """)
        let source = try PostgresFixture.query("SELECT (\(Self.columns))::text FROM \(p)_src ORDER BY id", in: box, environment)
        let loaded = try PostgresFixture.query("SELECT (\(Self.columns))::text FROM \(p)_dst ORDER BY id", in: box, environment)
        #expect(source.contains("meh, ok") && source.contains("2001:db8::/32"))
        #expect(loaded == source)
    }

    /// PG → NDJSON → PG into a pre-created table with the real enum[], inet[], cidr[], macaddr[], domain[] and domain-over-array types: every value the same.
    @Test func roundTripsIntoRealTypes() throws {
        let p = "arr_real"
        let (box, environment) = try Self.prepare(prefix: p)
        try PostgresFixture.execute("CREATE TABLE \(p)_dst (LIKE \(p)_src);", in: box, environment)
        let load = try box.run("conduit-extract rows | conduit-load rows", environment: environment)
        #expect(load.status == 0, "\(load.stderr)")
        #expect(
            try PostgresFixture.columns(of: "\(p)_dst", in: box, environment)
                == PostgresFixture.columns(of: "\(p)_src", in: box, environment))
        let source = try PostgresFixture.query("SELECT (\(Self.columns))::text FROM \(p)_src ORDER BY id", in: box, environment)
        let loaded = try PostgresFixture.query("SELECT (\(Self.columns))::text FROM \(p)_dst ORDER BY id", in: box, environment)
        #expect(source.contains("meh, ok") && source.contains("08:00:2b:01:02:03"))
        #expect(loaded == source)
        // Equal as values of the real types too, not only as text.
        #expect(
            try PostgresFixture.query(
                "SELECT count(*) FROM \(p)_src s JOIN \(p)_dst d USING (id) WHERE (s.moods, s.addrs, s.nets, s.macs, s.counts, s.labels, s.grid, s.list, s.score) IS NOT DISTINCT FROM (d.moods, d.addrs, d.nets, d.macs, d.counts, d.labels, d.grid, d.list, d.score)",
                in: box, environment) == "3\n")
    }
}
