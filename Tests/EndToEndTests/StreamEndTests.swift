import Foundation
import TestSupport
import Testing

/// A stream that ends early is never committed as complete (docs/INCREMENTAL.md): the source's
/// backend terminated mid-stream, the extract killed, the stream cut by `head -n K`, a filter
/// failing — each inside one value group larger than the memory bound, in a stream of many small
/// groups, and with `ordered: false`. Real PostgreSQL source and destination, real pipes; the
/// memory bound is lowered to 64 KB so the big group spills to a temporary file in both tools.
@Suite struct StreamEndTests {
    enum Shape: String, CaseIterable, CustomTestStringConvertible {
        /// 5,000 rows at 7 a second, then 20,000 rows at one instant (2.6 MB), then 70 more.
        case bigGroup
        /// 14,000 rows at 7 a second.
        case smallGroups
        /// The small groups in md5 order, `ordered: false`, an id cursor.
        case unordered

        var testDescription: String { rawValue }
        var total: Int { self == .bigGroup ? 25_070 : 14_000 }
        var ordered: Bool { self != .unordered }
        /// The state after the source is drained.
        var finalState: String {
            switch self {
            case .bigGroup: "\"2024-01-01T00:20:24Z\""
            case .smallGroups: "\"2024-01-01T00:33:20Z\""
            case .unordered: "14000"
            }
        }
    }

    static let memoryBound = "65536"

    /// A database of its own (so its backends can be told apart), the source table and an
    /// ingest.yml with resource `r` loading it into `dst` in batches of `batchSize`.
    static func prepare(_ name: String, shape: Shape, batchSize: Int = 1_000) throws -> (Sandbox, [String: String]) {
        let box = try Sandbox()
        var environment = try PostgresFixture.freshDatabase(
            "end_\(name)_\(shape.rawValue)".lowercased(), in: box, PostgresFixture.environment())
        environment["CONDUIT_GROUP_MEMORY"] = memoryBound
        let rows: String
        switch shape {
        case .bigGroup:
            rows = """
                SELECT g, '2024-01-01 00:00:00+00'::timestamptz + (g / 7) * interval '1 second' FROM generate_series(1, 5000) g
                UNION ALL SELECT g, '2024-01-01 00:20:00+00' FROM generate_series(5001, 25000) g
                UNION ALL SELECT g, '2024-01-01 00:20:00+00'::timestamptz + ((g - 25000) / 3 + 1) * interval '1 second' FROM generate_series(25001, 25070) g
                """
        case .smallGroups, .unordered:
            rows =
                "SELECT g, '2024-01-01 00:00:00+00'::timestamptz + (g / 7) * interval '1 second' FROM generate_series(1, 14000) g"
        }
        let query =
            shape == .unordered
            ? "SELECT id, ts, payload FROM src WHERE id > :last_value ORDER BY md5(id::text)"
            : "SELECT id, ts, payload FROM src WHERE ts > :last_value ORDER BY ts"
        try box.write(
            """
            sources:
            \(PostgresFixture.entry("app"))
            destinations:
            \(PostgresFixture.entry("warehouse"))
            resources:
              - name: r
                source: app
                destination: warehouse
                table: dst
                batch_size: \(batchSize)
                incremental_column: \(shape == .unordered ? "id" : "ts")
                ordered: \(shape.ordered)
                query: "\(query)"
            """, to: "ingest.yml")
        try PostgresFixture.execute(
            """
            CREATE TABLE src(id bigint PRIMARY KEY, ts timestamptz NOT NULL, payload text);
            INSERT INTO src SELECT id, ts, repeat('x', 80) || id FROM (\(rows)) AS r(id, ts);
            """, in: box, environment)
        return (box, environment)
    }

    /// Absolute paths, so `pkill -f` finds this sandbox's processes alone (tests run in parallel).
    static func options(_ box: Sandbox) -> String {
        "--config \(box.path("ingest.yml")) --state-file \(box.path("state.json"))"
    }

    static func pipeline(_ box: Sandbox) -> String {
        "conduit-extract \(options(box)) r | conduit-state commit \(options(box)) r -- conduit-load \(options(box)) r"
    }

