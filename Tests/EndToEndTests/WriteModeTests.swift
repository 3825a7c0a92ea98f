import Foundation
import TestSupport
import Testing

/// Write modes (SPEC 6): replace swaps a run's rows in atomically, merge upserts on the primary
/// key with the last row of a key winning, created tables get the configured primary key, and
/// `schema_evolution: freeze` refuses new keys. Real PostgreSQL and SQLite, real pipes.
@Suite struct WriteModeTests {
    /// A sandbox with a PostgreSQL source table `<prefix>_src(id, k, name, updated_at)` and
    /// resources into PostgreSQL (`pg_*`) and SQLite (`lite_*`): replace, merge on `id`, merge on
    /// `(id, k)`, append with a primary key, append frozen.
    static func prepare(prefix: String, rows: Int = 1_000, batchSize: Int = 100_000) throws -> (Sandbox, [String: String]) {
        let box = try Sandbox()
        let environment = try PostgresFixture.environment()
        let connection = """
            host: ${CONDUIT_TEST_PG_HOST}
                port: ${CONDUIT_TEST_PG_PORT}
                user: ${CONDUIT_TEST_PG_USER}
                password: ${CONDUIT_TEST_PG_PASSWORD}
                database: ${CONDUIT_TEST_PG_DATABASE}
            """
        func resource(_ name: String, _ destination: String, _ extra: String, incremental: Bool = true) -> String {
            let query =
                incremental
                ? "SELECT id, k, name, updated_at FROM \(prefix)_src WHERE updated_at > :last_value ORDER BY updated_at"
                : "SELECT id, k, name, updated_at FROM \(prefix)_src"
            return """
                  - name: \(name)
                    source: app
                    destination: \(destination)
                    batch_size: \(batchSize)
                    table: \(prefix)_\(name)
                \(incremental ? "    incremental_column: updated_at\n" : "")    query: "\(query)"
                \(extra)
                """
        }
        try box.write(
            """
            sources:
              - name: app
                type: postgresql
                \(connection)
            destinations:
              - name: warehouse
                type: postgresql
                \(connection)
              - name: lake
                type: sqlite
                path: lake.db
            resources:
            \(resource("pg_replace", "warehouse", "    mode: replace", incremental: false))
            \(resource("lite_replace", "lake", "    mode: replace", incremental: false))
            \(resource("pg_merge", "warehouse", "    mode: merge\n    primary_key: id"))
            \(resource("lite_merge", "lake", "    mode: merge\n    primary_key: [id]"))
            \(resource("pg_pair", "warehouse", "    mode: merge\n    primary_key: [id, k]"))
            \(resource("lite_pair", "lake", "    mode: merge\n    primary_key: [id, k]"))
            \(resource("pg_keyed", "warehouse", "    primary_key: [id, k]"))
            \(resource("lite_keyed", "lake", "    primary_key: [id, k]"))
            \(resource("pg_frozen", "warehouse", "    schema_evolution: freeze"))
            \(resource("lite_frozen", "lake", "    schema_evolution: freeze"))
            """, to: "ingest.yml")
        let setup = try box.run(
            """
            psql -v ON_ERROR_STOP=1 -q <<'SQL'
            SET client_min_messages = warning;
            DROP TABLE IF EXISTS \(prefix)_src, \(prefix)_pg_replace, \(prefix)_pg_replace__conduit_staging, \(prefix)_pg_merge,
              \(prefix)_pg_pair, \(prefix)_pg_keyed, \(prefix)_pg_frozen;
            CREATE TABLE \(prefix)_src(id bigint, k text, name text, updated_at bigint);
            INSERT INTO \(prefix)_src SELECT g, 'a', 'v1-' || g, g FROM generate_series(1, \(rows)) g;
            SQL
            """, environment: environment)
        try #require(setup.status == 0, "\(setup.stderr)")
        return (box, environment)
    }

    static func pipeline(_ resource: String, in box: Sandbox) -> String {
        let options = "--config '\(box.path("ingest.yml"))' --state-file '\(box.path("state.json"))'"
        return
            "conduit-extract \(options) \(resource) | conduit-state commit \(options) \(resource) -- conduit-load \(options) \(resource)"
    }

    /// The pipeline again until it runs (a killed run's orphaned loader may hold the run lock: 75).
    static func rerun(_ resource: String, in box: Sandbox) -> String {
        """
        for attempt in $(seq 50); do \(pipeline(resource, in: box)) 2> rerun.err; status=$?; [ $status -ne 75 ] && break; sleep 0.2; done
        exit $status
        """
    }

