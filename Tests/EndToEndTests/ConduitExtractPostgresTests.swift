import Foundation
import Testing

/// conduit-extract against the real PostgreSQL that scripts/test.sh starts.
@Suite struct ConduitExtractPostgresTests {
    /// The server's address from scripts/test.sh; a missing one fails the test (run scripts/test.sh).
    static func server() throws -> [String: String] {
        let environment = ProcessInfo.processInfo.environment
        let keys = ["CONDUIT_TEST_PG_HOST", "CONDUIT_TEST_PG_PORT", "CONDUIT_TEST_PG_USER", "CONDUIT_TEST_PG_PASSWORD", "CONDUIT_TEST_PG_DATABASE"]
        var result: [String: String] = [:]
        for key in keys {
            guard let value = environment[key], !value.isEmpty else {
                throw MissingServer(variable: key)
            }
            result[key] = value
        }
        result["PGHOST"] = result["CONDUIT_TEST_PG_HOST"]
        result["PGPORT"] = result["CONDUIT_TEST_PG_PORT"]
        result["PGUSER"] = result["CONDUIT_TEST_PG_USER"]
        result["PGPASSWORD"] = result["CONDUIT_TEST_PG_PASSWORD"]
        result["PGDATABASE"] = result["CONDUIT_TEST_PG_DATABASE"]
        return result
    }

