import Foundation
import TestSupport
import Testing

/// The safe horizon against the writers people run (SPEC 3, "Rows that commit late"; issue 19):
/// transactions that draw many ids, `COPY`, two-phase commit, inheritance children, a trigger
/// that stalls, sessions the activity view cannot time, and queries over several tables — each
/// with real concurrent psql sessions on a database of its own, and each with a
/// `safe_horizon: false` twin that loses the row the horizon keeps.
@Suite(.serialized) struct SafeHorizonWritersTests {
    typealias Horizon = SafeHorizonTests

    /// Runs the resource and its `_unsafe` twin once each.
    static func runBoth(_ resource: String, in box: Sandbox, _ environment: [String: String]) throws -> Sandbox.Result {
        let result = try Horizon.run(resource, in: box, environment)
        try Horizon.run(resource + "_unsafe", in: box, environment)
        return result
    }

    /// The resource over `table` and its twin without the horizon.
    static func twins(_ name: String, column: String, from table: String, query: String? = nil) -> String {
        let select = query ?? "SELECT * FROM \(table) WHERE \(column) > :last_value ORDER BY \(column)"
        return [name, name + "_unsafe"].map { resource in
            [
                "  - name: \(resource)", "    source: app", "    destination: lake", "    table: \(resource)_out",
                "    incremental_column: \(column)", "    query: \"\(select)\"",
            ] + (resource.hasSuffix("_unsafe") ? ["    safe_horizon: false"] : [])
        }.flatMap { $0 }.joined(separator: "\n")
    }

    /// The values of `column` that `resource` loaded, one a line.
    static func loaded(_ resource: String, column: String = "id", in box: Sandbox) throws -> String {
        try box.run("sqlite3 lake.db 'SELECT \(column) FROM \(resource)_out ORDER BY \(column)' 2>/dev/null || true").stdout
    }

    /// A transaction that draws one id, waits while another draws one and commits after its
    /// second: A takes 4, B takes 5 and stays open, A takes 6 (one INSERT, `INSERT … SELECT` of
    /// two rows, or a `COPY` of 200) and commits. The old rule saw B as the oldest writer and
    /// passed 5; the sequence rule holds everything above 3 until B ends.
    @Test(arguments: [
        "INSERT INTO t (name) VALUES ('a2');", "INSERT INTO t (name) SELECT 'a' || g FROM generate_series(2, 3) g;", "COPY",
    ])
    func transactionDrawingManyIDs(second: String) throws {
        let name = second == "COPY" ? "copy" : second.contains("SELECT") ? "insel" : "multi"
        let (box, environment) = try Horizon.prepare(
            "w_\(name)",
            setup: "CREATE TABLE t (id serial PRIMARY KEY, name text); INSERT INTO t (name) VALUES ('x'), ('y'), ('z');",
            resources: Self.twins("t", column: "id", from: "t"))
        _ = try Self.runBoth("t", in: box, environment)
        let copy = (1...200).map { "c\($0)" }.joined(separator: "\n")
        try Horizon.startSession(
            "a",
            """
            BEGIN;
            INSERT INTO t (name) VALUES ('a1');
            MARK a.ready
            GATE a.go
            \(second == "COPY" ? "COPY t (name) FROM STDIN;\n\(copy)\n\\." : second)
            COMMIT;
            MARK a.done
            """, in: box, environment)
        try Horizon.startSession(
            "b",
            """
            BEGIN;
            INSERT INTO t (name) VALUES ('b');
            MARK b.ready
            GATE b.go
            COMMIT;
            MARK b.done
            """, in: box, environment)
        try box.write("", to: "a.go")
        try Horizon.wait(for: "a.done", in: box)
        let bPID = try Horizon.pid("b", in: box)
        let held = try Self.runBoth("t", in: box, environment)
        #expect(held.stderr.contains("held back"), "\(held.stderr)")
        #expect(held.stderr.contains("the transaction of pid \(bPID)"), "\(held.stderr)")
        #expect(try Self.loaded("t", in: box) == "1\n2\n3\n")
        #expect(!(try Self.loaded("t_unsafe", in: box)).split(separator: "\n").contains("5"))
        try box.write("", to: "b.go")
        try Horizon.wait(for: "b.done", in: box)
        _ = try Self.runBoth("t", in: box, environment)
        let all = try PostgresFixture.query("SELECT id FROM t ORDER BY id", in: box, environment)
        #expect(try Self.loaded("t", in: box) == all)
        #expect(try Self.loaded("t_unsafe", in: box) != all, "without the horizon id 5 is lost")
    }

