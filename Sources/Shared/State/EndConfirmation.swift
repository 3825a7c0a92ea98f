package import Config
package import Core
package import Stream

/// Which run of `conduit-state commit` a resource has in progress: a random id drawn when the run
/// took its run lock, with the pid and the kernel's start time of the process that holds it, so
/// that neither a finished run nor a reused pid can pass for it. The run lock file carries it on
/// its second line: `run <id> <pid> <start time>`.
package struct RunIdentity: Sendable, Equatable {
    package let id: String
    package let pid: Int32
    /// Field 22 of `/proc/<pid>/stat`: clock ticks from boot to the process's start.
    package let startTime: UInt64

    package static func ofThisProcess() -> RunIdentity {
        var generator = SystemRandomNumberGenerator()
        let id = String(generator.next() as UInt64, radix: 16) + String(generator.next() as UInt64, radix: 16)
        return RunIdentity(id: id, pid: ThisProcess.id, startTime: ProcessTable.startTime(of: ThisProcess.id) ?? 0)
    }

    package init(id: String, pid: Int32, startTime: UInt64) {
        self.id = id
        self.pid = pid
        self.startTime = startTime
    }

    /// Parses the run line of a run lock file.
    init?(lockFileContents text: String) {
        for line in text.split(separator: "\n") where line.hasPrefix("run ") {
            let fields = line.split(separator: " ")
            guard fields.count == 4, let pid = Int32(fields[2]), let startTime = UInt64(fields[3]) else { return nil }
            self.init(id: String(fields[1]), pid: pid, startTime: startTime)
            return
        }
        return nil
    }

    var serialized: String { "run \(id) \(pid) \(startTime)" }

    /// Whether the process that drew this identity is still running (its pid is alive and
    /// started when it did).
    var isAlive: Bool {
        guard startTime != 0, let current = ProcessTable.startTime(of: pid) else { return false }
        return current == startTime
    }
}

