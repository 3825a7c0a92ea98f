import Config
package import Core
import Stream

/// The logic of `conduit-state show | get | set | reset`: reads and edits the state file.
package struct StateCommands: Sendable {
    package var context: ToolContext

    package init(context: ToolContext) {
        self.context = context
    }

    private var stateFile: StateFile { context.stateFile }

    /// The state as pretty JSON, keys sorted (the whole file, or one resource's entry).
    package func show(resource: String?) throws(ConduitError) -> String {
        let document = try stateFile.read()
        guard let resource else {
            return String(decoding: document.serialized, as: UTF8.self)
        }
        var single = StateDocument()
        if let value = try document.value(of: resource, source: stateFile.path) {
            single.set(value, for: resource)
        }
        return String(decoding: single.serialized, as: UTF8.self)
    }

    /// Checkpoints of interrupted runs that the next run of each resource resumes from (all
    /// resources, or one), sorted by name.
    package func pendingCheckpoints(resource: String?) throws(ConduitError) -> [(resource: String, entry: CheckpointLedger.Entry)]
    {
        try CheckpointLedger(stateFile: stateFile).read()
            .filter { $0.value.checkpoint != nil && (resource == nil || $0.key == resource) }
            .sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            .map { (resource: $0.key, entry: $0.value) }
    }

    /// What the safe horizon held back in the latest extract of each resource that held rows
    /// (all resources of the state file and the configuration, or one), sorted by name.
    package func horizonHolds(resource: String?) throws(ConduitError) -> [(resource: String, record: HorizonRecord)] {
        var names: Set<String> = []
        if let resource {
            names.insert(resource)
        } else {
            names.formUnion(try stateFile.read().members.keys)
            names.formUnion(context.configuration?.resources.map(\.name) ?? [])
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.compactMap { name in
            guard let record = HorizonRecord.read(stateFile: stateFile, resource: name), record.heldRows > 0 else { return nil }
            return (name, record)
        }
    }

    /// The committed value of `resource`, or nil when it has none.
    package func get(resource: String) throws(ConduitError) -> StateValue? {
        try stateFile.value(of: resource)
    }

    /// Sets a value by hand (a backfill or a correction), backwards too. Refused while a run of
    /// the resource holds its lock. Returns the previous value.
    @discardableResult
    package func set(resource: String, value: StateValue) throws(ConduitError) -> StateValue? {
        try edit(resource) { $0.set(value, for: resource) }
    }

    /// Forgets a resource's value: its next run starts from initial_value (or 0), and its safe
    /// horizon from what it sees (the horizon record goes too). Returns the previous value.
    @discardableResult
    package func reset(resource: String) throws(ConduitError) -> StateValue? {
        let previous = try edit(resource) { $0.remove(resource) }
        FileIO.remove(HorizonRecord.path(stateFile: stateFile, resource: resource))
        return previous
    }

    /// Changes one resource's entry under its run lock and the file lock; returns the previous
    /// value. A pending checkpoint is dropped first: after `set` or `reset` the next run starts
    /// where the user said, not where an interrupted run stopped.
    private func edit(_ resource: String, _ change: (inout StateDocument) -> Void) throws(ConduitError) -> StateValue? {
        try checkKnown(resource)
        let runLock = try stateFile.acquireRunLock(for: resource, announcesRun: false)
        defer { withExtendedLifetime(runLock) {} }
        try CheckpointLedger(stateFile: stateFile).startNewEpoch(for: resource)
        var previous: StateValue?
        try stateFile.update { (document: inout StateDocument) throws(ConduitError) in
            previous = try? document.value(of: resource, source: stateFile.path)
            change(&document)
        }
        return previous
    }

    /// With a configuration, a name that is not one of its resources is refused (a typo would
    /// otherwise write a value nothing reads).
    private func checkKnown(_ resource: String) throws(ConduitError) {
        guard let configuration = context.configuration else { return }
        _ = try configuration.resource(named: resource)
    }
}
