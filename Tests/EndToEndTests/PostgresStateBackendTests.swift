import Foundation
import TestSupport
import Testing

/// The PostgreSQL state backend (SPEC section 5, issue 23), end to end through the real
/// executables against the real server: "two hosts" are two sandboxes that share no files, only
/// the database.
@Suite struct PostgresStateBackendTests {
    /// The `state:` section pointing at the test server, tables in `schema`.
    static func stateSection(schema: String) -> String {
        """
        state:
          type: postgresql
          host: ${CONDUIT_TEST_PG_HOST}
          port: ${CONDUIT_TEST_PG_PORT}
          user: ${CONDUIT_TEST_PG_USER}
          password: ${CONDUIT_TEST_PG_PASSWORD}
          database: ${CONDUIT_TEST_PG_DATABASE}
          schema: \(schema)

        """
    }

    /// The user's document's resource, PostgreSQL to PostgreSQL, with the state in `schema`.
    static func userExample(prefix: String, schema: String, batchSize: Int = 100_000) -> String {
        stateSection(schema: schema) + """
            sources:
            \(PostgresFixture.entry("production_db"))
            destinations:
            \(PostgresFixture.entry("data_warehouse"))
            resources:
              - name: sync_new_users
                source: production_db
                destination: data_warehouse
                table: \(prefix)_raw_users
                incremental_column: id
                batch_size: \(batchSize)
                query: "SELECT id, name, email, created_at FROM \(prefix)_users WHERE id > :last_value ORDER BY id"

            """
    }

    static let pipeline = "conduit-extract sync_new_users | conduit-state commit sync_new_users -- conduit-load sync_new_users"

    /// Two sandboxes with the user's example, a source of `rows` users, no destination table and
    /// no state schema yet.
    static func prepare(
        prefix: String, schema: String, rows: Int = 1000, batchSize: Int = 100_000
    ) throws -> (Sandbox, Sandbox, [String: String]) {
        let first = try Sandbox()
        let second = try Sandbox()
        let environment = try PostgresFixture.environment()
        for box in [first, second] {
            try box.write(userExample(prefix: prefix, schema: schema, batchSize: batchSize), to: "ingest.yml")
        }
        try PostgresFixture.recreate(
            ["\(prefix)_users", "\(prefix)_raw_users"],
            with: """
                DROP SCHEMA IF EXISTS \(schema) CASCADE;
                CREATE TABLE \(prefix)_users(id bigserial PRIMARY KEY, name text, email text, created_at timestamptz);
                INSERT INTO \(prefix)_users(name, email, created_at)
                  SELECT 'user ' || g, 'u' || g || '@example.com', '2024-01-01'::timestamptz + g * interval '1 minute'
                  FROM generate_series(1, \(rows)) g;
                """, in: first, environment)
        return (first, second, environment)
    }

