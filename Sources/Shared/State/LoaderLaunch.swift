import Core

/// The loader, started with the read end of the end-of-stream pipe
/// (``CheckpointEnvironment/endOfStreamFD``) and, for an ordered incremental resource, the run's
/// checkpoint settings in its environment.
struct LoaderLaunch {
    let child: ChildProcess
    /// Our end of the end-of-stream pipe; -1 without one. Closed when this process exits.
    private let endOfStreamWriteFD: Int32
    /// Our (non-blocking) end of the pipe on which the loader says it refuses a row holding the
    /// unique key twice (``CheckpointEnvironment/uniqueKeyAcknowledgementFD``); -1 without one.
    private let uniqueKeyAcknowledgementFD: Int32

    static func start(
        _ loader: [String], environment: [String: String], checkpointRun: String?, ledger: CheckpointLedger,
        runLock: RunLock, resource: String, uniqueKey: String? = nil
    ) throws(ConduitError) -> LoaderLaunch {
        var childEnvironment = environment
        childEnvironment[CheckpointEnvironment.uniqueKey] = uniqueKey
        childEnvironment[CheckpointEnvironment.uniqueKeyAcknowledgementFD] = nil
        // A loader that refuses a row holding the key twice says so on this pipe: an older
        // conduit-load reads every occurrence its own way, so until it says so every line is
        // read whole.
        let acknowledgement = try uniqueKey.map { (_) throws(ConduitError) in
            try sharedPipe(
                nonBlocking: true, loaderEnd: \.write, named: CheckpointEnvironment.uniqueKeyAcknowledgementFD,
                in: &childEnvironment, for: "\(resource): creating the loader's acknowledgement pipe")
        }
        if let checkpointRun {
            // The loader's checkpoints belong to this run's epoch (see CheckpointLedger).
            childEnvironment[CheckpointEnvironment.run] = checkpointRun
            childEnvironment.merge(ledger.state.loaderEnvironment) { _, ours in ours }
        }
        // Every loader learns whether the stream really ended: a replace must not swap in, and a
        // last batch must not commit, after conduit-state died. Only the read end goes to the
        // loader; the write end stays ours alone.
        let endOfStream = try sharedPipe(
            nonBlocking: false, loaderEnd: \.read, named: CheckpointEnvironment.endOfStreamFD, in: &childEnvironment,
            for: "\(resource): creating the end-of-stream pipe")
        runLock.shareWithChildProcesses()
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(loader, environment: childEnvironment)
        } catch {
            FileIO.closeDescriptor(endOfStream.read)
            FileIO.closeDescriptor(endOfStream.write)
            if let acknowledgement {
                FileIO.closeDescriptor(acknowledgement.read)
                FileIO.closeDescriptor(acknowledgement.write)
            }
            throw error
        }
        FileIO.closeDescriptor(endOfStream.read)
        if let acknowledgement { FileIO.closeDescriptor(acknowledgement.write) }
        return LoaderLaunch(
            child: child, endOfStreamWriteFD: endOfStream.write, uniqueKeyAcknowledgementFD: acknowledgement?.read ?? -1)
    }

    /// Whether the loader has said it refuses a row holding the unique key twice (a byte on the
    /// acknowledgement pipe); never waits.
    func loaderRefusesRepeatedKey() -> Bool {
        guard uniqueKeyAcknowledgementFD >= 0 else { return false }
        var byte: UInt8 = 0
        return withUnsafeMutableBytes(of: &byte) { SystemCall.read(uniqueKeyAcknowledgementFD, into: $0) } == .bytes(1)
    }

    /// A pipe whose `loaderEnd` the loader inherits, its number in the variable `named`.
    private static func sharedPipe(
        nonBlocking: Bool, loaderEnd: KeyPath<(read: Int32, write: Int32), Int32>, named variable: String,
        in environment: inout [String: String], for context: String
    ) throws(ConduitError) -> (read: Int32, write: Int32) {
        switch SystemCall.makePipe(nonBlocking: nonBlocking) {
        case .success(let ends):
            let pipe = (read: ends.0, write: ends.1)
            FileIO.shareWithChildProcesses(pipe[keyPath: loaderEnd])
            environment[variable] = String(pipe[keyPath: loaderEnd])
            return pipe
        case .failure(let error):
            throw .io("\(context): \(error)")
        }
    }

    /// Tells the loader the stream really ended (it may commit its last batch), just before its input closes.
    func confirmEndOfStream() {
        guard endOfStreamWriteFD >= 0 else { return }
        FileIO.writeByte(1, to: endOfStreamWriteFD)
    }
}
