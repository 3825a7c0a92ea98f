import Core
import Extract

/// The hold-back of a PostgreSQL extract (docs/INCREMENTAL.md, "Stopping the stream, and what it
/// says"): rows whose incremental value is beyond the safe horizon's bound are not written; they
/// come in a later run. An ordered stream ends before the first of them, comparing only the last
/// row of each batch until one is beyond the bound; with `ordered: false` each row is compared,
/// and held, on its own.
struct PostgresHoldBack {
    let horizon: PostgresSafeHorizon
    let bound: PostgresSafeHorizon.Bound
    /// Whether the stream is ordered by the incremental column (`ordered:`).
    let ordered: Bool
    /// Rows the query returned that were not written.
    var heldRows = 0
    /// The incremental value of the first held row.
    private(set) var heldFrom: StateValue?
    /// The incremental value's JSON text, reused from row to row.
    private var scratch: [UInt8] = []

    init(horizon: PostgresSafeHorizon, bound: PostgresSafeHorizon.Bound, ordered: Bool) {
        self.horizon = horizon
        self.bound = bound
        self.ordered = ordered
    }

    /// How many of the batch's rows may be written at most. Ordered: the rows before the first
    /// held one, and nothing after it (a batch whose last row passes passes whole); the caller
    /// counts the rest as held. Unordered: every row, each then asked about on its own
    /// (``holdsOnItsOwn(row:of:)``).
    mutating func passingPrefix(of batch: PostgresResult) -> Int {
        let count = batch.rowCount
        guard ordered, count > 0, holds(row: count - 1, of: batch) else { return count }
        heldFrom = nil
        for row in 0..<count where holds(row: row, of: batch) { return row }
        return count
    }

    /// Unordered: whether the row waits for a later run (counted in ``heldRows``). Ordered:
    /// never, the rows before the first held one pass.
    mutating func holdsOnItsOwn(row: Int, of batch: PostgresResult) -> Bool {
        guard !ordered, holds(row: row, of: batch) else { return false }
        heldRows += 1
        return true
    }

    /// What the run's horizon outcome says once the stream has ended: how many rows waited, from
    /// which value, and for which transaction; nothing when none waited.
    func record(in outcome: inout HorizonOutcome) {
        guard heldRows > 0 else { return }
        outcome.heldRows = heldRows
        outcome.heldFrom = heldFrom
        outcome.blocker = bound.blocker
        outcome.pid = bound.pid
        outcome.ageSeconds = bound.age
    }

    /// Whether the row's value is beyond the bound; the first such value becomes ``heldFrom``.
    private mutating func holds(row: Int, of batch: PostgresResult) -> Bool {
        guard let current = value(row: row, of: batch), bound.holds(current) else { return false }
        if heldFrom == nil { heldFrom = current }
        return true
    }

    /// The incremental column's value in the row as the stream writes and orders it; nil for NULL.
    private mutating func value(row: Int, of batch: PostgresResult) -> StateValue? {
        scratch.removeAll(keepingCapacity: true)
        let style = horizon.style
        let present = batch.withValue(row: row, column: horizon.columnIndex) { text -> Bool in
            guard let text else { return false }
            PostgresTextEncoder.append(text, style: style, to: &scratch)
            return true
        }
        return present ? PostgresSafeHorizon.stateValue(json: scratch) : nil
    }
}
