import Config
public import Core
import Glibc
import Stream

/// `conduit-state commit RESOURCE [--from UPSTREAM] -- LOADER…`: passes the stream through to
/// LOADER, checks every line and tracks the incremental column, and commits the value reached to
/// the state file only when LOADER exits 0. A bad stream stops LOADER before it can commit.
///
/// The stream must come from a `conduit-extract` of the resource reading this state file, which
/// records where it started and what it wrote (``EndConfirmation``): a start above the committed
/// value is refused at the first row, before anything loads, and the state never moves above the
/// last value the extract wrote. A value group reaches LOADER, and the state, only when it is
/// known complete: once a greater value follows it, or once the end of the stream is confirmed —
/// on a plain pipe by the extract's record of exactly the bytes received, with `--from` by every
/// stage's exit status. An unconfirmed end drops the open group (`ordered: false`: commits nothing).
public struct CommitRun {
    public var resource: String
    /// The resource's incremental column; nil for a resource that is not incremental.
    public var incrementalColumn: String?
    /// Whether the stream must be in non-decreasing order of the column (`ordered`, default true).
    public var requiresOrder: Bool
    public var stateFile: StateFile
    public var loader: [String]
    /// `--from`: the upstream pipeline to run and watch, instead of reading stdin.
    public var upstream: String?
    /// `--external`: the stream does not come from a conduit-extract of this resource reading
    /// this state (a file, another host); its start is taken on trust and nothing confirms its
    /// end but `--from`'s exit statuses.
    public var external = false
    /// The resource's `initial_value`: where its first run starts when nothing is committed.
    public var initialValue: StateValue?
    /// ``ResourceFingerprint`` of the resource in this configuration, which the extract's start
    /// record must carry (empty: not checked).
    public var resourceFingerprint = ""
    /// The environment LOADER and the upstream start with (the checkpoint settings are added).
    public var environment: [String: String]
    public var reporter: Reporter
    /// Seconds LOADER gets to stop after SIGTERM before it is killed.
    public var stopGrace: Double = 10
    /// The most of the open group kept in memory before it spills to a temporary file.
    public var memoryLimit = SpillBuffer.configuredMemoryLimit

    public init(resource: String, incrementalColumn: String?, requiresOrder: Bool, stateFile: StateFile,
                loader: [String], upstream: String? = nil, environment: [String: String], reporter: Reporter) {
        self.resource = resource
        self.incrementalColumn = incrementalColumn
        self.requiresOrder = requiresOrder
        self.stateFile = stateFile
        self.loader = loader
        self.upstream = upstream
        self.environment = environment
        self.reporter = reporter
    }

    /// Whether value groups are kept whole and checkpoints written: an ordered incremental resource.
    var keepsGroups: Bool { incrementalColumn != nil && requiresOrder }
    /// Whether the extract's records are required and checked.
    var checksExtract: Bool { incrementalColumn != nil && !external }

