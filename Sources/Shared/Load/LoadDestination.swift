package import Core
package import Stream

/// A column of the destination table as the loader sees it.
package struct DestinationColumn: Sendable, Equatable {
    package var name: String
    /// The declared type, as the destination spells it.
    package var type: String
    /// How JSON values are encoded for it (base64 into bytea, JSON arrays into PostgreSQL
    /// arrays); nil for a type outside the mapping, which takes values as text.
    package var kind: ColumnKind?

    package init(name: String, type: String, kind: ColumnKind?) {
        self.name = name
        self.type = type
        self.kind = kind
    }
}

/// A checkpoint as a destination stores it: the run that wrote it and its value as JSON text.
package struct StoredCheckpoint: Sendable, Equatable {
    package var run: String
    package var value: String

    package init(run: String, value: String) {
        self.run = run
        self.value = value
    }
}

/// The refusal of a checkpoint that another loader replaced since this one read it.
package enum CheckpointConflict {
    package static func error(resource: String, in label: String) -> ConduitError {
        .busy(
            "another load of \(resource) into \(label) wrote its checkpoint since this one started (two runs at once: the run lock of one was lost with its state session); this batch is rolled back, and the next run resumes after the other's checkpoint"
        )
    }
}

/// The table each database destination keeps checkpoints in, beside the loaded tables.
package let checkpointTableName = "_conduit_checkpoints"

