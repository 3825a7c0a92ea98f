import Config
public import Core
import Glibc
import Stream

/// `conduit-state commit RESOURCE [--from UPSTREAM] -- LOADER…`: passes the stream through to
/// LOADER, checks every line and tracks the incremental column, and commits the value reached to
/// the state file only when LOADER exits 0. A bad stream stops LOADER before it can commit.
///
/// A value group reaches LOADER, and the state, only when it is known complete: once a greater
/// value follows it, or once the end of the stream is confirmed as the extract's real end — by
/// the extract's record (``EndConfirmation``) on a plain pipe, by every stage's exit status with
/// `--from`. An unconfirmed end drops the open group (`ordered: false`: commits nothing).
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

    /// Runs the pipeline stage; returns the exit status (LOADER's own when it fails).
    public func run(input: Int32 = 0) throws(ConduitError) -> ExitStatus {
        let runLock = try stateFile.acquireRunLock(for: resource)
        defer { withExtendedLifetime(runLock) {} }
        // A corrupt state file fails the run before anything is loaded.
        let committed = try stateFile.value(of: resource)
        let ledger = CheckpointLedger(stateFile: stateFile)
        let ledgerEntry = try ledger.entry(for: resource)
        let confirmation = EndConfirmation(stateFile: stateFile, resource: resource)
        confirmation.clear()
        defer { confirmation.clear() }

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

        let outcome: LineReader.Outcome
        do {
            outcome = try reader.forEachLine(
                line: { (line, number, offset) throws(ConduitError) in
                    if try tracker.consume(line, lineNumber: number) { gate.groupBegins(at: offset) }
                    if tracker.rows == 1, let committed, let first = tracker.maximum, committed.compare(to: first) == nil {
                        throw .badInput("line \(number): \(incrementalColumn ?? "") is a \(first.typeName) (\(first.plainText)) but the committed value is a \(committed.typeName) (\(committed.plainText))")
                    }
                    progress.update(tracker.rows)
                },
                chunkEnd: { (chunk) throws(ConduitError) -> Int in try gate.chunkEnded(chunk) })
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

        let end: StreamEnd
        if let upstreamPipeline {
            end = try StreamEnd.judge(upstreamPipeline, outcome: try upstreamPipeline.finish())
        } else if incrementalColumn != nil && tracker.rows > 0 {
            end = StreamEnd.judge(confirmation.records(for: runLock.run.id), rows: tracker.rows, lastValue: tracker.lastValue, resource: resource)
        } else {
            end = .confirmed
        }

        if case .void(let reason, let status) = end {
            // A failed filter may have dropped any row: nothing of this run may count.
            gate.drop()
            let ended = try child.stop(grace: stopGrace)
            if incrementalColumn != nil { try ledger.startNewEpoch(for: resource) }
            reporter.warning("\(resource): \(reason): no row of this run can be trusted, so none counts: loader stopped (\(ended.description)), state unchanged at \(committed?.plainText ?? "(none)"), this run's checkpoints are void, and the next run reads again from there (rows this run's loader committed load again: in append mode they are duplicated, in merge mode they are not)")
            return status
        }

        if case .confirmed = end {
            try gate.release()
        } else {
            gate.drop()
        }
        loaderRun.confirmEndOfStream()
        child.closeInput()
        let ended = try child.wait()
        guard ended.isSuccess else {
            reporter.warning("\(resource): the loader \(ended.description); state unchanged")
            return ended.exitStatus
        }

        // What may be committed: all of it on a confirmed end; on an unconfirmed one the groups a
        // greater value followed, and nothing at all when the stream has no order.
        var reached: StateValue?
        switch end {
        case .confirmed: reached = tracker.maximum
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
        if case .unconfirmed(let reason, _) = end {
            summary.unconfirmedEnd = reason
            summary.ordered = requiresOrder
            if requiresOrder {
                summary.heldBackRows = tracker.rows - tracker.rowsBeforeOpenGroup
                summary.heldBackValue = tracker.maximum
            }
        }
        summary.report(to: reporter)
        if case .unconfirmed(_, let status) = end { return status }
        return .success
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

/// How the stream ended, as far as `conduit-state commit` can tell.
enum StreamEnd: Equatable {
    /// The extract's real end: every group is complete.
    case confirmed
    /// Not known to be the end (why, and the exit status to return): the open group may be partial.
    case unconfirmed(reason: String, status: ExitStatus)
    /// A filter under `--from` failed: it may have dropped any row, so no row of the run counts.
    case void(reason: String, status: ExitStatus)

    /// On a plain pipe: confirmed by exactly one record of this run whose rows and last value
    /// are the stream's.
    static func judge(_ records: [EndConfirmation.Record], rows: Int, lastValue: StateValue?, resource: String) -> StreamEnd {
        guard let record = records.first else {
            return .unconfirmed(reason: "no conduit-extract of \(resource) confirmed the end of the stream: it failed or was stopped, a stage between cut the stream, or it ran where this run cannot see it (another host or state file; use --from)", status: .success)
        }
        guard records.count == 1 else {
            let pids = records.map { String($0.pid) }.joined(separator: ", ")
            return .unconfirmed(reason: "\(records.count) runs of conduit-extract \(resource) (pids \(pids)) confirmed an end to this run: another pipeline of \(resource) ran beside it, and which stream this is cannot be told", status: .success)
        }
        let sameLast: Bool
        switch (record.lastValue, lastValue) {
        case (nil, nil): sameLast = true
        case (let written?, let received?): sameLast = written.compare(to: received) == .equal
        default: sameLast = false
        }
        guard record.rows == rows && sameLast else {
            let written = record.lastValue.map { " ending at \($0.plainText)" } ?? ""
            let received = lastValue.map { " ending at \($0.plainText)" } ?? ""
            return .unconfirmed(reason: "conduit-extract (pid \(record.pid)) wrote \(record.rows) rows\(written) but \(rows) rows\(received) arrived: a stage between them cut the stream or dropped rows (head, grep, a filter that failed; --from confirms a filter's end by its exit status)", status: .success)
        }
        return .confirmed
    }

    /// With `--from`: every stage exited 0 (confirmed); only the extract failed (its rows before
    /// the failure are a sound prefix); a filter failed (void).
    static func judge(_ pipeline: UpstreamPipeline, outcome: UpstreamPipeline.Outcome) throws(ConduitError) -> StreamEnd {
        if outcome.succeeded { return .confirmed }
        if let (index, status) = outcome.failedFilter {
            return .void(reason: "\(pipeline.describeStage(index)) of the upstream exited with status \(status)", status: ExitStatus(rawValue: status))
        }
        if outcome.onlyFirstStageFailed, let status = outcome.statuses.first {
            return .unconfirmed(reason: "\(pipeline.describeStage(0)) exited with status \(status)", status: ExitStatus(rawValue: status))
        }
        let status = outcome.shell.exitStatus
        return .void(reason: "the upstream shell \(outcome.shell.description) before it could report its stages", status: status.rawValue == 0 ? .software : status)
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
    /// Why the end was not confirmed, when it was not.
    var unconfirmedEnd: String?
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
        var text = "\(resource): \(rows) rows, \(bytes) bytes in \(Duration.format(seconds))s (\(rate) rows/s)"
        if let unconfirmedEnd {
            if ordered, let heldBackValue {
                let committed = old == new ? "nothing more committed" : "committed up to \(newText)"
                text += "; the stream ended early (\(unconfirmedEnd)); \(committed); the group at \(heldBackValue.plainText) (\(heldBackRows) rows) was not loaded and will be read again; \(change)"
            } else {
                text += "; the stream's end was not confirmed (\(unconfirmedEnd)) and the resource is ordered: false, so no part of it is known complete: nothing committed, \(change) (the rows loaded load again on the next run)"
            }
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
            ("end", .string(unconfirmedEnd == nil ? "confirmed" : "unconfirmed")),
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
