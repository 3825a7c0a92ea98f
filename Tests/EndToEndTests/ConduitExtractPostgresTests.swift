import Foundation
import TestSupport
import Testing

/// conduit-extract against the real PostgreSQL that scripts/test.sh starts.
@Suite struct ConduitExtractPostgresTests {
    /// A sandbox with a table of its own and an ingest.yml whose source is the test server.
    static func prepare(table: String, sql: String) throws -> (Sandbox, [String: String]) {
        let box = try Sandbox()
        let environment = try PostgresFixture.environment()
        try box.write(
            """
            sources:
            \(PostgresFixture.entry("pg"))
            \(PostgresFixture.unreachableEntry("down"))
            destinations:
              - {name: w, type: sqlite, path: w.db}
            resources:
              - name: rows
                source: pg
                destination: w
                incremental_column: id
                query: "SELECT * FROM \(table) WHERE id > :last_value ORDER BY id"
              - name: by_time
                source: pg
                destination: w
                incremental_column: ts
                query: "SELECT id, ts FROM \(table) WHERE ts > :last_value ORDER BY ts"
              - name: broken
                source: pg
                destination: w
                query: "SELEC * FROM \(table)"
              - name: unreachable
                source: down
                destination: w
                query: "SELECT 1"
            """, to: "ingest.yml")
        try PostgresFixture.recreate([table], with: sql, in: box, environment)
        return (box, environment)
    }

    /// Writes a configuration named `name` whose source is the test server and whose `resources`
    /// (YAML list items) load into a SQLite file.
    static func writeConfig(_ resources: String, to name: String, in box: Sandbox) throws {
        try box.write(
            """
            sources:
            \(PostgresFixture.entry("pg"))
            destinations: [{name: w, type: sqlite, path: w.db}]
            resources:
            \(resources)
            """, to: name)
    }

