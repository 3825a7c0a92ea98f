import Foundation
import TestSupport
import Testing

/// Checkpoints (SPEC 5): a run killed at any moment, at any stage, resumes on the next run and the
/// destination ends with every source row exactly once. Real processes, real kill -9, the real
/// PostgreSQL and SQLite; a timestamp cursor whose values repeat (7 rows a value) across batches.
@Suite struct CheckpointTests {
    static let sourceRows = 6_000

    /// A sandbox with a PostgreSQL source table `<prefix>_src` and resources loading it into
    /// PostgreSQL (`pg`) and SQLite (`lite`) in batches of 250 rows.
    /// With `stateSchema`, the state lives in PostgreSQL (in that schema, dropped first).
    static func prepare(prefix: String, ordered: Bool = true, stateSchema: String? = nil) throws -> (Sandbox, [String: String]) {
        let box = try Sandbox()
        let environment = try PostgresFixture.environment()
        if let stateSchema {
            try PostgresFixture.execute("DROP SCHEMA IF EXISTS \(stateSchema) CASCADE;", in: box, environment)
        }
        try box.write(
            (stateSchema.map(PostgresStateBackendTests.stateSection) ?? "")
                + """
                sources:
                \(PostgresFixture.entry("app"))
                destinations:
                \(PostgresFixture.entry("warehouse"))
                  - name: lake
                    type: sqlite
                    path: lake.db
                resources:
                  - name: pg
                    source: app
                    destination: warehouse
                    table: \(prefix)_dst
                    batch_size: 250
                    incremental_column: ts
                    ordered: \(ordered)
                    query: "SELECT id, ts, payload FROM \(prefix)_src WHERE ts > :last_value ORDER BY ts"
                  - name: lite
                    source: app
                    destination: lake
                    table: dst
                    batch_size: 250
                    incremental_column: ts
                    ordered: \(ordered)
                    query: "SELECT id, ts, payload FROM \(prefix)_src WHERE ts > :last_value ORDER BY ts"
                """, to: "ingest.yml")
        try PostgresFixture.recreate(
            ["\(prefix)_src", "\(prefix)_dst"],
            with: """
                CREATE TABLE \(prefix)_src(id bigint PRIMARY KEY, ts timestamptz NOT NULL, payload text);
                INSERT INTO \(prefix)_src SELECT g, '2024-01-01 00:00:00+00'::timestamptz + (g / 7) * interval '1 second', repeat('x', 100) || g
                  FROM generate_series(1, \(sourceRows)) g;
                """, in: box, environment)
        return (box, environment)
    }

    /// The pipeline of `resource`, with absolute paths so `pkill -f` finds exactly this sandbox's processes.
    static func pipeline(_ resource: String, in box: Sandbox, postgresState: Bool = false) -> String {
        let options =
            "--config '\(box.path("ingest.yml"))'" + (postgresState ? "" : " --state-file '\(box.path("state.json"))'")
        return
            "conduit-extract \(options) \(resource) | conduit-state commit \(options) \(resource) -- conduit-load \(options) \(resource)"
    }

