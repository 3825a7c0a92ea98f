import Core
import Stream

/// Where a run of `conduit-state commit` accepts a stream's start: an extract of the same
/// resource (``ResourceFingerprint``) reading this state file, that read exactly this run's own
/// value — the committed value, or the checkpoint of the interrupted run it resumes — or was given
/// a value at or below it (`--last-value`: re-reading is safe; skipping is not). Checked against
/// the extract's start record at the first row, before anything loads, and again at the end.
struct StartRule {
    var resource: String
    var committed: StateValue?
    var checkpoint: StateValue?
    var initialValue: StateValue?
    var stateIdentity: String
    /// ``ResourceFingerprint`` of the resource in this run's configuration; empty: not checked.
    var fingerprint = ""
    /// For a state every host shares (a database, ``StateBackend/label``): how long an extract
    /// waits for the commit (``StateBackend/runStartWait``). Nil for the state file.
    var sharedState: (label: String, wait: Double)?

    /// Where this run would start: the checkpoint when it is ahead, else the committed value,
    /// else `initial_value`; nil for the first run's default (0, or a time type's minimum).
    var ownStart: (value: StateValue?, origin: String) {
        if let checkpoint, committed.map({ checkpoint.compare(to: $0) == .descending }) ?? true {
            return (checkpoint, "the checkpoint of the interrupted run")
        }
        if let committed { return (committed, "the committed value") }
        if let initialValue { return (initialValue, "initial_value") }
        return (nil, "the first run's start")
    }

    /// Accepts the extracts' start records, or throws an error that says why (65; 75 when
    /// another run committed between the extract's read and this one). Returns warnings for
    /// starts below this run's own (rows loaded before load again).
    func check(_ starts: [EndConfirmation.Start], atLine line: Int?) throws(ConduitError) -> [String] {
        let at = line.map { "line \($0): " } ?? ""
        let own = ownStart
        let ownText = own.value?.plainText ?? "0"
        guard !starts.isEmpty else {
            if let sharedState {
                throw .badInput(
                    "\(at)no conduit-extract of \(resource) reading \(sharedState.label) recorded where this stream started, so it cannot be checked against \(own.origin), \(ownText): the rows come from an extract reading another state (--state-file, another ingest.yml), from one whose commit took its run lock more than \(Int(sharedState.wait)) s after it started, or not from conduit-extract at all; nothing loaded. For a stream from elsewhere whose start you vouch for, add --external"
                )
            }
            throw .badInput(
                "\(at)no conduit-extract of \(resource) reading this state file (\(stateIdentity)) recorded where this stream started, so it cannot be checked against \(own.origin), \(ownText): the rows come from an extract reading another state file (--state-file, the state_file of another ingest.yml), another folder or host, or not from conduit-extract at all; nothing loaded. For a stream from elsewhere whose start you vouch for, add --external"
            )
        }
        var warnings: [String] = []
        for start in starts {
            let who = "conduit-extract (pid \(start.pid))"
            guard start.state == stateIdentity else {
                throw .badInput(
                    "\(at)\(who) read the state file \(start.state) but this run keeps \(stateIdentity); nothing loaded")
            }
            guard fingerprint.isEmpty || start.resource == fingerprint else {
                throw .badInput(
                    "\(at)\(who) ran \(resource) as another configuration defines it (another query or source, from another ingest.yml that shares this state file); nothing loaded"
                )
            }
            if start.readTheState {
                // Read from the state: it must be what this run read, or another run committed in between.
                let same: Bool
                switch (start.read, own.value) {
                case (nil, nil): same = true
                case (let read?, let value?): same = read.compare(to: value) == .equal
                default: same = false
                }
                guard same else {
                    throw .busy(
                        "\(at)\(who) read \(start.read?.plainText ?? "no value") for \(resource) but \(own.origin) is now \(ownText): another run committed between the two reads, and this stream would load its rows again; nothing loaded, run again"
                    )
                }
                continue
            }
            guard let from = start.startedFrom else { continue }
            let limit = own.value ?? (from.isNumber ? .number("0") : .string("-infinity"))
            switch from.compare(to: limit) {
            case .ascending?:
                warnings.append(
                    "\(who) started from \(from.plainText) (\(start.origin)), below \(own.origin) \(ownText): rows between them load again (duplicated in append mode)"
                )
            case .equal?:
                continue
            case .descending?:
                throw .badInput(
                    "\(at)\(who) started from \(from.plainText) (\(start.origin)) but \(own.origin) of \(resource) is \(ownText): rows above \(ownText) up to \(from.plainText) would never load; nothing loaded. To skip them on purpose, run conduit-state set \(resource) \(from.shellArgument) first"
                )
            case nil:
                throw .badInput(
                    "\(at)\(who) started from the \(from.typeName) \(from.plainText) (\(start.origin)) but \(own.origin) of \(resource) is the \(limit.typeName) \(limit.plainText); nothing loaded"
                )
            }
        }
        return warnings
    }
}