    /// Runs the pipeline stage; returns the exit status (LOADER's own when it fails).
    public func run(input: Int32 = 0) throws(ConduitError) -> ExitStatus {
        let runLock = try stateFile.acquireRunLock(for: resource)
        defer { withExtendedLifetime(runLock) {} }
        // A corrupt state file fails the run before anything is loaded.
        let committed = try stateFile.value(of: resource)
        let ledger = CheckpointLedger(stateFile: stateFile)
        let ledgerEntry = try ledger.entry(for: resource)
        let confirmation = EndConfirmation(stateFile: stateFile, resource: resource)
        // Records name their run, so an earlier run's are ignored; they are removed at the end,
        // while the lock is still held. Not at the start: an extract may already have found this
        // run in the lock file and recorded its start.
        defer { confirmation.clear() }
        let startRule = StartRule(
            resource: resource, committed: committed, checkpoint: keepsGroups ? ledgerEntry.checkpoint : nil,
            initialValue: initialValue, stateIdentity: confirmation.stateIdentity, fingerprint: resourceFingerprint)

        SignalForwarding.install()
        // The upstream starts before the loader, so it inherits neither the run lock nor the end-of-stream pipe.
        let upstreamPipeline = try upstream.map { (command) throws(ConduitError) in
            try UpstreamPipeline.start(command, environment: environment)
        }
        let loaderRun = try LoaderLaunch.start(
            loader, environment: environment, checkpointRun: keepsGroups ? try ledger.runToken(for: resource) : nil,
            ledger: ledger, runLock: runLock, resource: resource)
        let child = loaderRun.child
        SignalForwarding.forward(to: child.pid, and: upstreamPipeline?.processGroup)

        let started = MonotonicClock.now
        var tracker = IncrementalTracker(column: incrementalColumn, requiresOrder: requiresOrder)
        var progress = ProgressMeter(reporter: reporter, noun: "rows")
        let gate = GroupGate(holdsGroups: keepsGroups, loader: child, memoryLimit: memoryLimit)
        var reader = LineReader(descriptor: upstreamPipeline?.outputFD ?? input)
        reader.interruption = { gate.loaderStoppedReading || child.poll() != nil }
        var digest = StreamDigest()
        /// A cursor number beyond 2^53 was seen (jq 1.6 rounds those).
        var sawBigInteger = false
        /// How many start records the first row's check saw.
        var startsChecked = 0

        let outcome: LineReader.Outcome
        do {
            outcome = try reader.forEachLine(
                line: { (line, number, offset) throws(ConduitError) in
                    let begins = try tracker.consume(line, lineNumber: number)
                    if begins { gate.groupBegins(at: offset) }
                    if tracker.rows == 1, let first = tracker.maximum {
                        if let committed, committed.compare(to: first) == nil {
                            throw .badInput("line \(number): \(incrementalColumn ?? "") is a \(first.typeName) (\(first.plainText)) but the committed value is a \(committed.typeName) (\(committed.plainText))")
                        }
                        if checksExtract {
                            // Before any row reaches the loader: the gate holds the first group.
                            let starts = confirmation.records(for: runLock.run.id).starts
                            for warning in try startRule.check(starts, atLine: number) { reporter.warning("\(resource): \(warning)") }
                            startsChecked = starts.count
                        }
                    }
                    if begins, let value = tracker.maximum, Self.isBeyondDoubles(value) {
                        sawBigInteger = true
                        if let upstreamPipeline, let stage = upstreamPipeline.roundingStage {
                            throw .badInput("line \(number): \(JSONEscaping.quoted(incrementalColumn ?? "")) is \(value.plainText), beyond 2^53, and \(upstreamPipeline.describeStage(stage)) is jq older than 1.7, which rounds such integers to the nearest double (9007199254740993 becomes 9007199254740992): the state would skip or reload rows. Use jq 1.7 or later, which keeps integer literals")
                        }
                    }
                    progress.update(tracker.rows)
                },
                chunkEnd: { (chunk) throws(ConduitError) -> Int in
                    digest.update(UnsafeRawBufferPointer(chunk))
                    return try gate.chunkEnded(chunk)
                })
        } catch {
            progress.finish()
            let ended = try child.stop(grace: stopGrace)
            try upstreamPipeline?.stop(grace: stopGrace)
            throw ConduitError(error.kind, "\(resource): \(error.message); loader stopped (\(ended.description)); state unchanged")
        }
        progress.finish()

        switch outcome {
        case .stopped(let signal):
            let ended = try child.waitOrKill(grace: stopGrace)
            try upstreamPipeline?.stop(grace: stopGrace)
            reporter.warning("\(resource): stopped by \(ChildProcess.signalName(signal)); loader \(ended.description); state unchanged")
            return ExitStatus(rawValue: 128 + signal)
        case .interrupted:
            let ended = try child.wait()
            try upstreamPipeline?.stop(grace: stopGrace)
            if ended.isSuccess {
                throw .io("\(resource): the loader exited with status 0 before reading the whole stream; state unchanged")
            }
            reporter.warning("\(resource): the loader \(ended.description); state unchanged")
            return ended.exitStatus
        case .endOfStream:
            break
        }

        let received = StreamEnd.Received(
            rows: tracker.rows, bytes: digest.byteCount, hash: digest.hexValue, maximum: tracker.maximum,
            maximumLine: tracker.maximumLine, sawBigInteger: sawBigInteger)
        if checksExtract && upstreamPipeline == nil {
            // A stage downstream of the extract that stopped reading (head) ends this stream
            // before the extract learns of it and records its failure: give it a moment.
            confirmation.awaitExtractsEnded(run: runLock.run.id, within: 5)
        }
        let records: (starts: [EndConfirmation.Start], ends: [EndConfirmation.End]) =
            checksExtract ? confirmation.records(for: runLock.run.id) : ([], [])
        let ends = records.ends
        var end: StreamEnd
        if let upstreamPipeline {
            end = try StreamEnd.judge(upstreamPipeline, outcome: try upstreamPipeline.finish())
            if end == .confirmed && checksExtract {
                end = StreamEnd.judgeFinished(ends, received: received, resource: resource)
            }
        } else if checksExtract && received.rows > 0 {
            end = StreamEnd.judge(ends, received: received, resource: resource)
        } else if incrementalColumn != nil && received.rows > 0 {
            end = .unconfirmed(reason: "the end of a stream from elsewhere (--external) is confirmed only by --from's exit statuses, so the stream may have ended early", status: .success)
        } else {
            end = .confirmed
        }
        if case .void = end {} else if let rewritten = StreamEnd.rewritten(ends, received: received, column: incrementalColumn ?? "") {
            end = rewritten
        }
        // An extract that started after the first row (a second one later in the stream) is
        // checked too: its rows may already be loaded, so a refusal now voids the run.
        if case .void = end {} else if checksExtract && received.rows > 0 && records.starts.count > startsChecked {
            do throws(ConduitError) {
                for warning in try startRule.check(records.starts, atLine: nil) { reporter.warning("\(resource): \(warning)") }
            } catch {
                end = .void(reason: error.message, status: error.exitStatus)
            }
        }

        if case .void(let reason, let status) = end {
            // Rows that may be anything: nothing of this run may count.
            gate.drop()
            let ended = try child.stop(grace: stopGrace)
            if incrementalColumn != nil { try ledger.startNewEpoch(for: resource) }
            reporter.warning("\(resource): \(reason): no row of this run can be trusted, so none counts: loader stopped (\(ended.description)), state unchanged at \(committed?.plainText ?? "(none)"), this run's checkpoints are void, and the next run reads again from there (rows this run's loader committed load again: in append mode they are duplicated, in merge mode they are not)")
            return status
        }

        switch end {
        case .confirmed, .filtered: try gate.release()
        default: gate.drop()
        }
        loaderRun.confirmEndOfStream()
        child.closeInput()
        let ended = try child.wait()
        guard ended.isSuccess else {
            reporter.warning("\(resource): the loader \(ended.description); state unchanged")
            return ended.exitStatus
        }

        // What may be committed: all of it on a confirmed end or a filtered one; on an
        // unconfirmed end the groups a greater value followed, and nothing at all when the
        // stream has no order.
        var reached: StateValue?
        switch end {
        case .confirmed: reached = tracker.maximum
        case .filtered(let through): reached = requiresOrder ? through ?? tracker.maximum : tracker.maximum
        case .unconfirmed where requiresOrder: reached = tracker.completedMaximum
        default: reached = nil
        }
        // A resumed run's rows start after the checkpoint: what the interrupted run loaded counts too.
        if keepsGroups, let pending = ledgerEntry.checkpoint {
            reached = reached.map { $0.maximum(with: pending) ?? $0 } ?? pending
        }
        let newValue = try commit(reached)
        if keepsGroups || (incrementalColumn != nil && end == .confirmed) {
            try ledger.startNewEpoch(for: resource)
        }
        let seconds = MonotonicClock.now - started
        var summary = CommitSummary(
            resource: resource, incremental: incrementalColumn != nil, rows: tracker.rows, bytes: reader.bytesRead,
            seconds: seconds, old: committed, new: newValue)
        switch end {
        case .unconfirmed(let reason, _):
            summary.unconfirmedEnd = reason
            summary.ordered = requiresOrder
            if requiresOrder {
                summary.heldBackRows = tracker.rows - tracker.rowsBeforeOpenGroup
                summary.heldBackValue = tracker.maximum
            }
        case .filtered:
            summary.filtered = StreamEnd.describeFiltering(ends, received: received)
        default:
            break
        }
        summary.report(to: reporter)
        if case .unconfirmed(_, let status) = end { return status }
        return .success
    }

