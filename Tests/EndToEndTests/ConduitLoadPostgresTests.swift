import Foundation
import TestSupport
import Testing

/// conduit-load into the real PostgreSQL that scripts/test.sh starts (SPEC sections 4 and 6).
/// Each test works in tables named after it: `<prefix>_src` (the source), `<prefix>_dst` (the
/// destination) and a hostile-named one.
@Suite struct ConduitLoadPostgresTests {
    /// The hostile table name of a test: a quote and SQL in it.
    static func hostileTable(_ prefix: String) -> String { "\(prefix)_we\"ird; DROP TABLE \(prefix)_src; --" }

    /// A sandbox whose ingest.yml reads `<prefix>_src` and loads `<prefix>_dst` on the test server.
    /// Resources: `rows` (incremental on id), `small` (batch_size 2), `inferred` (into
    /// `<prefix>_inf`), `hostile` (into ``hostileTable(_:)``) and `unreachable` (port 1).
    /// `sql` runs after the test's tables are dropped; it must create `<prefix>_src`.
    static func prepare(prefix: String, sql: String) throws -> (Sandbox, [String: String]) {
        let box = try Sandbox()
        let environment = try PostgresFixture.environment()
        let hostile = hostileTable(prefix).replacingOccurrences(of: "'", with: "''")
        try box.write(
            """
            sources:
            \(PostgresFixture.entry("pg"))
            destinations:
            \(PostgresFixture.entry("warehouse", extra: ["table: \(prefix)_dst"]))
            \(PostgresFixture.unreachableEntry("down"))
            resources:
              - name: rows
                source: pg
                destination: warehouse
                incremental_column: id
                query: "SELECT * FROM \(prefix)_src WHERE id > :last_value ORDER BY id"
              - name: small
                source: pg
                destination: warehouse
                batch_size: 2
                query: "SELECT * FROM \(prefix)_src ORDER BY id"
              - name: inferred
                source: pg
                destination: warehouse
                table: \(prefix)_inf
                query: "SELECT * FROM \(prefix)_src ORDER BY id"
              - name: hostile
                source: pg
                destination: warehouse
                table: '\(hostile)'
                query: "SELECT * FROM \(prefix)_src ORDER BY id"
              - name: unreachable
                source: pg
                destination: down
                query: "SELECT * FROM \(prefix)_src"
            """, to: "ingest.yml")
        try PostgresFixture.recreate(
            ["\(prefix)_src", "\(prefix)_dst", "\(prefix)_inf", hostileTable(prefix)], with: sql, in: box, environment)
        return (box, environment)
    }

    // MARK: - Round trip

