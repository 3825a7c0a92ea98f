package import Core
import Stream

/// The state file on disk (default `.conduit_state.json`), with crash-safe writes, a lock
/// around every read-modify-write, and per-resource run locks beside it.
package struct StateFile: StateBackend {
    /// The default file name, in the working directory (the user's document).
    package static let defaultPath = ".conduit_state.json"

    package let path: String

    package init(path: String) {
        self.path = path
    }

    /// The file's absolute path with its folder's symbolic links resolved (the file itself may
    /// not exist yet): how an extract's start record names the state it read, so the commit can
    /// tell it from another state file. The path as given when the folder cannot be resolved.
    package var canonicalPath: String {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard let base = FileIO.resolvedFolder(folder.isEmpty ? "/" : folder) else { return path }
        return (base == "/" ? "" : base) + "/" + name
    }

    /// The store behind a loader's `CONDUIT_CHECKPOINT_FILE` (`<state file>.checkpoints`).
    init(checkpointLedgerPath: String) {
        let suffix = ".checkpoints"
        path = checkpointLedgerPath.hasSuffix(suffix) ? String(checkpointLedgerPath.dropLast(suffix.count)) : checkpointLedgerPath
    }

    package var label: String { "the state file \(path)" }

    package var identity: String { canonicalPath }

    /// `--state-file`, else `$CONDUIT_STATE_FILE`, else the config's `state_file`, else the default.
    package static func locate(explicitPath: String?, environment: [String: String], configured: String?) -> StateFile {
        if let explicitPath, !explicitPath.isEmpty { return StateFile(path: explicitPath) }
        if let fromEnvironment = environment["CONDUIT_STATE_FILE"], !fromEnvironment.isEmpty {
            return StateFile(path: fromEnvironment)
        }
        if let configured, !configured.isEmpty { return StateFile(path: configured) }
        return StateFile(path: defaultPath)
    }

    /// The current contents; an absent file is an empty document, an unreadable or corrupt one an error.
    package func read() throws(ConduitError) -> StateDocument {
        let bytes: [UInt8]?
        do {
            bytes = try FileIO.readIfExists(path)
        } catch {
            throw .io("reading state file \(path): \(error)")
        }
        guard let bytes else { return StateDocument() }
        return try StateDocument(parsing: bytes, source: path)
    }

    /// Reads, changes and writes the file under an exclusive lock, so concurrent updates of
    /// different resources by different processes lose nothing. Writes only if `change` changed it.
    @discardableResult
    package func update(_ change: (inout StateDocument) throws(ConduitError) -> Void) throws(ConduitError) -> StateDocument {
        try FileLock.withExclusiveLock(on: path + ".lock", for: "state file") { () throws(ConduitError) -> StateDocument in
            let original = try read()
            var document = original
            try change(&document)
            if document != original {
                do {
                    try FileIO.writeAtomically(document.serialized, to: path)
                } catch {
                    throw .io("writing state file \(path): \(error)")
                }
            }
            return document
        }
    }

    /// Takes the run lock of `resource` without waiting (``StateBackend/acquireRunLock(for:announcesRun:)``):
    /// a lock file beside the state file names the holder and, for a commit, its run.
    package func acquireRunLock(for resource: String, announcesRun: Bool = true) throws(ConduitError) -> RunLock {
        let lockPath = runLockPath(for: resource)
        let outcome: FileLock.Outcome
        do {
            outcome = try FileLock.acquire(lockPath, wait: false)
        } catch {
            throw .io("taking the run lock \(lockPath): \(error)")
        }
        switch outcome {
        case .acquired(let lock):
            let run = RunIdentity.ofThisProcess()
            lock.describeHolder(
                "pid \(ThisProcess.id) on \(ThisProcess.hostName)\n" + (announcesRun ? "\(run.serialized)\n" : ""))
            return RunLock(holder: lock, run: run)
        case .held(let holder):
            let firstLine = holder.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
            let who = firstLine.isEmpty ? "another process" : firstLine
            throw .busy("another run of \(resource) is in progress (\(who); lock \(lockPath)); try again when it ends")
        }
    }

    /// `<state file>.<resource>.run.lock`, with characters unsafe in file names percent-encoded.
    func runLockPath(for resource: String) -> String {
        runFilePath(for: resource, suffix: "lock")
    }

    /// `<state file>.<resource>.run.<suffix>`, with characters unsafe in file names percent-encoded.
    func runFilePath(for resource: String, suffix: String) -> String {
        var safe = ""
        for byte in resource.utf8 {
            let isSafe =
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
                || (byte >= 0x61 && byte <= 0x7A) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            if isSafe {
                safe.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                safe += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return "\(path).\(safe).run.\(suffix)"
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
