import Glibc

/// `conduit-state commit RESOURCE -- LOADER…`: passes stdin through to LOADER byte for byte,
/// checks every line and tracks the incremental column's maximum, and commits that maximum to
/// the state file only when LOADER exits 0. A bad stream stops LOADER before it can commit.
public struct CommitRun {
    public var resource: String
    /// The resource's incremental column; nil for a resource that is not incremental.
    public var incrementalColumn: String?
    /// Whether the stream must be in non-decreasing order of the column (`ordered`, default true).
    public var requiresOrder: Bool
    public var stateFile: StateFile
    public var loader: [String]
    public var reporter: Reporter
    /// Seconds LOADER gets to stop after SIGTERM before it is killed.
    public var stopGrace: Double = 10

    public init(resource: String, incrementalColumn: String?, requiresOrder: Bool, stateFile: StateFile,
                loader: [String], reporter: Reporter) {
        self.resource = resource
        self.incrementalColumn = incrementalColumn
        self.requiresOrder = requiresOrder
        self.stateFile = stateFile
        self.loader = loader
        self.reporter = reporter
    }

    /// Runs the pipeline stage; returns the exit status (LOADER's own when it fails).
    public func run(input: Int32 = 0) throws(ConduitError) -> ExitStatus {
        let runLock = try stateFile.acquireRunLock(for: resource)
        defer { withExtendedLifetime(runLock) {} }
        // A corrupt state file fails the run before anything is loaded.
        let committed = try stateFile.value(of: resource)
        let ledger = CheckpointLedger(stateFile: stateFile)
        let ledgerEntry = try ledger.entry(for: resource)

        SignalForwarding.install()
        var endOfStream: (read: Int32, write: Int32)?
        if incrementalColumn != nil && requiresOrder {
            // The loader's checkpoints belong to this run's epoch (see CheckpointLedger).
            setenv(CheckpointEnvironment.run, try ledger.runToken(for: resource), 1)
            setenv(CheckpointEnvironment.ledger, ledger.path, 1)
            switch SystemCall.makePipe() {
            case .success(let ends):
                endOfStream = ends
                // Only the read end goes to the loader; the write end stays ours alone.
                _ = fcntl(ends.0, F_SETFD, 0)
                setenv(CheckpointEnvironment.endOfStreamFD, String(ends.0), 1)
            case .failure(let error):
                throw .io("\(resource): creating the end-of-stream pipe: \(error)")
            }
        }
        runLock.shareWithChildProcesses()
        let child = try ChildProcess.spawn(loader)
        if let endOfStream { close(endOfStream.read) }
        defer { if let endOfStream { close(endOfStream.write) } }
        SignalForwarding.forward(to: child.pid)

        let started = MonotonicClock.now
        var tracker = IncrementalTracker(column: incrementalColumn, requiresOrder: requiresOrder)
        var progress = ProgressMeter(reporter: reporter, noun: "rows")
        var bytes = 0

        let outcome: PassThroughOutcome
        do {
            outcome = try passThrough(from: input, to: child, tracker: &tracker, committed: committed,
                                      bytes: &bytes, progress: &progress)
        } catch {
            progress.finish()
            let ended = child.stop(grace: stopGrace)
            throw ConduitError(error.kind, "\(resource): \(error.message); loader stopped (\(ended.description)); state unchanged")
        }
        progress.finish()

        switch outcome {
        case .stopSignal(let signal):
            let ended = child.waitOrKill(grace: stopGrace)
            reporter.warning("\(resource): stopped by \(ChildProcess.signalName(signal)); loader \(ended.description); state unchanged")
            return ExitStatus(rawValue: 128 + signal)
        case .loaderEnded(let ended):
            if ended.isSuccess {
                throw .io("\(resource): the loader exited with status 0 before reading the whole stream; state unchanged")
            }
            reporter.warning("\(resource): the loader \(ended.description); state unchanged")
            return ended.exitStatus
        case .endOfStream:
            break
        }

        if let endOfStream {
            var complete: UInt8 = 1
            _ = write(endOfStream.write, &complete, 1)
        }
        child.closeInput()
        let ended = child.wait()
        guard ended.isSuccess else {
            reporter.warning("\(resource): the loader \(ended.description); state unchanged")
            return ended.exitStatus
        }

        // A resumed run's rows start after the checkpoint: what the interrupted run loaded counts too.
        var reached = tracker.maximum
        if let pending = ledgerEntry.checkpoint {
            reached = reached.map { $0.maximum(with: pending) ?? $0 } ?? pending
        }
        let newValue = try commit(reached)
        if incrementalColumn != nil {
            try ledger.startNewEpoch(for: resource)
        }
        let seconds = MonotonicClock.now - started
        reportSummary(rows: tracker.rows, bytes: bytes, seconds: seconds, old: committed, new: newValue)
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

    private func reportSummary(rows: Int, bytes: Int, seconds: Double, old: StateValue?, new: StateValue?) {
        let rate = seconds > 0 ? Int(Double(rows) / seconds) : rows
        let oldText = old?.plainText ?? "(none)"
        let newText = new?.plainText ?? "(none)"
        let change: String
        if incrementalColumn == nil {
            change = "not incremental, no state kept"
        } else if old == new {
            change = rows == 0 ? "no rows, state unchanged at \(oldText)" : "state unchanged at \(oldText)"
        } else {
            change = "state \(oldText) → \(newText)"
        }
        let text = "\(resource): \(rows) rows, \(bytes) bytes in \(Self.format(seconds))s (\(rate) rows/s); \(change)"
        reporter.summary(text, fields: [
            ("resource", .string(resource)),
            ("rows", .number(String(rows))),
            ("bytes", .number(String(bytes))),
            ("seconds", .number(Self.format(seconds))),
            ("rows_per_second", .number(String(rate))),
            ("old_value", old?.jsonValue ?? .null),
            ("new_value", new?.jsonValue ?? .null),
        ])
    }

    static func format(_ seconds: Double) -> String {
        let milliseconds = Int((seconds * 1000).rounded())
        let fraction = String(milliseconds % 1000).leftPadded(to: 3)
        return "\(milliseconds / 1000).\(fraction)"
    }

    private enum PassThroughOutcome {
        case endOfStream
        case stopSignal(Int32)
        case loaderEnded(ChildProcess.Termination)
    }

    /// The loop: read what is there, check each complete line, forward the checked lines.
    /// A partial last line waits in the buffer for the rest; at end of input it means the
    /// stream was cut.
    private func passThrough(
        from input: Int32, to child: ChildProcess, tracker: inout IncrementalTracker, committed: StateValue?,
        bytes: inout Int, progress: inout ProgressMeter
    ) throws(ConduitError) -> PassThroughOutcome {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var filled = 0       // bytes in buffer
        var lineStart = 0    // start of the first unchecked line
        var lineNumber = 0
        var pollSet = [
            pollfd(fd: input, events: Int16(POLLIN), revents: 0),
            pollfd(fd: SignalForwarding.wakeUpFD, events: Int16(POLLIN), revents: 0),
        ]

        while true {
            if let signal = SignalForwarding.stopSignal { return .stopSignal(signal) }
            if let ended = child.poll() { return .loaderEnded(ended) }

            pollSet[0].revents = 0
            pollSet[1].revents = 0
            if poll(&pollSet, 2, -1) < 0 {
                if errno == EINTR { continue }
                throw .io("waiting for input: \(SystemCall.describe(errno))")
            }
            if pollSet[1].revents != 0 { SignalForwarding.drainWakeUps() }
            if pollSet[0].revents == 0 { continue }

            if filled == buffer.count {
                // One line longer than the buffer: grow it.
                buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count))
            }
            let count = buffer.withUnsafeMutableBytes { raw in
                read(input, raw.baseAddress.map { $0 + filled }, raw.count - filled)
            }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw .io("reading stdin: \(SystemCall.describe(errno))")
            }
            if count == 0 {
                if filled > lineStart {
                    throw .badInput("line \(lineNumber + 1): the stream ended without a newline after the last line (it was cut short); nothing committed")
                }
                return .endOfStream
            }
            let scanFrom = filled
            filled += count
            bytes += count

