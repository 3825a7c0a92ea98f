import Config
package import Core
import Stream

/// The logic of `conduit-state show | get | set | reset | export | import | history`: reads and
/// edits the state through its backend.
package struct StateCommands: Sendable {
    package var context: ToolContext

    package init(context: ToolContext) {
        self.context = context
    }

    private var state: any StateBackend { context.state }

    /// The state as pretty JSON, keys sorted (the whole flat map, or one resource's entry).
    package func show(resource: String?) throws(ConduitError) -> String {
        let document = try state.read()
        guard let resource else {
            return String(decoding: document.serialized, as: UTF8.self)
        }
        var single = StateDocument()
        if let value = try document.value(of: resource, source: state.label) {
            single.set(value, for: resource)
        }
        return String(decoding: single.serialized, as: UTF8.self)
    }

    /// Checkpoints of interrupted runs that the next run of each resource resumes from (all
    /// resources, or one), sorted by name.
    package func pendingCheckpoints(resource: String?) throws(ConduitError) -> [(resource: String, entry: CheckpointLedger.Entry)]
    {
        try CheckpointLedger(state: state).read()
            .filter { $0.value.checkpoint != nil && (resource == nil || $0.key == resource) }
            .sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            .map { (resource: $0.key, entry: $0.value) }
    }

    /// What the safe horizon held back in the latest extract of each resource that held rows
    /// (all resources of the state and the configuration, or one), sorted by name.
    package func horizonHolds(resource: String?) throws(ConduitError) -> [(resource: String, record: HorizonRecord)] {
        var names: Set<String> = []
        if let resource {
            names.insert(resource)
        } else {
            names.formUnion(try state.read().members.keys)
            names.formUnion(context.configuration?.resources.map(\.name) ?? [])
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.compactMap { name in
            guard let record = HorizonRecord.read(state: state, resource: name), record.heldRows > 0 else { return nil }
            return (name, record)
        }
    }

    /// The committed value of `resource`, or nil when it has none.
    package func get(resource: String) throws(ConduitError) -> StateValue? {
        try state.value(of: resource)
    }

    /// Sets a value by hand (a backfill or a correction), backwards too. Refused while a run of
    /// the resource holds its lock. Returns the previous value.
    @discardableResult
    package func set(resource: String, value: StateValue) throws(ConduitError) -> StateValue? {
        try checkKnown(resource)
        return try edit(resource, event: "set") { _ in .set(value) }.previous
    }

    /// Forgets a resource's value: its next run starts from initial_value (or 0), and its safe
    /// horizon from what it sees (the horizon record goes too). Returns the previous value.
    @discardableResult
    package func reset(resource: String) throws(ConduitError) -> StateValue? {
        // A name the state holds may go even when the configuration no longer has it (an
        // import brought it, a resource was renamed): there is no other way to remove it.
        if try state.value(of: resource) == nil { try checkKnown(resource) }
        let previous = try edit(resource, event: "reset") { _ in .remove }.previous
        state.removeHorizonRecord(of: resource)
        return previous
    }

    /// The seed's flat map, exactly as the file backend writes it: `conduit-state export > state.json`.
    package func export() throws(ConduitError) -> [UInt8] {
        try state.read().serialized
    }

    /// What an import did to one resource.
    package struct Imported: Sendable, Equatable {
        package var resource: String
        package var previous: StateValue?
        package var value: StateValue
        /// False when the value was already there.
        package var changed: Bool
    }

    /// Loads a flat map (the seed's format; `source` names it in errors) into this state. Every
    /// value is checked first: one that would move a committed value backwards refuses the
    /// whole import (nothing written) unless `force`. Each resource then changes under its run
    /// lock (a run in progress: 75), with a new checkpoint epoch and a history entry, as `set`.
    package func importState(_ bytes: [UInt8], source: String, force: Bool) throws(ConduitError) -> [Imported] {
        let incoming: StateDocument
        do {
            incoming = try StateDocument(parsing: bytes, source: source)
        } catch {
            throw .badInput(
                "\(source) is not a flat JSON map of resource names to values (what conduit-state export prints): \(error.message); nothing imported"
            )
        }
        var values: [(String, StateValue)] = []
        for name in incoming.members.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            guard let value = StateValue(json: incoming.members[name]) else {
                throw .badInput(
                    "\(source): the value of \(JSONEscaping.quoted(name)) is neither a number nor a string; nothing imported")
            }
            values.append((name, value))
        }
        let current = try state.read()
        var backwards: [String] = []
        for (name, value) in values {
            guard let committed = try current.value(of: name, source: state.label) else { continue }
            switch committed.compare(to: value) {
            case .descending?:
                backwards.append("\(name): \(committed.plainText) → \(value.plainText)")
            case nil:
                backwards.append("\(name): \(committed.typeName) \(committed.plainText) → \(value.typeName) \(value.plainText)")
            default:
                break
            }
        }
        if !backwards.isEmpty && !force {
            throw .badInput(
                "\(source): importing would move \(Plural.count(backwards.count, "value")) of \(state.label) backwards or change its type (\(backwards.joined(separator: "; "))); nothing imported. Give --force to import anyway (the next runs then load those rows again)"
            )
        }
        // Every lock first: a run in progress (75) refuses the import before anything is written.
        var locks: [String: RunLock] = [:]
        for (name, value) in values where try current.value(of: name, source: state.label) != value {
            locks[name] = try state.acquireRunLock(for: name, announcesRun: false)
        }
        defer { withExtendedLifetime(locks) {} }
        var imported: [Imported] = []
        for (name, value) in values {
            guard let lock = locks[name] else {
                imported.append(Imported(resource: name, previous: value, value: value, changed: false))
                continue
            }
            let (previous, changed) = try edit(name, event: "import", holding: lock) { current in
                current == value ? .keep : .set(value)
            }
            imported.append(Imported(resource: name, previous: previous, value: value, changed: changed))
        }
        return imported
    }

    /// The last `limit` history entries, oldest first (every resource's, or one's).
    package func history(resource: String?, limit: Int) throws(ConduitError) -> [HistoryEntry] {
        try state.history(resource: resource, limit: limit)
    }

    /// Changes one resource's value under its run lock; returns the previous value and whether
    /// it changed. The checkpoint ledger moves to a new epoch in the same step: after `set`,
    /// `reset` or `import` the next run starts where the user said, not where an interrupted
    /// run stopped.
    private func edit(
        _ resource: String, event: String, holding held: RunLock? = nil, _ change: @escaping (StateValue?) -> StateChange
    ) throws(ConduitError) -> (previous: StateValue?, changed: Bool) {
        let runLock: RunLock
        if let held { runLock = held } else { runLock = try state.acquireRunLock(for: resource, announcesRun: false) }
        defer { withExtendedLifetime(runLock) {} }
        var previous: StateValue?
        var changed = false
        try state.commit(
            resource: resource, run: runLock, newEpoch: true, history: HistoryEntry(event: event, resource: resource)
        ) {
            (current) throws(ConduitError) -> StateChange in
            previous = current
            let outcome = change(current)
            changed = outcome != .keep
            return outcome
        }
        return (previous, changed)
    }

    /// With a configuration, a name that is not one of its resources is refused (a typo would
    /// otherwise write a value nothing reads).
    private func checkKnown(_ resource: String) throws(ConduitError) {
        guard let configuration = context.configuration else { return }
        _ = try configuration.resource(named: resource)
    }
}