    /// Every mapped type comes out exactly as SPEC section 4 says, keys in column order.
    @Test func mapsTypesExactly() throws {
        let (box, environment) = try Self.prepare(
            table: "extract_types",
            sql: #"""
                CREATE TABLE extract_types(id bigint, name text, ts timestamptz, n numeric(40,2), b boolean, j jsonb,
                  arr int[], tarr text[], raw bytea, f float8, iv interval, d date, js json, small smallint, t timestamp);
                INSERT INTO extract_types VALUES
                  (1, E'a"b\n\t\\ é ✓ 😀', '2024-05-01 12:00:00.123456+02', 1.50, true, '{"a": [1, 2]}', '{1,NULL,3}',
                   '{"x y",NULL,"q\""}', '\x00ff10', 0.1, '1 day 2 hours', '2024-05-01', E'{ "k" :\n 1 }', -32768, '2024-05-01 12:00:00.5'),
                  (9007199254740993, '', 'infinity', 'NaN', false, 'null', '{}', '{{a,b},{c,d}}', '', 'Infinity', '-1 mon', '2024-05-02', '[]', 32767, '-infinity'),
                  (9223372036854775807, NULL, '-infinity', 12345678901234567890123456789012345678.99, NULL, NULL, NULL, NULL, NULL, -1.5e-7, NULL, NULL, NULL, NULL, NULL);
                """#)
        let result = try box.run("conduit-extract rows", environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        let expected = [
            #"{"id":1,"name":"a\"b\n\t\\ é ✓ 😀","ts":"2024-05-01T10:00:00.123456Z","n":1.50,"b":true,"j":{"a": [1, 2]},"arr":[1,null,3],"tarr":["x y",null,"q\""],"raw":"AP8Q","f":0.1,"iv":"P1DT2H","d":"2024-05-01","js":{"k":1},"small":-32768,"t":"2024-05-01T12:00:00.5"}"#,
            #"{"id":9007199254740993,"name":"","ts":"infinity","n":"NaN","b":false,"j":null,"arr":[],"tarr":[["a","b"],["c","d"]],"raw":"","f":"Infinity","iv":"P-1M","d":"2024-05-02","js":[],"small":32767,"t":"-infinity"}"#,
            #"{"id":9223372036854775807,"name":null,"ts":"-infinity","n":12345678901234567890123456789012345678.99,"b":null,"j":null,"arr":null,"tarr":null,"raw":null,"f":-1.5e-07,"iv":null,"d":null,"js":null,"small":null,"t":null}"#,
        ]
        #expect(result.stdout == expected.joined(separator: "\n") + "\n")
        #expect(
            Messages.stable(result.stderr) == Messages.noSequence("rows")
                + "\nconduit-extract: rows: 3 rows, 689 bytes in \(Messages.timing)\n")
    }

    /// A 2 MB text value leaves as one line, byte for byte.
    @Test func streamsLargeText() throws {
        let (box, environment) = try Self.prepare(
            table: "extract_large",
            sql: """
                CREATE TABLE extract_large(id bigint, body text);
                INSERT INTO extract_large VALUES (1, repeat('ab\\"', 524288) || '😀'), (2, 'small');
                """)
        let result = try box.run(
            "conduit-extract rows > out.ndjson && jq -r 'select(.id == 1) | .body | length' out.ndjson && wc -l < out.ndjson",
            environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        // 524,288 × 'ab\"' (4 characters) + one emoji (jq counts code points).
        #expect(result.stdout == "2097153\n2\n")
        let same = try box.run(
            "psql -Atc \"SELECT md5(body) FROM extract_large WHERE id = 1\" > want && jq -j 'select(.id == 1) | .body' out.ndjson | md5sum | cut -d' ' -f1 > got && cmp want got",
            environment: environment)
        #expect(same.status == 0, "\(same.stdout)\(same.stderr)")
    }

    /// --describe reports the query's columns and source types without running it.
    @Test func describesColumnsWithoutRunning() throws {
        let (box, environment) = try Self.prepare(
            table: "extract_describe",
            sql: """
                DROP TYPE IF EXISTS extract_mood; CREATE TYPE extract_mood AS ENUM ('ok', 'sad');
                CREATE TABLE extract_describe(id bigint, amount numeric(12,2), name varchar(20), at timestamptz, tags text[], mood extract_mood, raw bytea);
                """)
        let result = try box.run("conduit-extract --describe rows", environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout == #"""
                {"name":"id","source_type":"bigint","kind":"bigint"}
                {"name":"amount","source_type":"numeric(12,2)","kind":"numeric"}
                {"name":"name","source_type":"character varying(20)","kind":"text"}
                {"name":"at","source_type":"timestamp with time zone","kind":"timestamp with time zone"}
                {"name":"tags","source_type":"text[]","kind":"text[]"}
                {"name":"mood","source_type":"extract_mood","kind":null}
                {"name":"raw","source_type":"bytea","kind":"bytea"}

                """#)
        // Describing runs nothing: a query that would fail at run time (division by zero) still describes.
        try box.write(
            """
            sources:
            \(PostgresFixture.entry("pg"))
            destinations: [{name: w, type: sqlite, path: w.db}]
            resources: [{name: boom, source: pg, destination: w, query: "SELECT 1/0 AS x"}]
            """, to: "boom.yml")
        let boom = try box.run(
            "conduit-extract --config boom.yml --describe boom && conduit-extract --config boom.yml boom",
            environment: environment)
        #expect(boom.stdout == "{\"name\":\"x\",\"source_type\":\"integer\",\"kind\":\"integer\"}\n")
        #expect(boom.status == 65, "\(boom.stderr)")
    }

    /// The pipeline: the first run reads everything, the second only rows inserted since; a
    /// timestamp cursor starts from -infinity on its first run.
    @Test func incrementalRunsThroughConduitState() throws {
        let (box, environment) = try Self.prepare(
            table: "extract_incremental",
            sql: """
                CREATE TABLE extract_incremental(id bigint, ts timestamptz);
                INSERT INTO extract_incremental SELECT g, '2024-01-01'::timestamptz + g * interval '1 hour' FROM generate_series(1, 5) g;
                """)
        let pipeline = "conduit-extract rows | conduit-state commit rows -- sh -c 'cat >> out.ndjson'"
        #expect(try box.run(pipeline, environment: environment).status == 0)
        #expect(try box.read(".conduit_state.json") == "{\n  \"rows\": 5\n}\n")
        try PostgresFixture.execute("INSERT INTO extract_incremental VALUES (6, now()), (7, now());", in: box, environment)
        #expect(try box.run(pipeline, environment: environment).status == 0)
        #expect(try box.read(".conduit_state.json") == "{\n  \"rows\": 7\n}\n")
        #expect(try box.read("out.ndjson").split(separator: "\n").count == 7)
        let nothing = try box.run(pipeline, environment: environment)
        #expect(
            Messages.stableLines(nothing.stderr) == [
                "conduit-extract: rows: 0 rows, 0 bytes in \(Messages.timing)",
                Messages.noSequence("rows"),
                "conduit-state: rows: 0 rows, 0 bytes in \(Messages.timing); no rows, state unchanged at 7",
            ], "\(nothing.stderr)")
        let byTime = try box.run(
            "conduit-extract by_time | conduit-state commit by_time -- sh -c 'cat > /dev/null'", environment: environment)
        #expect(byTime.status == 0, "\(byTime.stderr)")
        #expect(try box.read(".conduit_state.json").contains("\"by_time\": \"20"))
    }

    /// A hostile state value is bound, never spliced: the run fails and the table survives.
    @Test func hostileStateValueExecutesNothing() throws {
        let (box, environment) = try Self.prepare(
            table: "extract_hostile", sql: "CREATE TABLE extract_hostile(id bigint); INSERT INTO extract_hostile VALUES (1);")
        try box.write("{\"rows\": \"1; DROP TABLE extract_hostile\"}\n", to: ".conduit_state.json")
        let result = try box.run("conduit-extract rows", environment: environment)
        #expect(result.status == 65)
        #expect(
            result.stderr == """
                conduit-extract: error: running the query of rows on \(PostgresFixture.label(environment)): \
                invalid input syntax for type bigint: "1; DROP TABLE extract_hostile" (SQLSTATE 22P02)

                """)
        #expect(try PostgresFixture.count("extract_hostile", in: box, environment) == "1\n")
        // --last-value overrides the state for one run and leaves it alone.
        let backfill = try box.run("conduit-extract --last-value 0 rows", environment: environment)
        #expect(backfill.stdout == "{\"id\":1}\n")
        #expect(try box.read(".conduit_state.json").contains("DROP TABLE"))
    }

    /// Invalid SQL is a configuration error (78) carrying the server's message and SQLSTATE;
    /// a refused connection is 69 and never shows the password.
    @Test func failuresMapToExitCodes() throws {
        let (box, environment) = try Self.prepare(table: "extract_failures", sql: "CREATE TABLE extract_failures(id bigint);")
        let broken = try box.run("conduit-extract broken", environment: environment)
        #expect(broken.status == 78)
        // The position counts from the start of the DECLARE … CURSOR FOR statement Conduit wraps the
        // query in (45 characters), not from the start of the query the user wrote.
        #expect(
            broken.stderr == """
                conduit-extract: error: running the query of broken on \(PostgresFixture.label(environment)): \
                syntax error at or near "SELEC" (SQLSTATE 42601) at character 46

                """)
        let down = try box.run("conduit-extract unreachable", environment: environment)
        #expect(down.status == 69, "\(down.stderr)")
        #expect(down.stderr.contains("connecting to none at 127.0.0.1:1"))
        #expect(!down.stderr.contains(PostgresFixture.unreachablePassword))
        let dry = try box.run("conduit-extract --dry-run rows", environment: environment)
        #expect(dry.stdout.hasSuffix("SELECT * FROM extract_failures WHERE id > $1 ORDER BY id\n"))
        let password = environment["CONDUIT_TEST_PG_PASSWORD"] ?? ""
        if password.count >= 8 { #expect(!dry.stdout.contains(password)) }
    }

    /// Every byte a text value can hold leaves as the server holds it: control characters,
    /// backslashes, a text that reads `\N`, tabs and line ends, quotes, non-ASCII; in a text
    /// column, a text[] and a json one. 3,000 random values and the edge cases, compared byte for
    /// byte with the server's own hex of each value.
    @Test func textKeepsEveryByte() throws {
        let (box, environment) = try Self.prepare(
            table: "extract_bytes",
            sql: #"""
                CREATE TABLE extract_bytes(id bigint PRIMARY KEY, v text, arr text[], j json);
                INSERT INTO extract_bytes(id, v)
                  SELECT g, (SELECT string_agg(chr((ARRAY[1,8,9,10,11,12,13,27,31,32,34,39,44,78,92,110,116,120,123,127,233,8364,128512])[1 + floor(random() * 23)::int]), '')
                             FROM generate_series(1, 1 + g % 17) WHERE g > 0)
                  FROM generate_series(1, 3000) g;
                INSERT INTO extract_bytes(id, v) VALUES (3001, E'\\N'), (3002, E'\\\\N'), (3003, NULL), (3004, ''), (3005, E'\\'),
                  (3006, E'\t'), (3007, E'a\tb\nc\rd'), (3008, E'\\x41\\101');
                UPDATE extract_bytes SET arr = ARRAY[v, 'x', NULL], j = to_json(v);
                """#)
        let result = try box.run("conduit-extract --last-value 0 rows > out.ndjson", environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        let expected = try PostgresFixture.query(
            "SELECT id || ' ' || coalesce(encode(convert_to(v, 'UTF8'), 'hex'), 'null') FROM extract_bytes ORDER BY id",
            in: box, environment)
        let lines = try box.read("out.ndjson").split(separator: "\n")
        #expect(lines.count == 3008)
        var seen = ""
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let id = try #require(object["id"] as? Int)
            let value = object["v"] as? String
            let hex = value.map { Data($0.utf8).map { String(format: "%02x", $0) }.joined() } ?? "null"
            seen += "\(id) \(hex)\n"
            let array = try #require(object["arr"] as? [Any])
            #expect(array.count == 3 && (array[0] as? String) == value && (array[1] as? String) == "x" && array[2] is NSNull)
            #expect((object["j"] as? String) == value, "\(line)")
        }
        #expect(seen == expected)
    }

    /// A query that fails after it has streamed rows (division by zero at the 30,000th row, in the
    /// third FETCH of 10,000): the server's error and its SQLSTATE, exit 65, and on stdout only
    /// complete value groups of the batches fetched whole (the last written row's group is left
    /// out: 19,999 rows).
    @Test func queryFailingMidStreamKeepsCompleteGroups() throws {
        let (box, environment) = try Self.prepare(
            table: "extract_midway",
            sql: """
                CREATE TABLE extract_midway(id bigint PRIMARY KEY, d int);
                INSERT INTO extract_midway SELECT g, 30000 - g FROM generate_series(1, 40000) g;
                """)
        try Self.writeConfig(
            """
              - {name: midway, source: pg, destination: w, incremental_column: id, safe_horizon: false,
                 query: "SELECT id, 100 / d AS q FROM extract_midway WHERE id > :last_value ORDER BY id"}
            """, to: "midway.yml", in: box)
        let result = try box.run("conduit-extract --config midway.yml midway > out.ndjson", environment: environment)
        #expect(result.status == 65, "\(result.stderr)")
        #expect(result.stderr.contains("division by zero (SQLSTATE 22012)"), "\(result.stderr)")
        let lines = try box.read("out.ndjson").split(separator: "\n")
        #expect(lines.count == 19_999, "\(lines.count) rows")
        #expect(lines.last == #"{"id":19999,"q":0}"#, "\(lines.last ?? "")")
    }

    /// `:last_value` is a bound parameter: a text cursor whose value holds quotes, a backslash and
    /// a line end selects exactly the rows above it, and a query ending in a semicolon and a
    /// comment runs as written.
    @Test func lastValueTextWithQuotesAndBackslashes() throws {
        let (box, environment) = try Self.prepare(
            table: "extract_text_cursor",
            sql: #"""
                CREATE TABLE extract_text_cursor(id bigint, name text COLLATE "C");
                INSERT INTO extract_text_cursor VALUES (1, 'a'), (2, E'a''b\\c\n'), (3, E'a''b\\d'), (4, 'b''');
                """#)
        try Self.writeConfig(
            """
              - name: names
                source: pg
                destination: w
                incremental_column: name
                query: |
                  SELECT id, name FROM extract_text_cursor WHERE name > :last_value ORDER BY name; -- names above the last
            """, to: "names.yml", in: box)
        let result = try box.run(
            #"conduit-extract --config names.yml --last-value "$(printf "a'b\\\\c\\n_")" names"#, environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == #"{"id":3,"name":"a'b\\d"}"# + "\n" + #"{"id":4,"name":"b'"}"# + "\n", "\(result.stdout)")
    }

    /// `:last_value` keeps its whole value whatever its type's modifiers: a `char(9)` or `bit(8)`
    /// cursor, and a composite value with a NULL field (cases a COPY with the value as a literal
    /// got wrong, kept as guards).
    @Test func lastValueKeepsItsWholeValue() throws {
        let (box, environment) = try Self.prepare(
            table: "extract_typed_cursor",
            sql: """
                DROP TABLE IF EXISTS extract_bits; DROP TYPE IF EXISTS extract_pair;
                CREATE TABLE extract_typed_cursor(code char(9) PRIMARY KEY, n int);
                INSERT INTO extract_typed_cursor SELECT 'ORD' || lpad(g::text, 6, '0'), g FROM generate_series(1, 100) g;
                CREATE TABLE extract_bits(flags bit(8) PRIMARY KEY, n int);
                INSERT INTO extract_bits SELECT g::bit(8), g FROM generate_series(1, 200) g;
                CREATE TYPE extract_pair AS (a int, b text);
                """)
        try Self.writeConfig(
            """
              - {name: codes, source: pg, destination: w, incremental_column: code, safe_horizon: false,
                 query: "SELECT n FROM extract_typed_cursor WHERE code > :last_value ORDER BY code"}
              - {name: bits, source: pg, destination: w, incremental_column: flags, safe_horizon: false,
                 query: "SELECT n FROM extract_bits WHERE flags > :last_value ORDER BY flags"}
              - {name: pair, source: pg, destination: w, incremental_column: n, safe_horizon: false,
                 query: "SELECT n FROM extract_typed_cursor WHERE n > (:last_value::extract_pair).a AND n < 5 ORDER BY n"}
            """, to: "typed.yml", in: box)
        let codes = try box.run("conduit-extract --config typed.yml --last-value ORD000097 codes", environment: environment)
        #expect(codes.status == 0, "\(codes.stderr)")
        #expect(codes.stdout == "{\"n\":98}\n{\"n\":99}\n{\"n\":100}\n", "\(codes.stdout)")
        let bits = try box.run("conduit-extract --config typed.yml --last-value 11000101 bits", environment: environment)
        #expect(bits.status == 0, "\(bits.stderr)")
        #expect(bits.stdout == "{\"n\":198}\n{\"n\":199}\n{\"n\":200}\n", "\(bits.stdout)")
        let pair = try box.run("conduit-extract --config typed.yml --last-value '(2,)' pair", environment: environment)
        #expect(pair.status == 0, "\(pair.stderr)")
        #expect(pair.stdout == "{\"n\":3}\n{\"n\":4}\n", "\(pair.stdout)")
    }

    /// The rows keep the names and types they were read with when the table changes while the
    /// extract starts: the cursor's declaration locks its tables, so an ALTER TABLE issued meanwhile
    /// (here during a 2-second check of `:last_value`) waits until the extract is done.
    @Test func tableChangedWhileStartingWaitsForTheExtract() throws {
        let (box, environment) = try Self.prepare(
            table: "extract_race",
            sql: """
                DROP DOMAIN IF EXISTS extract_slow_int; DROP FUNCTION IF EXISTS extract_slow_ok(int);
                CREATE FUNCTION extract_slow_ok(v int) RETURNS bool LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(2); RETURN true; END $$;
                CREATE DOMAIN extract_slow_int AS int CHECK (extract_slow_ok(VALUE));
                CREATE TABLE extract_race(id int, n int); INSERT INTO extract_race VALUES (1, 10), (2, 20);
                """)
        try Self.writeConfig(
            """
              - {name: race, source: pg, destination: w, incremental_column: id, safe_horizon: false,
                 query: "SELECT * FROM extract_race WHERE id > :last_value::extract_slow_int ORDER BY id"}
            """, to: "race.yml", in: box)
        let result = try box.run(
            """
            conduit-extract --config race.yml race > out.ndjson 2> err.log &
            extract=$!
            sleep 1
            psql -qAt -c "ALTER TABLE extract_race ALTER COLUMN n TYPE text; UPDATE extract_race SET n = 'he said \\"hi\\"' WHERE id = 2; ALTER TABLE extract_race RENAME COLUMN n TO renamed"
            wait $extract
            """, environment: environment)
        #expect(result.status == 0, "\(result.stderr) \((try? box.read("err.log")) ?? "")")
        #expect(try box.read("out.ndjson") == "{\"id\":1,\"n\":10}\n{\"id\":2,\"n\":20}\n")
        #expect(
            try PostgresFixture.query("SELECT renamed FROM extract_race WHERE id = 2", in: box, environment) == "he said \"hi\"\n"
        )
    }
}
