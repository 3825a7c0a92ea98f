import Foundation
import TestSupport
import Testing

/// The Snowflake destination through the real executables and Snowflake's HTTP protocol, against
/// the fakesnow server; every result is read back through Snowflake's own Python connector.
@Suite struct SnowflakeLoadTests {
    static let pipeline = "conduit-extract sync_new_users | conduit-state commit sync_new_users -- conduit-load sync_new_users"

    /// The user's document's ingest.yml, its `# ... snowflake config ...` filled in with the
    /// fakesnow server's address: PostgreSQL `<prefix>_users` into Snowflake `raw_users`.
    static func prepare(
        prefix: String, destinationExtra: [String] = [], credentials: [String] = ["password: ${SNOWFLAKE_PASSWORD}"],
        sql: String = ""
    ) throws -> (Sandbox, [String: String], String) {
        let box = try Sandbox()
        var environment = try PostgresFixture.environment()
        environment["PG_PASSWORD"] = environment["CONDUIT_TEST_PG_PASSWORD"]
        for (key, value) in try SnowflakeFixture.environment() { environment[key] = value }
        let database = try SnowflakeFixture.freshDatabase(prefix, in: box, environment)
        try box.write(
            """
            sources:
            \(PostgresFixture.entry("production_db", password: "PG_PASSWORD", extra: ["schema: public"]))

            destinations:
            \(SnowflakeFixture.entry("data_warehouse", database: database, extra: ["table: raw_users", "mode: append # Important for incremental loads"] + destinationExtra, credentials: credentials))

            resources:
              - name: sync_new_users
                source: production_db
                destination: data_warehouse
                incremental_column: id # Track the 'id' column
                query: "SELECT id, name, email, created_at FROM \(prefix)_users WHERE id > :last_value ORDER BY id"
                # Mode is implicitly 'incremental' because incremental_column is set
            """, to: "ingest.yml")
        try PostgresFixture.recreate(
            ["\(prefix)_users"],
            with: """
                CREATE TABLE \(prefix)_users(id bigserial PRIMARY KEY, name text NOT NULL, email text, created_at timestamptz NOT NULL);
                INSERT INTO \(prefix)_users(name, email, created_at)
                  SELECT 'user ' || g, 'u' || g || '@example.com', '2024-05-01 00:00:00+00'::timestamptz + g * interval '1 hour'
                  FROM generate_series(1, 5) g;
                \(sql)
                """, in: box, environment)
        return (box, environment, database)
    }

    /// The user's document, run after run into Snowflake: every row, then only the new ones,
    /// then none; the table and its columns are queryable unquoted, typed from the source.
    @Test func userDocumentLoadsIncrementallyIntoSnowflake() throws {
        let (box, environment, database) = try Self.prepare(prefix: "sf_seed")
        let first = try box.run(Self.pipeline, environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(
            Messages.stableLines(first.stderr) == [
                "conduit-extract: sync_new_users: 5 rows, 430 bytes in \(Messages.timing)",
                "conduit-load: sync_new_users: 5 rows, 430 bytes in \(Messages.timing) into \(SnowflakeFixture.label("RAW_USERS", database: database, environment))",
                "conduit-state: sync_new_users: 5 rows, 430 bytes in \(Messages.timing); state (none) → 5",
            ], "\(first.stderr)")
        #expect(try box.read(".conduit_state.json") == "{\n  \"sync_new_users\": 5\n}\n")
        let rows1 = try SnowflakeFixture.query(
            "SELECT id, name, email, TO_VARCHAR(created_at) FROM raw_users ORDER BY id", database: database, in: box, environment)
        #expect(
            rows1 == [
                #"[1, "user 1", "u1@example.com", "2024-05-01 01:00:00+00"]"#,
                #"[2, "user 2", "u2@example.com", "2024-05-01 02:00:00+00"]"#,
                #"[3, "user 3", "u3@example.com", "2024-05-01 03:00:00+00"]"#,
                #"[4, "user 4", "u4@example.com", "2024-05-01 04:00:00+00"]"#,
                #"[5, "user 5", "u5@example.com", "2024-05-01 05:00:00+00"]"#,
            ])
        let rows2 = try SnowflakeFixture.query(
            "SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns WHERE table_name = 'RAW_USERS' ORDER BY ordinal_position",
            database: database, in: box, environment)
        #expect(
            rows2 == [
                #"["ID", "NUMBER", 38, 0]"#, #"["NAME", "TEXT", null, null]"#, #"["EMAIL", "TEXT", null, null]"#,
                #"["CREATED_AT", "TIMESTAMP_TZ", null, null]"#,
            ])

