import Foundation
import TestSupport
import Testing

/// The three tools as one product: real shell pipelines (`set -o pipefail`) of the built
/// executables against the real PostgreSQL, the way the user's document runs them.
@Suite struct PipelineTests {
    static let pipeline = "conduit-extract sync_new_users | conduit-state commit sync_new_users -- conduit-load sync_new_users"

    /// The repository's root, for examples/.
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// A sandbox holding the user's document's ingest.yml — `${PG_PASSWORD}` and all — with the
    /// test server's address, and a PostgreSQL destination in place of Snowflake. Tables are
    /// `<prefix>_users` (source) and `<prefix>_raw_users` (destination), dropped first.
    static func prepare(prefix: String, sql: String = "") throws -> (Sandbox, [String: String]) {
        let box = try Sandbox()
        var environment = try PostgresFixture.environment()
        environment["PG_PASSWORD"] = environment["CONDUIT_TEST_PG_PASSWORD"]
        try box.write(
            """
            sources:
            \(PostgresFixture.entry("production_db", password: "PG_PASSWORD", extra: ["schema: public"]))

            destinations:
            \(PostgresFixture.entry("data_warehouse", password: "PG_PASSWORD", extra: ["table: \(prefix)_raw_users", "mode: append # Important for incremental loads"]))

            resources:
              - name: sync_new_users
                source: production_db
                destination: data_warehouse
                incremental_column: id # Track the 'id' column
                query: "SELECT id, name, email, created_at FROM \(prefix)_users WHERE id > :last_value ORDER BY id"
                # Mode is implicitly 'incremental' because incremental_column is set
              - name: sync_by_time
                source: production_db
                destination: data_warehouse
                table: \(prefix)_raw_by_time
                incremental_column: created_at
                query: "SELECT id, name, created_at FROM \(prefix)_users WHERE created_at > :last_value ORDER BY created_at"
            """, to: "ingest.yml")
        try PostgresFixture.recreate(
            ["\(prefix)_users", "\(prefix)_raw_users", "\(prefix)_raw_by_time"],
            with: """
                CREATE TABLE \(prefix)_users(id bigserial PRIMARY KEY, name text NOT NULL, email text, created_at timestamptz NOT NULL);
                INSERT INTO \(prefix)_users(name, email, created_at)
                  SELECT 'user ' || g, 'u' || g || '@example.com', '2024-05-01 00:00:00+00'::timestamptz + g * interval '1 hour'
                  FROM generate_series(1, 5) g;
                \(sql)
                """, in: box, environment)
        return (box, environment)
    }