    /// Whether `value` is a number whose magnitude is 2^53 or more: where doubles stop holding
    /// every integer.
    static func isBeyondDoubles(_ value: StateValue) -> Bool {
        guard case .number(let text) = value, text.utf8.count >= 16 else { return false }
        let limit = StateValue.number("9007199254740992")
        let negativeLimit = StateValue.number("-9007199254740992")
        return value.compare(to: limit) != .ascending || value.compare(to: negativeLimit) != .descending
    }

    /// Writes `maximum` unless the committed value is already at or above it. Returns the value
    /// the state file holds afterwards.
    private func commit(_ maximum: StateValue?) throws(ConduitError) -> StateValue? {
        guard let maximum else { return try stateFile.value(of: resource) }
        var result: StateValue? = maximum
        try stateFile.update { (document: inout StateDocument) throws(ConduitError) in
            let current = try document.value(of: resource, source: stateFile.path)
            if let current {
                guard let greater = current.maximum(with: maximum) else {
                    throw .badInput("\(resource): the stream's \(maximum.typeName) values do not compare with the committed \(current.typeName) \(current.plainText); state unchanged")
                }
                result = greater
                if greater == current { return }
            }
            document.set(maximum, for: resource)
        }
        return result
    }
}

/// Where a run of `conduit-state commit` accepts a stream's start: an extract of the same
/// resource (``ResourceFingerprint``) reading this state file, that read exactly this run's own
/// value — the committed value, or the checkpoint of the interrupted run it resumes — or was given
/// a value at or below it (`--last-value`: re-reading is safe; skipping is not). Checked against
/// the extract's start record at the first row, before anything loads, and again at the end.
struct StartRule {
    var resource: String
    var committed: StateValue?
    var checkpoint: StateValue?
    var initialValue: StateValue?
    var stateIdentity: String
    /// ``ResourceFingerprint`` of the resource in this run's configuration; empty: not checked.
    var fingerprint = ""