/// What `conduit-load` needs from a destination database. ``LoadRun`` drives it: it decides
/// batches, columns and types; the destination writes rows and owns transactions.
///
/// Everything between ``begin()`` and ``commit()`` is one transaction, so a failed batch leaves
/// no row of itself behind. Where ``schemaChangesAreTransactional`` holds, table creation and new
/// columns are part of it too.
package protocol LoadDestination: AnyObject {
    /// Names the table in messages: `"public"."users" on appdb at 127.0.0.1:5432`.
    var label: String { get }
    /// Whether `CREATE TABLE` and `ADD COLUMN` run inside the batch's transaction and roll back
    /// with it (PostgreSQL, SQLite). Where they do not (Snowflake, whose DDL commits the open
    /// transaction), the destination runs them on their own and keeps the open batch's rows
    /// unsent until ``commit()``, so a batch still commits whole or not at all; a table or column
    /// created for a batch that then fails stays, empty.
    var schemaChangesAreTransactional: Bool { get }
    /// The table's columns in order, or nil when there is no such table.
    func existingColumns() throws(ConduitError) -> [DestinationColumn]?
    /// This destination's type name for a column kind.
    func typeName(for kind: ColumnKind) -> String
    /// The declared type a new column gets: the source's (``SourceColumn/portableType(to:)``
    /// when the source is of the same kind), else ``typeName(for:)`` of the kind inferred from
    /// the first value.
    func newColumnType(source: SourceColumn?, inferred: ColumnKind) -> String
    /// Refuses a key the database cannot hold as a column name.
    func validateColumnName(_ name: String) -> String?
    /// The name the database gives the column of a row's key, as ``existingColumns()`` reports
    /// it: the key itself where names are exact (PostgreSQL, SQLite, since Conduit quotes them);
    /// `EMAIL` for `email` on Snowflake, which resolves unquoted names upper-case.
    func columnName(forKey key: String) -> String
    func begin() throws(ConduitError)
    /// Creates the table with these columns and, when `primaryKey` names any, that primary key.
    func createTable(_ columns: [(name: String, type: String)], primaryKey: [String]) throws(ConduitError)
    func addColumn(name: String, type: String) throws(ConduitError)
    /// Rows written from now on fill these columns, in this order; any other column gets its default.
    func setTargetColumns(_ columns: [DestinationColumn]) throws(ConduitError)
    /// Writes one row: `positions[i]` is the target column of `row.members[i]`; a target column
    /// no member names gets NULL, and the last of duplicate keys wins.
    func write(_ row: JSONRow, positions: [Int], lineNumber: Int) throws(ConduitError)
    /// Makes everything since ``begin()`` durable.
    func commit() throws(ConduitError)
    /// Creates the checkpoint table when it is missing (outside any batch).
    func prepareCheckpoints() throws(ConduitError)
    /// The checkpoint of the resource's loads into this table: the run that wrote it, the value as JSON text, the rows; nil when there is none.
    func readCheckpoint(resource: String) throws(ConduitError) -> (run: String, value: String, rows: Int64)?
    /// Writes the resource's checkpoint in the open batch's transaction, so it commits with the
    /// rows — only over `replacing`, the checkpoint this loader read at its start or wrote with
    /// its last batch (nil: there was none). Another loader's checkpoint written since means two
    /// loaders of the resource run at once (a run lock held by a database session that died):
    /// a destination that can tell refuses with ``CheckpointConflict`` and the batch rolls back.
    func writeCheckpoint(
        resource: String, run: String, value: String, rows: Int64, replacing: StoredCheckpoint?
    ) throws(ConduitError)
    /// Abandons the open batch; never throws (it runs on the way out of a failure).
    func rollback()
    /// Whether the last ``commit()`` failed after its COMMIT was sent, with no answer heard:
    /// the batch and its checkpoint may have committed (together) or not.
    var commitOutcomeUnknown: Bool { get }

    /// How often, in seconds, the loader calls ``keepAlive()`` while it reads (also while no
    /// input comes); nil for a destination whose connection needs nothing while idle.
    var keepAliveCheckInterval: Double? { get }
    /// Keeps the connection alive through a long wait for input (Snowflake ends a session idle
    /// for four hours). Cheap when nothing is due.
    func keepAlive() throws(ConduitError)

    // MARK: Write modes (SPEC 6). The loader calls these outside any batch.

    /// `merge`: from now on each batch upserts its rows into the table on `primaryKey` (a unique
    /// key of the table) when it commits; within a batch, and so within a run, the last row of a
    /// key wins. The checkpoint still commits in the same transaction.
    func enableMerge(primaryKey: [String]) throws(ConduitError)

    /// `merge` when `updateExisting` is true (the same as ``enableMerge(primaryKey:)``). When
    /// false — `append` with `lookback` — each batch inserts only the rows whose `primaryKey` the
    /// table does not hold yet and leaves the rows it holds as they are (`INSERT … ON CONFLICT
    /// DO NOTHING`); within a batch, and so within a run, the first row of a key wins. The
    /// checkpoint still commits in the same transaction. A destination that cannot do this
    /// keeps the default, which refuses `updateExisting: false` with a configuration error.
    func enableMerge(primaryKey: [String], updateExisting: Bool) throws(ConduitError)

    /// `replace`, on the staging table's destination: drops this table if it is left over from a
    /// run that did not finish, and, when `template` names an existing table, creates this one
    /// with the template's columns and types (so values are checked against them line by line).
    func resetStaging(like template: String) throws(ConduitError)

    /// `replace`, on the staging table's destination, after its last batch: in one transaction,
    /// makes `table` hold exactly this table's rows — created like this one when missing, with the
    /// columns it lacks added, its old rows deleted — and drops this table. Readers see the old
    /// rows or the new ones, never an empty or partial table.
    func publishStaging(into table: String, primaryKey: [String]) throws(ConduitError)
}

extension LoadDestination {
    package func columnName(forKey key: String) -> String { key }
    package var keepAliveCheckInterval: Double? { nil }
    package var commitOutcomeUnknown: Bool { false }
    package func keepAlive() throws(ConduitError) {}
}

extension LoadDestination {
    /// The default for destinations that only upsert: `updateExisting: false` is refused.
    package func enableMerge(primaryKey: [String], updateExisting: Bool) throws(ConduitError) {
        guard updateExisting else {
            throw .configuration(
                "\(label): this destination cannot load only the rows it does not hold yet, which lookback in append mode needs; use mode: merge"
            )
        }
        try enableMerge(primaryKey: primaryKey)
    }
}