    /// The user's document, run after run: everything, then only the new rows, then nothing.
    @Test func seedExampleLoadsIncrementally() throws {
        let (box, environment) = try Self.prepare(prefix: "pipe_seed")
        let first = try box.run(Self.pipeline, environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try box.read(".conduit_state.json") == "{\n  \"sync_new_users\": 5\n}\n")
        #expect(
            try PostgresFixture.query("SELECT count(*), count(DISTINCT id) FROM pipe_seed_raw_users", in: box, environment)
                == "5|5\n")
        // The created table has the source's types.
        #expect(
            try PostgresFixture.query(
                "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'pipe_seed_raw_users'::regclass AND attnum > 0",
                in: box, environment) == "id bigint, name text, email text, created_at timestamp with time zone\n")

        try PostgresFixture.execute(
            "INSERT INTO pipe_seed_users(name, email, created_at) VALUES ('new 1', 'n1@example.com', now()), ('new 2', NULL, now()), ('new 3', 'n3@example.com', now());",
            in: box, environment)
        let second = try box.run(Self.pipeline, environment: environment)
        #expect(second.status == 0, "\(second.stderr)")
        // The new rows' created_at is now(), whose digits (so the byte count) vary.
        #expect(
            Messages.stableLines(second.stderr, ignoringBytes: true) == [
                "conduit-extract: sync_new_users: 3 rows, \(Messages.bytes) in \(Messages.timing)",
                "conduit-load: sync_new_users: 3 rows, \(Messages.bytes) in \(Messages.timing) into \"pipe_seed_raw_users\" on \(PostgresFixture.label(environment))",
                "conduit-state: sync_new_users: 3 rows, \(Messages.bytes) in \(Messages.timing); state 5 → 8",
            ], "\(second.stderr)")
        #expect(try box.read(".conduit_state.json") == "{\n  \"sync_new_users\": 8\n}\n")
        #expect(
            try PostgresFixture.query("SELECT count(*), count(DISTINCT id) FROM pipe_seed_raw_users", in: box, environment)
                == "8|8\n")
        #expect(
            try PostgresFixture.query(
                "SELECT count(*) FROM (SELECT * FROM pipe_seed_users EXCEPT SELECT * FROM pipe_seed_raw_users) missing", in: box,
                environment) == "0\n")

        let third = try box.run(Self.pipeline, environment: environment)
        #expect(third.status == 0, "\(third.stderr)")
        #expect(
            Messages.stableLines(third.stderr) == [
                "conduit-extract: sync_new_users: 0 rows, 0 bytes in \(Messages.timing)",
                "conduit-load: sync_new_users: 0 rows, 0 bytes in \(Messages.timing) into \"pipe_seed_raw_users\" on \(PostgresFixture.label(environment))",
                "conduit-state: sync_new_users: 0 rows, 0 bytes in \(Messages.timing); no rows, state unchanged at 8",
            ], "\(third.stderr)")
        #expect(try PostgresFixture.query("SELECT count(*) FROM pipe_seed_raw_users", in: box, environment) == "8\n")
    }

    /// A load the destination refuses leaves the state alone; the rerun after the fix loads every row once.
    @Test func failedLoadCommitsNothingAndTheRerunLoadsEachRowOnce() throws {
        let (box, environment) = try Self.prepare(
            prefix: "pipe_fail",
            sql: """
                UPDATE pipe_fail_users SET email = 'broken' WHERE id = 4;
                CREATE TABLE pipe_fail_raw_users(id bigint, name text, email text CHECK (email LIKE '%@%'), created_at timestamptz);
                """)
        let failed = try box.run(Self.pipeline, environment: environment)
        #expect(failed.status == 65, "\(failed.stderr)")
        // The refused row's created_at prints in the server's time zone. (The extract's own lines
        // depend on whether it confirmed its end before conduit-state, stopped by the loader, exited.)
        let failure = Messages.stableLines(failed.stderr)
        #expect(
            failure.contains {
                $0.hasPrefix(
                    #"conduit-load: error: loading into "pipe_fail_raw_users" on \#(PostgresFixture.label(environment)): line 4: new row for relation "pipe_fail_raw_users" violates check constraint "pipe_fail_raw_users_email_check" (SQLSTATE 23514); detail: Failing row contains (4, user 4, broken, 2024-05-01 "#
                )
                    && $0.hasSuffix(").; the open batch was rolled back, nothing was written")
            }, "\(failed.stderr)")
        #expect(
            failure.contains("conduit-state: warning: sync_new_users: the loader exited with status 65; state unchanged"),
            "\(failed.stderr)")
        #expect(!box.exists(".conduit_state.json"))
        #expect(try PostgresFixture.query("SELECT count(*) FROM pipe_fail_raw_users", in: box, environment) == "0\n")

        try PostgresFixture.execute("UPDATE pipe_fail_users SET email = 'fixed@example.com' WHERE id = 4;", in: box, environment)
        let rerun = try box.run(Self.pipeline, environment: environment)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(try box.read(".conduit_state.json") == "{\n  \"sync_new_users\": 5\n}\n")
        #expect(
            try PostgresFixture.query("SELECT count(*), count(DISTINCT id) FROM pipe_fail_raw_users", in: box, environment)
                == "5|5\n")
    }

    /// jq between the stages: a transformed value and a key jq adds, which becomes a typed column.
    @Test func jqTransformsBetweenStages() throws {
        let (box, environment) = try Self.prepare(prefix: "pipe_jq")
        let result = try box.run(
            "conduit-extract sync_new_users | jq -c '.email |= ascii_upcase | .batch = 7' | conduit-state commit sync_new_users -- conduit-load sync_new_users",
            environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            try PostgresFixture.query(
                "SELECT email, batch, pg_typeof(batch) FROM pipe_jq_raw_users WHERE id = 2", in: box, environment)
                == "U2@EXAMPLE.COM|7|bigint\n")
        // On a plain pipe the bytes are not the extract's: the last group waits for the next run (--from confirms a filter).
        #expect(
            result.stderr.contains("the stream was modified between conduit-extract and this commit (conduit-extract (pid "),
            "\(result.stderr)")
        #expect(try box.read(".conduit_state.json") == "{\n  \"sync_new_users\": 4\n}\n")
    }

    /// The same jq filter under --from (the README's recipe), and the example Makefile's FILTER,
    /// which runs it that way: all rows, the state at the maximum.
    @Test func jqUnderFromAndTheMakefileFilter() throws {
        let (box, environment) = try Self.prepare(prefix: "pipe_from")
        let result = try box.run(
            #"conduit-state commit sync_new_users --from 'conduit-extract sync_new_users | jq -c ".email |= ascii_upcase"' -- conduit-load sync_new_users"#,
            environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            Messages.stableLines(result.stderr) == [
                "conduit-extract: sync_new_users: 5 rows, 430 bytes in \(Messages.timing)",
                "conduit-load: sync_new_users: 5 rows, 430 bytes in \(Messages.timing) into \"pipe_from_raw_users\" on \(PostgresFixture.label(environment))",
                "conduit-state: sync_new_users: 5 rows, 430 bytes in \(Messages.timing); every stage of the upstream finished and its filters rewrote rows: as many arrived as conduit-extract wrote (5), but not its bytes (430 written, 430 received); state (none) → 5",
            ], "\(result.stderr)")
        #expect(
            try PostgresFixture.query("SELECT email FROM pipe_from_raw_users WHERE id = 2", in: box, environment)
                == "U2@EXAMPLE.COM\n")
        #expect(try box.read(".conduit_state.json") == "{\n  \"sync_new_users\": 5\n}\n")

        let make =
            "make -s -f '\(Self.repositoryRoot)/examples/Makefile' CONFIG=ingest.yml RESOURCES=sync_by_time FILTER=\"jq -c '.batch = 9'\""
        let loaded = try box.run(make, environment: environment)
        #expect(loaded.status == 0, "\(loaded.stdout)\(loaded.stderr)")
        // jq's `.batch = 9` adds 10 bytes to each of the 5 rows between the extract and the state.
        #expect(
            Messages.stableLines(loaded.stderr) == [
                "conduit-extract: sync_by_time: 5 rows, 305 bytes in \(Messages.timing)",
                "conduit-load: sync_by_time: 5 rows, 355 bytes in \(Messages.timing) into \"pipe_from_raw_by_time\" on \(PostgresFixture.label(environment))",
                "conduit-state: sync_by_time: 5 rows, 355 bytes in \(Messages.timing); every stage of the upstream finished and its filters rewrote rows: as many arrived as conduit-extract wrote (5), but not its bytes (305 written, 355 received); state (none) → 2024-05-01T05:00:00Z",
            ], "\(loaded.stderr)")
        #expect(
            try PostgresFixture.query("SELECT count(*), min(batch) FROM pipe_from_raw_by_time", in: box, environment) == "5|9\n")
    }

    /// A timestamp cursor: the first run starts at -infinity, the next only reads later rows.
    @Test func timestampCursor() throws {
        let (box, environment) = try Self.prepare(prefix: "pipe_time")
        let pipeline = "conduit-extract sync_by_time | conduit-state commit sync_by_time -- conduit-load sync_by_time"
        let first = try box.run(pipeline, environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try box.read(".conduit_state.json") == "{\n  \"sync_by_time\": \"2024-05-01T05:00:00Z\"\n}\n")
        try PostgresFixture.execute(
            "INSERT INTO pipe_time_users(name, email, created_at) VALUES ('later', NULL, '2024-05-01 07:30:00+02');", in: box,
            environment)
        let second = try box.run(pipeline, environment: environment)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(
            Messages.stableLines(second.stderr) == [
                "conduit-extract: sync_by_time: 1 row, 60 bytes in \(Messages.timing)",
                "conduit-load: sync_by_time: 1 row, 60 bytes in \(Messages.timing) into \"pipe_time_raw_by_time\" on \(PostgresFixture.label(environment))",
                "conduit-state: sync_by_time: 1 row, 60 bytes in \(Messages.timing); state 2024-05-01T05:00:00Z → 2024-05-01T05:30:00Z",
            ], "\(second.stderr)")
        #expect(try box.read(".conduit_state.json") == "{\n  \"sync_by_time\": \"2024-05-01T05:30:00Z\"\n}\n")
        #expect(try PostgresFixture.query("SELECT count(*) FROM pipe_time_raw_by_time", in: box, environment) == "6\n")
    }

    /// The example Makefile (`.SHELLFLAGS := -eu -o pipefail -c`) loads every resource; a failing
    /// resource fails make and keeps its state.
    @Test func makefileDrivenLoad() throws {
        let (box, environment) = try Self.prepare(prefix: "pipe_make")
        let make =
            "make -s -f '\(Self.repositoryRoot)/examples/Makefile' CONFIG=ingest.yml RESOURCES='sync_new_users sync_by_time'"
        let loaded = try box.run(make, environment: environment)
        #expect(loaded.status == 0, "\(loaded.stdout)\(loaded.stderr)")
        #expect(
            try PostgresFixture.query(
                "SELECT (SELECT count(*) FROM pipe_make_raw_users) || ',' || (SELECT count(*) FROM pipe_make_raw_by_time)",
                in: box, environment) == "5,5\n")
        let state = try box.read(".conduit_state.json")
        #expect(state == "{\n  \"sync_by_time\": \"2024-05-01T05:00:00Z\",\n  \"sync_new_users\": 5\n}\n")

        try PostgresFixture.execute(
            "INSERT INTO pipe_make_users(name, email, created_at) VALUES ('x', NULL, now()); ALTER TABLE pipe_make_raw_users ADD CHECK (email IS NOT NULL);",
            in: box, environment)
        let failing = try box.run(make, environment: environment)
        #expect(failing.status != 0)
        // The refused row holds now(); make adds a line of its own.
        let failure = Messages.stableLines(failing.stderr)
        #expect(
            failure.contains {
                $0.hasPrefix(
                    #"conduit-load: error: loading into "pipe_make_raw_users" on \#(PostgresFixture.label(environment)): line 1: new row for relation "pipe_make_raw_users" violates check constraint "pipe_make_raw_users_email_check" (SQLSTATE 23514); detail: Failing row contains (6, x, null, "#
                )
                    && $0.hasSuffix(").; the open batch was rolled back, nothing was written")
            }, "\(failing.stderr)")
        #expect(
            failure.contains("conduit-state: warning: sync_new_users: the loader exited with status 65; state unchanged"),
            "\(failing.stderr)")
        #expect(try box.read(".conduit_state.json") == state)
    }
}