    /// Where this run would start: the checkpoint when it is ahead, else the committed value,
    /// else `initial_value`; nil for the first run's default (0, or a time type's minimum).
    var ownStart: (value: StateValue?, origin: String) {
        if let checkpoint, committed.map({ checkpoint.compare(to: $0) == .descending }) ?? true {
            return (checkpoint, "the checkpoint of the interrupted run")
        }
        if let committed { return (committed, "the committed value") }
        if let initialValue { return (initialValue, "initial_value") }
        return (nil, "the first run's start")
    }

    /// Accepts the extracts' start records, or throws an error that says why (65; 75 when
    /// another run committed between the extract's read and this one). Returns warnings for
    /// starts below this run's own (rows loaded before load again).
    func check(_ starts: [EndConfirmation.Start], atLine line: Int?) throws(ConduitError) -> [String] {
        let at = line.map { "line \($0): " } ?? ""
        let own = ownStart
        let ownText = own.value?.plainText ?? "0"
        guard !starts.isEmpty else {
            throw .badInput("\(at)no conduit-extract of \(resource) reading this state file (\(stateIdentity)) recorded where this stream started, so it cannot be checked against \(own.origin), \(ownText): the rows come from an extract reading another state file (--state-file, the state_file of another ingest.yml), another folder or host, or not from conduit-extract at all; nothing loaded. For a stream from elsewhere whose start you vouch for, add --external")
        }
        var warnings: [String] = []
        for start in starts {
            let who = "conduit-extract (pid \(start.pid))"
            guard start.state == stateIdentity else {
                throw .badInput("\(at)\(who) read the state file \(start.state) but this run keeps \(stateIdentity); nothing loaded")
            }
            guard fingerprint.isEmpty || start.resource == fingerprint else {
                throw .badInput("\(at)\(who) ran \(resource) as another configuration defines it (another query or source, from another ingest.yml that shares this state file); nothing loaded")
            }
            if start.readTheState {
                // Read from the state: it must be what this run read, or another run committed in between.
                let same: Bool
                switch (start.read, own.value) {
                case (nil, nil): same = true
                case (let read?, let value?): same = read.compare(to: value) == .equal
                default: same = false
                }
                guard same else {
                    throw .busy("\(at)\(who) read \(start.read?.plainText ?? "no value") for \(resource) but \(own.origin) is now \(ownText): another run committed between the two reads, and this stream would load its rows again; nothing loaded, run again")
                }
                continue
            }
            guard let from = start.startedFrom else { continue }
            let limit = own.value ?? (from.isNumber ? .number("0") : .string("-infinity"))
            switch from.compare(to: limit) {
            case .ascending?:
                warnings.append("\(who) started from \(from.plainText) (\(start.origin)), below \(own.origin) \(ownText): rows between them load again (duplicated in append mode)")
            case .equal?:
                continue
            case .descending?:
                throw .badInput("\(at)\(who) started from \(from.plainText) (\(start.origin)) but \(own.origin) of \(resource) is \(ownText): rows above \(ownText) up to \(from.plainText) would never load; nothing loaded. To skip them on purpose, run conduit-state set \(resource) \(from.shellArgument) first")
            case nil:
                throw .badInput("\(at)\(who) started from the \(from.typeName) \(from.plainText) (\(start.origin)) but \(own.origin) of \(resource) is the \(limit.typeName) \(limit.plainText); nothing loaded")
            }
        }
        return warnings
    }
}

