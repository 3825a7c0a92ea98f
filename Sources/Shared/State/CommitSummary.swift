import Core

/// The one line `conduit-state commit` prints at the end of a run whose loader succeeded.
struct CommitSummary {
    var resource: String
    var incremental: Bool
    var rows: Int
    var bytes: Int
    var seconds: Double
    var old: StateValue?
    var new: StateValue?
    /// Why the end was not confirmed, when it was not: a phrase (`the stream ended early (…)`).
    var unconfirmedEnd: String?
    /// What the filters of --from did, when the stream is not the extract's bytes.
    var filtered: String?
    var ordered = true
    var heldBackRows = 0
    var heldBackValue: StateValue?

    func report(to reporter: Reporter) {
        let oldText = old?.plainText ?? "(none)"
        let newText = new?.plainText ?? "(none)"
        let change: String
        if !incremental {
            change = "not incremental, no state kept"
        } else if old == new {
            change = rows == 0 ? "no rows, state unchanged at \(oldText)" : "state unchanged at \(oldText)"
        } else {
            change = "state \(oldText) → \(newText)"
        }
        let ending: String
        if let unconfirmedEnd {
            if ordered, let heldBackValue {
                let committed = old == new ? "nothing more committed" : "committed up to \(newText)"
                ending =
                    "; \(unconfirmedEnd); \(committed); the group at \(heldBackValue.plainText) (\(Plural.count(heldBackRows, "row"))) was not loaded and will be read again; \(change)"
            } else {
                ending =
                    "; \(unconfirmedEnd), and the resource is ordered: false, so no part of it is known complete: nothing committed, \(change) (the rows loaded load again on the next run)"
            }
        } else if let filtered {
            ending = "; \(filtered); \(change)"
        } else {
            ending = "; \(change)"
        }
        var fields: [(String, JSONValue)] = [
            ("old_value", old?.jsonValue ?? .null),
            ("new_value", new?.jsonValue ?? .null),
            ("end", .string(unconfirmedEnd != nil ? "unconfirmed" : filtered != nil ? "filtered" : "confirmed")),
        ]
        if let unconfirmedEnd {
            fields.append(("end_reason", .string(unconfirmedEnd)))
            if let heldBackValue {
                fields.append(("held_back_value", heldBackValue.jsonValue))
                fields.append(("held_back_rows", .number(String(heldBackRows))))
            }
        }
        // An end not confirmed is a warning: printed even with --quiet.
        RunSummary(resource: resource, rows: rows, bytes: bytes, seconds: seconds)
            .report(ending, moreFields: fields, to: reporter, asWarning: unconfirmedEnd != nil)
    }
}
