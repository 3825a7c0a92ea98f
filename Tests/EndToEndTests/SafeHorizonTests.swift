import Foundation
import TestSupport
import Testing

/// Rows that commit late (SPEC 3, docs/INCREMENTAL.md): with real concurrent PostgreSQL sessions
/// — a psql in the background holding a transaction open while the pipeline runs — the safe
/// horizon never lets the watermark pass a row that can still appear, and `lookback` loads what
/// no horizon can see. Each test has a database of its own, so other tests' sessions are not
/// its in-flight transactions; a `safe_horizon: false` twin shows the hole each case closes.
@Suite(.serialized) struct SafeHorizonTests {
    /// A sandbox on a fresh database `hz_<name>` with `resources` (YAML list items) over the
    /// source `app` (the test role), `app_reader` (role `hz_reader`, password `reader`) and the
    /// destinations `lake` (SQLite) and `warehouse` (the same PostgreSQL database).
    static func prepare(_ name: String, setup: String, resources: String) throws -> (Sandbox, [String: String]) {
        let box = try Sandbox()
        let environment = try PostgresFixture.freshDatabase("hz_\(name)", in: box, try PostgresFixture.environment())
        try box.write(
            """
            sources:
            \(PostgresFixture.entry("app"))
              - name: app_reader
                type: postgresql
                host: ${CONDUIT_TEST_PG_HOST}
                port: ${CONDUIT_TEST_PG_PORT}
                user: hz_reader
                password: reader
                database: ${CONDUIT_TEST_PG_DATABASE}
            destinations:
              - name: lake
                type: sqlite
                path: lake.db
            \(PostgresFixture.entry("warehouse"))
            resources:
            \(resources)
            """, to: "ingest.yml")
        try PostgresFixture.execute(setup, in: box, environment)
        return (box, environment)
    }

    /// A resource item: `query` over `table`, into `destination` (table `<name>_out`), with `extra` lines.
    static func resource(
        _ name: String, column: String, from table: String, source: String = "app", into destination: String = "lake",
        _ extra: [String] = []
    ) -> String {
        ([
            "  - name: \(name)", "    source: \(source)", "    destination: \(destination)", "    table: \(name)_out",
            "    incremental_column: \(column)",
            "    query: \"SELECT * FROM \(table) WHERE \(column) > :last_value ORDER BY \(column)\"",
        ] + extra.map { "    " + $0 }).joined(separator: "\n")
    }