    /// A loader that starts reading late, so the extract is blocked on a full pipe when it is interrupted.
    static func lateLoader(_ box: Sandbox) -> String {
        "sh -c 'sleep 1.5; exec conduit-load \(options(box)) r'"
    }

    /// Waits for the extract's backend to have sent rows and be waiting on its client (this test's
    /// own database), then terminates it. Waiting only for a FETCH to start is not enough: an
    /// unordered query's first FETCH sorts the whole table before it sends a row, and a
    /// termination then ends the run with no row at all.
    static let terminateExtractBackend = """
        for i in $(seq 500); do
          pid=$(psql -Atqc "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'conduit-extract' AND ((state = 'idle in transaction' AND query LIKE 'FETCH%') OR (state = 'active' AND wait_event = 'ClientWrite'))")
          [ -n "$pid" ] && break
          sleep 0.02
        done
        psql -Atqc "SELECT pg_terminate_backend($pid)" > /dev/null
        """

    /// Reruns the plain pipeline until it succeeds (a killed run's loader may hold the run lock: 75).
    static func rerun(_ box: Sandbox) -> String {
        """
        for attempt in $(seq 50); do
          \(pipeline(box)) 2>> rerun.log
          status=$?
          [ $status -ne 75 ] && break
          sleep 0.2
        done
        [ $status -eq 0 ] || { echo "rerun exited $status"; exit 1; }
        """
    }

    /// Rows and distinct ids in the destination, and the state.
    static func outcome(_ box: Sandbox, _ environment: [String: String]) throws -> (rows: Int, distinct: Int, state: String) {
        let counts = try PostgresFixture.rowsAndDistinctIDs("dst", in: box, environment)
        let state = try box.run("conduit-state get --state-file state.json r").stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        return (counts.rows, counts.distinct, state)
    }

    /// Exactly once (ordered) or none lost (ordered: false), and the state at the source's end.
    static func expectDrained(_ box: Sandbox, _ environment: [String: String], shape: Shape, _ context: String) throws {
        let (rows, distinct, state) = try outcome(box, environment)
        let log = (try? box.read("first.log")) ?? ""
        #expect(distinct == shape.total, "\(context): \(distinct) distinct of \(shape.total); first run: \(log)")
        if shape.ordered {
            #expect(rows == shape.total, "\(context): \(rows) rows for \(shape.total); first run: \(log)")
        }
        let expected = shape.finalState.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        #expect(state == expected, "\(context): state \(state)")
    }