/// How the stream ended, as far as `conduit-state commit` can tell.
enum StreamEnd: Equatable {
    /// The extract's real end, exactly the bytes it wrote: every group is complete.
    case confirmed
    /// With `--from`, every stage finished and as many rows arrived as the extract wrote, but not
    /// its bytes: the filters' own complete output (a transformation such as `del(.email)`).
    /// Commits `through`, the last value the extract wrote, as it spelled it (a filter that
    /// re-spelled the cursor must not leave the source's comparison a spelling it never wrote).
    case filtered(through: StateValue?)
    /// Not known to be the end (the phrase that says why, and the exit status to return): the
    /// open group may be partial.
    case unconfirmed(reason: String, status: ExitStatus)
    /// Rows that cannot be trusted (a filter under `--from` failed, values were rewritten): no row of the run counts.
    case void(reason: String, status: ExitStatus)

    /// What `conduit-state commit` received.
    struct Received {
        var rows: Int
        var bytes: Int
        var hash: String
        var maximum: StateValue?
        var maximumLine: Int
        var sawBigInteger: Bool
    }

    /// On a plain pipe: confirmed by an end record of exactly the bytes received.
    static func judge(_ ends: [EndConfirmation.End], received: Received, resource: String) -> StreamEnd {
        if ends.contains(where: { $0.complete && $0.bytes == received.bytes && $0.hash == received.hash }) { return .confirmed }
        let ends = ends.filter(\.complete)
        guard !ends.isEmpty else {
            return .unconfirmed(reason: "the stream ended early (conduit-extract of \(resource) did not record its end: it failed or was stopped, or a stage between cut the stream)", status: .success)
        }
        return .unconfirmed(reason: "the stream was modified between conduit-extract and this commit (\(describeModification(ends, received: received)); a filter belongs in --from, which sees its exit status)", status: .success)
    }

