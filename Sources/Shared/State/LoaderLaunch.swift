import Core

/// The loader, started with the read end of the end-of-stream pipe
/// (``CheckpointEnvironment/endOfStreamFD``) and, for an ordered incremental resource, the run's
/// checkpoint settings in its environment.
struct LoaderLaunch {
    let child: ChildProcess
    /// Our end of the end-of-stream pipe; -1 without one. Closed when this process exits.
    private let endOfStreamWriteFD: Int32

    static func start(
        _ loader: [String], environment: [String: String], checkpointRun: String?, ledger: CheckpointLedger,
        runLock: RunLock, resource: String, uniqueKey: String? = nil
    ) throws(ConduitError) -> LoaderLaunch {
        var childEnvironment = environment
        childEnvironment[CheckpointEnvironment.uniqueKey] = uniqueKey
        if let checkpointRun {
            // The loader's checkpoints belong to this run's epoch (see CheckpointLedger).
            childEnvironment[CheckpointEnvironment.run] = checkpointRun
            childEnvironment.merge(ledger.state.loaderEnvironment) { _, ours in ours }
        }
        // Every loader learns whether the stream really ended: a replace must not swap in, and a
        // last batch must not commit, after conduit-state died.
        let endOfStream: (read: Int32, write: Int32)
        switch SystemCall.makePipe() {
        case .success(let ends):
            endOfStream = ends
            // Only the read end goes to the loader; the write end stays ours alone.
            FileIO.shareWithChildProcesses(ends.0)
            childEnvironment[CheckpointEnvironment.endOfStreamFD] = String(ends.0)
        case .failure(let error):
            throw .io("\(resource): creating the end-of-stream pipe: \(error)")
        }
        runLock.shareWithChildProcesses()
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(loader, environment: childEnvironment)
        } catch {
            FileIO.closeDescriptor(endOfStream.read)
            FileIO.closeDescriptor(endOfStream.write)
            throw error
        }
        FileIO.closeDescriptor(endOfStream.read)
        return LoaderLaunch(child: child, endOfStreamWriteFD: endOfStream.write)
    }

    /// Tells the loader the stream really ended (it may commit its last batch), just before its input closes.
    func confirmEndOfStream() {
        guard endOfStreamWriteFD >= 0 else { return }
        FileIO.writeByte(1, to: endOfStreamWriteFD)
    }
}