    /// How many rows the destination holds, and how many distinct ids.
    static func counts(_ resource: String, prefix: String, in box: Sandbox, _ environment: [String: String]) throws -> String {
        if resource == "pg" {
            let counts = try PostgresFixture.rowsAndDistinctIDs("\(prefix)_dst", in: box, environment)
            return "\(counts.rows),\(counts.distinct)"
        }
        let query = "sqlite3 lake.db \"SELECT count(*) || ',' || count(DISTINCT id) FROM dst\" 2>/dev/null || echo 0,0"
        return try box.run(query, environment: environment).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// One trial: start the pipeline, kill -9 `stage` `delay` seconds after it started, then rerun normally
    /// (retrying while the killed run's orphaned loader still holds the run lock: exit 75).
    static func trial(
        stage: String, delay: Double, resource: String, prefix: String, box: Sandbox, environment: [String: String],
        stateSchema: String? = nil
    ) throws -> Sandbox.Result {
        var reset =
            resource == "pg" ? "psql -qc 'DROP TABLE IF EXISTS \(prefix)_dst' 2>/dev/null" : "rm -f lake.db lake.db-journal"
        if let stateSchema { reset += "\npsql -qc 'DROP SCHEMA IF EXISTS \(stateSchema) CASCADE' 2>/dev/null" }
        let postgresState = stateSchema != nil
        return try box.run(
            """
            \(reset)
            rm -f state.json state.json.checkpoints killed.log rerun.log
            (\(pipeline(resource, in: box, postgresState: postgresState))) 2>> killed.log &
            run=$!
            target="^conduit-\(stage) \(stage == "state" ? "commit " : "")--config \(box.path("ingest.yml"))"
            # The delay counts from the stage's start: on a busy machine starting it can take
            # longer than the delay, and a kill that finds nothing tests nothing.
            for i in $(seq 500); do pgrep -f "$target" > /dev/null && break; sleep 0.01; done
            sleep \(String(format: "%.3f", delay))
            pkill -9 -f "$target" || true
            wait $run
            echo $? > first.status
            for attempt in $(seq 100); do
              \(pipeline(resource, in: box, postgresState: postgresState)) 2>> rerun.log
              status=$?
              [ $status -ne 75 ] && break
              sleep 0.1
            done
            exit $status
            """, environment: environment)
    }

    /// With `stateSchema`, the state lives in PostgreSQL: the same kills, the same promise.
    static func faultInjection(resource: String, prefix: String, stateSchema: String? = nil, trials: Int = 20) throws {
        let (box, environment) = try prepare(prefix: prefix, stateSchema: stateSchema)
        let postgresState = stateSchema != nil
        // Kills land at random moments within a window that starts as one clean run's duration,
        // measured here, and shrinks whenever a kill came after the run had ended (runs get
        // faster or slower with what else the machine is doing).
        let started = Date()
        let clean = try box.run(pipeline(resource, in: box, postgresState: postgresState), environment: environment)
        try #require(clean.status == 0, "\(clean.stderr)")
        let duration = Date().timeIntervalSince(started)
        for stage in ["load", "extract", "state"] {
            var interrupted = 0
            var window = duration
            defer {
                // Kills that land after the run ended test nothing: most must land mid-run.
                #expect(interrupted >= trials / 2, "only \(interrupted) of \(trials) kills of conduit-\(stage) interrupted a run")
            }
            for trialNumber in 0..<trials {
                var generator = SplitMix64(seed: UInt64(trialNumber * 7919 + stage.count))
                // At least 20 ms after the stage started.
                let delay = 0.02 + window * Double(50 + generator.next() % 900) / 1000
                let result = try trial(
                    stage: stage, delay: delay, resource: resource, prefix: prefix, box: box, environment: environment,
                    stateSchema: stateSchema)
                let description =
                    "kill -9 conduit-\(stage) after \(delay)s (trial \(trialNumber), seed \(trialNumber * 7919 + stage.count))"
                if (try? box.read("first.status"))?.hasPrefix("0") == false {
                    interrupted += 1
                } else {
                    window = max(window * 0.7, 0.05)
                }
                #expect(result.status == 0, "\(description): rerun failed: \((try? box.read("rerun.log")) ?? "")")
                let loaded = try counts(resource, prefix: prefix, in: box, environment)
                #expect(
                    loaded == "\(sourceRows),\(sourceRows)",
                    "\(description): rows,distinct = \(loaded); first run: \((try? box.read("killed.log")) ?? ""); rerun: \((try? box.read("rerun.log")) ?? "")"
                )
                let state =
                    postgresState
                    ? try box.run("conduit-state show --config ingest.yml", environment: environment).stdout
                    : try box.read("state.json")
                #expect(state == "{\n  \"\(resource)\": \"2024-01-01T00:14:17Z\"\n}\n", "\(description)")
            }
        }
    }

    @Test func killedStagesResumeExactlyOnceIntoPostgreSQL() throws {
        try Self.faultInjection(resource: "pg", prefix: "fault_pg")
    }

    /// The same kills with the state in PostgreSQL (issue 23): ten a stage.
    @Test func killedStagesResumeExactlyOnceWithPostgreSQLState() throws {
        try Self.faultInjection(resource: "pg", prefix: "fault_pgstate", stateSchema: "fault_state", trials: 10)
    }

    @Test func killedStagesResumeExactlyOnceIntoSQLite() throws {
        try Self.faultInjection(resource: "lite", prefix: "fault_lite")
    }