/// How `conduit-extract` tells `conduit-state commit` where its stream started and that it
/// really ended, without a byte of its own on stdout (which stays plain NDJSON for whatever
/// stands between the stages). Records are lines of JSON appended to
/// `<state file>.<resource>.run.ends`, each naming the resource's run in progress (read from the
/// run lock, checked alive) and the extract that wrote it (a random id per extract):
///
/// - **start**, before the extract's first byte reaches stdout (so before any stage downstream
///   can read a row): the state file it read, the value it started from and where that value
///   came from. The commit checks it at the first row: a start above its own committed value or
///   checkpoint would skip rows, so it is refused before anything loads.
/// - **end**, after the last byte, before the extract exits (so before any reader downstream
///   sees the end of input): the rows and bytes it wrote, a running hash of those bytes
///   (``StreamDigest``) and the last incremental value. The commit confirms the end only when
///   one end record's bytes and hash are exactly what it received; the last value bounds what it
///   may commit.
///
/// An earlier run's records name another run id; a second pipeline started by mistake adds
/// records of a second extract; a stage that cut, dropped, doubled or rewrote rows leaves a hash
/// that differs. See docs/INCREMENTAL.md, "Confirming the end".
package struct EndConfirmation {
    /// An extract's start record.
    package struct Start: Sendable, Equatable {
        package var extract: String
        package var pid: Int
        /// The canonical path of the state file the extract read.
        package var state: String
        /// The value bound to `:last_value` (nil: the first run's default, 0 or the type's minimum).
        package var startedFrom: StateValue?
        /// Where that value came from, for messages: `the state file …`, `--last-value`, ….
        package var origin: String
        /// Which kind of origin: `state`, `checkpoint` (read from the state), `last_value`,
        /// `initial_value`, `first_run` (given).
        package var originKind: String = "state"
        /// The value read from the state or checkpoint, before `lookback` lowered it.
        package var read: StateValue?
        /// ``ResourceFingerprint`` of the resource as the extract's configuration defines it.
        package var resource: String = ""

        package init(
            extract: String, pid: Int, state: String, startedFrom: StateValue?, origin: String, originKind: String = "state",
            read: StateValue? = nil, resource: String = ""
        ) {
            self.extract = extract
            self.pid = pid
            self.state = state
            self.startedFrom = startedFrom
            self.origin = origin
            self.originKind = originKind
            self.read = read
            self.resource = resource
        }

        /// Whether the extract took its value from the state (or checkpoint) it read, rather than
        /// from `--last-value`, `initial_value` or the first run's default.
        package var readTheState: Bool { originKind == "state" || originKind == "checkpoint" }
    }

    /// An extract's end record.
    package struct End: Sendable, Equatable {
        package var extract: String
        package var pid: Int
        package var rows: Int
        package var bytes: Int
        /// ``StreamDigest/hexValue`` of every byte written.
        package var hash: String
        /// The greatest incremental value written (in an ordered stream, the last); after a
        /// failure, a value at or above everything written.
        package var lastValue: StateValue?
        /// False for an extract that failed: its record bounds values but confirms nothing.
        package var complete: Bool

        package init(
            extract: String, pid: Int, rows: Int, bytes: Int, hash: String, lastValue: StateValue?, complete: Bool = true
        ) {
            self.extract = extract
            self.pid = pid
            self.rows = rows
            self.bytes = bytes
            self.hash = hash
            self.lastValue = lastValue
            self.complete = complete
        }
    }

    /// What the extract did at its end.
    package enum Outcome: Sendable, Equatable {
        case confirmed(run: String)
        /// No run of the resource was in progress before the wait ended (or stdout is not a pipe).
        case noRunInProgress
    }

    /// The state whose run records these are.
    package let state: any StateBackend
    package let resource: String
    /// How start records name the state (``StateBackend/identity``).
    package let stateIdentity: String

    package init(state: any StateBackend, resource: String) {
        self.state = state
        self.resource = resource
        stateIdentity = state.identity
    }

    /// How long after its start the extract waits for the commit to start, when none has yet.
    package static let defaultWait = 3.0

    /// A fresh id for one extract's records.
    package static func newExtractID() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next() as UInt64, radix: 16)
    }

    /// The run in progress, if one holds the resource's run lock and announced itself.
    func runInProgress() -> RunIdentity? {
        state.runInProgress(of: resource)
    }

    /// The run in progress, waiting up to `wait` seconds for one to start — and, past that, for
    /// as long as a `conduit-state commit` of the resource started by the same shell (a stage of
    /// the same pipeline) is running without its lock yet (a loaded machine can take seconds to
    /// start one), up to ``longestWait``.
    package func awaitRun(wait: Double, resource: String) -> String? {
        let started = MonotonicClock.now
        var deadline = started + wait
        var run = runInProgress()
        while run == nil {
            if MonotonicClock.now >= deadline {
                guard MonotonicClock.now < started + Self.longestWait, Self.siblingCommitIsStarting(resource: resource) else {
                    break
                }
                deadline = MonotonicClock.now + 0.5
            }
            ThisProcess.sleep(seconds: 0.01)
            run = runInProgress()
        }
        return run?.id
    }

    /// The most an extract waits for a commit that has started but not yet taken its run lock.
    package static let longestWait = 60.0

    /// Whether a `conduit-state … commit … RESOURCE …` process with this process's parent (the
    /// shell that started the pipeline) is running (from `/proc/<pid>/stat` and `cmdline`).
    static func siblingCommitIsStarting(resource: String) -> Bool {
        let own = ThisProcess.id
        let parent = ThisProcess.parentID
        for pid in ProcessTable.processIDs() {
            guard pid != own, ProcessTable.parent(of: pid) == parent, let arguments = ProcessTable.arguments(of: pid) else {
                continue
            }
            guard let program = arguments.first, program == "conduit-state" || program.hasSuffix("/conduit-state") else {
                continue
            }
            if arguments.contains("commit") && arguments.contains(resource) && !holdsRunLock(pid) { return true }
        }
        return false
    }

    /// Whether `pid` has a run lock file open: a commit past its start, whose lock (of another
    /// state file, since it is not ours) will not become ours.
    static func holdsRunLock(_ pid: Int32) -> Bool {
        ProcessTable.openFilePaths(of: pid).contains { $0.hasSuffix(".run.lock") }
    }

    /// conduit-extract, before its first byte: records where it started, for `run`.
    package func announceStart(
        run: String, extract: String, startedFrom: StateValue?, origin: String, originKind: String = "state",
        read: StateValue? = nil, resource: String = ""
    ) throws(ConduitError) {
        var fields = [
            JSONMember(key: "run", value: .string(run)),
            JSONMember(key: "extract", value: .string(extract)),
            JSONMember(key: "pid", value: .number(String(ThisProcess.id))),
            JSONMember(key: "event", value: .string("start")),
            JSONMember(key: "state", value: .string(stateIdentity)),
            JSONMember(key: "started_from", value: startedFrom?.jsonValue ?? .null),
            JSONMember(key: "origin", value: .string(origin)),
            JSONMember(key: "origin_kind", value: .string(originKind)),
            JSONMember(key: "resource", value: .string(resource)),
        ]
        if let read { fields.append(JSONMember(key: "read", value: read.jsonValue)) }
        try append(fields)
    }

    /// conduit-extract, after its last byte: records what it wrote, for `run`. An extract that
    /// failed records `complete: false`: its bytes confirm nothing, but its last value still
    /// bounds what may be committed (a value the extract never reached was rewritten).
    package func confirmEnd(
        run: String, extract: String, rows: Int, digest: StreamDigest, lastValue: StateValue?, complete: Bool = true
    ) throws(ConduitError) {
        var fields = [
            JSONMember(key: "run", value: .string(run)),
            JSONMember(key: "extract", value: .string(extract)),
            JSONMember(key: "pid", value: .number(String(ThisProcess.id))),
            JSONMember(key: "event", value: .string(complete ? "end" : "failed")),
            JSONMember(key: "rows", value: .number(String(rows))),
            JSONMember(key: "bytes", value: .number(String(digest.byteCount))),
            JSONMember(key: "hash", value: .string(digest.hexValue)),
        ]
        if let lastValue { fields.append(JSONMember(key: "last_value", value: lastValue.jsonValue)) }
        try append(fields)
    }

    private func append(_ fields: [JSONMember]) throws(ConduitError) {
        try state.appendRunRecord(Array((JSONValue.object(fields).serialized() + "\n").utf8), resource: resource)
    }

    /// The records naming `run`, in the order they were written.
    package func records(for run: String) -> (starts: [Start], ends: [End]) {
        var starts: [Start] = []
        var ends: [End] = []
        for line in state.runRecords(resource: resource) {
            guard case .object(let members)? = try? JSONParser.parse(line) else { continue }
            var fields: [String: JSONValue] = [:]
            for member in members { fields[member.key] = member.value }
            guard case .string(run)? = fields["run"], case .string(let extract)? = fields["extract"],
                case .string(let event)? = fields["event"], case .number(let pidText)? = fields["pid"]
            else { continue }
            let pid = Int(pidText) ?? 0
            switch event {
            case "start":
                guard case .string(let state)? = fields["state"], case .string(let origin)? = fields["origin"] else { continue }
                let startedFrom: StateValue?
                switch fields["started_from"] {
                case .number(let text)?: startedFrom = .number(text)
                case .string(let text)?: startedFrom = .string(text)
                case .null?: startedFrom = nil
                default: continue
                }
                var start = Start(extract: extract, pid: pid, state: state, startedFrom: startedFrom, origin: origin)
                if case .string(let kind)? = fields["origin_kind"] { start.originKind = kind }
                if case .string(let resource)? = fields["resource"] { start.resource = resource }
                switch fields["read"] {
                case .number(let text)?: start.read = .number(text)
                case .string(let text)?: start.read = .string(text)
                default: break
                }
                starts.append(start)
            case "end", "failed":
                guard case .number(let rowsText)? = fields["rows"], let rows = Int(rowsText), rows >= 0,
                    case .number(let bytesText)? = fields["bytes"], let count = Int(bytesText), count >= 0,
                    case .string(let hash)? = fields["hash"]
                else { continue }
                var lastValue: StateValue?
                switch fields["last_value"] {
                case .number(let text)?: lastValue = .number(text)
                case .string(let text)?: lastValue = .string(text)
                default: lastValue = nil
                }
                ends.append(
                    End(
                        extract: extract, pid: pid, rows: rows, bytes: count, hash: hash, lastValue: lastValue,
                        complete: event == "end"))
            default:
                continue
            }
        }
        return (starts, ends)
    }

    /// Waits, up to `seconds`, until every extract that recorded a start for `run` has recorded
    /// an end (or a failure) or is no longer running.
    package func awaitExtractsEnded(run: String, within seconds: Double) {
        let deadline = MonotonicClock.now + seconds
        while MonotonicClock.now < deadline {
            let (starts, ends) = records(for: run)
            let ended = Set(ends.map(\.extract))
            let running = starts.filter { !ended.contains($0.extract) && ProcessTable.exists(Int32($0.pid)) }
            if running.isEmpty { return }
            ThisProcess.sleep(seconds: 0.01)
        }
    }

    /// Removes the records (at the end of a run, while its lock is held: records name their
    /// run, so this only keeps the store from growing).
    package func clear() {
        state.clearRunRecords(resource: resource)
    }
}