    /// The primary key's columns, in order, comma-separated.
    static func primaryKey(of table: String, resource: String) -> String {
        resource.hasPrefix("pg")
            ? "SELECT string_agg(a.attname, ',' ORDER BY array_position(i.indkey, a.attnum)) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = '\(table)'::regclass AND i.indisprimary"
            : "SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info('\(table)') WHERE pk > 0 ORDER BY pk)"
    }

    /// One value from the destination: psql for `pg_*` resources, sqlite3 for `lite_*`.
    static func query(_ sql: String, resource: String, in box: Sandbox, _ environment: [String: String]) throws -> String {
        let command = resource.hasPrefix("pg") ? "psql -Atqc \"\(sql)\"" : "sqlite3 lake.db \"\(sql)\""
        return try box.run(command, environment: environment).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A reader polling the table through a replace of 200,000 rows sees the old rows or the
    /// new ones, never an empty or half-loaded table (batches of 20,000 commit into the staging table).
    @Test(arguments: ["pg_replace", "lite_replace"]) func concurrentReaderSeesOldOrNew(resource: String) throws {
        let prefix = "wm_reader_\(resource)"
        let (box, environment) = try Self.prepare(prefix: prefix, rows: 200_000, batchSize: 20_000)
        let table = "\(prefix)_\(resource)"
        let first = try box.run(Self.pipeline(resource, in: box), environment: environment)
        try #require(first.status == 0, "\(first.stderr)")
        #expect(try Self.query("SELECT count(*) FROM \(table)", resource: resource, in: box, environment) == "200000")
        try box.run("psql -qc 'DELETE FROM \(prefix)_src WHERE id > 190000'", environment: environment)
        let count =
            resource.hasPrefix("pg")
            ? "psql -Atqc 'SELECT count(*) FROM \(table)'"
            : "sqlite3 -cmd '.timeout 5000' lake.db 'SELECT count(*) FROM \"\(table)\"'"
        let result = try box.run(
            """
            (while [ ! -e done ]; do \(count) >> counts.txt 2>> reader.err; done) &
            reader=$!
            \(Self.pipeline(resource, in: box)) 2> load.err
            status=$?
            touch done
            wait $reader
            \(count) >> counts.txt
            exit $status
            """, environment: environment)
        #expect(result.status == 0, "\((try? box.read("load.err")) ?? "")")
        let counts = try box.read("counts.txt").split(separator: "\n").map(String.init)
        #expect(counts.count > 3, "the reader read \(counts.count) times: \((try? box.read("reader.err")) ?? "")")
        #expect(counts.allSatisfy { $0 == "200000" || $0 == "190000" }, "counts seen: \(Set(counts))")
        #expect(counts.last == "190000")
        #expect(counts.contains("200000"), "the reader never saw the old rows during the load")
        let staging =
            resource.hasPrefix("pg")
            ? "SELECT count(*) FROM pg_class WHERE relname = '\(table)__conduit_staging'"
            : "SELECT count(*) FROM sqlite_master WHERE name = '\(table)__conduit_staging'"
        #expect(try Self.query(staging, resource: resource, in: box, environment) == "0")
    }

    /// kill -9 of the loader mid-replace leaves the old table exactly as it was; the rerun
    /// starts clean (the leftover staging table is dropped) and swaps in exactly its rows.
    @Test(arguments: ["pg_replace", "lite_replace"]) func killedReplaceLeavesTheOldTable(resource: String) throws {
        let prefix = "wm_kill_\(resource)"
        let (box, environment) = try Self.prepare(prefix: prefix, rows: 60_000, batchSize: 5_000)
        let table = "\(prefix)_\(resource)"
        try #require(try box.run(Self.pipeline(resource, in: box), environment: environment).status == 0)
        try box.run("psql -qc \"UPDATE \(prefix)_src SET name = 'v2-' || id\"", environment: environment)
        let killed = try box.run(
            """
            (\(Self.pipeline(resource, in: box))) 2> killed.err &
            run=$!
            for i in $(seq 300); do
              \(resource.hasPrefix("pg")
                ? "[ \"$(psql -Atqc \"SELECT count(*) FROM pg_class WHERE relname = '\(table)__conduit_staging'\")\" = 1 ] && [ \"$(psql -Atqc 'SELECT count(*) FROM \(table)__conduit_staging' 2>/dev/null)\" -gt 0 ] && break"
                : "[ \"$(sqlite3 -cmd '.timeout 2000' lake.db 'SELECT count(*) FROM \"\(table)__conduit_staging\"' 2>/dev/null)\" -gt 0 ] 2>/dev/null && break")
              sleep 0.02
            done
            pkill -9 -f "conduit-load --config \(box.path("ingest.yml")) .*\(resource)$"
            wait $run
            echo "first=$?"
            """, environment: environment)
        #expect(
            killed.stdout.contains("first=") && !killed.stdout.contains("first=0"), "the kill came too late: \(killed.stdout)")
        // The old rows, untouched.
        #expect(
            try Self.query("SELECT count(*) || ',' || min(name) FROM \(table)", resource: resource, in: box, environment)
                == "60000,v1-1")
        let rerun = try box.run(Self.rerun(resource, in: box), environment: environment)
        #expect(rerun.status == 0, "\((try? box.read("rerun.err")) ?? "")")
        #expect(
            try Self.query(
                "SELECT count(*) || ',' || count(DISTINCT id) || ',' || min(name) FROM \(table)", resource: resource, in: box,
                environment) == "60000,60000,v2-1")
    }

    /// Merge with an updated_at cursor: updated rows land once with their new values, new rows
    /// are added, and a row repeated within one run keeps its last version.
    @Test(arguments: ["pg_merge", "lite_merge"]) func mergeUpdatesThroughAnUpdatedAtCursor(resource: String) throws {
        let prefix = "wm_merge_\(resource)"
        let (box, environment) = try Self.prepare(prefix: prefix, rows: 1_000)
        let table = "\(prefix)_\(resource)"
        let first = try box.run(Self.pipeline(resource, in: box), environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("merged into"), "\(first.stderr)")
        try box.run(
            """
            psql -qc "UPDATE \(prefix)_src SET name = 'v2-' || id, updated_at = 1000 + id WHERE id % 10 = 0;
                      INSERT INTO \(prefix)_src SELECT g, 'a', 'v1-' || g, 2000 + g FROM generate_series(1001, 1100) g;
                      INSERT INTO \(prefix)_src VALUES (5, 'a', 'first-of-two', 3000), (5, 'a', 'last-of-two', 3000)"
            """, environment: environment)
        let second = try box.run(Self.pipeline(resource, in: box), environment: environment)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(
            try Self.query("SELECT count(*) || ',' || count(DISTINCT id) FROM \(table)", resource: resource, in: box, environment)
                == "1100,1100")
        #expect(try Self.query("SELECT name FROM \(table) WHERE id = 20", resource: resource, in: box, environment) == "v2-20")
        #expect(try Self.query("SELECT name FROM \(table) WHERE id = 21", resource: resource, in: box, environment) == "v1-21")
        #expect(
            try Self.query("SELECT name FROM \(table) WHERE id = 5", resource: resource, in: box, environment) == "last-of-two")
        let state = try box.read("state.json")
        // The greatest updated_at: the rows added at 2000 + id, up to id 1100.
        #expect(state.contains("\"\(resource)\": 3100"), "\(state) \(second.stderr)")
    }

    /// A composite key: rows that share one column but not the other are different rows; a
    /// duplicate (id, k) within one run keeps its last row. The created table has the key.
    @Test(arguments: ["pg_pair", "lite_pair"]) func compositeKeyMerge(resource: String) throws {
        let prefix = "wm_pair_\(resource)"
        let (box, environment) = try Self.prepare(prefix: prefix, rows: 10)
        let table = "\(prefix)_\(resource)"
        try box.run(
            "psql -qc \"INSERT INTO \(prefix)_src VALUES (3, 'b', 'other-k', 11), (3, 'a', 'newer', 12), (3, 'a', 'newest', 12)\"",
            environment: environment)
        let result = try box.run(Self.pipeline(resource, in: box), environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Self.query("SELECT count(*) FROM \(table)", resource: resource, in: box, environment) == "11")
        #expect(
            try Self.query("SELECT name FROM \(table) WHERE id = 3 AND k = 'a'", resource: resource, in: box, environment)
                == "newest")
        #expect(
            try Self.query("SELECT name FROM \(table) WHERE id = 3 AND k = 'b'", resource: resource, in: box, environment)
                == "other-k")
        #expect(
            try Self.query(Self.primaryKey(of: table, resource: resource), resource: resource, in: box, environment) == "id,k")
    }

    /// A created table gets the configured primary key in append mode too.
    @Test(arguments: ["pg_keyed", "lite_keyed"]) func appendCreatesThePrimaryKey(resource: String) throws {
        let prefix = "wm_keyed_\(resource)"
        let (box, environment) = try Self.prepare(prefix: prefix, rows: 10)
        let table = "\(prefix)_\(resource)"
        #expect(try box.run(Self.pipeline(resource, in: box), environment: environment).status == 0)
        #expect(
            try Self.query(Self.primaryKey(of: table, resource: resource), resource: resource, in: box, environment) == "id,k")
    }

    /// A merged row without its key column, or with it null, is bad data (65) naming the line;
    /// nothing of the batch is written.
    @Test(arguments: ["pg_merge", "lite_merge"]) func rowWithoutTheKeyIsBadData(resource: String) throws {
        let prefix = "wm_nokey_\(resource)"
        let (box, environment) = try Self.prepare(prefix: prefix, rows: 1)
        let options = "--config '\(box.path("ingest.yml"))'"
        let missing = try box.run(
            #"printf '{"id":1,"updated_at":1}\n{"name":"x","updated_at":2}\n' | "# + "conduit-load \(options) \(resource)",
            environment: environment)
        #expect(missing.status == 65)
        #expect(
            missing.stderr.hasPrefix(
                "conduit-load: error: line 2: the row has no \"id\" key, part of the primary_key that merge upserts on; the open batch was rolled back"
            ), "\(missing.stderr)")
        let null = try box.run(
            #"printf '{"id":null,"updated_at":1}\n' | "# + "conduit-load \(options) \(resource)", environment: environment)
        #expect(null.status == 65)
        #expect(
            null.stderr.contains("line 1: \"id\" is null, but it is part of the primary_key that merge upserts on"),
            "\(null.stderr)")
    }

    /// kill -9 of the loader mid-merge (batches of 500), then a rerun: every key once, each with
    /// its latest values.
    @Test(arguments: ["pg_merge", "lite_merge"]) func killedMergeResumesWithEachKeyOnce(resource: String) throws {
        let prefix = "wm_killmerge_\(resource)"
        let (box, environment) = try Self.prepare(prefix: prefix, rows: 40_000, batchSize: 500)
        let table = "\(prefix)_\(resource)"
        try #require(try box.run(Self.pipeline(resource, in: box), environment: environment).status == 0)
        try box.run(
            "psql -qc \"UPDATE \(prefix)_src SET name = 'v2-' || id, updated_at = 100000 + id\"", environment: environment)
        let killed = try box.run(
            """
            (\(Self.pipeline(resource, in: box))) 2> killed.err &
            run=$!
            for i in $(seq 300); do
              [ "$(\(resource.hasPrefix("pg") ? "psql -Atqc \"SELECT count(*) FROM \(table) WHERE name LIKE 'v2-%'\"" : "sqlite3 -cmd '.timeout 2000' lake.db \"SELECT count(*) FROM \(table) WHERE name LIKE 'v2-%'\"") 2>/dev/null)" -gt 0 ] 2>/dev/null && break
              sleep 0.02
            done
            pkill -9 -f "conduit-load --config \(box.path("ingest.yml")) .*\(resource)$"
            wait $run
            echo "first=$?"
            """, environment: environment)
        #expect(!killed.stdout.contains("first=0"), "the kill came too late: \(killed.stdout)")
        let rerun = try box.run(Self.rerun(resource, in: box), environment: environment)
        #expect(rerun.status == 0, "\((try? box.read("rerun.err")) ?? "")")
        #expect(
            try Self.query(
                "SELECT count(*) || ',' || count(DISTINCT id) || ',' || sum(CASE WHEN name = 'v2-' || id THEN 1 ELSE 0 END) FROM \(table)",
                resource: resource, in: box, environment) == "40000,40000,40000")
        #expect(try box.read("state.json").contains("\"\(resource)\": 140000"))
    }

    /// `schema_evolution: freeze`: a key the table lacks is bad data (65) naming it, not a new column.
    @Test(arguments: ["pg_frozen", "lite_frozen"]) func freezeRefusesNewKeys(resource: String) throws {
        let prefix = "wm_freeze_\(resource)"
        let (box, environment) = try Self.prepare(prefix: prefix, rows: 3)
        #expect(try box.run(Self.pipeline(resource, in: box), environment: environment).status == 0)
        let options = "--config '\(box.path("ingest.yml"))'"
        let result = try box.run(
            #"printf '{"id":9,"k":"a","name":"n","updated_at":9,"extra":1}\n' | "# + "conduit-load \(options) \(resource)",
            environment: environment)
        #expect(result.status == 65)
        let table = "\(prefix)_\(resource)"
        let label = resource.hasPrefix("pg") ? "\"\(table)\" on " : "\"\(table)\" in lake.db"
        #expect(
            result.stderr.contains("conduit-load: error: line 1: key \"extra\" is not a column of \(label)"), "\(result.stderr)")
        #expect(result.stderr.contains("and schema_evolution is freeze; the open batch was rolled back"), "\(result.stderr)")
        #expect(try Self.query("SELECT count(*) FROM \(table)", resource: resource, in: box, environment) == "3")
    }
}
