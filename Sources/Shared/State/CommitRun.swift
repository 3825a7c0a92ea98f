package import Core
import Stream

/// `conduit-state commit RESOURCE [--from UPSTREAM] -- LOADER…`: passes the stream through to
/// LOADER, checks every line and tracks the incremental column, and commits the value reached to
/// the state only when LOADER exits 0. A bad stream stops LOADER before it can commit.
///
/// The stream must come from a `conduit-extract` of the resource reading this state file, which
/// records where it started and what it wrote (``EndConfirmation``): a start above the committed
/// value is refused at the first row, before anything loads, and the state never moves above the
/// last value the extract wrote. A value group reaches LOADER, and the state, only when it is
/// known complete: once a greater value follows it, or once the end of the stream is confirmed —
/// on a plain pipe by the extract's record of exactly the bytes received, with `--from` by every
/// stage's exit status. An unconfirmed end drops the open group (`ordered: false`: commits nothing).
package struct CommitRun {
    package var resource: String
    /// The resource's incremental column; nil for a resource that is not incremental.
    package var incrementalColumn: String?
    /// Whether the stream must be in non-decreasing order of the column (`ordered`, default true).
    package var requiresOrder: Bool
    package var state: any StateBackend
    package var loader: [String]
    /// `--from`: the upstream pipeline to run and watch, instead of reading stdin.
    package var upstream: String?
    /// `--external`: the stream does not come from a conduit-extract of this resource reading
    /// this state (a file, another host); its start is taken on trust and nothing confirms its
    /// end but `--from`'s exit statuses.
    package var external = false
    /// The resource's `initial_value`: where its first run starts when nothing is committed.
    package var initialValue: StateValue?
    /// ``ResourceFingerprint`` of the resource in this configuration, which the extract's start
    /// record must carry (empty: not checked).
    package var resourceFingerprint = ""
    /// The environment LOADER and the upstream start with (the checkpoint settings are added).
    package var environment: [String: String]
    package var reporter: Reporter
    /// Seconds LOADER gets to stop after SIGTERM before it is killed.
    package var stopGrace: Double = 10
    /// The most of the open group kept in memory before it spills to a temporary file.
    package var memoryLimit = SpillBuffer.configuredMemoryLimit

    package init(
        resource: String, incrementalColumn: String?, requiresOrder: Bool, state: any StateBackend,
        loader: [String], upstream: String? = nil, environment: [String: String], reporter: Reporter
    ) {
        self.resource = resource
        self.incrementalColumn = incrementalColumn
        self.requiresOrder = requiresOrder
        self.state = state
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
    ///
    /// The steps are docs/ARCHITECTURE.md's ("How a row travels", step 3), in this order, and the
    /// order is what keeps rows from being lost or doubled: signals are forwarded before a line
    /// is read, the loader learns that the stream really ended only after the end is judged, and
    /// the state moves only after the loader exits 0.
    package func run(input: Int32 = 0) throws(ConduitError) -> ExitStatus {
        let runLock = try state.acquireRunLock(for: resource, announcesRun: true)
        defer { withExtendedLifetime(runLock) {} }
        let baseline = try readLedger(run: runLock.run.id)
        // Records name their run, so an earlier run's are ignored; they are removed at the end,
        // while the lock is still held. Not at the start: an extract may already have found this
        // run in the lock file and recorded its start.
        defer { baseline.confirmation.clear() }
        let processes = try startUpstreamAndLoader(baseline, runLock: runLock)
        let pumped = try pumpLines(from: processes.upstream?.outputFD ?? input, baseline, processes, runLock: runLock)
        if let status = try stopIfCutShort(pumped.outcome, processes) { return status }
        let judgment = try judgeEnd(pumped, baseline, upstream: processes.upstream)
        if case .void(let reason, let status) = judgment.end {
            try voidRun(reason: reason, baseline, loader: processes.child, gate: pumped.gate)
            return status
        }
        try releaseOrDropOpenGroup(judgment.end, pumped, loader: processes.child)
        if let failure = try waitForLoader(processes.loader, rows: pumped.tracker.rows, baseline) { return failure }
        let newValue = try commitState(judgment.end, tracker: pumped.tracker, baseline, runLock: runLock)
        reportSummary(judgment, pumped, baseline, newValue: newValue)
        if case .unconfirmed(_, let status) = judgment.end { return status }
        return .success
    }

    /// What the run reads under its lock before anything starts.
    struct Baseline {
        /// The committed value: the state's `old` in the summary.
        let committed: StateValue?
        let ledger: CheckpointLedger
        /// The pending checkpoint of an interrupted run this one resumes.
        let pendingCheckpoint: StateValue?
        let confirmation: EndConfirmation
        let startRule: StartRule
        /// This run's id, which the extract's records name.
        let runID: String
    }

    /// Reads the ledger: the committed value, the interrupted run's checkpoint, and the rule the
    /// extract's start must meet.
    private func readLedger(run runID: String) throws(ConduitError) -> Baseline {
        // A corrupt state file fails the run before anything is loaded.
        let committed = try state.value(of: resource)
        let ledger = CheckpointLedger(state: state)
        let ledgerEntry = try ledger.entry(for: resource)
        let confirmation = EndConfirmation(state: state, resource: resource)
        var startRule = StartRule(
            resource: resource, committed: committed, checkpoint: keepsGroups ? ledgerEntry.checkpoint : nil,
            initialValue: initialValue, stateIdentity: confirmation.stateIdentity, fingerprint: resourceFingerprint)
        if state.isShared { startRule.sharedState = (state.label, state.runStartWait) }
        return Baseline(
            committed: committed, ledger: ledger, pendingCheckpoint: ledgerEntry.checkpoint, confirmation: confirmation,
            startRule: startRule, runID: runID)
    }

    /// The processes the run starts: the upstream (`--from`) and the loader.
    struct Processes {
        let upstream: UpstreamPipeline?
        let loader: LoaderLaunch
        var child: ChildProcess { loader.child }
    }

    /// Starts the upstream and the loader, with SIGINT and SIGTERM forwarded to both.
    private func startUpstreamAndLoader(_ baseline: Baseline, runLock: RunLock) throws(ConduitError) -> Processes {
        SignalForwarding.install()
        // The upstream starts before the loader, so it inherits neither the run lock nor the end-of-stream pipe.
        let upstreamPipeline = try upstream.map { (command) throws(ConduitError) in
            try UpstreamPipeline.start(command, environment: environment)
        }
        let ledger = baseline.ledger
        let loaderRun = try LoaderLaunch.start(
            loader, environment: environment, checkpointRun: keepsGroups ? try ledger.runToken(for: resource) : nil,
            ledger: ledger, runLock: runLock, resource: resource,
            uniqueKey: Self.loaderValidatesLines(loader) ? incrementalColumn : nil)
        SignalForwarding.forward(to: loaderRun.child.pid, and: upstreamPipeline?.processGroup)
        return Processes(upstream: upstreamPipeline, loader: loaderRun)
    }

    /// What the pump read, and where it stopped.
    struct Pumped {
        let outcome: LineReader.Outcome
        /// When the pump started: the summary times the run from here.
        let started: Double
        let tracker: IncrementalTracker
        let gate: GroupGate
        let digest: StreamDigest
        let bytesRead: Int
        /// A cursor number beyond 2^53 was seen (jq 1.6 rounds those).
        let sawBigInteger: Bool
        /// How many start records the first row's check saw.
        let startsChecked: Int
    }

    /// What the lines showed so far, while the pump reads them.
    struct LinesSeen {
        var tracker: IncrementalTracker
        var sawBigInteger = false
        var startsChecked = 0
        /// The line whose value the tracker carries as the maximum, when it was not validated in
        /// full: a later line refused against that value may be refused for this line's fault.
        var carrier: CarrierLine?

        /// The carrier's fault (not a JSON object, the column twice), as the refusal naming it;
        /// `chunkStart`: where the current chunk begins, for a carrier in it.
        func carrierFault(chunkStart: UnsafePointer<UInt8>?) -> String? {
            switch carrier {
            case .inChunk(let number, let offset, let count)?:
                guard let chunkStart else { return nil }
                return tracker.fault(of: UnsafeBufferPointer(start: chunkStart + offset, count: count), lineNumber: number)
            case .copied(let number, let bytes)?:
                return bytes.withUnsafeBufferPointer { tracker.fault(of: $0, lineNumber: number) }
            case nil:
                return nil
            }
        }
    }

    /// Where the carried maximum's line is: in the chunk being read, or copied at its end.
    enum CarrierLine {
        case inChunk(number: Int, offset: Int, count: Int)
        case copied(number: Int, bytes: [UInt8])
    }

    /// Pumps lines through the tracker and the gate: each line is checked and its value tracked,
    /// and each chunk read is hashed and passed to the loader as far as its complete groups go.
    /// A bad line stops the loader and the upstream and fails the run, state unchanged.
    private func pumpLines(
        from input: Int32, _ baseline: Baseline, _ processes: Processes, runLock: RunLock
    ) throws(ConduitError) -> Pumped {
        let child = processes.child
        let started = MonotonicClock.now
        var seen = LinesSeen(
            tracker: IncrementalTracker(
                column: incrementalColumn, requiresOrder: requiresOrder, loaderValidates: Self.loaderValidatesLines(loader)))
        var progress = ProgressMeter(reporter: reporter, noun: "rows")
        let gate = GroupGate(holdsGroups: keepsGroups, loader: child, memoryLimit: memoryLimit)
        var reader = LineReader(descriptor: input)
        reader.interruption = { gate.loaderStoppedReading || child.poll() != nil }
        // A lock held by a database session is gone when the session is (terminated, network
        // lost): another run may start, so this one stops rather than load beside it.
        let state = state
        reader.tick = (
            interval: 1,
            action: { () throws(ConduitError) in
                if runLock.holder.isLost {
                    throw .unavailable("the session holding the run lock in \(state.label) ended, so the lock is gone")
                }
            }
        )
        var digest = StreamDigest()

        let outcome: LineReader.Outcome
        do {
            outcome = try reader.forEachLine(
                line: { (line, number, offset) throws(ConduitError) in
                    // At each chunk's first line, until the loader has said it refuses a row
                    // holding the column twice: from then on lines are read only that far.
                    if offset == 0, seen.tracker.loaderValidates, !seen.tracker.stopsAtColumn,
                        processes.loader.loaderRefusesRepeatedKey()
                    {
                        seen.tracker.stopsAtColumn = true
                    }
                    try take(
                        line, number: number, offset: offset, into: &seen, gate: gate, baseline, upstream: processes.upstream)
                    progress.update(seen.tracker.rows)
                },
                chunkEnd: { (chunk) throws(ConduitError) -> Int in
                    digest.update(UnsafeRawBufferPointer(chunk))
                    if case .inChunk(let number, let offset, let count)? = seen.carrier {
                        seen.carrier = .copied(number: number, bytes: Array(chunk[offset..<(offset + count)]))
                    }
                    return try gate.chunkEnded(chunk)
                })
        } catch {
            progress.finish()
            let ended = try child.stop(grace: stopGrace)
            try processes.upstream?.stop(grace: stopGrace)
            // A cut last line after a line read only as far as its value: that line's own fault first.
            let message =
                error.kind == .badInput ? (seen.carrierFault(chunkStart: nil) ?? error.message) : error.message
            throw ConduitError(
                error.kind, "\(resource): \(message); loader stopped (\(ended.description)); state unchanged")
        }
        progress.finish()
        return Pumped(
            outcome: outcome, started: started, tracker: seen.tracker, gate: gate, digest: digest, bytesRead: reader.bytesRead,
            sawBigInteger: seen.sawBigInteger, startsChecked: seen.startsChecked)
    }

    /// Tracks one line (`offset`: where it begins in the chunk read) and marks where its value
    /// group begins; checks the first row; refuses a cursor beyond 2^53 that an old jq upstream
    /// may have rounded.
    private func take(
        _ line: UnsafeBufferPointer<UInt8>, number: Int, offset: Int, into seen: inout LinesSeen, gate: GroupGate,
        _ baseline: Baseline, upstream upstreamPipeline: UpstreamPipeline?
    ) throws(ConduitError) {
        let begins: Bool
        do {
            begins = try seen.tracker.consume(line, lineNumber: number)
        } catch {
            // Refused against the carried value: the line that carried it may be the one at fault.
            throw seen.carrierFault(chunkStart: line.baseAddress.map { $0 - offset }).map { .badInput($0) } ?? error
        }
        if seen.tracker.lastLineSetMaximum {
            seen.carrier = seen.tracker.lastLineCheckedFully ? nil : .inChunk(number: number, offset: offset, count: line.count)
        }
        if begins { gate.groupBegins(at: offset) }
        if seen.tracker.rows == 1, let first = seen.tracker.maximum,
            let startsChecked = try checkFirstRow(first, atLine: number, baseline)
        {
            seen.startsChecked = startsChecked
        }
        if begins, seen.tracker.maximumMayBeBeyondDoubles, let value = seen.tracker.maximum, Self.isBeyondDoubles(value) {
            seen.sawBigInteger = true
            if let upstreamPipeline, let stage = upstreamPipeline.roundingStage {
                throw .badInput(
                    "line \(number): \(JSONEscaping.quoted(incrementalColumn ?? "")) is \(value.plainText), beyond 2^53, and \(upstreamPipeline.describeStage(stage)) is jq older than 1.7, which rounds such integers to the nearest double (9007199254740993 becomes 9007199254740992): the state would skip or reload rows. Use jq 1.7 or later, which keeps integer literals"
                )
            }
        }
    }

    /// Checks the first row's value against the committed one and, when the extract is checked,
    /// the extract's start records against ``StartRule``. Returns how many start records it
    /// checked (nil when it checks none).
    private func checkFirstRow(_ first: StateValue, atLine number: Int, _ baseline: Baseline) throws(ConduitError) -> Int? {
        if let committed = baseline.committed, committed.compare(to: first) == nil {
            throw .badInput(
                "line \(number): \(incrementalColumn ?? "") is a \(first.typeName) (\(first.plainText)) but the committed value is a \(committed.typeName) (\(committed.plainText))"
            )
        }
        guard checksExtract else { return nil }
        // Before any row reaches the loader: the gate holds the first group.
        let starts = baseline.confirmation.records(for: baseline.runID).starts
        for warning in try baseline.startRule.check(starts, atLine: number) { reporter.warning("\(resource): \(warning)") }
        return starts.count
    }

    /// A stream that SIGINT or SIGTERM stopped, or that the loader stopped reading, commits
    /// nothing: waits for (or stops) the loader and stops the upstream. Returns the exit status,
    /// or nil when the stream reached its end.
    private func stopIfCutShort(_ outcome: LineReader.Outcome, _ processes: Processes) throws(ConduitError) -> ExitStatus? {
        switch outcome {
        case .stopped(let signal):
            let ended = try processes.child.waitOrKill(grace: stopGrace)
            try processes.upstream?.stop(grace: stopGrace)
            reporter.warning(
                "\(resource): stopped by \(ChildProcess.signalName(signal)); loader \(ended.description); state unchanged")
            return ExitStatus(rawValue: 128 + signal)
        case .interrupted:
            let ended = try processes.child.wait()
            try processes.upstream?.stop(grace: stopGrace)
            if ended.isSuccess {
                throw .io("\(resource): the loader exited with status 0 before reading the whole stream; state unchanged")
            }
            reporter.warning("\(resource): the loader \(ended.description); state unchanged")
            return ended.exitStatus
        case .endOfStream:
            return nil
        }
    }

    /// How the end was judged, and what the judgment rests on.
    struct Judgment {
        let end: StreamEnd
        let received: StreamEnd.Received
        /// This run's end records (none when the extract is not checked).
        let ends: [EndConfirmation.End]
    }

    /// Judges the end (``StreamEnd``): by the upstream's exit statuses or the extract's end
    /// record; then voids a run whose values rise above the extract's last one, or whose later
    /// extract started where this run may not.
    private func judgeEnd(_ pumped: Pumped, _ baseline: Baseline, upstream: UpstreamPipeline?) throws(ConduitError) -> Judgment {
        let received = StreamEnd.Received(
            rows: pumped.tracker.rows, bytes: pumped.digest.byteCount, hash: pumped.digest.hexValue,
            maximum: pumped.tracker.maximum, maximumLine: pumped.tracker.maximumLine, sawBigInteger: pumped.sawBigInteger)
        if checksExtract && upstream == nil {
            // A stage downstream of the extract that stopped reading (head) ends this stream
            // before the extract learns of it and records its failure: give it a moment.
            baseline.confirmation.awaitExtractsEnded(run: baseline.runID, within: 5)
        }
        let records: (starts: [EndConfirmation.Start], ends: [EndConfirmation.End]) =
            checksExtract ? baseline.confirmation.records(for: baseline.runID) : ([], [])
        let ends = records.ends
        var end = try judgeHowItEnded(ends, received: received, upstream: upstream)
        if case .void = end {
        } else if let rewritten = StreamEnd.rewritten(ends, received: received, column: incrementalColumn ?? "") {
            end = rewritten
        }
        // An extract that started after the first row (a second one later in the stream) is
        // checked too: its rows may already be loaded, so a refusal now voids the run.
        if case .void = end {
        } else if checksExtract && received.rows > 0 && records.starts.count > pumped.startsChecked {
            do throws(ConduitError) {
                for warning in try baseline.startRule.check(records.starts, atLine: nil) {
                    reporter.warning("\(resource): \(warning)")
                }
            } catch {
                end = .void(reason: error.message, status: error.exitStatus)
            }
        }
        return Judgment(end: end, received: received, ends: ends)
    }

    /// The end as the upstream's exit statuses (`--from`) or the extract's end records (a plain
    /// pipe) tell it; a stream from elsewhere on a plain pipe is never confirmed.
    private func judgeHowItEnded(
        _ ends: [EndConfirmation.End], received: StreamEnd.Received, upstream: UpstreamPipeline?
    ) throws(ConduitError) -> StreamEnd {
        if let upstream {
            let end = try StreamEnd.judge(upstream, outcome: try upstream.finish())
            if end == .confirmed && checksExtract {
                return StreamEnd.judgeFinished(ends, received: received, resource: resource)
            }
            return end
        }
        if checksExtract && received.rows > 0 {
            return StreamEnd.judge(ends, received: received, resource: resource)
        }
        if incrementalColumn != nil && received.rows > 0 {
            return .unconfirmed(
                reason:
                    "the end of a stream from elsewhere (--external) is confirmed only by --from's exit statuses, so the stream may have ended early",
                status: .success)
        }
        return .confirmed
    }

    /// Voids the run: its rows may be anything, so nothing of it may count. Drops the open
    /// group, stops the loader, voids this run's checkpoints, and says so.
    private func voidRun(reason: String, _ baseline: Baseline, loader child: ChildProcess, gate: GroupGate) throws(ConduitError) {
        gate.drop()
        let ended = try child.stop(grace: stopGrace)
        if incrementalColumn != nil { try baseline.ledger.startNewEpoch(for: resource) }
        reporter.warning(
            "\(resource): \(reason): no row of this run can be trusted, so none counts: loader stopped (\(ended.description)), state unchanged at \(baseline.committed?.plainText ?? "(none)"), this run's checkpoints are void, and the next run reads again from there (rows this run's loader committed load again: in append mode they are duplicated, in merge mode they are not)"
        )
    }

    /// Releases the open group to the loader on a confirmed or filtered end; drops it otherwise.
    private func releaseOrDropOpenGroup(_ end: StreamEnd, _ pumped: Pumped, loader child: ChildProcess) throws(ConduitError) {
        switch end {
        case .confirmed, .filtered: try pumped.gate.release()
        default:
            // The loader never sees a dropped group: where the commit left validation to it,
            // the group is validated here, so a bad line fails the run as it always did.
            if pumped.tracker.loaderValidates,
                let problem = try pumped.gate.firstInvalidHeldLine(
                    firstLine: pumped.tracker.maximumLine,
                    uniqueKey: pumped.tracker.someLineReadToColumn ? incrementalColumn.map { Array($0.utf8) } : nil)
            {
                let ended = try child.stop(grace: stopGrace)
                throw .badInput("\(resource): \(problem); loader stopped (\(ended.description)); state unchanged")
            }
            pumped.gate.drop()
        }
    }

    /// Tells the loader the stream really ended (it may commit its last batch), closes its input
    /// and waits for it. Returns its exit status when it failed (state unchanged), else nil.
    private func waitForLoader(_ loaderRun: LoaderLaunch, rows: Int, _ baseline: Baseline) throws(ConduitError) -> ExitStatus? {
        loaderRun.confirmEndOfStream()
        loaderRun.child.closeInput()
        let ended = try loaderRun.child.wait()
        guard ended.isSuccess else {
            reporter.warning("\(resource): the loader \(ended.description); state unchanged")
            let entry = HistoryEntry(
                event: "failed", resource: resource, from: baseline.committed, to: baseline.committed, rows: rows,
                loaderStatus: Int(ended.exitStatus.rawValue), run: baseline.runID)
            do {
                try state.appendHistory(entry)
            } catch {
                reporter.warning("\(resource): could not record the failed run in the history: \(error.message)")
            }
            return ended.exitStatus
        }
        return nil
    }

    /// Commits the state, after the loader exited 0: the value the judged end allows, and starts
    /// the ledger's next epoch. Returns the value the state file holds afterwards.
    private func commitState(
        _ end: StreamEnd, tracker: IncrementalTracker, _ baseline: Baseline, runLock: RunLock
    ) throws(ConduitError) -> StateValue? {
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
        if keepsGroups, let pending = baseline.pendingCheckpoint {
            reached = reached.map { $0.maximum(with: pending) ?? $0 } ?? pending
        }
        let history = HistoryEntry(
            event: "commit", resource: resource, rows: tracker.rows, loaderStatus: 0, run: runLock.run.id)
        return try state.commit(
            resource: resource, run: runLock, newEpoch: keepsGroups || (incrementalColumn != nil && end == .confirmed),
            history: history
        ) { (current) throws(ConduitError) -> StateChange in try change(from: current, to: reached) }
    }

    /// Reports the summary (``CommitSummary``): a warning when the end was not confirmed.
    private func reportSummary(_ judgment: Judgment, _ pumped: Pumped, _ baseline: Baseline, newValue: StateValue?) {
        let tracker = pumped.tracker
        var summary = CommitSummary(
            resource: resource, incremental: incrementalColumn != nil, rows: tracker.rows, bytes: pumped.bytesRead,
            seconds: MonotonicClock.now - pumped.started, old: baseline.committed, new: newValue)
        switch judgment.end {
        case .unconfirmed(let reason, _):
            summary.unconfirmedEnd = reason
            summary.ordered = requiresOrder
            if requiresOrder {
                summary.heldBackRows = tracker.rows - tracker.rowsBeforeOpenGroup
                summary.heldBackValue = tracker.maximum
            }
        case .filtered:
            summary.filtered = StreamEnd.describeFiltering(judgment.ends, received: judgment.received)
        default:
            break
        }
        summary.report(to: reporter)
    }

    /// Whether the loader is `conduit-load` itself (its program, by name): it refuses any line
    /// that is not valid JSON before the batch holding it commits, so the commit need not
    /// validate each line again. Any other loader (`psql`, a script, `sh -c …`) gets every line
    /// validated here.
    static func loaderValidatesLines(_ loader: [String]) -> Bool {
        guard let program = loader.first else { return false }
        // `conduit-load --help` and `--version` read nothing.
        let readsNothing = loader.dropFirst().contains { $0 == "--help" || $0 == "-h" || $0 == "--version" }
        return program.split(separator: "/", omittingEmptySubsequences: false).last == "conduit-load" && !readsNothing
    }

    /// Whether `value` is a number whose magnitude is 2^53 or more: where doubles stop holding
    /// every integer.
    static func isBeyondDoubles(_ value: StateValue) -> Bool {
        guard case .number(let text) = value, text.utf8.count >= 16 else { return false }
        let limit = StateValue.number("9007199254740992")
        let negativeLimit = StateValue.number("-9007199254740992")
        return value.compare(to: limit) != .ascending || value.compare(to: negativeLimit) != .descending
    }

    /// Moves the committed value to `maximum` unless it is already at or above it.
    private func change(from current: StateValue?, to maximum: StateValue?) throws(ConduitError) -> StateChange {
        guard let maximum else { return .keep }
        guard let current else { return .set(maximum) }
        guard let greater = current.maximum(with: maximum) else {
            throw .badInput(
                "\(resource): the stream's \(maximum.typeName) values do not compare with the committed \(current.typeName) \(current.plainText); state unchanged"
            )
        }
        return greater == current ? .keep : .set(greater)
    }
}
