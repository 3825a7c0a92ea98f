package import Core
import Stream

/// The file backend's other stores, each a file beside the state file so the state file itself
/// stays exactly the user's format: `<state>.checkpoints` (the ledger), `<state>.history`
/// (one JSON line per commit), `<state>.<resource>.run.ends` (an extract's records) and
/// `<state>.<resource>.horizon` (the safe horizon's note).
extension StateFile {
    package func commit(
        resource: String, run: RunLock?, newEpoch: Bool, history: HistoryEntry,
        change: (StateValue?) throws(ConduitError) -> StateChange
    ) throws(ConduitError) -> StateValue? {
        var result: StateValue?
        var entry = history
        try update { (document: inout StateDocument) throws(ConduitError) in
            let current = try document.value(of: resource, source: path)
            entry.from = current
            switch try change(current) {
            case .keep: result = current
            case .set(let value):
                document.set(value, for: resource)
                result = value
            case .remove:
                document.remove(resource)
                result = nil
            }
            entry.to = result
        }
        if newEpoch { try CheckpointLedger(state: self).startNewEpoch(for: resource) }
        try appendHistory(entry)
        return result
    }

    // MARK: - History

    var historyPath: String { path + ".history" }

    /// The history file keeps about this many bytes: past twice as many, its older half goes.
    static let historyKeptBytes = 1 << 20

    package func appendHistory(_ entry: HistoryEntry) throws(ConduitError) {
        let line = Array((entry.json.serialized() + "\n").utf8)
        do {
            try FileIO.append(line, to: historyPath)
        } catch {
            throw .io("appending to the state history \(historyPath): \(error)")
        }
        trimHistoryIfLarge()
    }

    /// Keeps the file from growing without bound: its newest ``historyKeptBytes`` stay.
    private func trimHistoryIfLarge() {
        guard let size = FileIO.size(historyPath), size > 2 * Self.historyKeptBytes else { return }
        try? FileLock.withExclusiveLock(on: historyPath + ".lock", for: "state history") { () throws(ConduitError) in
            guard let bytes = (try? FileIO.readIfExists(historyPath)) ?? nil, bytes.count > 2 * Self.historyKeptBytes else {
                return
            }
            var start = bytes.count - Self.historyKeptBytes
            while start < bytes.count, bytes[start - 1] != UInt8(ascii: "\n") { start += 1 }
            try? FileIO.writeAtomically(Array(bytes[start...]), to: historyPath, durable: false)
        }
    }

    package func history(resource: String?, limit: Int) throws(ConduitError) -> [HistoryEntry] {
        let bytes: [UInt8]?
        do {
            bytes = try FileIO.readIfExists(historyPath)
        } catch {
            throw .io("reading the state history \(historyPath): \(error)")
        }
        guard let bytes else { return [] }
        let entries = bytes.split(separator: UInt8(ascii: "\n")).compactMap { line -> HistoryEntry? in
            guard let value = try? JSONParser.parse(Array(line)), let entry = HistoryEntry(json: value) else { return nil }
            return resource == nil || entry.resource == resource ? entry : nil
        }
        return Array(entries.suffix(limit))
    }

    // MARK: - The checkpoint ledger

    var ledgerPath: String { path + ".checkpoints" }

    package var ledgerLabel: String { ledgerPath }

    package var isShared: Bool { false }

    package var loaderEnvironment: [String: String] { [CheckpointEnvironment.ledger: ledgerPath] }

    /// A commit beside the extract starts within moments (and one of the same shell that has not
    /// locked yet extends the wait, ``EndConfirmation/awaitRun(wait:resource:)``).
    package var runStartWait: Double { EndConfirmation.defaultWait }