    /// A sandbox with a table of its own and an ingest.yml whose source is the test server.
    static func prepare(table: String, sql: String) throws -> (Sandbox, [String: String]) {
        let box = try Sandbox()
        let environment = try server()
        try box.write("""
            sources:
              - name: pg
                type: postgresql
                host: ${CONDUIT_TEST_PG_HOST}
                port: ${CONDUIT_TEST_PG_PORT}
                user: ${CONDUIT_TEST_PG_USER}
                password: ${CONDUIT_TEST_PG_PASSWORD}
                database: ${CONDUIT_TEST_PG_DATABASE}
              - name: down
                type: postgresql
                host: 127.0.0.1
                port: 1
                user: nobody
                password: secret-never-printed
                database: none
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
        let setup = try box.run("psql -v ON_ERROR_STOP=1 -q <<'SQL'\nDROP TABLE IF EXISTS \(table);\n\(sql)\nSQL", environment: environment)
        try #require(setup.status == 0, "\(setup.stderr)")
        return (box, environment)
    }

    /// Every mapped type comes out exactly as SPEC section 4 says, keys in column order.
    @Test func mapsTypesExactly() throws {
        let (box, environment) = try Self.prepare(table: "extract_types", sql: #"""
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
        #expect(result.stderr.hasPrefix("conduit-extract: rows: 3 rows, "))
    }

    /// A 2 MB text value leaves as one line, byte for byte.
    @Test func streamsLargeText() throws {
        let (box, environment) = try Self.prepare(table: "extract_large", sql: """
            CREATE TABLE extract_large(id bigint, body text);
            INSERT INTO extract_large VALUES (1, repeat('ab\\"', 524288) || '😀'), (2, 'small');
            """)
        let result = try box.run("conduit-extract rows > out.ndjson && jq -r 'select(.id == 1) | .body | length' out.ndjson && wc -l < out.ndjson", environment: environment)
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
        let (box, environment) = try Self.prepare(table: "extract_describe", sql: """
            DROP TYPE IF EXISTS extract_mood; CREATE TYPE extract_mood AS ENUM ('ok', 'sad');
            CREATE TABLE extract_describe(id bigint, amount numeric(12,2), name varchar(20), at timestamptz, tags text[], mood extract_mood, raw bytea);
            """)
        let result = try box.run("conduit-extract --describe rows", environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == #"""
            {"name":"id","source_type":"bigint","kind":"bigint"}
            {"name":"amount","source_type":"numeric(12,2)","kind":"numeric"}
            {"name":"name","source_type":"character varying(20)","kind":"text"}
            {"name":"at","source_type":"timestamp with time zone","kind":"timestamp with time zone"}
            {"name":"tags","source_type":"text[]","kind":"text[]"}
            {"name":"mood","source_type":"extract_mood","kind":null}
            {"name":"raw","source_type":"bytea","kind":"bytea"}

            """#)
        // Describing runs nothing: a query that would fail at run time (division by zero) still describes.
        try box.write("""
            sources: [{name: pg, type: postgresql, host: "${CONDUIT_TEST_PG_HOST}", port: "${CONDUIT_TEST_PG_PORT}", user: "${CONDUIT_TEST_PG_USER}", password: "${CONDUIT_TEST_PG_PASSWORD}", database: "${CONDUIT_TEST_PG_DATABASE}"}]
            destinations: [{name: w, type: sqlite, path: w.db}]
            resources: [{name: boom, source: pg, destination: w, query: "SELECT 1/0 AS x"}]
            """, to: "boom.yml")
        let boom = try box.run("conduit-extract --config boom.yml --describe boom && conduit-extract --config boom.yml boom", environment: environment)
        #expect(boom.stdout == "{\"name\":\"x\",\"source_type\":\"integer\",\"kind\":\"integer\"}\n")
        #expect(boom.status == 65, "\(boom.stderr)")
    }

    /// The pipeline: the first run reads everything, the second only rows inserted since; a
    /// timestamp cursor starts from -infinity on its first run.
    @Test func incrementalRunsThroughConduitState() throws {
        let (box, environment) = try Self.prepare(table: "extract_incremental", sql: """
            CREATE TABLE extract_incremental(id bigint, ts timestamptz);
            INSERT INTO extract_incremental SELECT g, '2024-01-01'::timestamptz + g * interval '1 hour' FROM generate_series(1, 5) g;
            """)
        let pipeline = "conduit-extract rows | conduit-state commit rows -- sh -c 'cat >> out.ndjson'"
        #expect(try box.run(pipeline, environment: environment).status == 0)
        #expect(try box.read(".conduit_state.json") == "{\n  \"rows\": 5\n}\n")
        try box.run("psql -qc 'INSERT INTO extract_incremental VALUES (6, now()), (7, now())'", environment: environment)
        #expect(try box.run(pipeline, environment: environment).status == 0)
        #expect(try box.read(".conduit_state.json") == "{\n  \"rows\": 7\n}\n")
        #expect(try box.read("out.ndjson").split(separator: "\n").count == 7)
        let nothing = try box.run(pipeline, environment: environment)
        #expect(nothing.stderr.contains("rows: 0 rows"))
        let byTime = try box.run("conduit-extract by_time | conduit-state commit by_time -- sh -c 'cat > /dev/null'", environment: environment)
        #expect(byTime.status == 0, "\(byTime.stderr)")
        #expect(try box.read(".conduit_state.json").contains("\"by_time\": \"20"))
    }

    /// A hostile state value is bound, never spliced: the run fails and the table survives.
    @Test func hostileStateValueExecutesNothing() throws {
        let (box, environment) = try Self.prepare(table: "extract_hostile", sql: "CREATE TABLE extract_hostile(id bigint); INSERT INTO extract_hostile VALUES (1);")
        try box.write("{\"rows\": \"1; DROP TABLE extract_hostile\"}\n", to: ".conduit_state.json")
        let result = try box.run("conduit-extract rows", environment: environment)
        #expect(result.status == 65)
        #expect(result.stderr.contains("invalid input syntax for type bigint"))
        #expect(try box.run("psql -Atc 'SELECT count(*) FROM extract_hostile'", environment: environment).stdout == "1\n")
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
        #expect(broken.stderr.contains("syntax error at or near \"SELEC\" (SQLSTATE 42601)"))
        let down = try box.run("conduit-extract unreachable", environment: environment)
        #expect(down.status == 69, "\(down.stderr)")
        #expect(down.stderr.contains("connecting to none at 127.0.0.1:1"))
        #expect(!down.stderr.contains("secret-never-printed"))
        let dry = try box.run("conduit-extract --dry-run rows", environment: environment)
        #expect(dry.stdout.hasSuffix("SELECT * FROM extract_failures WHERE id > $1 ORDER BY id\n"))
        let password = environment["CONDUIT_TEST_PG_PASSWORD"] ?? ""
        if password.count >= 8 { #expect(!dry.stdout.contains(password)) }
    }
}

/// The test server's address is missing: the tests were not started by scripts/test.sh.
struct MissingServer: Error, CustomStringConvertible {
    var variable: String
    var description: String { "\(variable) is not set: run the tests with scripts/test.sh, which starts PostgreSQL" }
}