    /// A prepared transaction has no backend: the old rules did not see it. Its id is held by the
    /// sequence lock it keeps; its `now()` stamp by the lock it holds on the table (its start is
    /// not exposed), with a warning naming its gid. `COMMIT PREPARED` lets both load.
    @Test func preparedTransaction() throws {
        let (box, environment) = try Horizon.prepare(
            "w_prepared",
            setup: """
                CREATE TABLE p (id serial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now());
                INSERT INTO p DEFAULT VALUES;
                """,
            resources: [Self.twins("p_id", column: "id", from: "p"), Self.twins("p_ts", column: "created_at", from: "p")]
                .joined(separator: "\n"))
        try box.run("sleep 1.1")
        for resource in ["p_id", "p_ts"] { _ = try Self.runBoth(resource, in: box, environment) }
        try PostgresFixture.execute(
            "BEGIN; INSERT INTO p DEFAULT VALUES; PREPARE TRANSACTION 'conduit_w_prepared';", in: box, environment)
        try PostgresFixture.execute("INSERT INTO p DEFAULT VALUES;", in: box, environment)
        try box.run("sleep 1.1")
        let byID = try Self.runBoth("p_id", in: box, environment)
        #expect(
            byID.stderr.contains("held back 1 row from 3 until the prepared transaction \"conduit_w_prepared\""), "\(byID.stderr)"
        )
        let byTime = try Self.runBoth("p_ts", in: box, environment)
        #expect(byTime.stderr.contains("the prepared transaction \"conduit_w_prepared\" (owner "), "\(byTime.stderr)")
        #expect(byTime.stderr.contains("held back 1 row from \""), "\(byTime.stderr)")
        try PostgresFixture.execute("COMMIT PREPARED 'conduit_w_prepared';", in: box, environment)
        for resource in ["p_id", "p_ts"] {
            _ = try Self.runBoth(resource, in: box, environment)
            #expect(try Self.loaded(resource, in: box) == "1\n2\n3\n", "\(resource)")
            #expect(
                try Self.loaded(resource + "_unsafe", in: box) == "1\n3\n",
                "\(resource): the prepared row is lost without the horizon")
        }
    }

    /// A child table (`INHERITS`, the scheme older partitioning and TimescaleDB use) shares the
    /// parent's sequence: a row inserted into it by an open transaction holds the parent's later
    /// rows, by id and by `created_at`.
    @Test func inheritanceChild() throws {
        let (box, environment) = try Horizon.prepare(
            "w_inherits",
            setup: """
                CREATE TABLE t (id serial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now());
                CREATE TABLE t_2026 () INHERITS (t);
                CREATE TABLE t_2027 () INHERITS (t_2026);
                INSERT INTO t DEFAULT VALUES;
                """,
            resources: [Self.twins("t_id", column: "id", from: "t"), Self.twins("t_ts", column: "created_at", from: "t")]
                .joined(separator: "\n"))
        try box.run("sleep 1.1")
        for resource in ["t_id", "t_ts"] { _ = try Self.runBoth(resource, in: box, environment) }
        try Horizon.startSession(
            "child",
            """
            BEGIN;
            INSERT INTO t_2027 DEFAULT VALUES;
            MARK child.ready
            GATE child.go
            COMMIT;
            MARK child.done
            """, in: box, environment)
        try PostgresFixture.execute("INSERT INTO t DEFAULT VALUES;", in: box, environment)
        try box.run("sleep 1.1")
        for resource in ["t_id", "t_ts"] {
            let held = try Self.runBoth(resource, in: box, environment)
            #expect(held.stderr.contains("held back 1 row"), "\(resource): \(held.stderr)")
        }
        try box.write("", to: "child.go")
        try Horizon.wait(for: "child.done", in: box)
        try box.run("sleep 1.1")
        for resource in ["t_id", "t_ts"] {
            _ = try Self.runBoth(resource, in: box, environment)
            #expect(try Self.loaded(resource, in: box) == "1\n2\n3\n", "\(resource)")
            #expect(
                try Self.loaded(resource + "_unsafe", in: box) == "1\n3\n",
                "\(resource): the child's row is lost without the horizon")
        }
    }

    /// A `BEFORE INSERT` trigger that waits after the id is drawn and before the row exists: the
    /// writer holds the sequence lock from the draw on, with no xid yet.
    @Test func stallingTrigger() throws {
        let (box, environment) = try Horizon.prepare(
            "w_trigger",
            setup: """
                CREATE TABLE t (id serial PRIMARY KEY, name text);
                CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF NEW.name = 'slow' THEN PERFORM pg_sleep(3); END IF; RETURN NEW; END $$;
                CREATE TRIGGER slow BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION slow();
                INSERT INTO t (name) VALUES ('a');
                """,
            resources: Self.twins("t", column: "id", from: "t"))
        _ = try Self.runBoth("t", in: box, environment)
        try Horizon.startSession(
            "slow",
            """
            MARK slow.ready
            INSERT INTO t (name) VALUES ('slow');
            MARK slow.done
            """, in: box, environment)
        try box.run("sleep 0.5")
        try PostgresFixture.execute("INSERT INTO t (name) VALUES ('fast');", in: box, environment)
        let held = try Self.runBoth("t", in: box, environment)
        #expect(held.stderr.contains("held back 1 row from 3"), "\(held.stderr)")
        try Horizon.wait(for: "slow.done", in: box)
        _ = try Self.runBoth("t", in: box, environment)
        #expect(try Self.loaded("t", in: box) == "1\n2\n3\n")
        #expect(try Self.loaded("t_unsafe", in: box) == "1\n3\n", "the stalled row is lost without the horizon")
    }

    /// Sessions the time rule cannot time by a name or a view: one with `track_activities` off
    /// (its start unknown: held until it ends, with a warning) and one that calls itself
    /// `conduit-extract` (counted like any other).
    @Test(arguments: ["SET track_activities = off;", "SET application_name = 'conduit-extract';"])
    func sessionsTheViewCannotTime(setting: String) throws {
        let name = setting.contains("track") ? "untracked" : "named"
        let (box, environment) = try Horizon.prepare(
            "w_\(name)",
            setup:
                "CREATE TABLE e (id serial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now()); INSERT INTO e DEFAULT VALUES;",
            resources: Self.twins("e", column: "created_at", from: "e"))
        try box.run("sleep 1.1")
        _ = try Self.runBoth("e", in: box, environment)
        try Horizon.startSession(
            "quiet",
            """
            \(setting)
            BEGIN;
            SELECT now();
            MARK quiet.ready
            GATE quiet.go
            INSERT INTO e DEFAULT VALUES;
            COMMIT;
            MARK quiet.done
            """, in: box, environment)
        try PostgresFixture.execute("INSERT INTO e DEFAULT VALUES;", in: box, environment)
        try box.run("sleep 1.1")
        let held = try Self.runBoth("e", in: box, environment)
        #expect(held.stderr.contains("held back 1 row from \""), "\(held.stderr)")
        if name == "untracked" {
            #expect(held.stderr.contains("untracked: track_activities is off"), "\(held.stderr)")
        }
        try box.write("", to: "quiet.go")
        try Horizon.wait(for: "quiet.done", in: box)
        try box.run("sleep 1.1")
        _ = try Self.runBoth("e", in: box, environment)
        #expect(try Self.loaded("e", in: box) == "1\n2\n3\n")
        #expect(try Self.loaded("e_unsafe", in: box) == "1\n2\n", "the quiet session's row is lost without the horizon")
    }

    /// `orders JOIN customers` with the cursor on `orders.id`: an order whose customer row is
    /// still being written is held while that writer is in flight, and every run warns that a
    /// customer written by a transaction that starts after the run is not covered.
    @Test func queryOverSeveralTables() throws {
        let (box, environment) = try Horizon.prepare(
            "w_join",
            setup: """
                CREATE TABLE customers (id int PRIMARY KEY, name text);
                CREATE TABLE orders (id serial PRIMARY KEY, customer int NOT NULL);
                INSERT INTO customers VALUES (1, 'a'); INSERT INTO orders (customer) VALUES (1);
                """,
            resources: Self.twins(
                "o", column: "id", from: "orders",
                query:
                    "SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer WHERE o.id > :last_value ORDER BY o.id"
            ))
        _ = try Self.runBoth("o", in: box, environment)
        try Horizon.startSession(
            "cust",
            """
            BEGIN;
            INSERT INTO customers VALUES (2, 'b');
            MARK cust.ready
            GATE cust.go
            COMMIT;
            MARK cust.done
            """, in: box, environment)
        try PostgresFixture.execute(
            "INSERT INTO orders (customer) VALUES (2); INSERT INTO orders (customer) VALUES (1);", in: box, environment)
        let held = try Self.runBoth("o", in: box, environment)
        #expect(held.stderr.contains("warning: o: the query reads customers besides the table of id"), "\(held.stderr)")
        #expect(held.stderr.contains("held back 1 row from 3"), "\(held.stderr)")
        try box.write("", to: "cust.go")
        try Horizon.wait(for: "cust.done", in: box)
        _ = try Self.runBoth("o", in: box, environment)
        #expect(try Self.loaded("o", in: box) == "1\n2\n3\n")
        #expect(try Self.loaded("o_unsafe", in: box) == "1\n3\n", "order 2 is lost without the horizon")
    }

    /// pgbench writers for about ten seconds — one INSERT a transaction, two with a pause
    /// between, and a COPY writer beside single-row ones — while the pipeline runs every few
    /// hundred milliseconds on an id and a `created_at` cursor: after a final run the
    /// destination holds exactly the source's rows, each once.
    @Test(arguments: ["one", "two", "copy"])
    func pgbenchStress(workload: String) throws {
        let (box, environment) = try Horizon.prepare(
            "w_bench_\(workload)",
            setup: "CREATE TABLE ev (id serial PRIMARY KEY, w int, created_at timestamptz NOT NULL DEFAULT now());",
            resources: [
                "  - name: ev_id\n    source: app\n    destination: lake\n    table: ev_id_out\n    incremental_column: id\n    query: \"SELECT * FROM ev WHERE id > :last_value ORDER BY id\"",
                "  - name: ev_ts\n    source: app\n    destination: lake\n    table: ev_ts_out\n    incremental_column: created_at\n    query: \"SELECT * FROM ev WHERE created_at > :last_value ORDER BY created_at\"",
            ].joined(separator: "\n"))
        let scripts: [String]
        switch workload {
        case "one": scripts = ["INSERT INTO ev (w) VALUES (1);"]
        case "two":
            scripts = [
                "BEGIN;\nINSERT INTO ev (w) VALUES (2);\nSELECT pg_sleep(random() * 0.05);\nINSERT INTO ev (w) VALUES (2);\nCOMMIT;"
            ]
        default:
            scripts = [
                "COPY ev (w) FROM PROGRAM 'seq 1 50';",
                "BEGIN;\nINSERT INTO ev (w) VALUES (3);\nSELECT pg_sleep(random() * 0.05);\nCOMMIT;",
            ]
        }
        for (index, script) in scripts.enumerated() { try box.write(script + "\n", to: "bench\(index).sql") }
        // A COPY of 50 rows for every ten single-row writers.
        let files = scripts.indices.map { "-f bench\($0).sql@\($0 == 0 ? 1 : 10)" }.joined(separator: " ")
        let pgbench =
            (try? box.run("ls /usr/lib/postgresql/*/bin/pgbench | sort -V | tail -n 1").stdout.trimmingCharacters(
                in: .whitespacesAndNewlines)) ?? "pgbench"
        let result = try box.run(
            """
            export PGPASSWORD="$CONDUIT_TEST_PG_PASSWORD"
            \(pgbench) -n -h "$CONDUIT_TEST_PG_HOST" -p "$CONDUIT_TEST_PG_PORT" -U "$CONDUIT_TEST_PG_USER" -c 6 -j 2 -R 250 -T 10 \(files) "$PGDATABASE" > bench.log 2>&1 &
            bench=$!
            runs=0
            while kill -0 $bench 2>/dev/null; do
              for r in ev_id ev_ts; do
                conduit-extract $r 2>>extract.log | conduit-state commit $r -- conduit-load $r 2>>run.log || exit 1
              done
              runs=$((runs + 1))
              sleep 0.2
            done
            wait $bench || { cat bench.log; exit 1; }
            sleep 1.1
            for r in ev_id ev_ts; do conduit-extract $r 2>>extract.log | conduit-state commit $r -- conduit-load $r 2>>run.log || exit 1; done
            echo $runs
            """, environment: environment.merging(["PGDATABASE": environment["CONDUIT_TEST_PG_DATABASE"] ?? "postgres"]) { $1 })
        let runLog = (try? box.read("run.log")) ?? ""
        #expect(result.status == 0, "\(result.stdout) \(result.stderr) \(runLog)")
        let total = try PostgresFixture.count("ev", in: box, environment).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect((Int(total) ?? 0) > 500, "pgbench wrote only \(total) rows: \((try? box.read("bench.log")) ?? "")")
        for table in ["ev_id", "ev_ts"] {
            let counts = try box.run("sqlite3 lake.db 'SELECT count(*), count(DISTINCT id) FROM \(table)_out'").stdout
            #expect(counts == "\(total)|\(total)\n", "\(workload) \(table): \(counts) of \(total) after \(result.stdout) runs")
        }
    }
}
