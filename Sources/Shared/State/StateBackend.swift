package import Config
package import Core
import Stream

/// Where the state lives: the values, the per-resource run locks, the checkpoint ledger, the
/// extracts' start and end records, the safe horizon's notes and the commit history
/// (SPEC section 5). ``StateFile`` keeps them in files beside `.conduit_state.json`; the
/// PostgreSQL backend (in the Postgres target) keeps them in tables, so runs on fresh disks and
/// on many hosts share one state. Every rule of the state — exact values, never backwards, one
/// run per resource — is kept by the code above this protocol; a backend only stores.
package protocol StateBackend: Sendable {
    /// Names the store in messages: `the state file .conduit_state.json`.
    var label: String { get }
    /// Names the checkpoint ledger in messages (`.conduit_state.json.checkpoints`).
    var ledgerLabel: String { get }
    /// Whether every host sees this state (a database), rather than only the one whose disk
    /// holds it: how a refused stream's message reads.
    var isShared: Bool { get }
    /// How an extract's start record names the state it read, so a commit can tell its own
    /// state from another (the file's canonical path; the server, database and table).
    var identity: String { get }

    /// Every value; nothing stored is an empty document, an unreadable store an error.
    func read() throws(ConduitError) -> StateDocument

    /// Takes the run lock of `resource` without waiting: one run of a resource at a time. Fails
    /// with `.busy` (exit 75) naming the holder while another run has it. Only a commit
    /// (`announcesRun`) publishes its run for extracts to record to; `set`, `reset` and
    /// `import` hold the lock without inviting records.
    func acquireRunLock(for resource: String, announcesRun: Bool) throws(ConduitError) -> RunLock

    /// The run of `resource` in progress, if one holds its lock and announced itself.
    func runInProgress(of resource: String) -> RunIdentity?

    /// Changes one resource's value under the store's lock and appends `history`, atomically
    /// where the store can (one transaction). `change` sees the current value and returns the
    /// new one (nil: remove); it may throw to change nothing. With `newEpoch`, the resource's
    /// checkpoint ledger moves to a new epoch in the same step. `run`, when given, is the run
    /// lock the caller holds: a store that can tell refuses to write once that lock is lost.
    /// Returns the value held afterwards.
    @discardableResult
    func commit(
        resource: String, run: RunLock?, newEpoch: Bool, history: HistoryEntry,
        change: (StateValue?) throws(ConduitError) -> StateChange
    ) throws(ConduitError) -> StateValue?

    /// Appends a history entry on its own (a run that failed, which moves nothing).
    func appendHistory(_ entry: HistoryEntry) throws(ConduitError)

    /// The history, oldest first: every resource's, or one's; the last `limit` entries.
    func history(resource: String?, limit: Int) throws(ConduitError) -> [HistoryEntry]

    /// Every resource's checkpoint ledger entry.
    func checkpointEntries() throws(ConduitError) -> [String: CheckpointLedger.Entry]

    /// Changes one resource's ledger entry under the store's lock (nil: none yet). Writes only
    /// when `change` changed it.
    func updateCheckpointEntry(of resource: String, _ change: (inout CheckpointLedger.Entry?) -> Void) throws(ConduitError)

    /// Appends one start or end record (a line of JSON) of `resource`'s runs.
    func appendRunRecord(_ line: [UInt8], resource: String) throws(ConduitError)

    /// The records of `resource`, in the order they were written (unreadable ones left out).
    func runRecords(resource: String) -> [[UInt8]]

    /// Removes `resource`'s records, at the end of a run that holds its lock.
    func clearRunRecords(resource: String)

    /// The safe horizon's note for `resource` (JSON), nil when there is none or it is unreadable.
    func horizonRecord(of resource: String) -> [UInt8]?

    /// Replaces the safe horizon's note (a note: losing it in a crash only delays rows).
    func writeHorizonRecord(_ bytes: [UInt8], resource: String) throws(ConduitError)

    func removeHorizonRecord(of resource: String)

    /// How long an extract whose stdout is a pipe waits, from its start, for a commit of its
    /// resource to take the run lock before it writes its first row. A commit on another host
    /// (`ssh` in the pipe) can take longer to start than one beside the extract.
    var runStartWait: Double { get }

    /// What `conduit-state commit` adds to its loader's environment so that the loader's
    /// checkpoint copies reach this store.
    var loaderEnvironment: [String: String] { get }
}

extension StateBackend {
    /// The committed value of one resource.
    package func value(of resource: String) throws(ConduitError) -> StateValue? {
        try read().value(of: resource, source: label)
    }
}

/// What a ``StateBackend/commit(resource:run:newEpoch:history:change:)`` does to the value.
package enum StateChange: Sendable, Equatable {
    case keep
    case set(StateValue)
    case remove
}