    /// Starts psql in the background on `script`, where `GATE name` lines wait until the test
    /// touches the file `name` (30 s at most) and `MARK name` lines touch it; the session's pid
    /// is in `<session>.pid`. Returns once the session reached `ready`.
    static func startSession(_ session: String, _ script: String, in box: Sandbox, _ environment: [String: String]) throws {
        let lines = script.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            if line.hasPrefix("GATE ") {
                let file = line.dropFirst(5)
                return "\\! for i in $(seq 600); do [ -e \(file) ] && break; sleep 0.05; done"
            }
            if line.hasPrefix("MARK ") { return "\\! touch \(line.dropFirst(5))" }
            return String(line)
        }
        try box.write(
            (["\\set ON_ERROR_STOP 1", "\\o \(session).pid", "SELECT pg_backend_pid();", "\\o"] + lines).joined(separator: "\n")
                + "\n",
            to: "\(session).sql")
        let started = try box.run(
            // Without the descriptors above 2 (Foundation's Process waits for a socket it passes
            // on to close, which a session left running would hold until it ends).
            """
            ( for fd in /proc/$BASHPID/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done 2>/dev/null
              exec psql -qXAt -f \(session).sql < /dev/null > \(session).log 2>&1 ) &

            """ + waitScript("\(session).ready"),
            environment: environment)
        let log = (try? box.read("\(session).log")) ?? ""
        try #require(started.status == 0, "the session never became ready: \(log)")
    }

    /// Waits (30 s at most) for `file`, failing when it does not appear.
    static func waitScript(_ file: String) -> String {
        "for i in $(seq 600); do [ -e \(file) ] && exit 0; sleep 0.05; done; echo \"no \(file)\" >&2; exit 1"
    }

    static func wait(for file: String, in box: Sandbox) throws {
        let result = try box.run(waitScript(file))
        try #require(result.status == 0, "\(result.stderr)")
    }

    /// One plain-pipe run of `resource`.
    @discardableResult
    static func run(_ resource: String, in box: Sandbox, _ environment: [String: String]) throws -> Sandbox.Result {
        let result = try box.run(
            "conduit-extract \(resource) | conduit-state commit \(resource) -- conduit-load \(resource)", environment: environment
        )
        #expect(result.status == 0, "\(result.stderr)")
        return result
    }

    /// The `id`s that resource `resource` loaded into SQLite (table `<resource>_out`), in order,
    /// one line each ("" when the table is missing).
    static func ids(_ resource: String, in box: Sandbox) throws -> String {
        try box.run("sqlite3 lake.db 'SELECT id FROM \(resource)_out ORDER BY id' 2>/dev/null || true").stdout
    }

    static func pid(_ session: String, in box: Sandbox) throws -> String {
        try box.read("\(session).pid").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: - Sequences

    /// The user's own example (`WHERE id > :last_value ORDER BY id`) with a serial id and an
    /// identity column: a transaction holds id 4 open while id 5 commits. The run holds 5 back
    /// and says so (summary, `conduit-state show`, `--dry-run`); after the slow one commits,
    /// both load, each once. Without the horizon, id 4 is lost for good.
    @Test(arguments: ["serial", "bigint GENERATED ALWAYS AS IDENTITY"])
    func sequenceCursor(idType: String) throws {
        let name = idType == "serial" ? "serial" : "identity"
        let (box, environment) = try Self.prepare(
            name,
            setup: """
                CREATE TABLE users (id \(idType) PRIMARY KEY, name text);
                INSERT INTO users (name) VALUES ('a'), ('b'), ('c');
                """,
            resources: [
                Self.resource("users", column: "id", from: "users"),
                Self.resource("users_unsafe", column: "id", from: "users", ["safe_horizon: false"]),
                Self.resource("users_loose", column: "id", from: "users", ["ordered: false"]),
            ].joined(separator: "\n"))
        try Self.run("users", in: box, environment)
        try Self.run("users_unsafe", in: box, environment)
        try Self.run("users_loose", in: box, environment)
        #expect(try Self.ids("users", in: box) == "1\n2\n3\n")

        try Self.startSession(
            "slow",
            """
            BEGIN;
            INSERT INTO users (name) VALUES ('slow');
            MARK slow.ready
            GATE slow.go
            COMMIT;
            MARK slow.done
            """, in: box, environment)
        try PostgresFixture.execute("INSERT INTO users (name) VALUES ('fast');", in: box, environment)
        let pid = try Self.pid("slow", in: box)

        let held = try Self.run("users", in: box, environment)
        #expect(held.stderr.contains("conduit-extract: users: 0 rows, 0 bytes in "), "\(held.stderr)")
        #expect(held.stderr.contains("; held back 1 row from 5 until the transaction of pid \(pid) ("), "\(held.stderr)")
        #expect(try Self.ids("users", in: box) == "1\n2\n3\n")
        #expect(try box.run("conduit-state get users").stdout == "3\n")
        let show = try box.run("conduit-state show users")
        #expect(show.stderr.contains("users: the last extract ("), "\(show.stderr)")
        #expect(show.stderr.contains(") held back 1 row from 5: the transaction of pid \(pid) ("), "\(show.stderr)")
        let dryRun = try box.run("conduit-extract --dry-run users")
        #expect(dryRun.stdout.contains("-- safe horizon: on ("), "\(dryRun.stdout)")
        #expect(dryRun.stdout.contains("held back 1 row from 5: the transaction of pid \(pid)"), "\(dryRun.stdout)")
        // Unordered, each row is judged on its own: the same row waits.
        let loose = try Self.run("users_loose", in: box, environment)
        #expect(loose.stderr.contains("; held back 1 row from 5 until the transaction of pid \(pid) ("), "\(loose.stderr)")
        #expect(try Self.ids("users_loose", in: box) == "1\n2\n3\n")
        // The hole: without the horizon, 5 loads and the watermark passes 4.
        try Self.run("users_unsafe", in: box, environment)
        #expect(try Self.ids("users_unsafe", in: box) == "1\n2\n3\n5\n")

        try box.write("", to: "slow.go")
        try Self.wait(for: "slow.done", in: box)
        let after = try Self.run("users", in: box, environment)
        #expect(!after.stderr.contains("held back"), "\(after.stderr)")
        #expect(try Self.ids("users", in: box) == "1\n2\n3\n4\n5\n")
        #expect(try box.run("conduit-state get users").stdout == "5\n")
        try Self.run("users_loose", in: box, environment)
        #expect(try Self.ids("users_loose", in: box) == "1\n2\n3\n4\n5\n")
        try Self.run("users_unsafe", in: box, environment)
        #expect(try Self.ids("users_unsafe", in: box) == "1\n2\n3\n5\n", "id 4 is lost without the horizon")
    }

    // MARK: - Timestamps

    /// `created_at DEFAULT now()`: a transaction that begins before a faster one and writes
    /// after it stamps an earlier time. The faster row is held until the slow one commits, then
    /// both load; without the horizon the slow row is lost.
    @Test func nowCursor() throws {
        let (box, environment) = try Self.prepare(
            "now",
            setup: """
                CREATE TABLE events (id serial PRIMARY KEY, name text, created_at timestamptz NOT NULL DEFAULT now());
                INSERT INTO events (name) VALUES ('a'), ('b'), ('c');
                """,
            resources: [
                Self.resource("events", column: "created_at", from: "events"),
                Self.resource("events_unsafe", column: "created_at", from: "events", ["safe_horizon: false"]),
            ].joined(separator: "\n"))
        // Rows stamped within a second of a run's start wait for the next run (the margin).
        try box.run("sleep 1.1")
        try Self.run("events", in: box, environment)
        try Self.run("events_unsafe", in: box, environment)
        #expect(try Self.ids("events", in: box) == "1\n2\n3\n")

        try Self.startSession(
            "slow",
            """
            BEGIN;
            SELECT now();
            MARK slow.ready
            GATE slow.go
            INSERT INTO events (name) VALUES ('slow');
            MARK slow.inserted
            GATE slow.commit
            COMMIT;
            MARK slow.done
            """, in: box, environment)
        try PostgresFixture.execute("INSERT INTO events (name) VALUES ('fast');", in: box, environment)
        try box.run("sleep 1.1")
        let pid = try Self.pid("slow", in: box)

        let held = try Self.run("events", in: box, environment)
        #expect(held.stderr.contains("; held back 1 row from \""), "\(held.stderr)")
        #expect(held.stderr.contains("until the transaction of pid \(pid) (role "), "\(held.stderr)")
        try Self.run("events_unsafe", in: box, environment)
        #expect(try Self.ids("events_unsafe", in: box) == "1\n2\n3\n4\n")

        // It writes now, stamped with its start: still in flight, still holding.
        try box.write("", to: "slow.go")
        try Self.wait(for: "slow.inserted", in: box)
        let stillHeld = try Self.run("events", in: box, environment)
        #expect(stillHeld.stderr.contains("; held back 1 row from \""), "\(stillHeld.stderr)")

        try box.write("", to: "slow.commit")
        try Self.wait(for: "slow.done", in: box)
        try box.run("sleep 1.1")
        try Self.run("events", in: box, environment)
        #expect(try Self.ids("events", in: box) == "1\n2\n3\n4\n5\n")
        try Self.run("events_unsafe", in: box, environment)
        #expect(try Self.ids("events_unsafe", in: box) == "1\n2\n3\n4\n", "the slow row (5) is lost without the horizon")
    }

    // MARK: - Many writers

    /// Eight writers, each committing twelve single-row transactions after a random delay,
    /// while both cursors (serial id, `created_at DEFAULT now()`) run over and over: every row
    /// arrives exactly once.
    @Test func manyConcurrentWriters() throws {
        let (box, environment) = try Self.prepare(
            "writers",
            setup: "CREATE TABLE ev (id serial PRIMARY KEY, w int NOT NULL, created_at timestamptz NOT NULL DEFAULT now());",
            resources: [
                Self.resource("ev_id", column: "id", from: "ev"),
                Self.resource("ev_ts", column: "created_at", from: "ev"),
            ].joined(separator: "\n"))
        let writers = 8
        let transactions = 12
        var script = ""
        for writer in 1...writers {
            let sql = (1...transactions).map { _ in
                "BEGIN; INSERT INTO ev (w) VALUES (\(writer)); SELECT pg_sleep(random() * 0.4); COMMIT;"
            }.joined(separator: "\n")
            try box.write(sql + "\n", to: "writer\(writer).sql")
            script +=
                "(psql -qXAt -v ON_ERROR_STOP=1 -f writer\(writer).sql > writer\(writer).log 2>&1; touch writer\(writer).done) &\n"
        }
        script += """
            runs=0
            until [ $(ls writer*.done 2>/dev/null | wc -l) -eq \(writers) ]; do
              for r in ev_id ev_ts; do
                conduit-extract $r 2>>extract.log | conduit-state commit $r -- conduit-load $r 2>>run.log || exit 1
              done
              runs=$((runs + 1))
            done
            wait
            sleep 1.1
            for r in ev_id ev_ts; do conduit-extract $r 2>>extract.log | conduit-state commit $r -- conduit-load $r 2>>run.log || exit 1; done
            echo $runs
            """
        let result = try box.run(script, environment: environment)
        let runLog = (try? box.read("run.log")) ?? ""
        #expect(result.status == 0, "\(result.stderr) \(runLog)")
        let total = writers * transactions
        #expect(try PostgresFixture.count("ev", in: box, environment) == "\(total)\n")
        for table in ["ev_id", "ev_ts"] {
            let counts = try box.run("sqlite3 lake.db 'SELECT count(*), count(DISTINCT id) FROM \(table)_out'").stdout
            let extractLog = (try? box.read("extract.log")) ?? ""
            #expect(counts == "\(total)|\(total)\n", "\(table): \(counts); runs: \(result.stdout)\n\(extractLog)\n\(runLog)")
        }
        // The writers kept transactions open while runs went by: the horizon held rows back.
        #expect(try box.read("extract.log").contains("held back"))
    }

    // MARK: - Long-open transaction

    /// An idle transaction holding a row open delays the rows after it, never loses them, and
    /// once it has held them longer than `horizon_warning_after` a warning names it.
    @Test func longOpenIdleTransaction() throws {
        let (box, environment) = try Self.prepare(
            "idle",
            setup: "CREATE TABLE users (id serial PRIMARY KEY, name text); INSERT INTO users (name) VALUES ('a');",
            resources: Self.resource("users", column: "id", from: "users", ["horizon_warning_after: 1 second"]))
        try Self.run("users", in: box, environment)
        try Self.startSession(
            "idle",
            """
            BEGIN;
            INSERT INTO users (name) VALUES ('idle');
            MARK idle.ready
            GATE idle.go
            COMMIT;
            MARK idle.done
            """, in: box, environment)
        try PostgresFixture.execute("INSERT INTO users (name) VALUES ('b'), ('c');", in: box, environment)
        let pid = try Self.pid("idle", in: box)
        let young = try Self.run("users", in: box, environment)
        #expect(young.stderr.contains("held back 2 rows from 3"), "\(young.stderr)")
        try box.run("sleep 1.2")
        let old = try Self.run("users", in: box, environment)
        #expect(old.stderr.contains("conduit-extract: warning: users: the transaction of pid \(pid) ("), "\(old.stderr)")
        #expect(old.stderr.contains("idle in transaction), open "), "\(old.stderr)")
        #expect(
            old.stderr.contains(
                "has held rows back for longer than horizon_warning_after (1 second); they are delayed, not lost, and load in the first run after it ends"
            ),
            "\(old.stderr)")
        #expect(try Self.ids("users", in: box) == "1\n")
        try box.write("", to: "idle.go")
        try Self.wait(for: "idle.done", in: box)
        try Self.run("users", in: box, environment)
        #expect(try Self.ids("users", in: box) == "1\n2\n3\n4\n")
    }

    // MARK: - Lookback

    /// An id the application draws long before it inserts (no transaction open meanwhile, so no
    /// horizon can see it): `lookback` reads it on a later run and loads only it, into SQLite and
    /// PostgreSQL (append, by primary key); without lookback it is lost.
    @Test(arguments: ["lake", "warehouse"])
    func lookbackLoadsAnEarlyAllocatedID(destination: String) throws {
        let (box, environment) = try Self.prepare(
            "lookback_\(destination)",
            setup: """
                CREATE SEQUENCE items_seq;
                CREATE TABLE items (id bigint PRIMARY KEY DEFAULT nextval('items_seq'), name text);
                INSERT INTO items (name) VALUES ('a'), ('b');
                """,
            resources: [
                Self.resource("items", column: "id", from: "items", into: destination, ["primary_key: id", "lookback: 5"]),
                Self.resource("items_plain", column: "id", from: "items", into: destination),
            ].joined(separator: "\n"))
        try Self.run("items", in: box, environment)
        try Self.run("items_plain", in: box, environment)
        try Self.startSession(
            "app",
            """
            SELECT nextval('items_seq') AS early \\gset
            MARK app.ready
            GATE app.go
            INSERT INTO items (id, name) VALUES (:early, 'late');
            MARK app.done
            """, in: box, environment)
        try PostgresFixture.execute("INSERT INTO items (name) VALUES ('fast');", in: box, environment)
        try Self.run("items", in: box, environment)
        try Self.run("items_plain", in: box, environment)
        try box.write("", to: "app.go")
        try Self.wait(for: "app.done", in: box)

        let dryRun = try box.run("conduit-extract --dry-run items")
        #expect(
            dryRun.stdout.contains("-- $1 = -1   from the state file .conduit_state.json (4, lookback 5 below it)"),
            "\(dryRun.stdout)")
        try Self.run("items", in: box, environment)
        try Self.run("items_plain", in: box, environment)
        func ids(_ table: String) throws -> String {
            destination == "lake"
                ? try Self.ids(table, in: box)
                : try PostgresFixture.query("SELECT id FROM \(table)_out ORDER BY id", in: box, environment)
        }
        #expect(try ids("items") == "1\n2\n3\n4\n")
        #expect(try ids("items_plain") == "1\n2\n4\n", "without lookback the early id is lost")
        // The state never moves back: the re-read rows are below it.
        #expect(try box.run("conduit-state get items").stdout == "4\n")
        // Nothing new: the re-read rows are all held already, nothing is added.
        try Self.run("items", in: box, environment)
        #expect(try ids("items") == "1\n2\n3\n4\n")
    }

    // MARK: - Privileges

    /// A role that cannot read other roles' sessions cannot bound a transaction of another role
    /// by its start: its rows wait until that transaction ends, and one warning names it and the
    /// grant; with `pg_read_all_stats` the warning goes and the horizon bounds it by its start.
    @Test func roleWithoutReadAllStats() throws {
        let (box, environment) = try Self.prepare(
            "grants",
            setup: """
                DO $$ BEGIN
                  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'hz_reader') THEN
                    EXECUTE 'REVOKE pg_read_all_stats FROM hz_reader';
                  ELSE
                    CREATE ROLE hz_reader LOGIN PASSWORD 'reader';
                  END IF;
                END $$;
                CREATE TABLE events (id serial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now());
                GRANT SELECT ON events TO hz_reader;
                INSERT INTO events DEFAULT VALUES;
                """,
            resources: [
                Self.resource("blind", column: "created_at", from: "events", source: "app_reader"),
                Self.resource("seeing", column: "created_at", from: "events", source: "app_reader"),
            ].joined(separator: "\n"))
        try Self.startSession(
            "other",
            """
            BEGIN;
            SELECT now();
            MARK other.ready
            GATE other.go
            INSERT INTO events DEFAULT VALUES;
            COMMIT;
            MARK other.done
            """, in: box, environment)
        try PostgresFixture.execute("INSERT INTO events DEFAULT VALUES;", in: box, environment)
        try box.run("sleep 1.1")
        let otherPID = try Self.pid("other", in: box)
        // The other role's transaction is open and its start hidden: the rows wait, and one warning says why and what grant helps.
        let blind = try Self.run("blind", in: box, environment)
        let warning =
            "conduit-extract: warning: blind: 1 transaction whose start cannot be read (the transaction of pid \(otherPID) (another role's, its start hidden without pg_read_all_stats)) may still commit rows stamped before this run: rows wait until it ends; GRANT pg_read_all_stats TO hz_reader (or pg_monitor) lets the horizon read other roles' starts\n"
        #expect(blind.stderr.components(separatedBy: warning).count == 2, "\(blind.stderr)")
        #expect(blind.stderr.contains("; held back 2 rows from \""), "\(blind.stderr)")

        try PostgresFixture.execute("GRANT pg_read_all_stats TO hz_reader;", in: box, environment)
        let seeing = try Self.run("seeing", in: box, environment)
        #expect(!seeing.stderr.contains("warning"), "\(seeing.stderr)")
        #expect(seeing.stderr.contains("; held back 1 row from \""), "\(seeing.stderr)")
        #expect(seeing.stderr.contains("until the transaction of pid \(otherPID) (role "), "\(seeing.stderr)")
        try box.write("", to: "other.go")
        try Self.wait(for: "other.done", in: box)
        try PostgresFixture.execute("REVOKE pg_read_all_stats FROM hz_reader;", in: box, environment)
        try box.run("sleep 1.1")
        // Once it has ended, the blind role's next run loads every row, the late one among them.
        try Self.run("blind", in: box, environment)
        #expect(try box.run("sqlite3 lake.db 'SELECT count(*) FROM blind_out'").stdout == "3\n")
    }
}