    /// With `--from`, after every stage exited 0: confirmed when the bytes are the extract's;
    /// filtered when as many rows arrived; otherwise unconfirmed — a filter that selected rows
    /// cannot be told from one that stopped early and still exited 0 (`head`, `sed 10q`), so the
    /// last group waits for the next run, which reads it again.
    static func judgeFinished(_ ends: [EndConfirmation.End], received: Received, resource: String) -> StreamEnd {
        if ends.contains(where: { $0.complete && $0.bytes == received.bytes && $0.hash == received.hash }) { return .confirmed }
        let ends = ends.filter(\.complete)
        guard !ends.isEmpty else {
            if received.rows == 0 { return .confirmed }
            return .unconfirmed(reason: "the stream ended early (no conduit-extract of \(resource) in the upstream recorded its end)", status: .success)
        }
        if received.rows == 0 { return .confirmed }
        if ends.count == 1, ends[0].complete, ends[0].rows == received.rows { return .filtered(through: ends[0].lastValue) }
        let written = ends.count == 1 ? "conduit-extract wrote \(Plural.count(ends[0].rows, "row")) and \(received.rows) arrived" : "\(ends.count) runs of conduit-extract recorded an end to this run"
        return .unconfirmed(
            reason: "every stage of the upstream finished, but its filters changed the number of rows (\(written)): one that selects rows cannot be told from one that stopped early (head), so the last group is not known complete",
            status: .success)
    }

    /// A stream whose greatest value is above every value the extracts wrote: a stage rewrote
    /// the column, and no row of it can be trusted. Nil when that is not so (or not known).
    static func rewritten(_ ends: [EndConfirmation.End], received: Received, column: String) -> StreamEnd? {
        guard !ends.isEmpty, let maximum = received.maximum else { return nil }
        let written = ends.compactMap(\.lastValue)
        let highest = written.dropFirst().reduce(written.first) { highest, value in
            guard let highest else { return value }
            return value.compare(to: highest) == .descending ? value : highest
        }
        let above: Bool
        if let highest {
            above = maximum.compare(to: highest).map { $0 == .descending } ?? true
        } else {
            above = true  // the extract wrote no row, yet rows arrived
        }
        guard above else { return nil }
        let ceiling = highest.map { "above \($0.plainText), the last value conduit-extract wrote" } ?? "but conduit-extract wrote no row"
        return .void(
            reason: "line \(received.maximumLine): \(JSONEscaping.quoted(column)) is \(maximum.plainText), \(ceiling): a stage between them rewrote the incremental column or added rows",
            status: .dataError)
    }

    /// What a stage between did, from the extract's record and what arrived.
    static func describeModification(_ ends: [EndConfirmation.End], received: Received) -> String {
        var text: String
        if ends.count > 1 {
            let pids = ends.map { String($0.pid) }.joined(separator: ", ")
            text = "\(ends.count) runs of conduit-extract (pids \(pids)) recorded an end to this run and none wrote the bytes that arrived: another pipeline of the resource ran beside it"
        } else {
            let record = ends[0]
            let who = "conduit-extract (pid \(record.pid)) wrote \(Plural.count(record.rows, "row"))"
            if record.rows > received.rows {
                text = "\(who) and \(received.rows) arrived: a stage between removed \(Plural.count(record.rows - received.rows, "row")) (head, grep, a filter that dropped rows or failed)"
            } else if record.rows < received.rows {
                text = "\(who) and \(received.rows) arrived: a stage between added \(Plural.count(received.rows - record.rows, "row"))"
            } else {
                text = "\(who) and as many arrived, but not the same bytes (\(record.bytes) written, \(received.bytes) received): a stage between rewrote, reordered or swapped rows, or dropped some and doubled as many"
            }
        }
        if received.sawBigInteger {
            text += "; jq before 1.7 rounds integers beyond 2^53 (9007199254740992), as it would these values"
        }
        return text
    }