    /// What the first, interrupted run left: its status and, for an ordered stream, that the
    /// state did not pass a row it did not load.
    static func expectSoundPrefix(_ box: Sandbox, _ environment: [String: String], shape: Shape, _ context: String) throws {
        let (rows, distinct, state) = try outcome(box, environment)
        let log = (try? box.read("first.log")) ?? ""
        #expect(rows == distinct, "\(context): the first run loaded a row twice")
        guard shape.ordered else {
            // No order: nothing may be committed after an unconfirmed end.
            #expect(state.isEmpty, "\(context): ordered: false committed \(state) after an early end; \(log)")
            return
        }
        // Every source row at or below the committed value is in the destination.
        let missing = try box.run(
            """
            psql -Atqc "SELECT count(*) FROM src WHERE \(state.isEmpty ? "false" : "ts <= '\(state)'") AND id NOT IN (SELECT id FROM dst)" 2>/dev/null || echo 0
            """, environment: environment
        ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(missing == "0", "\(context): state \(state) passed \(missing) rows that were not loaded; \(log)")
    }

    /// The source's backend is terminated while the extract waits on a full pipe: the extract
    /// exits 69, the complete groups commit, and a rerun loads every row exactly once.
    @Test(arguments: Shape.allCases) func sourceTerminatedMidStream(shape: Shape) throws {
        let (box, environment) = try Self.prepare("terminated", shape: shape)
        let result = try box.run(
            """
            (conduit-extract \(Self.options(box)) r | conduit-state commit \(Self.options(box)) r -- \(Self.lateLoader(box))) 2> first.log &
            run=$!
            \(Self.terminateExtractBackend)
            wait $run
            echo $? > first.status
            """, environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        let log = try box.read("first.log")
        #expect(try box.read("first.status") == "69\n", "\(log)")
        #expect(log.contains("conduit-state: warning: r: "), "\(log)")
        #expect(shape.ordered ? log.contains("the stream ended early") : log.contains("nothing committed"), "\(log)")
        try Self.expectSoundPrefix(box, environment, shape: shape, "terminated backend")
        #expect(try box.run(Self.rerun(box), environment: environment).status == 0, "\((try? box.read("rerun.log")) ?? "")")
        try Self.expectDrained(box, environment, shape: shape, "terminated backend, then a rerun")
    }

    /// kill -9 of the extract while it waits on a full pipe: a cut line (exit 65, nothing more
    /// committed) or an end after a complete group; either way a rerun loads every row once.
    @Test(arguments: Shape.allCases) func extractKilledMidStream(shape: Shape) throws {
        let (box, environment) = try Self.prepare("killed", shape: shape)
        let result = try box.run(
            """
            (conduit-extract \(Self.options(box)) r | conduit-state commit \(Self.options(box)) r -- \(Self.lateLoader(box))) 2> first.log &
            run=$!
            sleep 0.5
            pkill -9 -f "^conduit-extract \(Self.options(box)) r$" || echo "no extract to kill" >> first.log
            wait $run
            echo $? > first.status
            """, environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        let log = try box.read("first.log")
        #expect(try box.read("first.status") != "0\n", "the kill came after the run: \(log)")
        try Self.expectSoundPrefix(box, environment, shape: shape, "killed extract")
        #expect(try box.run(Self.rerun(box), environment: environment).status == 0, "\((try? box.read("rerun.log")) ?? "")")
        try Self.expectDrained(box, environment, shape: shape, "killed extract, then a rerun")
    }

    /// `head -n K` between the stages, K inside the big group (or mid-stream): the complete
    /// groups commit, the cut group is read again; a plain rerun finishes exactly once.
    @Test(arguments: Shape.allCases) func headCutsTheStream(shape: Shape) throws {
        let (box, environment) = try Self.prepare("head", shape: shape)
        let result = try box.run(
            """
            conduit-extract \(Self.options(box)) r | head -n 9000 | conduit-state commit \(Self.options(box)) r -- conduit-load \(Self.options(box)) r 2> first.log
            echo $? > first.status
            """, environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        let log = try box.read("first.log")
        let unconfirmed =
            "the stream ended early (conduit-extract of r did not record its end: it failed or was stopped, or a stage between cut the stream)"
        let load = "bytes in \(Messages.timing) into \"dst\" on \(PostgresFixture.label(environment))"
        let expected: [Shape: [String]] = [
            .bigGroup: [
                "conduit-load: r: 5000 rows, 682786 \(load)",
                "conduit-state: warning: r: 9000 rows, 1230786 bytes in \(Messages.timing); \(unconfirmed); "
                    + "committed up to 2024-01-01T00:11:54Z; the group at 2024-01-01T00:20:00Z (4000 rows) was not loaded and will be read again; "
                    + "state (none) → 2024-01-01T00:11:54Z",
            ],
            .smallGroups: [
                "conduit-load: r: 8994 rows, 1229964 \(load)",
                "conduit-state: warning: r: 9000 rows, 1230786 bytes in \(Messages.timing); \(unconfirmed); "
                    + "committed up to 2024-01-01T00:21:24Z; the group at 2024-01-01T00:21:25Z (6 rows) was not loaded and will be read again; "
                    + "state (none) → 2024-01-01T00:21:24Z",
            ],
            .unordered: [
                "conduit-load: r: 9000 rows, 1236758 \(load)",
                "conduit-state: warning: r: 9000 rows, 1236758 bytes in \(Messages.timing); \(unconfirmed), "
                    + "and the resource is ordered: false, so no part of it is known complete: nothing committed, state unchanged at (none) "
                    + "(the rows loaded load again on the next run)",
            ],
        ]
        #expect(Messages.stableLines(log) == expected[shape], "\(log)")
        try Self.expectSoundPrefix(box, environment, shape: shape, "head -n 9000")
        if shape == .bigGroup {
            // Cut inside the big group: only the 5,000 rows of small groups before it are loaded.
            #expect(try Self.outcome(box, environment).rows == 5000, "\(log)")
        }
        #expect(try box.run(Self.rerun(box), environment: environment).status == 0, "\((try? box.read("rerun.log")) ?? "")")
        try Self.expectDrained(box, environment, shape: shape, "head -n 9000, then a rerun")
    }

    /// Chunking a backfill the Unix way: `head -n 1000` repeated until the state stops moving
    /// drains the source with every row exactly once (the last chunk's end is confirmed).
    @Test func headChunkingDrainsTheSource() throws {
        let (box, environment) = try Self.prepare("chunks", shape: .smallGroups)
        let result = try box.run(
            """
            previous=none
            for run in $(seq 40); do
              conduit-extract \(Self.options(box)) r | head -n 1000 | conduit-state commit \(Self.options(box)) r -- conduit-load \(Self.options(box)) r 2>> first.log
              state=$(conduit-state get --state-file state.json r)
              [ "$state" = "$previous" ] && break
              previous=$state
            done
            echo "$run runs"
            """, environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        // 14,000 rows, and each cut drops the open group (up to 7 rows): at least 15 runs.
        let runs = Int(result.stdout.split(separator: " ").first ?? "") ?? 0
        #expect(runs >= 15 && runs < 40, "\(result.stdout)")
        try Self.expectDrained(box, environment, shape: .smallGroups, "head -n 1000 chunks")
    }

    /// A filter that fails and ends the stream early on a plain pipe: like a cut, the complete
    /// groups commit; a rerun finishes exactly once.
    @Test(arguments: Shape.allCases) func failingFilterOnAPlainPipe(shape: Shape) throws {
        let (box, environment) = try Self.prepare("filter", shape: shape)
        let result = try box.run(
            """
            conduit-extract \(Self.options(box)) r | awk '{ print } NR == 9000 { exit 3 }' | conduit-state commit \(Self.options(box)) r -- conduit-load \(Self.options(box)) r 2> first.log
            echo $? > first.status
            """, environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try box.read("first.status") == "3\n", "\((try? box.read("first.log")) ?? "")")
        try Self.expectSoundPrefix(box, environment, shape: shape, "failing awk")
        #expect(try box.run(Self.rerun(box), environment: environment).status == 0, "\((try? box.read("rerun.log")) ?? "")")
        try Self.expectDrained(box, environment, shape: shape, "failing awk, then a rerun")
    }

    /// Under --from, a jq stage that fails (jq 1.6 drops the row, goes on, then aborts) voids the
    /// run: nothing is committed, the loader is stopped, the checkpoints are void; the rerun reads
    /// from the committed value and loads every row exactly once (no batch of the void run had
    /// committed: batch_size is larger than the stream).
    @Test(arguments: Shape.allCases) func failingFilterUnderFromVoidsTheRun(shape: Shape) throws {
        let (box, environment) = try Self.prepare("from_jq", shape: shape, batchSize: 100_000)
        let filter = #"jq -c 'if .id == 4000 then (\"bad row\\n\" | halt_error(5)) else . end'"#
        let result = try box.run(
            """
            conduit-state commit \(Self.options(box)) r --from "conduit-extract \(Self.options(box)) r | \(filter)" -- conduit-load \(Self.options(box)) r 2> first.log
            echo $? > first.status
            """, environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        let log = try box.read("first.log")
        #expect(try box.read("first.status") != "0\n", "\(log)")
        #expect(log.contains("of the upstream exited with status"), "\(log)")
        #expect(log.contains("no row of this run can be trusted"), "\(log)")
        let (rows, _, state) = try Self.outcome(box, environment)
        #expect(rows == 0 && state.isEmpty, "\(rows) rows, state \(state): \(log)")
        #expect(try box.run(Self.rerun(box), environment: environment).status == 0, "\((try? box.read("rerun.log")) ?? "")")
        try Self.expectDrained(box, environment, shape: shape, "void run under --from, then a rerun")
    }

    /// Under --from with small batches, a failing filter's run commits batches before it fails:
    /// the rerun loads them again (duplicates, as the docs say for append mode) and loses none.
    @Test func voidRunWithCommittedBatchesLosesNothing() throws {
        let (box, environment) = try Self.prepare("from_batches", shape: .smallGroups, batchSize: 500)
        let result = try box.run(
            """
            conduit-state commit \(Self.options(box)) r --from "conduit-extract \(Self.options(box)) r | jq -c 'if .id == 9000 then (\\"bad\\" | halt_error(5)) else . end'" -- conduit-load \(Self.options(box)) r 2> first.log
            \(Self.rerun(box))
            """, environment: environment)
        #expect(result.status == 0, "\(result.stdout) \((try? box.read("first.log")) ?? "")")
        let (rows, distinct, state) = try Self.outcome(box, environment)
        #expect(distinct == 14_000 && rows > 14_000, "\(rows) rows, \(distinct) distinct")
        #expect(state == "2024-01-01T00:33:20Z")
    }

    /// Under --from, an extract that fails (backend terminated) leaves a sound prefix: the complete
    /// groups commit and conduit-state exits with the extract's status.
    @Test func failingExtractUnderFromCommitsThePrefix() throws {
        let (box, environment) = try Self.prepare("from_extract", shape: .bigGroup)
        let result = try box.run(
            """
            conduit-state commit \(Self.options(box)) r --from "conduit-extract \(Self.options(box)) r" -- \(Self.lateLoader(box)) 2> first.log &
            run=$!
            \(Self.terminateExtractBackend)
            wait $run
            echo $? > first.status
            """, environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        let log = try box.read("first.log")
        #expect(try box.read("first.status") == "69\n", "\(log)")
        #expect(
            log.contains("the stream ended early (stage 1 (conduit-extract \(Self.options(box)) r) exited with status 69)"),
            "\(log)")
        try Self.expectSoundPrefix(box, environment, shape: .bigGroup, "failed extract under --from")
        // The extract wrote the 5,000 rows of small groups and none of the big one; the last small
        // group (3 rows) was not followed by a greater value, so it is read again.
        #expect(try Self.outcome(box, environment).rows == 4997, "\(log)")
        #expect(try box.run(Self.rerun(box), environment: environment).status == 0, "\((try? box.read("rerun.log")) ?? "")")
        try Self.expectDrained(box, environment, shape: .bigGroup, "failed extract under --from, then a rerun")
    }

    /// Records left by an earlier run, or made by a second pipeline started by mistake, are
    /// never taken for this run's: records name the run they belong to, and an end confirms only
    /// the bytes its extract wrote.
    @Test func foreignConfirmationsAreNotTaken() throws {
        let box = try Sandbox()
        try box.writeStandardConfig()
        // Start and end records of another run id, for exactly these bytes, as an earlier run leaves them.
        let stale =
            #"{"run":"0123456789abcdef","extract":"1","pid":1,"event":"start","state":"\#(box.folder)/.conduit_state.json","started_from":null,"origin":"first run"}"#
            + "\n"
            + #"{"run":"0123456789abcdef","extract":"1","pid":1,"event":"end","rows":2,"bytes":18,"hash":"2b1a0f1d0c5c1e3e","last_value":2}"#
            + "\n"
        try box.write(stale, to: ".conduit_state.json.users.run.ends")
        try box.write("{\"id\":1}\n{\"id\":2}\n", to: "in.ndjson")
        let refused = try box.run("conduit-state commit users -- sh -c 'cat > /dev/null' < in.ndjson")
        #expect(refused.status == 65, "\(refused.stderr)")
        #expect(
            refused.stderr.contains("users: line 1: no conduit-extract of users reading this state file"), "\(refused.stderr)")
        #expect(!box.exists(".conduit_state.json"))
        // Two extracts record to the same run: the one whose bytes arrived confirms the end.
        let doubled = try box.run(
            """
            sqlite3 app.db 'CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (2, "b"), (3, "c")'
            conduit-state set users 1
            mkfifo feed
            conduit-state commit users -- sh -c 'cat > /dev/null' < feed 2> commit.log &
            exec 3> feed
            conduit-extract users | cat >&3
            conduit-extract users | sed 's/c/C/' > /dev/null
            exec 3>&-
            wait
            cat commit.log
            """)
        #expect(
            Messages.stable(doubled.stdout) == "conduit-state: users: 2 rows, 40 bytes in \(Messages.timing); state 1 → 3\n",
            "\(doubled.stdout) \(doubled.stderr)")
        #expect(try box.read(".conduit_state.json") == "{\n  \"users\": 3\n}\n")
    }
}