            let forwardEnd: Int = try buffer.withUnsafeBufferPointer { (all) throws(ConduitError) -> Int in
                guard let base = all.baseAddress else { return lineStart }
                var cursor = scanFrom
                while cursor < filled,
                    let found = memchr(base + cursor, 0x0A, filled - cursor)
                {
                    let newline = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                    lineNumber += 1
                    let line = UnsafeBufferPointer(rebasing: all[lineStart..<newline])
                    if !LineReader.isBlank(line) {
                        try tracker.consume(line, lineNumber: lineNumber)
                        if tracker.rows == 1, let committed, let first = tracker.maximum,
                            committed.compare(to: first) == nil
                        {
                            throw .badInput("line \(lineNumber): \(incrementalColumn ?? "") is a \(first.typeName) (\(first.plainText)) but the committed value is a \(committed.typeName) (\(committed.plainText))")
                        }
                    }
                    lineStart = newline + 1
                    cursor = lineStart
                }
                return lineStart
            }

            if forwardEnd > 0 {
                let delivered = try buffer.withUnsafeBytes { raw in
                    Result { () throws(ConduitError) -> Bool in
                        try child.write(UnsafeRawBufferPointer(rebasing: raw[0..<forwardEnd]))
                    }
                }.get()
                if !delivered {
                    return .loaderEnded(child.wait())
                }
                // Keep the unfinished line at the front.
                let remaining = filled - forwardEnd
                if remaining > 0 {
                    buffer.withUnsafeMutableBytes { raw in
                        guard let base = raw.baseAddress else { return }
                        memmove(base, base + forwardEnd, remaining)
                    }
                }
                filled = remaining
                lineStart = 0
            }
            progress.update(tracker.rows)
        }
    }
}
