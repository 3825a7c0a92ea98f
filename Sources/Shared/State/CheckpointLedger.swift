package import Core
import Stream

/// What the state side knows about checkpoints, kept beside the state file in
/// `<state file>.checkpoints` so the state file itself stays exactly the user's format.
///
/// Per resource: a random `lineage` (this state file's, so another state file loading into the
/// same table never takes these checkpoints for its own) and an `epoch`, which every successful
/// commit, `set` and `reset` moves on — a checkpoint written under another lineage or an older
/// epoch belongs to a run that is over and is ignored — and,
/// while a run that failed has one, a copy of its latest `checkpoint` (the highest incremental
/// value its batches made durable). The destination's own checkpoint table is the authority (it
/// commits with the rows); this copy can lag it by one batch, which `conduit-load` absorbs by
/// skipping rows its checkpoint already covers.
package struct CheckpointLedger: Sendable {
    /// One resource's entry.
    package struct Entry: Sendable, Equatable {
        package var lineage: String?
        package var epoch: Int64 = 0
        /// The pending checkpoint of an interrupted run, if any.
        package var checkpoint: StateValue?
        /// Rows that run made durable.
        package var rows: Int64?
        package var writtenAt: String?
    }

    package let path: String

    package init(stateFile: StateFile) {
        path = stateFile.path + ".checkpoints"
    }

    package init(path: String) {
        self.path = path
    }

    /// Every entry; an absent file has none.
    package func read() throws(ConduitError) -> [String: Entry] {
        let bytes: [UInt8]?
        do {
            bytes = try FileIO.readIfExists(path)
        } catch {
            throw .io("reading checkpoint file \(path): \(error)")
        }
        guard let bytes else { return [:] }
        guard case .object(let members)? = try? JSONParser.parse(bytes) else {
            throw .io("checkpoint file \(path) is corrupt; fix or remove it (removing it forgets pending checkpoints)")
        }
        var entries: [String: Entry] = [:]
        for member in members {
            guard case .object(let fields) = member.value else { continue }
            var entry = Entry()
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

    package func entry(for resource: String) throws(ConduitError) -> Entry {
        try read()[resource] ?? Entry()
    }

    /// The token naming the resource's current run, `<lineage>.<epoch>`: what its checkpoints
    /// are written under. Creates the resource's lineage on first use.
    package func runToken(for resource: String) throws(ConduitError) -> String {
        var token = ""
        try update { entries in
            var entry = entries[resource] ?? Entry()
            if entry.lineage == nil { entry.lineage = Self.newLineage() }
            entries[resource] = entry
            token = Self.token(entry)
        }
        return token
    }

    static func token(_ entry: Entry) -> String { "\(entry.lineage ?? "none").\(entry.epoch)" }

    static func newLineage() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next() as UInt64, radix: 16)
    }

    /// Ends whatever run the resource had: a new epoch, no pending checkpoint.
    /// Called after a successful commit and by `set` and `reset`.
    package func startNewEpoch(for resource: String) throws(ConduitError) {
        try update { entries in
            var entry = entries[resource] ?? Entry()
            if entry.lineage == nil { entry.lineage = Self.newLineage() }
            entry.epoch += 1
            entry.checkpoint = nil
            entry.rows = nil
            entry.writtenAt = nil
            entries[resource] = entry
        }
    }

    /// Records a batch's checkpoint, if `run` is still the resource's run (a run that is over writes nothing).
    package func record(checkpoint: StateValue, rows: Int64, run: String, for resource: String) throws(ConduitError) {
        try update { entries in
            guard var entry = entries[resource], Self.token(entry) == run else { return }
            entry.checkpoint = checkpoint
            entry.rows = rows
            entry.writtenAt = Self.now()
            entries[resource] = entry
        }
    }

    private func update(_ change: (inout [String: Entry]) -> Void) throws(ConduitError) {
        try FileLock.withExclusiveLock(on: path + ".lock", for: "checkpoint file") { () throws(ConduitError) in
            let original = try read()
            var entries = original
            change(&entries)
            guard entries != original else { return }
            do {
                try FileIO.writeAtomically(Self.serialize(entries), to: path)
            } catch {
                throw .io("writing checkpoint file \(path): \(error)")
            }
        }
    }

    static func serialize(_ entries: [String: Entry]) -> [UInt8] {
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

    /// The current time as RFC 3339 UTC, to the second.
    static func now() -> String { WallClock.nowRFC3339() }
}

/// What `conduit-state commit` tells its loader through the environment, so the loader's
/// checkpoints belong to this run.
package enum CheckpointEnvironment {
    /// The run's token (``CheckpointLedger/runToken(for:)``).
    package static let run = "CONDUIT_CHECKPOINT_RUN"
    /// The ledger file to copy each checkpoint into.
    package static let ledger = "CONDUIT_CHECKPOINT_FILE"
    /// A descriptor on which `conduit-state` writes one byte when the stream really ended, just
    /// before closing the loader's input. Reaching the end of input without that byte means
    /// `conduit-state` died (the kernel closes a dying process's pipes before anything else can
    /// be observed, so nothing like the parent pid can tell): the last value group may be
    /// partial, and the loader must not commit it.
    package static let endOfStreamFD = "CONDUIT_STREAM_END_FD"
}