/// One line of the commit history: who moved which resource from where to where, when.
package struct HistoryEntry: Sendable, Equatable {
    /// `commit` (a run that committed), `failed` (a run whose loader failed: nothing moved),
    /// `set`, `reset`, `import`.
    package var event: String
    package var resource: String
    package var from: StateValue?
    package var to: StateValue?
    /// Rows the run passed to its loader (nil for `set`, `reset`, `import`).
    package var rows: Int?
    /// The loader's exit status (nil when no loader ran).
    package var loaderStatus: Int?
    package var host: String
    package var pid: Int
    /// The run's id (``RunIdentity/id``), empty when no run lock announced one.
    package var run: String
    /// RFC 3339 UTC; the store's own clock where it has one.
    package var at: String

    package init(
        event: String, resource: String, from: StateValue? = nil, to: StateValue? = nil, rows: Int? = nil,
        loaderStatus: Int? = nil, run: String = "", at: String = WallClock.nowRFC3339()
    ) {
        self.event = event
        self.resource = resource
        self.from = from
        self.to = to
        self.rows = rows
        self.loaderStatus = loaderStatus
        self.host = ThisProcess.hostName
        self.pid = Int(ThisProcess.id)
        self.run = run
        self.at = at
    }

    /// One JSON object: the history file's line, and `conduit-state history --json`.
    package var json: JSONValue {
        var fields = [
            JSONMember(key: "at", value: .string(at)), JSONMember(key: "resource", value: .string(resource)),
            JSONMember(key: "event", value: .string(event)), JSONMember(key: "from", value: from?.jsonValue ?? .null),
            JSONMember(key: "to", value: to?.jsonValue ?? .null),
        ]
        fields.append(JSONMember(key: "rows", value: rows.map { .number(String($0)) } ?? .null))
        fields.append(JSONMember(key: "loader_status", value: loaderStatus.map { .number(String($0)) } ?? .null))
        fields.append(JSONMember(key: "host", value: .string(host)))
        fields.append(JSONMember(key: "pid", value: .number(String(pid))))
        fields.append(JSONMember(key: "run", value: .string(run)))
        return .object(fields)
    }

    /// Reads what ``json`` wrote; nil for anything else.
    package init?(json value: JSONValue) {
        guard case .object(let members) = value else { return nil }
        var fields: [String: JSONValue] = [:]
        for member in members { fields[member.key] = member.value }
        guard case .string(let at)? = fields["at"], case .string(let resource)? = fields["resource"],
            case .string(let event)? = fields["event"]
        else { return nil }
        self.init(event: event, resource: resource, at: at)
        from = StateValue(json: fields["from"])
        to = StateValue(json: fields["to"])
        if case .number(let text)? = fields["rows"] { rows = Int(text) }
        if case .number(let text)? = fields["loader_status"] { loaderStatus = Int(text) }
        if case .string(let text)? = fields["host"] { host = text }
        if case .number(let text)? = fields["pid"] { pid = Int(text) ?? 0 }
        if case .string(let text)? = fields["run"] { run = text }
    }
}

extension StateValue {
    /// A number or a string; nil for anything else.
    package init?(json value: JSONValue?) {
        switch value {
        case .number(let text)?: self = .number(text)
        case .string(let text)?: self = .string(text)
        default: return nil
        }
    }
}

/// Holds a resource's run lock until it is released or deallocated (or the process dies).
package final class RunLock {
    /// This run's identity, published for `conduit-extract` to confirm its end to.
    package let run: RunIdentity
    /// The store's own hold on the lock (a lock file, a database session).
    package let holder: any RunLockHolder

    package init(holder: any RunLockHolder, run: RunIdentity) {
        self.holder = holder
        self.run = run
    }

    /// Makes the lock outlive this process for as long as a child started afterwards runs: a
    /// loader orphaned by a killed `conduit-state` still counts as the run, so a new run cannot
    /// start beside it.
    package func shareWithChildProcesses() {
        holder.shareWithChildProcesses()
    }
}

@available(*, unavailable)
extension RunLock: Sendable {}

/// A store's hold on a run lock.
package protocol RunLockHolder: AnyObject {
    /// Lets child processes started afterwards inherit the hold (see ``RunLock/shareWithChildProcesses()``).
    func shareWithChildProcesses()
    /// Whether the hold is gone while this process still runs (a database session that ended):
    /// checked without waiting, every second of a commit's run.
    var isLost: Bool { get }
}

extension FileLock: RunLockHolder {
    /// A lock file's lock ends only with its descriptor.
    package var isLost: Bool { false }
}

/// Opens the configured state backend: the file here; a database through a function the CLI
/// target supplies (State knows no database client).
package struct StateOpener: Sendable {
    let openDatabase: @Sendable (DatabaseStateSettings) throws(ConduitError) -> any StateBackend

    package init(database: @escaping @Sendable (DatabaseStateSettings) throws(ConduitError) -> any StateBackend) {
        openDatabase = database
    }

    /// Only the file backend (tests and tools that never open a database).
    package static let fileOnly = StateOpener { (settings) throws(ConduitError) -> any StateBackend in
        throw .configuration("this build cannot keep the state in \(settings.type)")
    }

    package func open(_ settings: StateSettings) throws(ConduitError) -> any StateBackend {
        switch settings {
        case .file(let path): StateFile(path: path)
        case .database(let settings): try openDatabase(settings)
        }
    }

    /// The store a loader copies its checkpoints into, as `conduit-state commit` named it in the
    /// environment (``StateBackend/loaderEnvironment``); nil when it named none.
    package func openForLoader(environment: [String: String]) throws(ConduitError) -> (any StateBackend)? {
        if let text = environment[CheckpointEnvironment.state], !text.isEmpty {
            return try open(.database(try DatabaseStateSettings(environmentText: text)))
        }
        if let path = environment[CheckpointEnvironment.ledger], !path.isEmpty {
            return StateFile(checkpointLedgerPath: path)
        }
        return nil
    }
}
