package import Config
package import Core
package import State
import Stream
import Synchronization

/// The state in PostgreSQL (`state: {type: postgresql, …}`), for runs on fresh disks and on many
/// hosts: the same rules as the file, kept in tables of one schema (docs/INCREMENTAL.md, "State
/// backends"):
///
/// - `<table>`: one row per resource, the value's exact text and its JSON type;
/// - `<table>_checkpoints`: the checkpoint ledger; `<table>_runs`: which run holds each
///   resource's lock; `<table>_run_records`: the extracts' start and end records;
///   `<table>_horizons`: the safe horizon's notes; `<table>_history`: one row per commit;
/// - `<table>_meta`: the schema's version and this store's random id.
///
/// A run's lock is a session-level advisory lock, held by the session `conduit-state commit`
/// opened: the server frees it when that session ends, whichever host it ran on. The loader
/// inherits the session's socket (never using it), so a loader left running by a killed commit
/// still holds the lock. A commit's value, epoch and history change in one transaction on that
/// session: a session that died before it commits nothing.
package final class PostgresStateBackend: StateBackend {
    package let settings: DatabaseStateSettings
    /// Guards ``session`` and ``storeID``: one statement at a time on the one session.
    private let lock = Mutex(())
    /// The session, opened on first use; one per process. Only touched under ``lock``.
    nonisolated(unsafe) private var session: PostgresConnection?
    nonisolated(unsafe) private var storeID: String?

    /// The schema version this build creates and reads.
    package static let schemaVersion = 1

    package init(settings: DatabaseStateSettings) {
        self.settings = settings
    }

    package var label: String {
        "the PostgreSQL state \(settings.schema).\(settings.table) (\(PostgresConnection.label(for: settings.connection)))"
    }

    /// The store's random id, drawn when its tables were created: the same from every host,
    /// whatever name each gives the server.
    package var identity: String {
        if let id = lock.withLock({ _ in storeID }) { return "postgresql-state:\(id)" }
        return "postgresql-state:\(settings.schema).\(settings.table)@\(PostgresConnection.label(for: settings.connection))"
    }

    package var ledgerLabel: String { "the checkpoint ledger of \(label)" }

    package var isShared: Bool { true }

    /// Longer than the file's: the commit may be on another host, behind `ssh`'s handshake.
    package var runStartWait: Double { 15 }

    package var loaderEnvironment: [String: String] {
        [CheckpointEnvironment.state: settings.environmentText]
    }

    // MARK: - The session

    /// Runs `body` on the session, opening it (and creating the schema) first when needed. A
    /// failure becomes the error its kind deserves: unreachable 69, refused 78.
    private func withSession<T>(
        _ doing: String, _ body: (PostgresConnection) throws(PostgresError) -> T
    ) throws(ConduitError) -> T {
        if let problem = names.lengthProblem { throw .configuration("\(label): \(problem)") }
        let outcome: Result<T, PostgresError> = lock.withLock { _ in
            do throws(PostgresError) {
                let connection: PostgresConnection
                if let session {
                    connection = session
                } else {
                    // The server's notices ("already exists, skipping", the FATAL of a terminated
                    // session) say nothing the errors do not: dropped, not printed by libpq.
                    connection = try PostgresConnection(
                        settings: Self.withKeepalives(settings.connection), applicationName: "conduit state",
                        notices: { _ in })
                    storeID = try PostgresStateSchema(settings: settings).prepare(connection)
                    session = connection
                }
                return .success(try body(connection))
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .success(let value): return value
        case .failure(let error): throw ConduitError(error.conduitError.kind, "\(doing) in \(label): \(error.description)")
        }
    }

    /// libpq's keepalives sooner than the system's two hours: a lock session idle for the whole
    /// of a long load must not be cut by a firewall that drops quiet connections.
    static func withKeepalives(_ connection: ConnectionSettings) -> ConnectionSettings {
        var settings = connection
        let defaults = [
            ("keepalives_idle", "30"), ("keepalives_interval", "10"), ("keepalives_count", "3"),
            // A statement whose packets go unanswered (a network cut silently) fails within a minute.
            ("tcp_user_timeout", "60000"),
        ]
        for (keyword, value) in defaults
        where settings.value(of: keyword) == nil {
            settings.parameters.append((keyword, value))
        }
        return settings
    }

    /// Runs `body` in a transaction; rolls back when it throws.
    private func inTransaction<T>(
        _ doing: String, _ body: (PostgresConnection) throws(PostgresError) -> T
    ) throws(ConduitError) -> T {
        try withSession(doing) { (connection) throws(PostgresError) -> T in
            try connection.execute("BEGIN", context: doing)
            do throws(PostgresError) {
                let value = try body(connection)
                try connection.execute("COMMIT", context: doing)
                return value
            } catch {
                try? connection.execute("ROLLBACK", context: doing)
                throw error
            }
        }
    }

    private var names: PostgresStateSchema { PostgresStateSchema(settings: settings) }

    // MARK: - Values

    package func read() throws(ConduitError) -> StateDocument {
        let rows = try withSession("reading the state") { (connection) throws(PostgresError) in
            try connection.query("SELECT resource, value, value_type FROM \(names.values)", context: "reading the state")
        }
        var members: [String: JSONValue] = [:]
        for row in 0..<rows.rowCount {
            guard let resource = rows.string(row: row, column: 0), let text = rows.string(row: row, column: 1) else { continue }
            members[resource] = try Self.jsonValue(
                text, type: rows.string(row: row, column: 2) ?? "", resource: resource, in: label)
        }
        return StateDocument(members: members)
    }

    static func jsonValue(_ text: String, type: String, resource: String, in label: String) throws(ConduitError) -> JSONValue {
        switch type {
        case "number": return .number(text)
        case "string": return .string(text)
        default:
            guard let value = try? JSONParser.parse(Array(text.utf8)) else {
                throw .io("\(label): the value of \(JSONEscaping.quoted(resource)) is not JSON: \(text)")
            }
            return value
        }
    }

    static func stored(_ value: StateValue) -> (text: String, type: String) {
        switch value {
        case .number(let text): (text, "number")
        case .string(let text): (text, "string")
        }
    }

    package func commit(
        resource: String, run: RunLock?, newEpoch: Bool, history: HistoryEntry,
        change: (StateValue?) throws(ConduitError) -> StateChange
    ) throws(ConduitError) -> StateValue? {
        if let hold = run?.holder as? PostgresRunLockHold, hold.backend !== self {
            throw .internalError("\(resource): the run lock belongs to another state backend")
        }
        var changeError: ConduitError?
        let result: StateValue?
        do {
            result = try inTransaction("committing \(resource)") { (connection) throws(PostgresError) -> StateValue? in
                let current = try connection.query(
                    "SELECT value, value_type FROM \(names.values) WHERE resource = $1 FOR UPDATE", parameters: [resource],
                    context: "reading \(resource)")
                var committed: StateValue?
                if current.rowCount > 0, let text = current.string(row: 0, column: 0) {
                    switch current.string(row: 0, column: 1) {
                    case "number": committed = .number(text)
                    case "string": committed = .string(text)
                    default:
                        throw PostgresError(
                            context: "reading \(resource)", message: "its stored value is neither a number nor a string",
                            isConnectionFailure: false)
                    }
                }
                let outcome: StateChange
                do throws(ConduitError) {
                    outcome = try change(committed)
                    if case .set(.string(let text)) = outcome, text.utf8.contains(0) {
                        throw ConduitError.badInput(
                            "\(resource): the value \(JSONEscaping.quoted(text)) holds a NUL character, which PostgreSQL text cannot keep; state unchanged"
                        )
                    }
                } catch {
                    changeError = error
                    throw PostgresError(context: "committing \(resource)", message: error.message, isConnectionFailure: false)
                }
                var after = committed
                switch outcome {
                case .keep: break
                case .set(let value):
                    let (text, type) = Self.stored(value)
                    _ = try connection.query(
                        """
                        INSERT INTO \(names.values) (resource, value, value_type, updated_at) VALUES ($1, $2, $3, now())
                        ON CONFLICT (resource) DO UPDATE SET value = EXCLUDED.value, value_type = EXCLUDED.value_type, updated_at = now()
                        """, parameters: [resource, text, type], context: "writing \(resource)")
                    after = value
                case .remove:
                    _ = try connection.query(
                        "DELETE FROM \(names.values) WHERE resource = $1", parameters: [resource], context: "removing \(resource)"
                    )
                    after = nil
                }
                if newEpoch {
                    _ = try connection.query(
                        """
                        INSERT INTO \(names.checkpoints) (resource, lineage, epoch) VALUES ($1, $2, 1)
                        ON CONFLICT (resource) DO UPDATE SET epoch = \(names.checkpoints).epoch + 1,
                          lineage = COALESCE(\(names.checkpoints).lineage, EXCLUDED.lineage),
                          checkpoint = NULL, checkpoint_type = NULL, rows = NULL, written_at = NULL
                        """, parameters: [resource, CheckpointLedger.nextEpoch(of: nil).lineage],
                        context: "ending the run of \(resource)")
                }
                var entry = history
                entry.from = committed
                entry.to = after
                try insertHistory(entry, connection)
                return after
            }
        } catch {
            // The caller's own refusal, not the server's: it keeps its kind and its words.
            throw changeError ?? error
        }
        return result
    }

    package func appendHistory(_ entry: HistoryEntry) throws(ConduitError) {
        try withSession("recording the history") { (connection) throws(PostgresError) in try insertHistory(entry, connection) }
    }

    private func insertHistory(_ entry: HistoryEntry, _ connection: PostgresConnection) throws(PostgresError) {
        let from = entry.from.map(Self.stored)
        let to = entry.to.map(Self.stored)
        _ = try connection.query(
            """
            INSERT INTO \(names.history) (resource, event, from_value, from_type, to_value, to_type, rows, loader_status, host, pid, run_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            """,
            parameters: [
                entry.resource, entry.event, from?.text, from?.type, to?.text, to?.type, entry.rows.map(String.init),
                entry.loaderStatus.map(String.init), entry.host, String(entry.pid), entry.run,
            ], context: "recording the history of \(entry.resource)")
    }

    package func history(resource: String?, limit: Int) throws(ConduitError) -> [HistoryEntry] {
        let rows = try withSession("reading the history") { (connection) throws(PostgresError) in
            try connection.query(
                """
                SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), resource, event, from_value, from_type,
                  to_value, to_type, rows, loader_status, host, pid, run_id
                FROM \(names.history) WHERE $1::text IS NULL OR resource = $1 ORDER BY seq DESC LIMIT $2
                """, parameters: [resource, String(max(limit, 0))], context: "reading the history")
        }
        var entries: [HistoryEntry] = []
        for row in 0..<rows.rowCount {
            func text(_ column: Int) -> String? { rows.string(row: row, column: column) }
            func value(_ column: Int) -> StateValue? {
                guard let stored = text(column) else { return nil }
                return text(column + 1) == "number" ? .number(stored) : .string(stored)
            }
            var entry = HistoryEntry(
                event: text(2) ?? "", resource: text(1) ?? "", from: value(3), to: value(5), rows: text(7).flatMap { Int($0) },
                loaderStatus: text(8).flatMap { Int($0) }, run: text(11) ?? "", at: text(0) ?? "")
            entry.host = text(9) ?? ""
            entry.pid = text(10).flatMap { Int($0) } ?? 0
            entries.append(entry)
        }
        return entries.reversed()
    }

    // MARK: - Run locks

    package func acquireRunLock(for resource: String, announcesRun: Bool) throws(ConduitError) -> RunLock {
        let key = names.lockKey(for: resource)
        let run = RunIdentity.ofThisProcess()
        let holder: String? = try withSession("taking the run lock of \(resource)") { (connection) throws(PostgresError) in
            let taken = try connection.query(
                "SELECT pg_try_advisory_lock($1::bigint)", parameters: [String(key)],
                context: "taking the run lock of \(resource)")
            guard taken.string(row: 0, column: 0) == "t" else {
                let who = try connection.query(
                    "SELECT pid, host, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM \(names.runs) r WHERE resource = $1 AND \(names.holdsLock("r.backend_pid"))",
                    parameters: [resource, String(key)], context: "naming the run of \(resource)")
                guard who.rowCount > 0 else { return "another process" }
                return
                    "pid \(who.string(row: 0, column: 0) ?? "?") on \(who.string(row: 0, column: 1) ?? "?") since \(who.string(row: 0, column: 2) ?? "?")"
            }
            _ = try connection.query(
                """
                INSERT INTO \(names.runs) (resource, run_id, pid, host, process_start, backend_pid, started_at)
                VALUES ($1, $2, $3, $4, $5, pg_backend_pid(), now())
                ON CONFLICT (resource) DO UPDATE SET run_id = EXCLUDED.run_id, pid = EXCLUDED.pid, host = EXCLUDED.host,
                  process_start = EXCLUDED.process_start, backend_pid = EXCLUDED.backend_pid, started_at = EXCLUDED.started_at
                """,
                parameters: [
                    resource, announcesRun ? run.id : "", String(run.pid), ThisProcess.hostName, String(run.startTime),
                ], context: "announcing the run of \(resource)")
            return nil
        }
        if let holder {
            throw .busy("another run of \(resource) is in progress (\(holder); \(label)); try again when it ends")
        }
        return RunLock(holder: PostgresRunLockHold(backend: self, key: key), run: run)
    }

    package func runInProgress(of resource: String) -> RunIdentity? {
        let key = names.lockKey(for: resource)
        let rows = try? withSession("finding the run of \(resource)") { (connection) throws(PostgresError) in
            try connection.query(
                "SELECT run_id, pid, process_start FROM \(names.runs) r WHERE resource = $1 AND run_id <> '' AND \(names.holdsLock("r.backend_pid"))",
                parameters: [resource, String(key)], context: "finding the run of \(resource)")
        }
        guard let rows, rows.rowCount > 0, let id = rows.string(row: 0, column: 0) else { return nil }
        return RunIdentity(
            id: id, pid: rows.string(row: 0, column: 1).flatMap { Int32($0) } ?? 0,
            startTime: rows.string(row: 0, column: 2).flatMap { UInt64($0) } ?? 0)
    }

    /// Releases a run lock this process took (`import` takes one resource's after another).
    func releaseRunLock(key: Int64) {
        _ = try? withSession("releasing a run lock") { (connection) throws(PostgresError) in
            try connection.query(
                "SELECT pg_advisory_unlock($1::bigint)", parameters: [String(key)], context: "releasing a run lock")
        }
    }

    func shareSessionWithChildProcesses() {
        lock.withLock { _ in session?.shareSocketWithChildProcesses() }
    }

    var sessionIsLost: Bool {
        lock.withLock { _ in session?.isLost ?? true }
    }

    // MARK: - The checkpoint ledger

    package func checkpointEntries() throws(ConduitError) -> [String: CheckpointLedger.Entry] {
        let rows = try withSession("reading the checkpoint ledger") { (connection) throws(PostgresError) in
            try connection.query(
                "SELECT resource, lineage, epoch, checkpoint, checkpoint_type, rows, written_at FROM \(names.checkpoints)",
                context: "reading the checkpoint ledger")
        }
        var entries: [String: CheckpointLedger.Entry] = [:]
        for row in 0..<rows.rowCount {
            guard let resource = rows.string(row: row, column: 0) else { continue }
            entries[resource] = Self.entry(rows, row: row, offset: 1)
        }
        return entries
    }

    private static func entry(_ rows: PostgresResult, row: Int, offset: Int) -> CheckpointLedger.Entry {
        func text(_ column: Int) -> String? { rows.string(row: row, column: offset + column) }
        var checkpoint: StateValue?
        if let stored = text(2) { checkpoint = text(3) == "number" ? .number(stored) : .string(stored) }
        return CheckpointLedger.Entry(
            lineage: text(0), epoch: text(1).flatMap { Int64($0) } ?? 0, checkpoint: checkpoint,
            rows: text(4).flatMap { Int64($0) },
            writtenAt: text(5))
    }

    package func updateCheckpointEntry(
        of resource: String, _ change: (inout CheckpointLedger.Entry?) -> Void
    ) throws(ConduitError) {
        try inTransaction("updating the checkpoint ledger of \(resource)") { (connection) throws(PostgresError) in
            let doing = "updating the checkpoint ledger of \(resource)"
            let rows = try connection.query(
                "SELECT lineage, epoch, checkpoint, checkpoint_type, rows, written_at FROM \(names.checkpoints) WHERE resource = $1 FOR UPDATE",
                parameters: [resource], context: doing)
            let original: CheckpointLedger.Entry? = rows.rowCount > 0 ? Self.entry(rows, row: 0, offset: 0) : nil
            var entry = original
            change(&entry)
            guard entry != original, let entry else { return }
            let checkpoint = entry.checkpoint.map(Self.stored)
            _ = try connection.query(
                """
                INSERT INTO \(names.checkpoints) (resource, lineage, epoch, checkpoint, checkpoint_type, rows, written_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (resource) DO UPDATE SET lineage = EXCLUDED.lineage, epoch = EXCLUDED.epoch,
                  checkpoint = EXCLUDED.checkpoint, checkpoint_type = EXCLUDED.checkpoint_type, rows = EXCLUDED.rows,
                  written_at = EXCLUDED.written_at
                """,
                parameters: [
                    resource, entry.lineage, String(entry.epoch), checkpoint?.text, checkpoint?.type, entry.rows.map(String.init),
                    entry.writtenAt,
                ], context: doing)
        }
    }

    // MARK: - Run records

    package func appendRunRecord(_ line: [UInt8], resource: String) throws(ConduitError) {
        var text = String(decoding: line, as: UTF8.self)
        while text.hasSuffix("\n") { text.removeLast() }
        let record = text
        try withSession("recording the stream's start or end") { (connection) throws(PostgresError) in
            _ = try connection.query(
                "INSERT INTO \(names.runRecords) (resource, record) VALUES ($1, $2)", parameters: [resource, record],
                context: "recording the stream's start or end of \(resource)")
        }
    }

    package func runRecords(resource: String) -> [[UInt8]] {
        let rows = try? withSession("reading the run records") { (connection) throws(PostgresError) in
            try connection.query(
                "SELECT record FROM \(names.runRecords) WHERE resource = $1 ORDER BY seq", parameters: [resource],
                context: "reading the run records of \(resource)")
        }
        guard let rows else { return [] }
        return (0..<rows.rowCount).compactMap { rows.string(row: $0, column: 0).map { Array($0.utf8) } }
    }

    package func clearRunRecords(resource: String) {
        _ = try? withSession("clearing the run records") { (connection) throws(PostgresError) in
            try connection.query(
                "DELETE FROM \(names.runRecords) WHERE resource = $1", parameters: [resource],
                context: "clearing the run records of \(resource)")
        }
    }

    // MARK: - The safe horizon's notes

    package func horizonRecord(of resource: String) -> [UInt8]? {
        let rows = try? withSession("reading the horizon note") { (connection) throws(PostgresError) in
            try connection.query(
                "SELECT record FROM \(names.horizons) WHERE resource = $1", parameters: [resource],
                context: "reading the horizon note of \(resource)")
        }
        guard let rows, rows.rowCount > 0 else { return nil }
        return rows.string(row: 0, column: 0).map { Array($0.utf8) }
    }

    package func writeHorizonRecord(_ bytes: [UInt8], resource: String) throws(ConduitError) {
        let record = String(decoding: bytes, as: UTF8.self)
        try withSession("writing the horizon note") { (connection) throws(PostgresError) in
            _ = try connection.query(
                """
                INSERT INTO \(names.horizons) (resource, record, written_at) VALUES ($1, $2, now())
                ON CONFLICT (resource) DO UPDATE SET record = EXCLUDED.record, written_at = now()
                """, parameters: [resource, record], context: "writing the horizon note of \(resource)")
        }
    }

    package func removeHorizonRecord(of resource: String) {
        _ = try? withSession("removing the horizon note") { (connection) throws(PostgresError) in
            try connection.query(
                "DELETE FROM \(names.horizons) WHERE resource = $1", parameters: [resource],
                context: "removing the horizon note of \(resource)")
        }
    }
}

/// A run lock held by a ``PostgresStateBackend``'s session; released when it goes.
final class PostgresRunLockHold: RunLockHolder {
    let backend: PostgresStateBackend
    let key: Int64

    init(backend: PostgresStateBackend, key: Int64) {
        self.backend = backend
        self.key = key
    }

    deinit { backend.releaseRunLock(key: key) }

    func shareWithChildProcesses() {
        backend.shareSessionWithChildProcesses()
    }

    var isLost: Bool { backend.sessionIsLost }
}
