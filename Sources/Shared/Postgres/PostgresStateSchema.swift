import Config
import Core

/// The tables of a PostgreSQL state backend, their names and how they are created: idempotent
/// and versioned, so any number of hosts starting at once create them exactly once, and a role
/// that owns nothing but its schema can use them.
struct PostgresStateSchema {
    let settings: DatabaseStateSettings

    private func quoted(_ name: String) -> String { "\"" + name.replacingAll("\"", with: "\"\"") + "\"" }
    private func table(_ suffix: String) -> String { quoted(settings.schema) + "." + quoted(settings.table + suffix) }

    var values: String { table("") }
    var checkpoints: String { table("_checkpoints") }
    var runs: String { table("_runs") }
    var runRecords: String { table("_run_records") }
    var horizons: String { table("_horizons") }
    var history: String { table("_history") }
    var meta: String { table("_meta") }

    /// The longest suffix a table of the state adds to `table`.
    static let longestSuffix = "_run_records_resource"

    /// Why the names cannot be used as they are (PostgreSQL cuts names at 63 bytes, and two
    /// configurations whose names differ only beyond that would share tables but not locks).
    var lengthProblem: String? {
        if settings.schema.utf8.count > 63 {
            return "the schema name is \(settings.schema.utf8.count) bytes long; PostgreSQL names are at most 63"
        }
        let room = 63 - Self.longestSuffix.utf8.count
        if settings.table.utf8.count > room {
            return
                "the table name is \(settings.table.utf8.count) bytes long; the state's tables add up to \(Self.longestSuffix.utf8.count) to it (\(Self.longestSuffix)) and PostgreSQL names are at most 63 bytes, so use at most \(room)"
        }
        return nil
    }

    /// The advisory lock key of one resource's run lock: a 64-bit FNV-1a hash of the schema,
    /// the table and the resource, so two state stores on one server never share a lock.
    func lockKey(for resource: String) -> Int64 {
        Self.hash(["conduit-state", settings.schema, settings.table, resource])
    }

    /// The transaction-level advisory lock that serializes creating this store's tables.
    var creationKey: Int64 { Self.hash(["conduit-state-schema", settings.schema, settings.table]) }

    static func hash(_ parts: [String]) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in parts {
            for byte in part.utf8 + [0] {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01B3
            }
        }
        return Int64(bitPattern: hash)
    }

    /// SQL that is true while the session of backend pid `column` holds the lock whose key is
    /// the statement's `$2` (in this database).
    func holdsLock(_ column: String) -> String {
        """
        EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.pid = \(column)
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND l.objsubid = 1
          AND ((l.classid::bigint << 32) | l.objid::bigint) = $2::bigint)
        """
    }

    /// Makes sure the tables exist at this build's version; returns the store's id. A store of
    /// a newer version is refused (78) rather than written in a shape this build does not know.
    func prepare(_ connection: PostgresConnection) throws(PostgresError) -> String {
        if let existing = try? readMeta(connection) { return try check(existing) }
        let doing = "creating the state tables in schema \(settings.schema)"
        try connection.execute("BEGIN", context: doing)
        do throws(PostgresError) {
            _ = try connection.query(
                "SELECT pg_advisory_xact_lock($1::bigint)", parameters: [String(creationKey)], context: doing)
            // CREATE SCHEMA needs CREATE on the database even when the schema exists: only when missing.
            let present = try connection.query(
                "SELECT 1 FROM pg_namespace WHERE nspname = $1", parameters: [settings.schema], context: doing)
            if present.rowCount == 0 { try connection.execute("CREATE SCHEMA \(quoted(settings.schema))", context: doing) }
            try connection.silencingNotices { () throws(PostgresError) in
                try connection.execute(creationSQL, context: doing)
            }
            try connection.execute("COMMIT", context: doing)
        } catch {
            try? connection.execute("ROLLBACK", context: doing)
            throw error
        }
        return try check(try readMeta(connection))
    }

    private func readMeta(_ connection: PostgresConnection) throws(PostgresError) -> (version: Int, id: String) {
        let rows = try connection.silencingNotices { () throws(PostgresError) in
            try connection.query("SELECT version, store_id FROM \(meta)", context: "reading the state's schema version")
        }
        guard rows.rowCount == 1, let version = rows.string(row: 0, column: 0).flatMap({ Int($0) }),
            let id = rows.string(row: 0, column: 1)
        else {
            throw PostgresError(
                context: "reading the state's schema version", message: "\(meta) must hold exactly one row",
                sqlState: "XX000", isConnectionFailure: false)
        }
        return (version, id)
    }

    private func check(_ meta: (version: Int, id: String)) throws(PostgresError) -> String {
        guard meta.version <= PostgresStateBackend.schemaVersion else {
            throw PostgresError(
                context: "reading the state's schema version",
                message:
                    "the state tables are at version \(meta.version), made by a newer Conduit; this one knows version \(PostgresStateBackend.schemaVersion). Upgrade Conduit",
                sqlState: "0A000", isConnectionFailure: false)
        }
        return meta.id
    }

    private var creationSQL: String {
        """
        CREATE TABLE IF NOT EXISTS \(meta) (
          version integer NOT NULL, store_id text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
        INSERT INTO \(meta) (version, store_id)
          SELECT \(PostgresStateBackend.schemaVersion), md5(random()::text || clock_timestamp()::text || pg_backend_pid()::text)
          WHERE NOT EXISTS (SELECT 1 FROM \(meta));
        CREATE TABLE IF NOT EXISTS \(values) (
          resource text PRIMARY KEY, value text NOT NULL,
          value_type text NOT NULL CHECK (value_type IN ('number', 'string', 'json')),
          updated_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS \(checkpoints) (
          resource text PRIMARY KEY, lineage text, epoch bigint NOT NULL DEFAULT 0, checkpoint text,
          checkpoint_type text, rows bigint, written_at text);
        CREATE TABLE IF NOT EXISTS \(runs) (
          resource text PRIMARY KEY, run_id text NOT NULL, pid integer NOT NULL, host text NOT NULL,
          process_start bigint NOT NULL, backend_pid integer NOT NULL, started_at timestamptz NOT NULL);
        CREATE TABLE IF NOT EXISTS \(runRecords) (
          seq bigserial PRIMARY KEY, resource text NOT NULL, record text NOT NULL);
        CREATE INDEX IF NOT EXISTS \(quoted(settings.table + "_run_records_resource")) ON \(runRecords) (resource, seq);
        CREATE TABLE IF NOT EXISTS \(horizons) (
          resource text PRIMARY KEY, record text NOT NULL, written_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS \(history) (
          seq bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), resource text NOT NULL, event text NOT NULL,
          from_value text, from_type text, to_value text, to_type text, rows bigint, loader_status integer,
          host text NOT NULL, pid integer NOT NULL, run_id text NOT NULL);
        CREATE INDEX IF NOT EXISTS \(quoted(settings.table + "_history_resource")) ON \(history) (resource, seq);
        """
    }
}
