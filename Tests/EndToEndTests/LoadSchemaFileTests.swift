import Foundation
import TestSupport
import Testing

/// `conduit-load --schema FILE`: a loader that cannot reach the source still creates typed tables
/// from the output of `conduit-extract --describe`.
@Suite struct LoadSchemaFileTests {
    /// The description, written where the source is reachable, types the table a loader creates
    /// where it is not (the source's port points nowhere when loading).
    @Test func describeOutputTypesTheCreatedTable() throws {
        let box = try Sandbox()
        var environment = try PostgresFixture.environment()
        environment["SOURCE_PORT"] = environment["CONDUIT_TEST_PG_PORT"]
        try box.write(
            """
            sources:
              - name: app
                type: postgresql
                host: ${CONDUIT_TEST_PG_HOST}
                port: ${SOURCE_PORT}
                user: ${CONDUIT_TEST_PG_USER}
                password: ${CONDUIT_TEST_PG_PASSWORD}
                database: ${CONDUIT_TEST_PG_DATABASE}
            destinations:
              - name: warehouse
                type: postgresql
                host: ${CONDUIT_TEST_PG_HOST}
                port: ${CONDUIT_TEST_PG_PORT}
                user: ${CONDUIT_TEST_PG_USER}
                password: ${CONDUIT_TEST_PG_PASSWORD}
                database: ${CONDUIT_TEST_PG_DATABASE}
            resources:
              - name: typed
                source: app
                destination: warehouse
                table: schema_file_dst
                query: "SELECT id, amount, tags, seen FROM schema_file_src"
            """, to: "ingest.yml")
        let setup = try box.run(
            """
            psql -v ON_ERROR_STOP=1 -q <<'SQL'
            SET client_min_messages = warning;
            DROP TABLE IF EXISTS schema_file_src, schema_file_dst;
            CREATE TABLE schema_file_src(id integer, amount numeric(12,2), tags text[], seen timestamptz);
            INSERT INTO schema_file_src VALUES (1, 12.5, '{a,b}', '2024-05-01 10:00:00+00');
            SQL
            conduit-extract --describe typed > typed.schema
            conduit-extract typed > rows.ndjson
            """, environment: environment)
        try #require(setup.status == 0, "\(setup.stderr)")
        #expect(
            try box.read("typed.schema") == """
                {"name":"id","source_type":"integer","kind":"integer"}
                {"name":"amount","source_type":"numeric(12,2)","kind":"numeric"}
                {"name":"tags","source_type":"text[]","kind":"text[]"}
                {"name":"seen","source_type":"timestamp with time zone","kind":"timestamp with time zone"}

                """)
        // Without the file the loader must ask the unreachable source, and fails saying so.
        let unreachable = ["SOURCE_PORT": "1"]
        let asking = try box.run("conduit-load typed < rows.ndjson", environment: environment.merging(unreachable) { $1 })
        #expect(asking.status == 69, "\(asking.stderr)")
        #expect(asking.stderr.contains("learning the source's column types to create columns"), "\(asking.stderr)")
        let loaded = try box.run(
            "conduit-load --schema typed.schema typed < rows.ndjson", environment: environment.merging(unreachable) { $1 })
        #expect(loaded.status == 0, "\(loaded.stderr)")
        let types = try box.run(
            "psql -Atqc \"SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'schema_file_dst'::regclass AND attnum > 0\"",
            environment: environment)
        #expect(types.stdout == "id integer, amount numeric(12,2), tags text[], seen timestamp with time zone\n")
    }

    /// A file that is not `--describe` output is refused naming the file and the line.
    @Test func badSchemaFileNamesTheLine() throws {
        let box = try Sandbox()
        try box.writeStandardConfig()
        try box.write("{\"name\":\"id\",\"source_type\":\"integer\",\"kind\":\"integer\"}\nnot json\n", to: "bad.schema")
        let result = try box.run(#"printf '{"id":1}\n' | conduit-load --schema bad.schema users"#)
        #expect(result.status == 65, "\(result.stderr)")
        #expect(result.stderr.contains("bad.schema: line 2: not JSON"), "\(result.stderr)")
        let both = try box.run("conduit-load --schema bad.schema --infer-types users < /dev/null")
        #expect(both.status == 64)
        #expect(both.stderr.contains("--infer-types and --schema exclude each other"), "\(both.stderr)")
    }
}