    /// A failed run leaves a pending checkpoint in the destination and the ledger; `show` lists
    /// it; the next run resumes after it and loads each row once.
    @Test func failedRunResumesAfterItsCheckpoint() throws {
        let (box, environment) = try Self.prepare(prefix: "ckpt_resume")
        try PostgresFixture.execute(
            "CREATE TABLE ckpt_resume_dst(id bigint, ts timestamptz, payload text CHECK (payload <> $$x$$ || repeat($$x$$, 99) || 3000));",
            in: box, environment)
        let failed = try box.run(Self.pipeline("pg", in: box), environment: environment)
        #expect(failed.status == 65, "\(failed.stderr)")
        let loaded = try Self.counts("pg", prefix: "ckpt_resume", in: box, environment)
        #expect(loaded != "0,0" && loaded != "\(Self.sourceRows),\(Self.sourceRows)", "\(loaded)")
        let shown = try box.run("conduit-state show --state-file state.json")
        #expect(shown.stdout == "{}\n")
        #expect(
            Messages.matches(
                shown.stderr,
                #"""
                conduit-state: pg: pending checkpoint 2024-01-01T00:0\d:\d\dZ from an interrupted run \(\d+ rows loaded, \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\); \#
                the next run resumes after it, set or reset drops it

                """#), "\(shown.stderr)")
        #expect(
            try box.run("conduit-extract --dry-run --state-file state.json pg").stdout.contains(
                "from the checkpoint of an interrupted run"))

        try PostgresFixture.execute(
            "ALTER TABLE ckpt_resume_dst DROP CONSTRAINT ckpt_resume_dst_payload_check;", in: box, environment)
        let resumed = try box.run(Self.pipeline("pg", in: box), environment: environment)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try Self.counts("pg", prefix: "ckpt_resume", in: box, environment) == "\(Self.sourceRows),\(Self.sourceRows)")
        #expect(try box.read("state.json") == "{\n  \"pg\": \"2024-01-01T00:14:17Z\"\n}\n")
        #expect(try box.run("conduit-state show --state-file state.json").stderr.isEmpty)
    }

    /// After `reset` or `set`, a pending checkpoint no longer decides anything: the next run
    /// starts where the user said and really reloads.
    @Test(arguments: ["reset", "set"]) func setAndResetDropThePendingCheckpoint(command: String) throws {
        let prefix = "ckpt_\(command)"
        let (box, environment) = try Self.prepare(prefix: prefix)
        try PostgresFixture.execute(
            "CREATE TABLE \(prefix)_dst(id bigint, ts timestamptz, payload text CHECK (id <> 3000));", in: box, environment)
        #expect(try box.run(Self.pipeline("pg", in: box), environment: environment).status == 65)
        let committedBefore = try Self.counts("pg", prefix: prefix, in: box, environment)
        let before = Int(committedBefore.split(separator: ",")[0]) ?? 0
        #expect(before > 0)
        let edit =
            command == "reset"
            ? "conduit-state reset --state-file state.json pg"
            : "conduit-state set --state-file state.json pg '\"2024-01-01T00:00:00Z\"'"
        #expect(try box.run(edit).status == 0)
        #expect(try box.run("conduit-state show --state-file state.json").stderr.isEmpty)
        try PostgresFixture.execute("ALTER TABLE \(prefix)_dst DROP CONSTRAINT \(prefix)_dst_id_check;", in: box, environment)
        let rerun = try box.run(Self.pipeline("pg", in: box), environment: environment)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        // reset: every row again; set to 00:00:00: every row after the first second (ids 7 and up) again.
        let reloaded = command == "reset" ? Self.sourceRows : Self.sourceRows - 6
        #expect(try Self.counts("pg", prefix: prefix, in: box, environment) == "\(before + reloaded),\(Self.sourceRows)")
    }

    /// A successful commit ends its run: a later backfill (`set` back) reloads, even though the
    /// destination still holds the finished run's checkpoint.
    @Test func successfulCommitRetiresTheCheckpoint() throws {
        let (box, environment) = try Self.prepare(prefix: "ckpt_done")
        #expect(try box.run(Self.pipeline("pg", in: box), environment: environment).status == 0)
        #expect(
            try PostgresFixture.query(
                "SELECT count(*) FROM _conduit_checkpoints WHERE table_name = '\"ckpt_done_dst\"'", in: box, environment) == "1\n"
        )
        #expect(try box.run("conduit-state set --state-file state.json pg '\"2024-01-01T00:14:00Z\"'").status == 0)
        let backfill = try box.run(Self.pipeline("pg", in: box), environment: environment)
        #expect(backfill.status == 0, "\(backfill.stderr)")
        // ts > 00:14:00 (840 s): ids 5887 to 6000.
        #expect(
            Messages.stableLines(backfill.stderr) == [
                "conduit-extract: pg: 114 rows, 17898 bytes in \(Messages.timing)",
                "conduit-load: pg: 114 rows, 17898 bytes in \(Messages.timing) into \"ckpt_done_dst\" on \(PostgresFixture.label(environment))",
                "conduit-state: pg: 114 rows, 17898 bytes in \(Messages.timing); state 2024-01-01T00:14:00Z → 2024-01-01T00:14:17Z",
            ], "\(backfill.stderr)")
    }

    /// `ordered: false` runs without checkpoints: nothing is recorded, so a failed run's
    /// committed batches load again on the rerun (the risk the README states).
    @Test func unorderedResourceHasNoCheckpoints() throws {
        let (box, environment) = try Self.prepare(prefix: "ckpt_unordered", ordered: false)
        try PostgresFixture.execute(
            "CREATE TABLE ckpt_unordered_dst(id bigint, ts timestamptz, payload text CHECK (id <> 3000));", in: box, environment)
        #expect(try box.run(Self.pipeline("pg", in: box), environment: environment).status == 65)
        let ledger = box.exists("state.json.checkpoints") ? try box.read("state.json.checkpoints") : ""
        #expect(!ledger.contains("\"checkpoint\""))
        #expect(
            try box.run(
                "psql -Atqc \"SELECT count(*) FROM _conduit_checkpoints WHERE table_name = '\\\"ckpt_unordered_dst\\\"'\" 2>/dev/null || echo 0",
                environment: environment
            ).stdout == "0\n")
        try PostgresFixture.execute(
            "ALTER TABLE ckpt_unordered_dst DROP CONSTRAINT ckpt_unordered_dst_id_check;", in: box, environment)
        #expect(try box.run(Self.pipeline("pg", in: box), environment: environment).status == 0)
        let counts = try Self.counts("pg", prefix: "ckpt_unordered", in: box, environment).split(separator: ",")
        #expect(counts.count == 2 && Int(counts[0]) ?? 0 > Self.sourceRows && counts[1] == "\(Self.sourceRows)")
    }
}