    package func checkpointEntries() throws(ConduitError) -> [String: CheckpointLedger.Entry] {
        let bytes: [UInt8]?
        do {
            bytes = try FileIO.readIfExists(ledgerPath)
        } catch {
            throw .io("reading checkpoint file \(ledgerPath): \(error)")
        }
        guard let bytes else { return [:] }
        guard case .object(let members)? = try? JSONParser.parse(bytes) else {
            throw .io("checkpoint file \(ledgerPath) is corrupt; fix or remove it (removing it forgets pending checkpoints)")
        }
        var entries: [String: CheckpointLedger.Entry] = [:]
        for member in members {
            guard case .object(let fields) = member.value else { continue }
            var entry = CheckpointLedger.Entry()
            for field in fields {
                switch (field.key, field.value) {
                case ("lineage", .string(let text)): entry.lineage = text
                case ("epoch", .number(let text)): entry.epoch = Int64(text) ?? 0
                case ("checkpoint", .number(let text)): entry.checkpoint = .number(text)
                case ("checkpoint", .string(let text)): entry.checkpoint = .string(text)
                case ("rows", .number(let text)): entry.rows = Int64(text)
                case ("written_at", .string(let text)): entry.writtenAt = text
                default: break
                }
            }
            entries[member.key] = entry
        }
        return entries
    }

    package func updateCheckpointEntry(
        of resource: String, _ change: (inout CheckpointLedger.Entry?) -> Void
    ) throws(ConduitError) {
        try FileLock.withExclusiveLock(on: ledgerPath + ".lock", for: "checkpoint file") { () throws(ConduitError) in
            let original = try checkpointEntries()
            var entries = original
            change(&entries[resource])
            guard entries != original else { return }
            do {
                try FileIO.writeAtomically(Self.serialize(entries), to: ledgerPath)
            } catch {
                throw .io("writing checkpoint file \(ledgerPath): \(error)")
            }
        }
    }

    static func serialize(_ entries: [String: CheckpointLedger.Entry]) -> [UInt8] {
        let members = entries.map { name, entry in
            var fields = [JSONMember(key: "epoch", value: .number(String(entry.epoch)))]
            if let lineage = entry.lineage { fields.append(JSONMember(key: "lineage", value: .string(lineage))) }
            if let checkpoint = entry.checkpoint { fields.append(JSONMember(key: "checkpoint", value: checkpoint.jsonValue)) }
            if let rows = entry.rows { fields.append(JSONMember(key: "rows", value: .number(String(rows)))) }
            if let writtenAt = entry.writtenAt { fields.append(JSONMember(key: "written_at", value: .string(writtenAt))) }
            return JSONMember(key: name, value: .object(fields))
        }
        return Array((JSONValue.object(members).prettySerialized(sortKeys: true) + "\n").utf8)
    }

    // MARK: - Run records

    package func runInProgress(of resource: String) -> RunIdentity? {
        guard let bytes = (try? FileIO.readIfExists(runLockPath(for: resource))) ?? nil else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.hasSuffix("\n"), text.contains(" on \(ThisProcess.hostName)\n"),
            let run = RunIdentity(lockFileContents: text), run.isAlive
        else { return nil }
        return run
    }

    package func appendRunRecord(_ line: [UInt8], resource: String) throws(ConduitError) {
        let recordsPath = runFilePath(for: resource, suffix: "ends")
        // One write of one short line: appended whole, even beside another writer.
        do {
            try FileIO.append(line, to: recordsPath)
        } catch {
            throw .io("recording the stream's start or end in \(recordsPath): \(error)")
        }
    }

    package func runRecords(resource: String) -> [[UInt8]] {
        guard let bytes = (try? FileIO.readIfExists(runFilePath(for: resource, suffix: "ends"))) ?? nil else { return [] }
        return bytes.split(separator: UInt8(ascii: "\n")).map(Array.init)
    }

    package func clearRunRecords(resource: String) {
        FileIO.remove(runFilePath(for: resource, suffix: "ends"))
    }

    // MARK: - The safe horizon's note

    func horizonPath(of resource: String) -> String { path + "." + resource + ".horizon" }

    package func horizonRecord(of resource: String) -> [UInt8]? {
        (try? FileIO.readIfExists(horizonPath(of: resource))) ?? nil
    }

    package func writeHorizonRecord(_ bytes: [UInt8], resource: String) throws(ConduitError) {
        let target = horizonPath(of: resource)
        do {
            // Without fsync: a note, losing it in a crash costs nothing.
            try FileIO.writeAtomically(bytes, to: target, durable: false)
        } catch {
            throw .io("writing \(target): \(error)")
        }
    }

    package func removeHorizonRecord(of resource: String) {
        FileIO.remove(horizonPath(of: resource))
    }
}