    /// The summary's words for a filtered stream.
    static func describeFiltering(_ ends: [EndConfirmation.End], received: Received) -> String {
        "every stage of the upstream finished and its filters rewrote rows: as many arrived as conduit-extract wrote (\(received.rows)), but not its bytes (\(ends.first.map { "\($0.bytes)" } ?? "?") written, \(received.bytes) received)"
    }

    /// With `--from`: every stage exited 0 (confirmed); only the extract failed (its rows before
    /// the failure are a sound prefix); a filter failed (void); the shell reported a number of
    /// statuses other than the stages' (void).
    static func judge(_ pipeline: UpstreamPipeline, outcome: UpstreamPipeline.Outcome) throws(ConduitError) -> StreamEnd {
        if !outcome.statuses.isEmpty && outcome.statuses.count != pipeline.stages.count {
            return .void(reason: "the upstream shell reported \(Plural.count(outcome.statuses.count, "exit status", plural: "exit statuses")) for \(Plural.count(pipeline.stages.count, "stage")), so which stage failed cannot be told", status: .software)
        }
        if outcome.succeeded { return .confirmed }
        if let (index, status) = outcome.failedFilter {
            return .void(reason: "\(pipeline.describeStage(index)) of the upstream exited with status \(status)", status: ExitStatus(rawValue: status))
        }
        if outcome.onlyFirstStageFailed, let status = outcome.statuses.first {
            guard pipeline.firstStageIsExtract else {
                return .void(
                    reason: "\(pipeline.describeStage(0)) of the upstream exited with status \(status), and it is not conduit-extract itself, so a filter inside it may have dropped rows",
                    status: ExitStatus(rawValue: status))
            }
            return .unconfirmed(reason: "the stream ended early (\(pipeline.describeStage(0)) exited with status \(status))", status: ExitStatus(rawValue: status))
        }
        let status = outcome.shell.exitStatus
        return .void(reason: "the upstream shell \(outcome.shell.description) without reporting its stages' statuses", status: status.rawValue == 0 ? .software : status)
    }
}

/// The loader, started with the read end of the end-of-stream pipe
/// (``CheckpointEnvironment/endOfStreamFD``) and, for an ordered incremental resource, the run's
/// checkpoint settings in its environment.
struct LoaderLaunch {
    let child: ChildProcess
    /// Our end of the end-of-stream pipe; -1 without one. Closed when this process exits.
    private let endOfStreamWriteFD: Int32

    static func start(
        _ loader: [String], environment: [String: String], checkpointRun: String?, ledger: CheckpointLedger,
        runLock: RunLock, resource: String
    ) throws(ConduitError) -> LoaderLaunch {
        var childEnvironment = environment
        if let checkpointRun {
            // The loader's checkpoints belong to this run's epoch (see CheckpointLedger).
            childEnvironment[CheckpointEnvironment.run] = checkpointRun
            childEnvironment[CheckpointEnvironment.ledger] = ledger.path
        }
        // Every loader learns whether the stream really ended: a replace must not swap in, and a
        // last batch must not commit, after conduit-state died.
        let endOfStream: (read: Int32, write: Int32)
        switch SystemCall.makePipe() {
        case .success(let ends):
            endOfStream = ends
            // Only the read end goes to the loader; the write end stays ours alone.
            _ = fcntl(ends.0, F_SETFD, 0)
            childEnvironment[CheckpointEnvironment.endOfStreamFD] = String(ends.0)
        case .failure(let error):
            throw .io("\(resource): creating the end-of-stream pipe: \(error)")
        }
        runLock.shareWithChildProcesses()
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(loader, environment: childEnvironment)
        } catch {
            close(endOfStream.read)
            close(endOfStream.write)
            throw error
        }
        close(endOfStream.read)
        return LoaderLaunch(child: child, endOfStreamWriteFD: endOfStream.write)
    }

    /// Tells the loader the stream really ended (it may commit its last batch), just before its input closes.
    func confirmEndOfStream() {
        guard endOfStreamWriteFD >= 0 else { return }
        var complete: UInt8 = 1
        _ = write(endOfStreamWriteFD, &complete, 1)
    }
}