/// Which resource a stream belongs to, as one configuration defines it: a hash of the query, the
/// incremental column and the source (its type and connection settings, secrets left out, a
/// SQLite path made absolute). An extract run with another `ingest.yml` that shares the state
/// file but reads another database, or with another query, records a different one.
package enum ResourceFingerprint {
    package static func of(_ resource: ResourceConfig, source: SourceConfig) -> String {
        var text = "query\u{0}\(resource.query)\u{0}column\u{0}\(resource.incrementalColumn ?? "")\u{0}type\u{0}\(source.type)"
        for (keyword, value) in source.connection.parameters where keyword != "password" {
            text += "\u{0}\(keyword)\u{0}\(value)"
        }
        if let url = source.connection.url {
            // user:password@ left out.
            var shown = url
            let characters = Array(url)
            if let colon = characters.firstIndex(of: ":"), characters.count > colon + 2, characters[colon + 1] == "/",
                characters[colon + 2] == "/", let at = characters[(colon + 3)...].lastIndex(of: "@")
            {
                shown = String(characters[..<(colon + 3)]) + String(characters[(at + 1)...])
            }
            text += "\u{0}url\u{0}\(shown)"
        }
        if let path = source.connection.path { text += "\u{0}path\u{0}\(StateFile(path: path).canonicalPath)" }
        if let schema = source.connection.schema { text += "\u{0}schema\u{0}\(schema)" }
        var digest = StreamDigest()
        digest.update(Array(text.utf8))
        return digest.hexValue
    }
}
