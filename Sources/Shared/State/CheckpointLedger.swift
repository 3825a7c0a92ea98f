package import Core
import Stream

/// What the state side knows about checkpoints, kept by the state's backend (for the file,
/// `<state file>.checkpoints`, so the state file itself stays exactly the user's format).
///
/// Per resource: a random `lineage` (this state's, so another state loading into the same
/// table never takes these checkpoints for its own) and an `epoch`, which every successful
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

        package init(
            lineage: String? = nil, epoch: Int64 = 0, checkpoint: StateValue? = nil, rows: Int64? = nil,
            writtenAt: String? = nil
        ) {
            self.lineage = lineage
            self.epoch = epoch
            self.checkpoint = checkpoint
            self.rows = rows
            self.writtenAt = writtenAt
        }
    }

    package let state: any StateBackend

    package init(state: any StateBackend) {
        self.state = state
    }

    /// Names the ledger in messages.
    package var label: String { state.ledgerLabel }

    /// Every entry.
    package func read() throws(ConduitError) -> [String: Entry] {
        try state.checkpointEntries()
    }

    package func entry(for resource: String) throws(ConduitError) -> Entry {
        try read()[resource] ?? Entry()
    }

    /// The token naming the resource's current run, `<lineage>.<epoch>`: what its checkpoints
    /// are written under. Creates the resource's lineage on first use.
    package func runToken(for resource: String) throws(ConduitError) -> String {
        var token = ""
        try state.updateCheckpointEntry(of: resource) { stored in
            var entry = stored ?? Entry()
            if entry.lineage == nil { entry.lineage = Self.newLineage() }
            stored = entry
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
        try state.updateCheckpointEntry(of: resource) { stored in
            stored = Self.nextEpoch(of: stored)
        }
    }

    /// `entry` moved to a new epoch without a pending checkpoint.
    package static func nextEpoch(of stored: Entry?) -> Entry {
        var entry = stored ?? Entry()
        if entry.lineage == nil { entry.lineage = newLineage() }
        entry.epoch += 1
        entry.checkpoint = nil
        entry.rows = nil
        entry.writtenAt = nil
        return entry
    }

    /// Records a batch's checkpoint, if `run` is still the resource's run (a run that is over writes nothing).
    package func record(checkpoint: StateValue, rows: Int64, run: String, for resource: String) throws(ConduitError) {
        try state.updateCheckpointEntry(of: resource) { stored in
            guard var entry = stored, Self.token(entry) == run else { return }
            entry.checkpoint = checkpoint
            entry.rows = rows
            entry.writtenAt = Self.now()
            stored = entry
        }
    }

    /// The current time as RFC 3339 UTC, to the second.
    static func now() -> String { WallClock.nowRFC3339() }
}

/// What `conduit-state commit` tells its loader through the environment, so the loader's
/// checkpoints belong to this run.
package enum CheckpointEnvironment {
    /// The run's token (``CheckpointLedger/runToken(for:)``).
    package static let run = "CONDUIT_CHECKPOINT_RUN"
    /// The ledger file to copy each checkpoint into (the file backend).
    package static let ledger = "CONDUIT_CHECKPOINT_FILE"
    /// The database state backend to copy each checkpoint into: its settings as JSON
    /// (``DatabaseStateSettings/environmentText``), password included, as the loader's own
    /// configuration would give it.
    package static let state = "CONDUIT_CHECKPOINT_STATE"
    /// A descriptor on which `conduit-state` writes one byte when the stream really ended, just
    /// before closing the loader's input. Reaching the end of input without that byte means
    /// `conduit-state` died (the kernel closes a dying process's pipes before anything else can
    /// be observed, so nothing like the parent pid can tell): the last value group may be
    /// partial, and the loader must not commit it.
    package static let endOfStreamFD = "CONDUIT_STREAM_END_FD"
    /// The incremental column, when `conduit-state` reads each line only as far as the column's
    /// first top-level occurrence (``JSONParser/scanObjectStructure(_:capturingText:stoppingAtKey:)``):
    /// the loader refuses a row that holds this key twice, whose value the commit and the
    /// loader could read differently.
    package static let uniqueKey = "CONDUIT_STREAM_UNIQUE_KEY"
    /// A descriptor on which the loader writes one byte once it refuses such rows, before it
    /// reads any: `conduit-state` reads lines only that far from then on. The loader honours
    /// ``uniqueKey`` only with this descriptor beside it (a variable left in a user's shell does
    /// not change a loader run alone).
    package static let uniqueKeyAcknowledgementFD = "CONDUIT_STREAM_UNIQUE_KEY_FD"
}