        try PostgresFixture.execute(
            "INSERT INTO sf_seed_users(name, email, created_at) VALUES ('new 1', 'n1@example.com', now()), ('new 2', NULL, now()), ('new 3', 'n3@example.com', now());",
            in: box, environment)
        let second = try box.run(Self.pipeline, environment: environment)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(
            Messages.stableLines(second.stderr, ignoringBytes: true).last
                == "conduit-state: sync_new_users: 3 rows, \(Messages.bytes) in \(Messages.timing); state 5 → 8",
            "\(second.stderr)")
        #expect(try box.read(".conduit_state.json") == "{\n  \"sync_new_users\": 8\n}\n")
        let rows3 = try SnowflakeFixture.query(
            "SELECT count(*), count(DISTINCT id), count(email) FROM raw_users", database: database, in: box, environment)
        #expect(rows3 == ["[8, 8, 7]"])

        let third = try box.run(Self.pipeline, environment: environment)
        #expect(third.status == 0, "\(third.stderr)")
        #expect(
            Messages.stableLines(third.stderr).last
                == "conduit-state: sync_new_users: 0 rows, 0 bytes in \(Messages.timing); no rows, state unchanged at 8",
            "\(third.stderr)")
        let rows4 = try SnowflakeFixture.query("SELECT count(*) FROM raw_users", database: database, in: box, environment)
        #expect(rows4 == ["[8]"])
    }

    /// Each PostgreSQL type lands in its Snowflake type (NUMBER(p,s), FLOAT, BOOLEAN, VARIANT
    /// through PARSE_JSON, TIMESTAMP_TZ/NTZ, DATE, TIME, BINARY) with its value; keys that need
    /// quoting stay exact; a key that appears later adds a column.
    @Test func typesNamesAndNewColumns() throws {
        let (box, environment, database) = try Self.prepare(prefix: "sf_types")
        try PostgresFixture.recreate(
            ["sf_types_all"],
            with: """
                CREATE TABLE sf_types_all(id bigint PRIMARY KEY, amount numeric(10,2), ratio double precision, active boolean,
                  doc jsonb, tags text[], seen_at timestamptz, local_at timestamp, day date, at_time time, raw bytea,
                  "first name" text, "x""; DROP TABLE t; --" text, "Email" text);
                INSERT INTO sf_types_all VALUES
                  (1, 12.50, 0.25, true, '{"a": [1, 2], "b": "x"}', ARRAY['p', 'q'], '2024-01-02 03:04:05.123456+02', '2024-01-02 03:04:05.5',
                   '2024-01-02', '13:14:15.25', '\\x00ff10', 'Ada "the first", Lovelace', 'semi;colon', 'A@B'),
                  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                  (3, -0.01, -1e300, false, '"just a string"', '{}', '0001-01-01 00:00:00+00', '9999-12-31 23:59:59', '1999-12-31', '00:00:00', '\\x', E'line\\nbreak, tab\\t, back\\\\slash, ünïcødé ✓', '', '');
                """, in: box, environment)
        try box.write(
            try box.read("ingest.yml").replacingOccurrences(
                of: "SELECT id, name, email, created_at FROM sf_types_users WHERE id > :last_value ORDER BY id",
                with: "SELECT * FROM sf_types_all WHERE id > :last_value ORDER BY id"), to: "ingest.yml")
        let first = try box.run(Self.pipeline, environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        let rows5 = try SnowflakeFixture.query(
            "SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns WHERE table_name = 'RAW_USERS' ORDER BY ordinal_position",
            database: database, in: box, environment)
        #expect(
            rows5 == [
                #"["ID", "NUMBER", 38, 0]"#, #"["AMOUNT", "NUMBER", 10, 2]"#, #"["RATIO", "FLOAT", null, null]"#,
                #"["ACTIVE", "BOOLEAN", null, null]"#,
                #"["DOC", "VARIANT", null, null]"#, #"["TAGS", "VARIANT", null, null]"#,
                #"["SEEN_AT", "TIMESTAMP_TZ", null, null]"#,
                #"["LOCAL_AT", "TIMESTAMP_NTZ", null, null]"#, #"["DAY", "DATE", null, null]"#,
                #"["AT_TIME", "TIME", null, null]"#,
                #"["RAW", "BINARY", null, null]"#, #"["first name", "TEXT", null, null]"#,
                #"["x\"; DROP TABLE t; --", "TEXT", null, null]"#,
                #"["EMAIL", "TEXT", null, null]"#,
            ])
        // Unquoted names resolve as the user wrote them. TO_VARCHAR's formats are fakesnow's
        // (DuckDB's), and fakesnow reads NULL timestamps back as 1970, so they are checked with IS NULL.
        let rows6 = try SnowflakeFixture.query(
            """
            SELECT id, TO_VARCHAR(amount), ratio, active, doc:a[1], doc:b::VARCHAR, tags[0]::VARCHAR, seen_at IS NULL, TO_VARCHAR(local_at),
              TO_VARCHAR(day), TO_VARCHAR(at_time), HEX_ENCODE(raw), "first name", "x""; DROP TABLE t; --", email
            FROM raw_users ORDER BY id
            """, database: database, in: box, environment)
        #expect(
            rows6 == [
                #"[1, "12.50", 0.25, true, "2", "x", "p", false, "2024-01-02 03:04:05.5", "2024-01-02", "13:14:15.25", "00FF10", "Ada \"the first\", Lovelace", "semi;colon", "A@B"]"#,
                #"[2, null, null, null, null, null, null, true, null, null, null, null, null, null, null]"#,
                #"[3, "-0.01", -1e+300, false, null, null, null, false, "9999-12-31 23:59:59", "1999-12-31", "00:00:00", "", "line\nbreak, tab\t, back\\slash, \u00fcn\u00efc\u00f8d\u00e9 \u2713", "", ""]"#,
            ])
        let rows7 = try SnowflakeFixture.query(
            "SELECT TO_VARCHAR(seen_at), doc FROM raw_users WHERE id IN (1, 3) ORDER BY id", database: database, in: box,
            environment)
        #expect(
            rows7 == [
                #"["2024-01-02 01:04:05.123456+00", "{\"a\":[1,2],\"b\":\"x\"}"]"#,
                #"["0001-01-01 00:00:00+00", "\"just a string\""]"#,
            ])

        // A column the source grows becomes a new column; earlier rows read NULL there.
        try PostgresFixture.execute(
            "ALTER TABLE sf_types_all ADD COLUMN score integer; INSERT INTO sf_types_all(id, score) VALUES (4, 7);", in: box,
            environment)
        let second = try box.run(Self.pipeline, environment: environment)
        #expect(second.status == 0, "\(second.stderr)")
        let rows8 = try SnowflakeFixture.query(
            "SELECT id, score FROM raw_users ORDER BY id", database: database, in: box, environment)
        #expect(rows8 == ["[1, null]", "[2, null]", "[3, null]", "[4, 7]"])
    }

    /// `merge` upserts on the primary key, the last row of a key winning; under conduit-state the
    /// batch and its checkpoint commit together.
    @Test func mergeUpsertsOnThePrimaryKey() throws {
        let (box, environment, database) = try Self.prepare(prefix: "sf_merge", destinationExtra: ["primary_key: [id]"])
        try box.write(
            try box.read("ingest.yml").replacingOccurrences(
                of: "mode: append # Important for incremental loads", with: "mode: merge"), to: "ingest.yml")
        let first = try box.run(Self.pipeline, environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        try PostgresFixture.execute(
            "UPDATE sf_merge_users SET name = 'renamed ' || id WHERE id IN (2, 4); INSERT INTO sf_merge_users(name, email, created_at) VALUES ('six', NULL, now());",
            in: box, environment)
        // Re-read from 1: updated rows merge, the new one is inserted, none doubles.
        let set = try box.run("conduit-state set sync_new_users 1", environment: environment)
        #expect(set.status == 0, "\(set.stderr)")
        let second = try box.run(Self.pipeline, environment: environment)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(
            second.stderr.contains("merged into \(SnowflakeFixture.label("RAW_USERS", database: database, environment))"),
            "\(second.stderr)")
        let rows9 = try SnowflakeFixture.query(
            "SELECT id, name FROM raw_users ORDER BY id", database: database, in: box, environment)
        #expect(
            rows9 == [
                #"[1, "user 1"]"#, #"[2, "renamed 2"]"#, #"[3, "user 3"]"#, #"[4, "renamed 4"]"#, #"[5, "user 5"]"#,
                #"[6, "six"]"#,
            ])
        let rows10 = try SnowflakeFixture.query(
            "SELECT RUN IS NOT NULL, VALUE, ROWS FROM _conduit_checkpoints WHERE TABLE_NAME = 'RAW_USERS' ORDER BY UPDATED_AT DESC LIMIT 1",
            database: database, in: box, environment)
        #expect(rows10 == [#"[true, "6", 5]"#])

        // Within one load, the last row of a key wins.
        let direct = try box.run(
            #"printf '%s\n' '{"id":7,"name":"a"}' '{"id":8,"name":"b"}' '{"id":7,"name":"c"}' | conduit-load --infer-types sync_new_users"#,
            environment: environment)
        #expect(direct.status == 0, "\(direct.stderr)")
        let rows11 = try SnowflakeFixture.query(
            "SELECT id, name FROM raw_users WHERE id >= 7 ORDER BY id", database: database, in: box, environment)
        #expect(rows11 == [#"[7, "c"]"#, #"[8, "b"]"#])
    }

    /// `append` with `lookback` re-reads below the watermark and inserts only the keys the table
    /// lacks: a row that committed late comes in, none doubles.
    @Test func lookbackInsertsOnlyTheKeysTheTableLacks() throws {
        let (box, environment, database) = try Self.prepare(prefix: "sf_lookback")
        try box.write(
            try box.read("ingest.yml").replacingOccurrences(
                of: "    incremental_column: id # Track the 'id' column\n",
                with:
                    "    incremental_column: id # Track the 'id' column\n    lookback: 3\n    primary_key: [id]\n    safe_horizon: false\n"
            ), to: "ingest.yml")
        // Id 4 is allocated but not visible at the first run (an application that inserts late).
        try PostgresFixture.execute("DELETE FROM sf_lookback_users WHERE id = 4;", in: box, environment)
        let first = try box.run(Self.pipeline, environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        try PostgresFixture.execute(
            "INSERT INTO sf_lookback_users(id, name, email, created_at) VALUES (4, 'late', NULL, now()); INSERT INTO sf_lookback_users(name, email, created_at) VALUES ('six', NULL, now());",
            in: box, environment)
        let second = try box.run(Self.pipeline, environment: environment)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(try box.read(".conduit_state.json") == "{\n  \"sync_new_users\": 6\n}\n")
        let rows = try SnowflakeFixture.query(
            "SELECT id, name FROM raw_users ORDER BY id", database: database, in: box, environment)
        #expect(
            rows == [#"[1, "user 1"]"#, #"[2, "user 2"]"#, #"[3, "user 3"]"#, #"[4, "late"]"#, #"[5, "user 5"]"#, #"[6, "six"]"#])
    }

    /// `replace` fills a staging table and swaps the rows in with one INSERT OVERWRITE; the
    /// staging table is gone afterwards.
    @Test func replaceSwapsTheRowsInOneStatement() throws {
        let (box, environment, database) = try Self.prepare(prefix: "sf_replace")
        try box.write(
            try box.read("ingest.yml").replacingOccurrences(
                of: "mode: append # Important for incremental loads", with: "mode: replace"), to: "ingest.yml")
        let first = try box.run(
            #"printf '%s\n' '{"id":1,"name":"a"}' '{"id":2,"name":"b"}' '{"id":3,"name":"c"}' | conduit-load --infer-types sync_new_users"#,
            environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        let second = try box.run(
            #"printf '%s\n' '{"id":9,"name":"z","extra":true}' | conduit-load --infer-types sync_new_users"#,
            environment: environment)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains(#"replacing the rows of "raw_users""#), "\(second.stderr)")
        let rows12 = try SnowflakeFixture.query(
            "SELECT id, name, extra FROM raw_users ORDER BY id", database: database, in: box, environment)
        #expect(rows12 == [#"[9, "z", true]"#])
        let rows13 = try SnowflakeFixture.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'RAW' ORDER BY table_name", database: database,
            in: box, environment)
        #expect(rows13 == [#"["RAW_USERS"]"#])
    }

    /// A value the column cannot take fails the run naming line and column (65); batches before
    /// it stay committed with their checkpoint, and the rerun after the fix resumes after it:
    /// every row exactly once.
    @Test func failedRunResumesAfterItsCheckpoint() throws {
        let (box, environment, database) = try Self.prepare(
            prefix: "sf_resume", destinationExtra: ["batch_size: 2"],
            sql: """
                INSERT INTO sf_resume_users(name, email, created_at) SELECT 'more ' || g, NULL, now() FROM generate_series(6, 9) g;
                ALTER TABLE sf_resume_users ADD COLUMN score numeric;
                UPDATE sf_resume_users SET score = 1.5;
                UPDATE sf_resume_users SET score = 12345.678 WHERE id = 7;
                """)
        try box.write(
            try box.read("ingest.yml").replacingOccurrences(
                of: "SELECT id, name, email, created_at FROM", with: "SELECT id, name, email, created_at, score FROM"),
            to: "ingest.yml")
        try SnowflakeFixture.execute(
            ["CREATE TABLE RAW_USERS (ID NUMBER(38,0), NAME VARCHAR, EMAIL VARCHAR, CREATED_AT TIMESTAMP_TZ, SCORE NUMBER(6,2))"],
            database: database, in: box, environment)
        let failed = try box.run(Self.pipeline, environment: environment)
        #expect(failed.status == 65, "\(failed.stderr)")
        #expect(
            failed.stderr.contains(
                "conduit-load: error: loading into \(SnowflakeFixture.label("RAW_USERS", database: database, environment)): line 7: column \"SCORE\" (NUMBER(6,2)) cannot take 12345.678: more than 2 decimal places (the column is NUMBER(6,2); Snowflake would round it); the open batch was rolled back (6 rows of earlier batches stay committed)"
            ),
            "\(failed.stderr)")
        #expect(!box.exists(".conduit_state.json"))
        let rows14 = try SnowflakeFixture.query("SELECT count(*) FROM raw_users", database: database, in: box, environment)
        #expect(rows14 == ["[6]"])

        try PostgresFixture.execute("UPDATE sf_resume_users SET score = 2.25 WHERE id = 7;", in: box, environment)
        let rerun = try box.run(Self.pipeline, environment: environment)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        // The extract resumes after the checkpoint the failed run committed: only rows 7 to 9 are read again.
        #expect(rerun.stderr.contains("conduit-extract: sync_new_users: 3 rows"), "\(rerun.stderr)")
        #expect(try box.read(".conduit_state.json") == "{\n  \"sync_new_users\": 9\n}\n")
        let rows15 = try SnowflakeFixture.query(
            "SELECT count(*), count(DISTINCT id), TO_VARCHAR(sum(score)) FROM raw_users", database: database, in: box, environment
        )
        #expect(rows15 == [#"[9, 9, "14.25"]"#])
    }

    /// kill -9 of the loader or of conduit-state at moments spread over a run (the extract of 400
    /// rows is done before the first batch commits): the rerun resumes
    /// after the last committed batch and the table ends with every row exactly once.
    @Test func killedStagesResumeExactlyOnce() throws {
        let (box, environment, database) = try Self.prepare(
            prefix: "sf_kill", destinationExtra: ["batch_size: 40"],
            sql: """
                INSERT INTO sf_kill_users(name, email, created_at) SELECT 'more ' || g, NULL, now() FROM generate_series(6, 400) g;
                """)
        let options = "--config '\(box.path("ingest.yml"))' --state-file '\(box.path("state.json"))'"
        let pipeline =
            "conduit-extract \(options) sync_new_users | conduit-state commit \(options) sync_new_users -- conduit-load \(options) sync_new_users"
        let started = Date()
        let clean = try box.run(pipeline, environment: environment)
        try #require(clean.status == 0, "\(clean.stderr)")
        let duration = Date().timeIntervalSince(started)
        for stage in ["load", "state commit"] {
            var interrupted = 0
            for fraction in [0.15, 0.35, 0.55, 0.75] {
                try SnowflakeFixture.execute(
                    ["DROP TABLE IF EXISTS RAW_USERS", "DELETE FROM _CONDUIT_CHECKPOINTS"], database: database, in: box,
                    environment)
                let delay = String(format: "%.3f", duration * fraction)
                let result = try box.run(
                    """
                    rm -f state.json state.json.checkpoints killed.log rerun.log
                    (\(pipeline)) 2>> killed.log &
                    run=$!
                    sleep \(delay)
                    pkill -9 -f "^conduit-\(stage) --config \(box.path("ingest.yml"))" || true
                    wait $run
                    echo $? > first.status
                    for attempt in $(seq 100); do
                      \(pipeline) 2>> rerun.log
                      status=$?
                      [ $status -ne 75 ] && break
                      sleep 0.1
                    done
                    exit $status
                    """, environment: environment)
                let description = "kill -9 conduit-\(stage) after \(delay)s"
                if (try? box.read("first.status"))?.hasPrefix("0") == false { interrupted += 1 }
                #expect(result.status == 0, "\(description): \((try? box.read("rerun.log")) ?? "")")
                let counts = try SnowflakeFixture.query(
                    "SELECT count(*), count(DISTINCT id) FROM raw_users", database: database, in: box, environment)
                #expect(
                    counts == ["[400, 400]"],
                    "\(description): first run: \((try? box.read("killed.log")) ?? ""); rerun: \((try? box.read("rerun.log")) ?? "")"
                )
                #expect(try box.read("state.json") == "{\n  \"sync_new_users\": 400\n}\n", "\(description)")
            }
            #expect(interrupted >= 2, "only \(interrupted) of 4 kills of conduit-\(stage) interrupted a run")
        }
    }

    /// The user's pipeline signed in with a key pair (an encrypted PKCS#8 key made as
    /// Snowflake's documentation makes it): fakesnow takes any login, so this shows the whole
    /// run works with `snowflake_jwt`; SnowflakeSignInTests shows the token is the right one.
    @Test func userDocumentLoadsWithAKeyPair() throws {
        let (box, environment, database) = try Self.prepare(
            prefix: "sf_jwt",
            credentials: [
                "authenticator: snowflake_jwt", "private_key_path: rsa_key.p8", "private_key_passphrase: ${KEY_PASSPHRASE}",
            ])
        var env = environment
        env["KEY_PASSPHRASE"] = "a passphrase"
        let key = try box.run(
            "openssl genrsa 2048 2>/dev/null | openssl pkcs8 -topk8 -v2 aes256 -passout 'pass:a passphrase' -out rsa_key.p8")
        try #require(key.status == 0, "\(key.stderr)")
        let run = try box.run(Self.pipeline, environment: env)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try box.read(".conduit_state.json") == "{\n  \"sync_new_users\": 5\n}\n")
        #expect(
            try SnowflakeFixture.query("SELECT count(*), max(id) FROM raw_users", database: database, in: box, environment) == [
                "[5, 5]"
            ])
    }

    /// Large batches go through the table's stage (PUT to the presigned URL, COPY INTO): the same
    /// rows as the bind path, quotes, commas, newlines, backslashes, `\N` and empty strings intact.
    @Test(arguments: ["1", "1000000000"]) func stagedAndBoundBatchesLoadTheSameRows(threshold: String) throws {
        let (box, environment, database) = try Self.prepare(prefix: "sf_staged_\(threshold.count)")
        var env = environment
        env["CONDUIT_SNOWFLAKE_STAGE_ABOVE_BYTES"] = threshold
        let rows = [
            #"{"id":1,"name":"plain","note":"a,b"}"#,
            #"{"id":2,"name":"quote \" inside","note":"line\nbreak"}"#,
            #"{"id":3,"name":"\\N","note":""}"#,
            #"{"id":4,"name":null,"note":"back\\slash ✓"}"#,
            #"{"id":5,"name":"\"\"","note":"tab\there"}"#,
        ]
        let uploadsBefore = try ProcessInfo.processInfo.environment["CONDUIT_TEST_SNOWFLAKE_LOG"].map(Self.uploads) ?? 0
        let load = try box.run(
            "printf '%s\\n' \(rows.map(SnowflakeFixture.shellQuoted).joined(separator: " ")) | conduit-load --infer-types sync_new_users",
            environment: env)
        #expect(load.status == 0, "\(load.stderr)")
        // fakesnow logs each upload to a stage: with a threshold of 1 byte the staged path ran.
        if threshold == "1", let log = ProcessInfo.processInfo.environment["CONDUIT_TEST_SNOWFLAKE_LOG"] {
            #expect(try Self.uploads(log) > uploadsBefore)
        }
        let rows16 = try SnowflakeFixture.query(
            "SELECT id, name, name IS NULL, note FROM raw_users ORDER BY id", database: database, in: box, environment)
        #expect(
            rows16 == [
                #"[1, "plain", false, "a,b"]"#,
                #"[2, "quote \" inside", false, "line\nbreak"]"#,
                #"[3, "\\N", false, ""]"#,
                #"[4, null, true, "back\\slash \u2713"]"#,
                #"[5, "\"\"", false, "tab\there"]"#,
            ])
    }

    /// A stand-in for answers fakesnow never gives (it accepts every login, its tokens never
    /// expire, and it answers its own failures with JSON): a rejected login, a proxy's HTML error
    /// page, an expired session token, and a batch table that holds fewer rows than were sent. It
    /// records the requests it gets in `requests.log` and the statements in `statements.log`.
    static let answeringServer = #"""
        import gzip, json, sys
        import answering
        mode = sys.argv[1]
        class Handler(answering.Handler):
            created = False
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                token = self.headers.get("Authorization")
                with open("requests.log", "a") as log:
                    log.write(f"{self.command} {self.path.split('?')[0]}{'?delete=true' if 'delete=true' in self.path else ''} {token}\n")
                if self.path.startswith("/session/v1/login-request"):
                    if mode == "reject":
                        self.answer(200, json.dumps({"data": {"nextAction": "RETRY_LOGIN"}, "code": "390100", "message": "Incorrect username or password was specified.", "success": False}))
                    else:
                        self.answer(200, json.dumps({"data": {"token": "T0KEN", "masterToken": "M4STER"}, "success": True}))
                elif self.path.startswith("/session/token-request"):
                    renew = json.loads(body)
                    ok = token == 'Snowflake Token="M4STER"' and renew == {"oldSessionToken": "T0KEN", "requestType": "RENEW"}
                    self.answer(200, json.dumps({"data": {"sessionToken": "T0KEN2", "masterToken": "M4STER2"}, "success": True} if ok else {"data": None, "code": "390114", "message": "bad renewal", "success": False}))
                elif self.path.startswith("/session"):
                    self.answer(200, json.dumps({"data": None, "success": True}))
                elif mode == "gateway":
                    self.answer(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
                else:
                    sql = json.loads(body)["sqlText"]
                    with open("statements.log", "a") as log:
                        log.write(sql.split(" ")[0] + ("" if "COUNT(*)" not in sql else " COUNT") + "\n")
                    if token == 'Snowflake Token="T0KEN"' and mode == "expire":
                        self.answer(200, json.dumps({"data": {"nextAction": "RETRY_LOGIN"}, "code": "390112", "message": "Your session has expired. Please login again.", "success": False}))
                    elif sql.startswith("CREATE TABLE") and "RAW_USERS" in sql:
                        Handler.created = True
                        self.answer(200, json.dumps({"data": {"rowtype": [], "rowset": []}, "success": True}))
                    elif "information_schema.columns" in sql and Handler.created:
                        columns = [{"name": name, "type": "text"} for name in ["COLUMN_NAME", "DATA_TYPE", "NUMERIC_PRECISION", "NUMERIC_SCALE"]]
                        self.answer(200, json.dumps({"data": {"rowtype": columns, "rowset": [["ID", "NUMBER", "38", "0"]]}, "success": True}))
                    elif "COUNT(*)" in sql:
                        self.answer(200, json.dumps({"data": {"rowtype": [{"name": "COUNT(*)", "type": "fixed"}], "rowset": [["0" if mode == "lost" else "1"]]}, "success": True}))
                    else:
                        self.answer(200, json.dumps({"data": {"rowtype": [], "rowset": []}, "success": True}))
        answering.serve(Handler)
        """#

    /// A rejected login is 78 with Snowflake's code; an HTML error page in place of an answer is a
    /// clear 69 naming the status; the session logs out on the way out of a failure.
    @Test(arguments: ["reject", "gateway"]) func rejectedLoginAndNonJSONErrorPages(mode: String) throws {
        // retry_timeout 0: the gateway's 502 is not sent again (SnowflakeSignInTests retry).
        let (box, environment, _) = try Self.prepare(prefix: "sf_stub_\(mode)", destinationExtra: ["retry_timeout: 0"])
        let result = try Self.runAgainstStub(mode, in: box, environment)
        let requests = box.exists("requests.log") ? try box.read("requests.log") : ""
        if mode == "reject" {
            #expect(result.status == 78, "\(result.stderr)")
            #expect(
                result.stderr.contains("as loader: Incorrect username or password was specified. (code 390100)"),
                "\(result.stderr)")
            #expect(requests == "POST /session/v1/login-request None\n")
        } else {
            #expect(result.status == 69, "\(result.stderr)")
            #expect(result.stderr.contains(": HTTP 502 from http://127.0.0.1:"), "\(result.stderr)")
            #expect(
                result.stderr.contains(", not a Snowflake answer: <html><body><h1>502 Bad Gateway</h1></body></html>"),
                "\(result.stderr)")
            // Logged in, one statement refused by the gateway and not sent again, logged out.
            #expect(
                requests == """
                    POST /session/v1/login-request None
                    POST /queries/v1/query-request Snowflake Token="T0KEN"
                    POST /session?delete=true Snowflake Token="T0KEN"

                    """, "\(requests)")
        }
        #expect(!result.stderr.contains("fakesnow-accepts-any"))
    }

    /// An expired session token is renewed with the master token and the refused statement sent
    /// again (the service ran nothing with the expired token); the session, its batch table and
    /// the rest of the load carry on with the new token.
    @Test func expiredSessionTokenIsRenewed() throws {
        let (box, environment, _) = try Self.prepare(prefix: "sf_stub_expire")
        let result = try Self.runAgainstStub("expire", in: box, environment)
        #expect(result.status == 0, "\(result.stderr)")
        let requests = try box.read("requests.log").split(separator: "\n").map(String.init)
        #expect(
            Array(requests.prefix(4)) == [
                "POST /session/v1/login-request None",
                #"POST /queries/v1/query-request Snowflake Token="T0KEN""#,
                #"POST /session/token-request Snowflake Token="M4STER""#,
                #"POST /queries/v1/query-request Snowflake Token="T0KEN2""#,
            ], "\(requests)")
        #expect(requests.dropFirst(3).allSatisfy { $0.hasSuffix(#"Token="T0KEN2""#) }, "\(requests)")
        let statements = try box.read("statements.log").split(separator: "\n").map(String.init)
        // The refused statement went twice (once refused, once run); the batch committed.
        #expect(statements.first == statements.dropFirst().first)
        #expect(statements.suffix(4) == ["SELECT COUNT", "BEGIN", "INSERT", "COMMIT"], "\(statements)")
    }

    /// A batch table that holds fewer rows than were sent (a COPY that found no file succeeds
    /// all the same) stops the batch before its transaction: 74, and no checkpoint or row is
    /// committed.
    @Test func batchTableShortOfRowsCommitsNothing() throws {
        let (box, environment, _) = try Self.prepare(prefix: "sf_stub_lost")
        let result = try Self.runAgainstStub("lost", in: box, environment)
        #expect(result.status == 74, "\(result.stderr)")
        #expect(
            result.stderr.contains("the session's batch table holds 0 rows after loading 1; nothing was committed"),
            "\(result.stderr)")
        let statements = try box.read("statements.log").split(separator: "\n").map(String.init)
        #expect(statements.last == "SELECT COUNT", "\(statements)")
        #expect(!statements.contains("BEGIN") && !statements.contains("COMMIT"), "\(statements)")
    }

    /// One row through `conduit-load` against the answering server in `mode`.
    static func runAgainstStub(_ mode: String, in box: Sandbox, _ environment: [String: String]) throws -> Sandbox.Result {
        try AnsweringServer.run(
            Self.answeringServer, python: "python3", arguments: [mode],
            then: #"echo '{"id":1}' | CONDUIT_TEST_SNOWFLAKE_PORT=$STUB_PORT conduit-load --infer-types sync_new_users"#,
            in: box, environment)
    }

    /// How many files fakesnow has taken into a stage, from its log.
    static func uploads(_ log: String) throws -> Int {
        try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").filter { $0.contains("Uploaded") }.count
    }

    /// What goes wrong says what and where: a service that is not there is 69; a statement the
    /// service rejects is 78 with Snowflake's code and SQL state; a bad value is 65 naming line and
    /// column, with nothing written.
    @Test func errorsNameTheServiceTheCodeAndTheLine() throws {
        let (box, environment, database) = try Self.prepare(prefix: "sf_errors", destinationExtra: ["retry_timeout: 0"])
        var closed = environment
        closed["CONDUIT_TEST_SNOWFLAKE_PORT"] = "1"
        let unreachable = try box.run(#"echo '{"id":1}' | conduit-load --infer-types sync_new_users"#, environment: closed)
        #expect(unreachable.status == 69, "\(unreachable.stderr)")
        #expect(
            unreachable.stderr.contains(
                "conduit-load: error: logging in to Snowflake \(database).RAW at http://127.0.0.1:1 as loader: http://127.0.0.1:1: could not connect (connection refused)"
            ), "\(unreachable.stderr)")
        #expect(!unreachable.stderr.contains("fakesnow-accepts-any"))

        // A view where the table should be: Snowflake (here fakesnow) refuses the INSERT.
        try SnowflakeFixture.execute(["CREATE VIEW RAW_USERS AS SELECT 1 AS ID"], database: database, in: box, environment)
        let rejected = try box.run(#"echo '{"id":1}' | conduit-load --infer-types sync_new_users"#, environment: environment)
        #expect(rejected.status == 78, "\(rejected.stderr)")
        #expect(
            rejected.stderr.contains("(code 002003, SQL state 42S02); the open batch was rolled back, nothing was written"),
            "\(rejected.stderr)")
        try SnowflakeFixture.execute(["DROP VIEW RAW_USERS"], database: database, in: box, environment)

        try box.write(
            """
            {"name":"id","source_type":"bigint","kind":"bigint"}
            {"name":"day","source_type":"date","kind":"date"}

            """, to: "day.schema")
        let refused = try box.run(
            #"printf '%s\n' '{"id":1,"day":"2024-01-02"}' '{"id":2,"day":"infinity"}' | conduit-load --schema day.schema sync_new_users"#,
            environment: environment)
        #expect(refused.status == 65, "\(refused.stderr)")
        #expect(
            refused.stderr.contains(
                #"line 2: column "DAY" (DATE) cannot take "infinity": not a date or timestamp Snowflake can hold"#),
            "\(refused.stderr)")
        let rows17 = try SnowflakeFixture.query("SELECT count(*) FROM raw_users", database: database, in: box, environment)
        #expect(rows17 == ["[0]"])
    }
}