/// The one line `conduit-state commit` prints at the end of a run whose loader succeeded.
struct CommitSummary {
    var resource: String
    var incremental: Bool
    var rows: Int
    var bytes: Int
    var seconds: Double
    var old: StateValue?
    var new: StateValue?
    /// Why the end was not confirmed, when it was not: a phrase (`the stream ended early (…)`).
    var unconfirmedEnd: String?
    /// What the filters of --from did, when the stream is not the extract's bytes.
    var filtered: String?
    var ordered = true
    var heldBackRows = 0
    var heldBackValue: StateValue?

    func report(to reporter: Reporter) {
        let rate = seconds > 0 ? Int(Double(rows) / seconds) : rows
        let oldText = old?.plainText ?? "(none)"
        let newText = new?.plainText ?? "(none)"
        let change: String
        if !incremental {
            change = "not incremental, no state kept"
        } else if old == new {
            change = rows == 0 ? "no rows, state unchanged at \(oldText)" : "state unchanged at \(oldText)"
        } else {
            change = "state \(oldText) → \(newText)"
        }
        var text = "\(resource): \(Plural.count(rows, "row")), \(bytes) bytes in \(Duration.format(seconds))s (\(rate) rows/s)"
        if let unconfirmedEnd {
            if ordered, let heldBackValue {
                let committed = old == new ? "nothing more committed" : "committed up to \(newText)"
                text += "; \(unconfirmedEnd); \(committed); the group at \(heldBackValue.plainText) (\(Plural.count(heldBackRows, "row"))) was not loaded and will be read again; \(change)"
            } else {
                text += "; \(unconfirmedEnd), and the resource is ordered: false, so no part of it is known complete: nothing committed, \(change) (the rows loaded load again on the next run)"
            }
        } else if let filtered {
            text += "; \(filtered); \(change)"
        } else {
            text += "; \(change)"
        }
        var fields: [(String, JSONValue)] = [
            ("resource", .string(resource)),
            ("rows", .number(String(rows))),
            ("bytes", .number(String(bytes))),
            ("seconds", .number(Duration.format(seconds))),
            ("rows_per_second", .number(String(rate))),
            ("old_value", old?.jsonValue ?? .null),
            ("new_value", new?.jsonValue ?? .null),
            ("end", .string(unconfirmedEnd != nil ? "unconfirmed" : filtered != nil ? "filtered" : "confirmed")),
        ]
        if let unconfirmedEnd {
            fields.append(("end_reason", .string(unconfirmedEnd)))
            if let heldBackValue {
                fields.append(("held_back_value", heldBackValue.jsonValue))
                fields.append(("held_back_rows", .number(String(heldBackRows))))
            }
        }
        if unconfirmedEnd == nil {
            reporter.summary(text, fields: fields)
        } else {
            reporter.warning(text, fields: fields)
        }
    }
}

/// Seconds as text with three decimals, for summaries.
public enum Duration {
    public static func format(_ seconds: Double) -> String {
        let milliseconds = Int((seconds * 1000).rounded())
        let fraction = String(milliseconds % 1000).leftPadded(to: 3)
        return "\(milliseconds / 1000).\(fraction)"
    }
}