    /// The user's example end to end with the state in PostgreSQL: the first sandbox loads
    /// everything, the second ("another host", no files shared) loads only the rows added since,
    /// neither leaves a file behind, and both read the same value and history.
    @Test func userExampleEndToEnd() throws {
        let (first, second, environment) = try Self.prepare(prefix: "pgstate_user", schema: "pgstate_user")
        let initial = try first.run(Self.pipeline, environment: environment)
        #expect(initial.status == 0, "\(initial.stderr)")
        #expect(initial.stderr.contains("state (none) → 1000"), "\(initial.stderr)")
        try PostgresFixture.execute(
            "INSERT INTO pgstate_user_users(name, email, created_at) SELECT 'late ' || g, 'l@x', now() FROM generate_series(1, 250) g;",
            in: first, environment)
        let next = try second.run(Self.pipeline, environment: environment)
        #expect(next.status == 0, "\(next.stderr)")
        #expect(next.stderr.contains("250 rows") && next.stderr.contains("state 1000 → 1250"), "\(next.stderr)")
        #expect(!next.stderr.contains("warning"), "\(next.stderr)")
        let loaded = try PostgresFixture.rowsAndDistinctIDs("pgstate_user_raw_users", in: first, environment)
        #expect(loaded.rows == 1250 && loaded.distinct == 1250)
        for box in [first, second] {
            #expect(try box.names() == ["ingest.yml"], "a run with the PostgreSQL state leaves no file behind")
            #expect(try box.run("conduit-state get sync_new_users", environment: environment).stdout == "1250\n")
            #expect(try box.run("conduit-state show", environment: environment).stdout == "{\n  \"sync_new_users\": 1250\n}\n")
        }
        let history = try second.run("conduit-state history sync_new_users", environment: environment)
        let lines = history.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 2, "\(history.stdout)\(history.stderr)")
        #expect(lines[0].contains(#""event":"commit","from":null,"to":1000,"rows":1000,"loader_status":0"#), "\(lines[0])")
        #expect(lines[1].contains(#""event":"commit","from":1000,"to":1250,"rows":250,"loader_status":0"#), "\(lines[1])")
        #expect(lines[1].contains(#""host":""#) && lines[1].contains(#""run":""#))
        #expect(
            try PostgresFixture.query(
                "SELECT value || '|' || value_type FROM pgstate_user.conduit_state WHERE resource = 'sync_new_users'",
                in: first, environment) == "1250|number\n")
        // The commit cleared its records and the checkpoint ledger moved on with the value.
        #expect(
            try PostgresFixture.query("SELECT count(*) FROM pgstate_user.conduit_state_run_records", in: first, environment)
                == "0\n")
        #expect(
            try PostgresFixture.query(
                "SELECT epoch || '|' || coalesce(checkpoint, 'none') FROM pgstate_user.conduit_state_checkpoints", in: first,
                environment) == "2|none\n")
    }

    /// The extract in one sandbox, the commit in another that shares no file with it (as over
    /// `ssh`, slow to start): they confirm through the backend, and the rows load once. With the
    /// file backend the same pipe is refused (each sandbox has its own state), which shows the
    /// confirmation really went through PostgreSQL.
    @Test func extractAndCommitOnDifferentHosts() throws {
        let (first, second, environment) = try Self.prepare(prefix: "pgstate_ssh", schema: "pgstate_ssh")
        let remote = "(sleep 5; cd '\(second.path(""))' && conduit-state commit sync_new_users -- conduit-load sync_new_users)"
        let run = try first.run("conduit-extract sync_new_users | \(remote)", environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("state (none) → 1000") && !run.stderr.contains("warning"), "\(run.stderr)")
        let loaded = try PostgresFixture.rowsAndDistinctIDs("pgstate_ssh_raw_users", in: first, environment)
        #expect(loaded.rows == 1000 && loaded.distinct == 1000)
        #expect(try first.names() == ["ingest.yml"] && second.names() == ["ingest.yml"])

        // A stream no extract announced, refused in words that fit a shared state.
        let foreign = try second.run(
            #"echo '{"id": 2000}' | conduit-state commit sync_new_users -- conduit-load sync_new_users"#, environment: environment
        )
        #expect(foreign.status == 65, "\(foreign.stderr)")
        #expect(
            foreign.stderr.contains("reading the PostgreSQL state pgstate_ssh.conduit_state")
                && foreign.stderr.contains("more than 15 s after it started") && !foreign.stderr.contains("state file"),
            "\(foreign.stderr)")

        for box in [first, second] {
            try box.write(
                try box.read("ingest.yml").replacingOccurrences(of: Self.stateSection(schema: "pgstate_ssh"), with: ""),
                to: "ingest.yml")
        }
        let fileBackend = try first.run("conduit-extract sync_new_users | \(remote)", environment: environment)
        #expect(fileBackend.status == 65, "\(fileBackend.stderr)")
        #expect(fileBackend.stderr.contains("recorded where this stream started"), "\(fileBackend.stderr)")
    }

    /// Two sandboxes start the same resource at once: exactly one loads, the other exits 75
    /// having loaded nothing, and the rows are there once.
    @Test func twoHostsSameResourceOneLoads() throws {
        let (first, second, environment) = try Self.prepare(prefix: "pgstate_race", schema: "pgstate_race")
        // Creating the tables first keeps this test about the lock (concurrent creation has its own).
        #expect(try first.run("conduit-state show", environment: environment).status == 0)
        let slowPipeline =
            "conduit-extract sync_new_users | conduit-state commit sync_new_users -- bash -c 'sleep 2; exec conduit-load sync_new_users'"
        for round in 0..<3 {
            try PostgresFixture.execute(
                "DROP TABLE IF EXISTS pgstate_race_raw_users; DELETE FROM pgstate_race.conduit_state;", in: first, environment)
            let both = try first.run(
                """
                (cd '\(first.path(""))' && \(slowPipeline)) > first.out 2>&1 & a=$!
                (cd '\(second.path(""))' && \(slowPipeline)) > second.out 2>&1 & b=$!
                wait $a; echo "first $?"; wait $b; echo "second $?"
                """, environment: environment)
            let statuses = both.stdout.split(separator: "\n").map { $0.split(separator: " ").last.map(String.init) ?? "" }
            let logs = "\(both.stdout)\((try? first.read("first.out")) ?? "")\((try? first.read("second.out")) ?? "")"
            #expect(statuses.sorted() == ["0", "75"], "round \(round): \(logs)")
            #expect(logs.contains("another run of sync_new_users is in progress"), "round \(round): \(logs)")
            let loaded = try PostgresFixture.rowsAndDistinctIDs("pgstate_race_raw_users", in: first, environment)
            #expect(loaded.rows == 1000 && loaded.distinct == 1000, "round \(round): \(loaded)")
            #expect(try first.run("conduit-state get sync_new_users", environment: environment).stdout == "1000\n")
        }
    }

    /// The state session terminated by the server while the loader runs: the loader finishes,
    /// but the commit that follows cannot write (its session is gone), so it exits 69 with the
    /// state unchanged; the loader's checkpoint copies went in through its own session, and the
    /// rerun resumes after them: every row exactly once.
    @Test func sessionTerminatedBeforeTheStateWrite() throws {
        let (box, _, environment) = try Self.prepare(prefix: "pgstate_term", schema: "pgstate_term", batchSize: 100)
        let run = try box.run(
            """
            conduit-extract sync_new_users | conduit-state commit sync_new_users -- bash -c 'conduit-load sync_new_users && sleep 2' 2> run.err &
            pipeline=$!
            for i in $(seq 200); do
              [ "$(psql -qAtc "SELECT count(*) FROM pgstate_term_raw_users" 2>/dev/null)" = 1000 ] && break
              sleep 0.05
            done
            psql -qAtc "SELECT pg_terminate_backend(backend_pid) FROM pgstate_term.conduit_state_runs WHERE run_id <> ''"
            wait $pipeline
            """, environment: environment)
        let stderr = (try? box.read("run.err")) ?? ""
        #expect(run.status == 69, "\(run.stdout)\(stderr)")
        #expect(stderr.contains("committing sync_new_users in the PostgreSQL state"), "\(stderr)")
        #expect(try box.run("conduit-state show", environment: environment).stdout == "{}\n")
        #expect(try box.run("conduit-state show", environment: environment).stderr.contains("pending checkpoint 1000"))
        let rerun = try box.run(Self.pipeline, environment: environment)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let loaded = try PostgresFixture.rowsAndDistinctIDs("pgstate_term_raw_users", in: box, environment)
        #expect(loaded.rows == 1000 && loaded.distinct == 1000, "\(loaded)")
        #expect(try box.run("conduit-state get sync_new_users", environment: environment).stdout == "1000\n")
    }

    /// The state session terminated while rows still stream: the lock is gone, so the commit
    /// stops its loader within a second and exits 69, state unchanged; the rerun loads every
    /// row exactly once.
    @Test func sessionTerminatedWhileRowsStream() throws {
        let (box, _, environment) = try Self.prepare(prefix: "pgstate_mid", schema: "pgstate_mid", batchSize: 100)
        try box.write(#"awk '{print; fflush()} NR==300 {system("sleep 3")}'"# + "\n", to: "slow.sh")
        let run = try box.run(
            """
            conduit-state commit sync_new_users --from 'conduit-extract sync_new_users | bash slow.sh' -- conduit-load sync_new_users 2> run.err &
            pipeline=$!
            for i in $(seq 200); do
              [ "$(psql -qAtc "SELECT count(*) FROM pgstate_mid.conduit_state_runs WHERE run_id <> ''" 2>/dev/null)" = 1 ] && break
              sleep 0.05
            done
            sleep 1
            psql -qAtc "SELECT pg_terminate_backend(backend_pid) FROM pgstate_mid.conduit_state_runs WHERE run_id <> ''"
            wait $pipeline
            """, environment: environment)
        let stderr = (try? box.read("run.err")) ?? ""
        #expect(run.status == 69, "\(run.stdout)\(stderr)")
        #expect(stderr.contains("the session holding the run lock"), "\(stderr)")
        #expect(stderr.contains("state unchanged"), "\(stderr)")
        #expect(!stderr.contains("FATAL"), "the server's notice is not printed: \(stderr)")
        #expect(try box.run("conduit-state get sync_new_users", environment: environment).stdout == "")
        let rerun = try box.run(Self.pipeline, environment: environment)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let loaded = try PostgresFixture.rowsAndDistinctIDs("pgstate_mid_raw_users", in: box, environment)
        #expect(loaded.rows == 1000 && loaded.distinct == 1000, "\(loaded)")
    }

    /// The state session terminated at random moments of twelve runs (before, during and after
    /// the load, inside the commit's transaction): whatever the first run did, one rerun leaves
    /// every row exactly once and the state at the last id.
    @Test func sessionTerminatedAtRandomMoments() throws {
        let (box, _, environment) = try Self.prepare(
            prefix: "pgstate_rand", schema: "pgstate_rand", rows: 3000, batchSize: 200)
        var generator = SplitMix64(seed: 23)
        var failedFirstRuns = 0
        for trial in 0..<12 {
            try PostgresFixture.execute(
                "DROP TABLE IF EXISTS pgstate_rand_raw_users; DROP SCHEMA IF EXISTS pgstate_rand CASCADE;", in: box, environment)
            let delay = Double(generator.next() % 800) / 1000
            // Rows slowed to about 0.7 s a run, so that most terminations land inside one.
            let first = try box.run(
                """
                conduit-extract sync_new_users | perl -pe 'select(undef, undef, undef, 0.0002)' | conduit-state commit sync_new_users -- conduit-load sync_new_users 2> first.err &
                pipeline=$!
                for i in $(seq 400); do
                  [ -n "$(psql -qAtc "SELECT 1 FROM pgstate_rand.conduit_state_runs WHERE run_id <> ''" 2>/dev/null)" ] && break
                  sleep 0.01
                done
                sleep \(String(format: "%.3f", delay))
                psql -qAtc "SELECT pg_terminate_backend(backend_pid) FROM pgstate_rand.conduit_state_runs WHERE run_id <> ''" > /dev/null
                wait $pipeline
                """, environment: environment)
            if first.status != 0 { failedFirstRuns += 1 }
            #expect([0, 69].contains(first.status), "trial \(trial) (\(delay)s): \((try? box.read("first.err")) ?? "")")
            var rerun = try box.run(Self.pipeline, environment: environment)
            for _ in 0..<50 where rerun.status == 75 {
                Thread.sleep(forTimeInterval: 0.1)
                rerun = try box.run(Self.pipeline, environment: environment)
            }
            #expect(rerun.status == 0, "trial \(trial): \(rerun.stderr)")
            let loaded = try PostgresFixture.rowsAndDistinctIDs("pgstate_rand_raw_users", in: box, environment)
            #expect(
                loaded.rows == 3000 && loaded.distinct == 3000,
                "trial \(trial) (\(delay)s): \(loaded); first run: \((try? box.read("first.err")) ?? ""); rerun: \(rerun.stderr)")
            #expect(try box.run("conduit-state get sync_new_users", environment: environment).stdout == "3000\n")
        }
        #expect(failedFirstRuns >= 3, "only \(failedFirstRuns) of 12 terminations interrupted a run")
    }

    /// `export` prints the seed's flat map byte for byte, whichever backend holds it, and
    /// `import` moves it: file → PostgreSQL → file keeps every digit and every offset; a value
    /// that would move backwards refuses the whole import (65, nothing written) unless --force.
    @Test func exportImportRoundTripKeepsExactDigits() throws {
        let (box, _, environment) = try Self.prepare(prefix: "pgstate_move", schema: "pgstate_move")
        let original = """
            {
              "big": 123456789012345678901234567890,
              "decimal": 1.50000000000000000000000001,
              "exponent": 1e400,
              "negative": -9007199254740993,
              "sync_new_users": 1000,
              "ts": "2024-05-01T10:00:00.123456789+02:00",
              "unicode \\u00e9\\"quoted\\"": "caf\\u00e9 \\ud83d\\ude00"
            }

            """
        try box.write(original, to: "old.json")
        let canonical = try box.run("conduit-state show --state-file old.json").stdout
        let imported = try box.run(
            "conduit-state export --state-file old.json > moved.json && conduit-state import moved.json", environment: environment
        )
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stderr.contains("imported 7 values into the PostgreSQL state"), "\(imported.stderr)")
        let exported = try box.run("conduit-state export", environment: environment)
        #expect(exported.stdout == canonical, "\(exported.stdout)")
        let back = try box.run("conduit-state export | conduit-state import --state-file new.json -", environment: environment)
        #expect(back.status == 0, "\(back.stderr)")
        #expect(try box.read("new.json") == canonical)
        #expect(try box.run("conduit-state get big", environment: environment).stdout == "123456789012345678901234567890\n")

        // Backwards: refused whole, nothing written.
        try box.write(#"{"big": 5, "sync_new_users": 2000}"#, to: "lower.json")
        let refused = try box.run("conduit-state import lower.json", environment: environment)
        #expect(refused.status == 65, "\(refused.stderr)")
        #expect(refused.stderr.contains("big: 123456789012345678901234567890 → 5"), "\(refused.stderr)")
        #expect(refused.stderr.contains("nothing imported"), "\(refused.stderr)")
        #expect(try box.run("conduit-state export", environment: environment).stdout == canonical)
        let forced = try box.run("conduit-state import --force lower.json", environment: environment)
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try box.run("conduit-state get big", environment: environment).stdout == "5\n")
        #expect(try box.run("conduit-state get sync_new_users", environment: environment).stdout == "2000\n")
        let history = try box.run("conduit-state history big", environment: environment).stdout
        #expect(history.contains(#""event":"import","from":123456789012345678901234567890,"to":5"#), "\(history)")

        // A value of another type is no state value: refused, naming it.
        try box.write(#"{"nested": {"a": 1}}"#, to: "nested.json")
        let nested = try box.run("conduit-state import nested.json", environment: environment)
        #expect(nested.status == 65 && nested.stderr.contains(#"the value of "nested" is neither a number nor a string"#))
    }

    /// A backend that cannot be reached is 69 for every tool, names where it looked, never
    /// shows the password, and nothing is loaded or written.
    @Test func backendDownAtStart() throws {
        let (box, _, environment) = try Self.prepare(prefix: "pgstate_down", schema: "pgstate_down")
        var yaml = try box.read("ingest.yml")
        yaml = yaml.replacingOccurrences(
            of: "  port: ${CONDUIT_TEST_PG_PORT}\n  user: ${CONDUIT_TEST_PG_USER}\n  password: ${CONDUIT_TEST_PG_PASSWORD}",
            with: "  port: 1\n  user: ${CONDUIT_TEST_PG_USER}\n  password: never-shown-secret")
        try box.write(yaml, to: "ingest.yml")
        let pipeline = try box.run("set -o pipefail; " + Self.pipeline, environment: environment)
        #expect(pipeline.status == 69, "\(pipeline.stderr)")
        #expect(
            pipeline.stderr.contains("in the PostgreSQL state conduit")
                || pipeline.stderr.contains("PostgreSQL state pgstate_down"))
        #expect(!pipeline.stderr.contains("never-shown-secret"))
        #expect(try PostgresFixture.rowsAndDistinctIDs("pgstate_down_raw_users", in: box, environment) == (0, 0))
        for command in ["show", "get sync_new_users", "set sync_new_users 5", "history", "export"] {
            let result = try box.run("conduit-state \(command)", environment: environment)
            #expect(result.status == 69, "\(command): \(result.stderr)")
            #expect(result.stderr.contains(":1"), "\(command) names where it looked: \(result.stderr)")
        }
        #expect(try box.names() == ["ingest.yml"])
    }

    /// Eight processes meeting a fresh schema at once create its tables exactly once; a store of
    /// a newer schema version is refused (78) rather than written in a shape this build does not know.
    @Test func concurrentSchemaCreationAndVersion() throws {
        let (box, _, environment) = try Self.prepare(prefix: "pgstate_create", schema: "pgstate_create")
        for round in 0..<3 {
            try PostgresFixture.execute("DROP SCHEMA IF EXISTS pgstate_create CASCADE;", in: box, environment)
            let started = try box.run(
                """
                pids=()
                for i in $(seq 8); do
                  (echo '{"r'$i'": '$i'}' | conduit-state import - > /dev/null 2> err.$i; echo $? > status.$i) & pids+=($!)
                done
                wait "${pids[@]}"
                failed=$(cat status.* | grep -vc '^0$')
                echo $failed
                cat err.* | grep -v '^conduit-state: imported' || true
                """, environment: environment)
            #expect(started.stdout.hasPrefix("0\n"), "round \(round): \(started.stdout)")
            #expect(
                try PostgresFixture.query(
                    "SELECT count(*), max(version) FROM pgstate_create.conduit_state_meta", in: box, environment)
                    == "1|1\n")
            #expect(
                try box.run("conduit-state export", environment: environment).stdout.components(separatedBy: "\"r").count == 9)
        }
        try PostgresFixture.execute("UPDATE pgstate_create.conduit_state_meta SET version = 2;", in: box, environment)
        let newer = try box.run("conduit-state show", environment: environment)
        #expect(newer.status == 78, "\(newer.stderr)")
        #expect(newer.stderr.contains("made by a newer Conduit"), "\(newer.stderr)")
    }

    /// A role with no privilege on the database beyond connecting, owning only its schema, runs
    /// the user's example; the same role without a schema is told why (78).
    @Test func roleNeedsOnlyItsOwnSchema() throws {
        let (box, _, environment) = try Self.prepare(prefix: "pgstate_role", schema: "pgstate_role")
        try PostgresFixture.execute(
            """
            DROP SCHEMA IF EXISTS pgstate_role_missing CASCADE;
            DO $$ BEGIN
              IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'conduit_state_only') THEN
                EXECUTE 'DROP OWNED BY conduit_state_only CASCADE';
                EXECUTE 'DROP ROLE conduit_state_only';
              END IF;
            END $$;
            CREATE ROLE conduit_state_only LOGIN PASSWORD 'state-pw';
            CREATE SCHEMA pgstate_role AUTHORIZATION conduit_state_only;
            """, in: box, environment)
        var yaml = try box.read("ingest.yml")
        let stateLines =
            "  user: ${CONDUIT_TEST_PG_USER}\n  password: ${CONDUIT_TEST_PG_PASSWORD}\n  database: ${CONDUIT_TEST_PG_DATABASE}\n  schema: pgstate_role\n"
        try #require(yaml.contains(stateLines))
        yaml = yaml.replacingOccurrences(
            of: stateLines,
            with:
                "  user: conduit_state_only\n  password: state-pw\n  database: ${CONDUIT_TEST_PG_DATABASE}\n  schema: pgstate_role\n"
        )
        try box.write(yaml, to: "ingest.yml")
        let run = try box.run(Self.pipeline, environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try box.run("conduit-state get sync_new_users", environment: environment).stdout == "1000\n")
        #expect(
            try PostgresFixture.query(
                "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'pgstate_role'", in: box, environment)
                == "conduit_state_only\n")

        try box.write(
            yaml.replacingOccurrences(of: "schema: pgstate_role\n", with: "schema: pgstate_role_missing\n"), to: "ingest.yml")
        let refused = try box.run("conduit-state show", environment: environment)
        #expect(refused.status == 78, "\(refused.stderr)")
        #expect(refused.stderr.contains("permission denied for database"), "\(refused.stderr)")
    }

    /// The file backend keeps a history too, beside the state file, and `history` prints it.
    @Test func fileBackendHistory() throws {
        let (box, _, environment) = try Self.prepare(prefix: "pgstate_filehist", schema: "pgstate_filehist")
        try box.write(
            try box.read("ingest.yml").replacingOccurrences(of: Self.stateSection(schema: "pgstate_filehist"), with: ""),
            to: "ingest.yml")
        #expect(try box.run(Self.pipeline, environment: environment).status == 0)
        #expect(try box.run("conduit-state set sync_new_users 10", environment: environment).status == 0)
        let history = try box.run("conduit-state history", environment: environment).stdout.split(separator: "\n")
        try #require(history.count == 2, "\(history)")
        #expect(history[0].contains(#""event":"commit","from":null,"to":1000,"rows":1000,"loader_status":0"#))
        #expect(history[1].contains(#""event":"set","from":1000,"to":10,"rows":null,"loader_status":null"#))
        #expect(try box.read(".conduit_state.json.history").split(separator: "\n").count == 2)
        #expect(try box.run("conduit-state history --limit 1", environment: environment).stdout.split(separator: "\n").count == 1)
    }

    /// The run lock lost with its session while the loader still commits batches, and a new run
    /// started at once: the destination's checkpoint is written only over the one each loader
    /// last saw, so the two loaders cannot both commit the same rows; the loser's batch rolls
    /// back (75), and reruns end with every row exactly once (the red team's duplication).
    @Test func lostLockCannotDoubleRows() throws {
        let (box, _, environment) = try Self.prepare(prefix: "pgstate_fence", schema: "pgstate_fence", rows: 4000, batchSize: 100)
        let run = try box.run(
            """
            (conduit-extract sync_new_users | perl -pe 'select(undef, undef, undef, 0.0005)' | conduit-state commit sync_new_users -- conduit-load sync_new_users) > old.log 2>&1 &
            old=$!
            for i in $(seq 400); do
              [ "$(psql -qAtc "SELECT count(*) FROM pgstate_fence_raw_users" 2>/dev/null)" -gt 500 ] 2>/dev/null && break
              sleep 0.02
            done
            psql -qAtc "SELECT pg_terminate_backend(backend_pid) FROM pgstate_fence.conduit_state_runs WHERE run_id <> ''" > /dev/null
            for i in $(seq 100); do
              \(Self.pipeline) >> new.log 2>&1 && break
              sleep 0.02
            done
            wait $old
            for i in $(seq 50); do \(Self.pipeline) >> new.log 2>&1 && break; sleep 0.1; done
            """, environment: environment)
        #expect(run.status == 0, "\((try? box.read("old.log")) ?? "")\((try? box.read("new.log")) ?? "")")
        let loaded = try PostgresFixture.rowsAndDistinctIDs("pgstate_fence_raw_users", in: box, environment)
        #expect(
            loaded.rows == 4000 && loaded.distinct == 4000,
            "\(loaded): old run: \((try? box.read("old.log")) ?? ""); new runs: \((try? box.read("new.log")) ?? "")")
        #expect(try box.run("conduit-state get sync_new_users", environment: environment).stdout == "4000\n")
    }

    /// What the backend refuses, and how it says so: names PostgreSQL would cut, a NUL that
    /// text cannot keep, an import that is no flat map or meets a run in progress (nothing
    /// written), a URL's password in libpq's complaint about it.
    @Test func refusalsAreClear() throws {
        let (box, _, environment) = try Self.prepare(prefix: "pgstate_refuse", schema: "pgstate_refuse")
        let yaml = try box.read("ingest.yml")
        let longTable = String(repeating: "t", count: 43)
        try box.write(
            yaml.replacingOccurrences(
                of: "  schema: pgstate_refuse\n", with: "  schema: pgstate_refuse\n  table: \(longTable)\n"), to: "ingest.yml")
        let long = try box.run("conduit-state show", environment: environment)
        #expect(long.status == 78 && long.stderr.contains("use at most 42"), "\(long.stderr)")
        try box.write(yaml, to: "ingest.yml")

        let nul = try box.run(#"conduit-state set sync_new_users '"a\u0000b"'"#, environment: environment)
        #expect(nul.status == 65 && nul.stderr.contains("NUL character"), "\(nul.stderr)")
        #expect(try box.run("conduit-state get sync_new_users", environment: environment).stdout == "")

        let broken = try box.run(#"echo '{"sync_new_users": 5' | conduit-state import -"#, environment: environment)
        #expect(broken.status == 65 && broken.stderr.contains("stdin is not a flat JSON map"), "\(broken.stderr)")

        let busy = try box.run(
            """
            conduit-extract sync_new_users | conduit-state commit sync_new_users -- bash -c 'sleep 3; exec conduit-load sync_new_users' 2> run.err &
            for i in $(seq 200); do
              [ -n "$(psql -qAtc "SELECT 1 FROM pgstate_refuse.conduit_state_runs WHERE run_id <> ''" 2>/dev/null)" ] && break
              sleep 0.02
            done
            echo '{"aaa": 1, "sync_new_users": 50000}' | conduit-state import -
            status=$?
            wait
            exit $status
            """, environment: environment)
        #expect(busy.status == 75, "\(busy.stderr)")
        #expect(try box.run("conduit-state get aaa", environment: environment).stdout == "", "a refused import writes nothing")
        #expect(try box.run("conduit-state get sync_new_users", environment: environment).stdout == "1000\n")

        let secret = "S3cretZZ%zz"
        try box.write(
            yaml.replacingOccurrences(
                of: "  host: ${CONDUIT_TEST_PG_HOST}\n", with: "  url: postgresql://postgres:\(secret)@127.0.0.1:1/x\n"
            )
            .replacingOccurrences(
                of:
                    "  port: ${CONDUIT_TEST_PG_PORT}\n  user: ${CONDUIT_TEST_PG_USER}\n  password: ${CONDUIT_TEST_PG_PASSWORD}\n  database: ${CONDUIT_TEST_PG_DATABASE}\n",
                with: ""),
            to: "ingest.yml")
        let leaked = try box.run("conduit-state show", environment: environment)
        #expect(leaked.status != 0 && !leaked.stderr.contains("S3cretZZ"), "\(leaked.stderr)")
    }
}