    /// Every SPEC 4 type goes PostgreSQL → conduit-extract → conduit-load → PostgreSQL unchanged,
    /// into a table conduit-load creates with the source's column types.
    @Test func roundTripsEveryType() throws {
        let prefix = "load_pg_types"
        let (box, environment) = try Self.prepare(
            prefix: prefix,
            sql: #"""
                CREATE TABLE load_pg_types_src(id bigint, si smallint, i integer, bi bigint, n numeric, n2 numeric(12,2),
                  r real, d double precision, b boolean, t text, vc varchar(20), u uuid, js json, jb jsonb,
                  tz timestamptz, ts timestamp, dt date, tm time, iv interval, by bytea,
                  ia int[], ta text[], nia int[][], fa float8[], ba bool[], tza timestamptz[], bya bytea[]);
                INSERT INTO load_pg_types_src VALUES
                 (1, -32768, -2147483648, -9223372036854775808, 1234567890123456789012345678901234567890, -1234567890.12,
                  3.4028235e38, 1.7976931348623157e308, true,
                  E'emoji 😀 ctl \x01\x1f\x7f back\\slash \\N tab\tnl\ncr\r end "q" ''s', 'twenty chars exactly',
                  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', E'{ "k" :\n [1, 2.50, "x\\ty"] }', '{"a": {"b": [true, null, 1.50]}, "😀": "\\\\"}',
                  '2024-05-01 12:00:00.123456+02', '2024-05-01 12:00:00.5', '2024-05-01', '23:59:59.999999',
                  '1 year 2 mons 3 days 04:05:06.789', '\x00ff10',
                  '{1,NULL,3}', E'{"x y",NULL,"q\\"","NULL","a\\\\b","","tab\t","nl\n",",{}"}', '{{1,2},{3,4}}',
                  '{NaN,Infinity,-Infinity,0.1,-0}', '{t,f,NULL}', '{infinity,"2024-05-01 12:00+02"}', E'{"\\\\x00ff",""}'),
                 (2, 32767, 2147483647, 9223372036854775807, 'NaN', 0, 'NaN', 'NaN', false, '', '',
                  '00000000-0000-0000-0000-000000000000', '[]', '[]', 'infinity', 'infinity', '2024-02-29', '00:00:00',
                  '-1 mon', '', '{}', '{}', '{}', '{}', '{}', '{}', '{}'),
                 (3, 0, 0, 0, 'Infinity', 0.01, 'Infinity', 'Infinity', NULL, 'x', 'y', NULL, '{}', '{}',
                  '-infinity', '-infinity', '0001-01-01', '12:00', '-1 days +02:00', '\x5c', '{NULL}', '{NULL}', NULL, NULL, NULL, NULL, NULL),
                 (4, NULL, NULL, NULL, '-Infinity', NULL, '-Infinity', '-Infinity', NULL, NULL, NULL, NULL, '12.50', '12.50',
                  '1999-12-31 23:59:59+14', '1999-12-31 23:59:59', 'infinity', NULL, '0', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                 (5, NULL, NULL, NULL, -0.0000000000000000000000000000000000000001, NULL, 1.17549435e-38, 5e-324, NULL, NULL, NULL, NULL,
                  'true', 'false', NULL, NULL, NULL, NULL, 'P1Y', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                 (6, NULL, NULL, NULL, NULL, NULL, '-0', '-0', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
                """#)
        let load = try box.run("conduit-extract rows | conduit-load rows", environment: environment)
        #expect(load.status == 0, "\(load.stderr)")
        #expect(
            Messages.stableLines(load.stderr) == [
                "conduit-extract: rows: 6 rows, 2325 bytes in \(Messages.timing)",
                "conduit-extract: rows: no conduit-state commit of rows is running, so the end of this stream was not confirmed to one",
                Messages.noSequence("rows"),
                "conduit-load: rows: 6 rows, 2325 bytes in \(Messages.timing) into \"\(prefix)_dst\" on \(PostgresFixture.label(environment))",
            ], "\(load.stderr)")

        // json compares as jsonb: the stream compacts its whitespace.
        let columns =
            "id, si, i, bi, n, n2, r, d, b, t, vc, u, js::jsonb, jb, tz, ts, dt, tm, iv, by, ia, ta, nia, fa, ba, tza, bya"
        let source = try PostgresFixture.query("SELECT (\(columns))::text FROM \(prefix)_src ORDER BY id", in: box, environment)
        let loaded = try PostgresFixture.query("SELECT (\(columns))::text FROM \(prefix)_dst ORDER BY id", in: box, environment)
        #expect(try PostgresFixture.count("\(prefix)_dst", in: box, environment) == "6\n")
        #expect(source.contains("😀") && source.contains("Infinity"))
        #expect(loaded == source)
        #expect(
            try PostgresFixture.columns(of: "\(prefix)_dst", in: box, environment)
                == PostgresFixture.columns(of: "\(prefix)_src", in: box, environment))
        #expect(
            try PostgresFixture.columns(of: "\(prefix)_dst", in: box, environment).contains(
                "vc|character varying(20)\nu|uuid\njs|json\njb|jsonb\n"))
    }

    /// A json/jsonb value that is a JSON string (`"str"`) leaves as a JSON string and must load
    /// back as one, not as the bare text `str` (which is not JSON).
    @Test func roundTripsJSONStringScalars() throws {
        let prefix = "load_pg_jsonstr"
        let (box, environment) = try Self.prepare(
            prefix: prefix,
            sql: #"""
                CREATE TABLE load_pg_jsonstr_src(id bigint, js json, jb jsonb);
                INSERT INTO load_pg_jsonstr_src VALUES (1, '"str"', '"str"'), (2, '"a\"b"', '"12"'), (3, '{"k":"v"}', '["x"]');
                """#)
        let extract = try box.run("conduit-extract rows", environment: environment)
        #expect(extract.stdout.hasPrefix(#"{"id":1,"js":"str","jb":"str"}"#), "\(extract.stdout)")
        let load = try box.run("conduit-extract rows | conduit-load rows", environment: environment)
        #expect(load.status == 0, "\(load.stderr)")
        #expect(
            try PostgresFixture.query(
                "SELECT id || ' ' || js::text || ' ' || jb::text FROM \(prefix)_dst ORDER BY id", in: box, environment)
                == "1 \"str\" \"str\"\n2 \"a\\\"b\" \"12\"\n3 {\"k\":\"v\"} [\"x\"]\n")
    }

    /// A jsonb[] holds one JSON value per element — objects, strings, arrays — and loads back as such.
    @Test func roundTripsJSONArrays() throws {
        let prefix = "load_pg_jsonarr"
        let (box, environment) = try Self.prepare(
            prefix: prefix,
            sql: #"""
                CREATE TABLE load_pg_jsonarr_src(id bigint, jbs jsonb[]);
                INSERT INTO load_pg_jsonarr_src VALUES (1, ARRAY['{"a": 1}', '"s"', '[1, 2]', '3']::jsonb[]), (2, '{}'), (3, NULL);
                """#)
        let load = try box.run("conduit-extract rows | conduit-load rows", environment: environment)
        #expect(load.status == 0, "\(load.stderr)")
        let source = try PostgresFixture.query(
            "SELECT id || ' ' || coalesce(jbs::text, 'NULL') FROM \(prefix)_src ORDER BY id", in: box, environment)
        #expect(
            try PostgresFixture.query(
                "SELECT id || ' ' || coalesce(jbs::text, 'NULL') FROM \(prefix)_dst ORDER BY id", in: box, environment) == source)
        #expect(source.hasPrefix(#"1 {"{\"a\": 1}","\"s\"","[1, 2]",3}"#), "\(source)")
    }

    // MARK: - Columns

    /// Keys the source lacks (added by jq) get inferred types, at creation and as new columns;
    /// with --infer-types every key does.
    @Test func infersTypesForKeysTheSourceLacks() throws {
        let prefix = "load_pg_infer"
        let (box, environment) = try Self.prepare(
            prefix: prefix,
            sql: """
                CREATE TABLE load_pg_infer_src(id integer, name varchar(20), amount numeric(12,2));
                INSERT INTO load_pg_infer_src VALUES (1, 'a', 1.50), (2, 'b', NULL);
                """)
        let jq =
            #"jq -c '.i = 5 | .f = 1.5 | .ts = "2024-05-01T12:00:00+02:00" | .yes = true | .obj = {a: 1} | .arr = [1] | .s = "x" | .nothing = null'"#
        let load = try box.run("conduit-extract rows | \(jq) | conduit-load rows", environment: environment)
        #expect(load.status == 0, "\(load.stderr)")
        // jq 1.6 rounds big numbers: these keys come straight from a file, as new columns of the existing table.
        try box.write(
            #"""
            {"id":3,"big":9223372036854775807,"huge":92233720368547758070,"e":1e3,"tsz":"2024-05-01T10:00:00.5Z","local":"2024-05-01T12:00:00","day":"2024-05-01"}

            """#, to: "more.ndjson")
        let more = try box.run("conduit-load rows < more.ndjson", environment: environment)
        #expect(more.status == 0, "\(more.stderr)")
        #expect(
            try PostgresFixture.columns(of: "\(prefix)_dst", in: box, environment) == """
                id|integer
                name|character varying(20)
                amount|numeric(12,2)
                i|bigint
                f|numeric
                ts|timestamp with time zone
                yes|boolean
                obj|jsonb
                arr|jsonb
                s|text
                nothing|text
                big|bigint
                huge|numeric
                e|numeric
                tsz|timestamp with time zone
                local|text
                day|text

                """)
        #expect(
            try PostgresFixture.query(
                "SELECT concat_ws(' ', id, name, amount, i, f, ts, yes, obj, arr, s, nothing IS NULL, big, huge, e, tsz, local, day) FROM \(prefix)_dst ORDER BY id",
                in: box, environment) == """
                    1 a 1.50 5 1.5 2024-05-01 10:00:00+00 t {"a": 1} [1] x t
                    2 b 5 1.5 2024-05-01 10:00:00+00 t {"a": 1} [1] x t
                    3 t 9223372036854775807 92233720368547758070 1000 2024-05-01 10:00:00.5+00 2024-05-01T12:00:00 2024-05-01

                    """)

        let inferred = try box.run("conduit-extract rows | conduit-load --infer-types inferred", environment: environment)
        #expect(inferred.status == 0, "\(inferred.stderr)")
        #expect(
            try PostgresFixture.columns(of: "\(prefix)_inf", in: box, environment) == "id|bigint\nname|text\namount|numeric\n")
    }

    /// A missing key loads NULL; a new key adds a column; columns no row names keep their defaults.
    @Test func addsColumnsAndKeepsDefaults() throws {
        let prefix = "load_pg_columns"
        let (box, environment) = try Self.prepare(
            prefix: prefix,
            sql: """
                CREATE TABLE load_pg_columns_src(id bigint, name text);
                CREATE TABLE load_pg_columns_dst(id bigint, name text, note text DEFAULT 'dflt', serial bigserial, at timestamptz NOT NULL DEFAULT now());
                """)
        try box.write(
            #"""
            {"id":1,"name":"a"}
            {"id":2}
            {"name":"c","id":3,"extra":"e3"}
            {"id":4,"name":null,"Mixed Case":1.5}

            """#, to: "rows.ndjson")
        let load = try box.run("conduit-load rows < rows.ndjson", environment: environment)
        #expect(load.status == 0, "\(load.stderr)")
        #expect(
            try PostgresFixture.columns(of: "\(prefix)_dst", in: box, environment) == """
                id|bigint
                name|text
                note|text
                serial|bigint
                at|timestamp with time zone
                extra|text
                Mixed Case|numeric

                """)
        #expect(
            try PostgresFixture.query(
                "SELECT concat_ws('|', id, coalesce(name, '∅'), note, serial, at IS NOT NULL, coalesce(extra, '∅'), coalesce(\"Mixed Case\"::text, '∅')) FROM \(prefix)_dst ORDER BY id",
                in: box, environment) == """
                    1|a|dflt|1|t|∅|∅
                    2|∅|dflt|2|t|∅|∅
                    3|c|dflt|3|t|e3|∅
                    4|∅|dflt|4|t|∅|1.5

                    """)
    }

    /// Rows whose keys change order, count and spelling from one line to the next: each value
    /// lands in its own column. The loader reads a line holding the last row's keys, spelled the
    /// same, by comparing bytes (`JSONRow.expectKeys`); a stale expectation would put `a` into `b`.
    @Test func keysChangingFromRowToRowLandInTheirColumns() throws {
        let prefix = "load_pg_keyshapes"
        let (box, environment) = try Self.prepare(
            prefix: prefix, sql: "CREATE TABLE load_pg_keyshapes_src(id bigint, a text, b text);")
        try box.write(
            #"""
            {"id":1,"a":"a1","b":"b1"}
            {"id":2,"a":"a2","b":"b2"}
            {"id":3,"b":"b3","a":"a3"}
            {"id":4,"b":"b4","a":"a4"}
            {"id":5,"a":"a5","b":"b5"}
            {"id":6,"a":"a6","b":"b6"}
            {"id":7,"a":"a7","b":"b7"}
            {"id":8,"a":"a8"}
            {"id":9,"a":"a9","b":"b9","c":"c9"}
            {"id":10,"a":"a10","b":"b10","c":"c10"}
            { "id": 11, "a": "a11", "b": "b11", "c": "c11" }
            {"id":12,"a":"a12","b":"b12","c":"c12"}
            {"id":13,"c":"c13","b":"b13","a":"a13"}
            {"id":14,"a":"a14","b":"b14","c":"c14"}

            """#, to: "rows.ndjson")
        let load = try box.run("conduit-load inferred < rows.ndjson", environment: environment)
        #expect(load.status == 0, "\(load.stderr)")
        #expect(
            try PostgresFixture.query(
                "SELECT concat_ws('|', id, coalesce(a, '∅'), coalesce(b, '∅'), coalesce(c, '∅')) FROM \(prefix)_inf ORDER BY id",
                in: box, environment) == """
                    1|a1|b1|∅
                    2|a2|b2|∅
                    3|a3|b3|∅
                    4|a4|b4|∅
                    5|a5|b5|∅
                    6|a6|b6|∅
                    7|a7|b7|∅
                    8|a8|∅|∅
                    9|a9|b9|c9
                    10|a10|b10|c10
                    11|a11|b11|c11
                    12|a12|b12|c12
                    13|a13|b13|c13
                    14|a14|b14|c14

                    """)
    }

    /// A key and a table name full of quotes and SQL are only names; the source table survives.
    @Test func hostileIdentifiersAreJustNames() throws {
        let prefix = "load_pg_hostile"
        let (box, environment) = try Self.prepare(
            prefix: prefix,
            sql: """
                CREATE TABLE load_pg_hostile_src(id bigint);
                INSERT INTO load_pg_hostile_src VALUES (1);
                """)
        try box.write(
            #"""
            {"id":1,"x\"; DROP TABLE load_pg_hostile_src; --":"v1","a\tb\\c":"tab"}
            {"id":2,"x\"; DROP TABLE load_pg_hostile_src; --":"v2","it's":"quote"}

            """#, to: "rows.ndjson")
        let load = try box.run("conduit-load hostile < rows.ndjson", environment: environment)
        #expect(load.status == 0, "\(load.stderr)")
        let table = Self.hostileTable(prefix)
        #expect(
            try PostgresFixture.columns(of: table, in: box, environment) == """
                id|bigint
                x"; DROP TABLE load_pg_hostile_src; --|text
                a\tb\\c|text
                it's|text

                """)
        #expect(
            try PostgresFixture.query(
                "SELECT concat_ws(',', id, \"x\"\"; DROP TABLE load_pg_hostile_src; --\", \"it's\") FROM \(PostgresFixture.quote(table)) ORDER BY id",
                in: box, environment) == "1,v1\n2,v2,quote\n")
        #expect(try PostgresFixture.count("\(prefix)_src", in: box, environment) == "1\n")
    }

    // MARK: - Failures

    /// "abc" into a bigint column: exit 65 naming the line and the column; the table is unchanged.
    @Test func refusedValueRollsBackTheBatch() throws {
        let prefix = "load_pg_refused"
        let (box, environment) = try Self.prepare(
            prefix: prefix,
            sql: """
                CREATE TABLE load_pg_refused_src(id bigint, n bigint);
                CREATE TABLE load_pg_refused_dst(id bigint, n bigint);
                INSERT INTO load_pg_refused_dst VALUES (0, 0);
                """)
        let result = try box.run(
            #"printf '{"id":1,"n":5}\n\n{"id":2,"n":"abc"}\n{"id":3,"n":7}\n' | conduit-load rows"#, environment: environment)
        #expect(result.status == 65)
        #expect(
            result.stderr == """
                conduit-load: error: loading into "\(prefix)_dst" on \(PostgresFixture.label(environment)): line 3: column "n": \
                invalid input syntax for type bigint: "abc" (SQLSTATE 22P02); the open batch was rolled back, nothing was written

                """)
        #expect(
            try PostgresFixture.query("SELECT string_agg(id || ':' || n, ',') FROM \(prefix)_dst", in: box, environment)
                == "0:0\n")

        // A table created in the failed batch is rolled back with it.
        try PostgresFixture.query("DROP TABLE \(prefix)_dst", in: box, environment)
        let fresh = try box.run(#"printf '{"id":1,"n":5}\n{"id":2,"n":"abc"}\n' | conduit-load rows"#, environment: environment)
        #expect(fresh.status == 65)
        #expect(
            fresh.stderr == """
                conduit-load: error: loading into "\(prefix)_dst" on \(PostgresFixture.label(environment)): line 2: column "n": \
                invalid input syntax for type bigint: "abc" (SQLSTATE 22P02); the open batch was rolled back, nothing was written

                """)
        #expect(try PostgresFixture.query("SELECT to_regclass('\(prefix)_dst') IS NULL", in: box, environment) == "t\n")
    }

    /// A base64 error found before the server sees the row names the line and column too.
    @Test func refusedByteaNamesLineAndColumn() throws {
        let prefix = "load_pg_bytea"
        let (box, environment) = try Self.prepare(
            prefix: prefix,
            sql: """
                CREATE TABLE load_pg_bytea_src(id bigint);
                CREATE TABLE load_pg_bytea_dst(id bigint, raw bytea);
                """)
        let result = try box.run(
            #"printf '{"id":1,"raw":"AP8Q"}\n{"id":2,"raw":"not base64!"}\n' | conduit-load rows"#, environment: environment)
        #expect(result.status == 65)
        #expect(
            result.stderr == """
                conduit-load: error: line 2: column "raw" (bytea): expected base64 for a bytea column; the open batch was rolled back, nothing was written

                """)
        #expect(try PostgresFixture.count("\(prefix)_dst", in: box, environment) == "0\n")
    }

    /// An invalid JSON document for a jsonb column: PostgreSQL's error context starts with
    /// "JSON data, line 1"; the message must still name the stream's line (3) and the column.
    @Test func jsonColumnErrorNamesTheStreamLine() throws {
        let prefix = "load_pg_jsonerr"
        let (box, environment) = try Self.prepare(
            prefix: prefix,
            sql: """
                CREATE TABLE load_pg_jsonerr_src(id bigint);
                CREATE TABLE load_pg_jsonerr_dst(id bigint, j jsonb);
                """)
        let result = try box.run(
            #"printf '{"id":1,"j":{}}\n{"id":2,"j":[]}\n{"id":3,"j":{"k":"\\u0000"}}\n' | conduit-load rows"#,
            environment: environment)
        #expect(result.status == 65, "\(result.stderr)")
        #expect(try PostgresFixture.count("\(prefix)_dst", in: box, environment) == "0\n")
        #expect(
            result.stderr == #"""
                conduit-load: error: loading into "load_pg_jsonerr_dst" on \#(PostgresFixture.label(environment)): line 3: column "j": \#
                unsupported Unicode escape sequence (SQLSTATE 22P05); detail: \u0000 cannot be converted to text.; \#
                the open batch was rolled back, nothing was written

                """#)
    }

    /// A CHECK failure on line 3: exit 65, and none of the batch's rows are in the table.
    @Test func constraintFailureRollsBackTheBatch() throws {
        let prefix = "load_pg_check"
        let (box, environment) = try Self.prepare(
            prefix: prefix,
            sql: """
                CREATE TABLE load_pg_check_src(id bigint);
                CREATE TABLE load_pg_check_dst(id bigint, c int CHECK (c < 10));
                """)
        let result = try box.run(
            #"printf '{"id":1,"c":1}\n{"id":2,"c":2}\n{"id":3,"c":30}\n{"id":4,"c":4}\n' | conduit-load rows"#,
            environment: environment)
        #expect(result.status == 65)
        #expect(
            result.stderr == """
                conduit-load: error: loading into "load_pg_check_dst" on \(PostgresFixture.label(environment)): line 3: \
                new row for relation "load_pg_check_dst" violates check constraint "load_pg_check_dst_c_check" (SQLSTATE 23514); \
                detail: Failing row contains (3, 30).; the open batch was rolled back, nothing was written

                """)
        #expect(try PostgresFixture.count("\(prefix)_dst", in: box, environment) == "0\n")
    }

    /// batch_size 2 and a failure in the third batch: exactly the first two batches stay.
    @Test func earlierBatchesStayCommitted() throws {
        let prefix = "load_pg_batches"
        let (box, environment) = try Self.prepare(
            prefix: prefix,
            sql: """
                CREATE TABLE load_pg_batches_src(id bigint);
                CREATE TABLE load_pg_batches_dst(id bigint CHECK (id <> 6));
                """)
        let result = try box.run("seq 1 8 | sed 's/.*/{\"id\":&}/' | conduit-load small", environment: environment)
        #expect(result.status == 65)
        #expect(
            result.stderr == """
                conduit-load: error: loading into "load_pg_batches_dst" on \(PostgresFixture.label(environment)): line 6: \
                new row for relation "load_pg_batches_dst" violates check constraint "load_pg_batches_dst_id_check" (SQLSTATE 23514); \
                detail: Failing row contains (6).; the open batch was rolled back (4 rows of earlier batches stay committed)

                """)
        #expect(
            try PostgresFixture.query("SELECT string_agg(id::text, ',' ORDER BY id) FROM \(prefix)_dst", in: box, environment)
                == "1,2,3,4\n")
    }

    /// A line that is not a JSON object fails the run naming its line (blank lines count); nothing is written.
    @Test(arguments: [(#"{"id":3,}"#, "comma"), ("[1]", "array"), ("not json", "text"), (#"{"id":"\ud800"}"#, "surrogate")])
    func badLineNamesItsNumber(line: String, name: String) throws {
        let prefix = "load_pg_badline_\(name)"
        let (box, environment) = try Self.prepare(
            prefix: prefix,
            sql: """
                CREATE TABLE \(prefix)_src(id bigint);
                CREATE TABLE \(prefix)_dst(id bigint);
                """)
        try box.write("{\"id\":1}\n\n{\"id\":2}\n\(line)\n{\"id\":5}\n", to: "rows.ndjson")
        let result = try box.run("conduit-load small < rows.ndjson", environment: environment)
        #expect(result.status == 65)
        let reasons = [
            "comma": #"key "id": at byte 9: trailing comma in object"#,
            "array": "at byte 1: expected a JSON object",
            "text": "at byte 1: invalid literal, expected 'null'",
            "surrogate": #"key "id": at byte 8: lone surrogate \ud800"#,
        ]
        #expect(
            result.stderr == """
                conduit-load: error: line 4: not a valid JSON object: \(reasons[name] ?? "?"); the open batch was rolled back, nothing was written

                """)
        #expect(try PostgresFixture.count("\(prefix)_dst", in: box, environment) == "0\n")
    }

    /// A stream whose last line has no newline was cut: exit 65 naming it, nothing committed.
    @Test func cutStreamCommitsNothing() throws {
        let prefix = "load_pg_cut"
        let (box, environment) = try Self.prepare(prefix: prefix, sql: "CREATE TABLE load_pg_cut_src(id bigint);")
        let result = try box.run(#"printf '{"id":1}\n{"id":2}\n{"id":3}' | conduit-load rows"#, environment: environment)
        #expect(result.status == 65)
        #expect(
            result.stderr == """
                conduit-load: error: line 3: the stream ended without a newline after the last line (it was cut short); \
                the open batch was rolled back, nothing was written

                """)
        #expect(try PostgresFixture.query("SELECT to_regclass('\(prefix)_dst') IS NULL", in: box, environment) == "t\n")
        // Even a complete object as the last line, when its newline is missing.
        let complete = try box.run(#"printf '{"id":1}' | conduit-load rows"#, environment: environment)
        #expect(complete.status == 65)
        #expect(try PostgresFixture.query("SELECT to_regclass('\(prefix)_dst') IS NULL", in: box, environment) == "t\n")
    }

    /// An unreachable destination is 69, and its password is never printed.
    @Test func unreachableDestinationIs69() throws {
        let (box, environment) = try Self.prepare(prefix: "load_pg_down", sql: "CREATE TABLE load_pg_down_src(id bigint);")
        let result = try box.run(#"printf '{"id":1}\n' | conduit-load unreachable"#, environment: environment)
        #expect(result.status == 69, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("conduit-load: error: connecting to none at 127.0.0.1:1: "), "\(result.stderr)")
        #expect(!result.stderr.contains(PostgresFixture.unreachablePassword))
    }

    /// SIGTERM (143) or SIGINT (130) while the loader waits on an open stdin rolls back the open
    /// batch; batches committed before it stay.
    @Test(arguments: [("TERM", 143), ("INT", 130)])
    func signalRollsBackTheOpenBatch(signal: String, status: Int) throws {
        let prefix = "load_pg_sig\(signal.lowercased())"
        let (box, environment) = try Self.prepare(prefix: prefix, sql: "CREATE TABLE \(prefix)_src(id bigint);")
        // batch_size 2: rows 1-2 commit when row 3 arrives; row 3 stays in the open batch.
        let result = try box.run(
            """
            set -m
            mkfifo in
            conduit-load small < in 2> load.err &
            pid=$!
            exec 3> in
            printf '{"id":1}\\n{"id":2}\\n{"id":3}\\n' >&3
            for i in $(seq 1 300); do
              [ "$(psql -Atc 'SELECT count(*) FROM \(prefix)_dst' 2>/dev/null)" = 2 ] && break
              sleep 0.1
            done
            sleep 0.5
            kill -\(signal) $pid
            wait $pid
            echo "status $?"
            exec 3>&-
            """, environment: environment)
        #expect(result.stdout == "status \(status)\n", "\(result.stderr) \((try? box.read("load.err")) ?? "")")
        #expect(
            try box.read("load.err")
                == "conduit-load: warning: stopped by signal \(status - 128); rolled back the open batch (2 rows of earlier batches stay committed)\n"
        )
        #expect(
            try PostgresFixture.query("SELECT string_agg(id::text, ',' ORDER BY id) FROM \(prefix)_dst", in: box, environment)
                == "1,2\n")
    }

    // MARK: - The pipeline

    /// extract | state commit -- load: the first run loads everything and commits the state; a
    /// second run after inserts loads only the new rows.
    @Test func pipelineLoadsOnlyNewRows() throws {
        let prefix = "load_pg_pipeline"
        let (box, environment) = try Self.prepare(
            prefix: prefix,
            sql: """
                CREATE TABLE load_pg_pipeline_src(id bigint PRIMARY KEY, name text, at timestamptz);
                INSERT INTO load_pg_pipeline_src SELECT g, 'user ' || g, '2024-05-01'::timestamptz + g * interval '1 hour' FROM generate_series(1, 5) g;
                """)
        let pipeline = "conduit-extract rows | conduit-state commit rows -- conduit-load rows"
        let first = try box.run(pipeline, environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(
            Messages.stableLines(first.stderr) == [
                "conduit-extract: rows: 5 rows, 265 bytes in \(Messages.timing)",
                Messages.noSequence("rows"),
                "conduit-load: rows: 5 rows, 265 bytes in \(Messages.timing) into \"\(prefix)_dst\" on \(PostgresFixture.label(environment))",
                "conduit-state: rows: 5 rows, 265 bytes in \(Messages.timing); state (none) → 5",
            ], "\(first.stderr)")
        #expect(try box.read(".conduit_state.json") == "{\n  \"rows\": 5\n}\n")
        try PostgresFixture.query("INSERT INTO \(prefix)_src VALUES (6, 'six', now()), (7, 'seven', NULL)", in: box, environment)
        let second = try box.run(pipeline, environment: environment)
        #expect(second.status == 0, "\(second.stderr)")
        // Row 6 holds now(), whose digits (so the byte count) vary.
        #expect(
            Messages.stableLines(second.stderr, ignoringBytes: true) == [
                "conduit-extract: rows: 2 rows, \(Messages.bytes) in \(Messages.timing)",
                Messages.noSequence("rows"),
                "conduit-load: rows: 2 rows, \(Messages.bytes) in \(Messages.timing) into \"\(prefix)_dst\" on \(PostgresFixture.label(environment))",
                "conduit-state: rows: 2 rows, \(Messages.bytes) in \(Messages.timing); state 5 → 7",
            ], "\(second.stderr)")
        #expect(try box.read(".conduit_state.json") == "{\n  \"rows\": 7\n}\n")
        let source = try PostgresFixture.query("SELECT (t)::text FROM \(prefix)_src t ORDER BY id", in: box, environment)
        #expect(try PostgresFixture.query("SELECT (t)::text FROM \(prefix)_dst t ORDER BY id", in: box, environment) == source)
        #expect(
            try PostgresFixture.columns(of: "\(prefix)_dst", in: box, environment)
                == "id|bigint\nname|text\nat|timestamp with time zone\n")
        let third = try box.run(pipeline, environment: environment)
        #expect(third.status == 0, "\(third.stderr)")
        #expect(try PostgresFixture.count("\(prefix)_dst", in: box, environment) == "7\n")
    }
}
