package import Config
package import Core
import Foundation
import HTTP
package import Load
package import Stream

/// Loads rows into a Snowflake table over Snowflake's HTTP query protocol (``SnowflakeSession``).
///
/// Snowflake commits an open transaction on every DDL statement, so the open batch's rows stay
/// here (``SnowflakeBatch``) until ``commit()``. Then they go into a session-private temporary
/// table of text columns — by array-bound INSERTs, or for a large batch as a CSV file PUT to the
/// table's stage and copied in — and, in one transaction, from there into the table (INSERT …
/// SELECT; for `merge` an UPDATE of the keys already there and an INSERT of the rest), each value
/// cast to its column's type, with the checkpoint row beside it; COMMIT. A batch commits whole or
/// not at all.
package final class SnowflakeDestination: LoadDestination {
    private let session: SnowflakeSession
    /// The table's name as Snowflake stores it (`RAW_USERS`).
    private let storedTable: String
    private let qualifiedTable: String
    package let label: String
    private var targets: [DestinationColumn] = []
    private var valueTargets: [SnowflakeValue.Target] = []
    private var batch = SnowflakeBatch()
    private var pendingCheckpoint: (resource: String, run: String, value: String, rows: Int64)?
    /// `merge`: the key columns (stored names) each batch upserts on.
    private var mergeKey: [String] = []
    /// `merge` updates the rows whose key the table holds; `append` with `lookback` leaves them.
    private var mergeUpdatesExisting = true
    /// How many value columns the session's batch table has (-1: none yet).
    private var batchTableWidth = -1
    private var inTransaction = false
    package private(set) var commitOutcomeUnknown = false
    /// Batches of more bytes of values than this go through the stage; nil: those whose binds
    /// would not fit one statement (``goesThroughStage``).
    private let stagedThreshold: Int?
    /// Set when the table's stage cannot take an upload (a location type Conduit does not know):
    /// binding from then on.
    private var stagingUnavailable = false
    /// Where a warning goes (a stage that cannot be used).
    private let warnings: (String) -> Void

    /// The temporary table each batch fills first; private to the session.
    private static let batchTable = "CONDUIT_BATCH"
    private static let lineColumn = "CONDUIT_LINE"
    /// Snowflake's own default for when its connectors stop binding arrays inline (values per statement).
    static let bindValuesPerStatement = 65_280
    /// Bytes of bound values per statement: Snowflake's guidance is about 1 MB of statement text
    /// and binds per request; larger ones risk HTTP 413. Before gzip, which the request gets.
    package static let bindBytesPerStatement = 1_000_000

    /// - Parameter warnings: where a request that is being tried again is reported.
    package init(
        config: DestinationConfig, table: String, stagedThreshold: Int? = nil,
        warnings: @escaping (String) -> Void = { _ in }
    ) throws(ConduitError) {
        let settings = try SnowflakeSettings(config)
        session = try SnowflakeSession(settings: settings, warnings: warnings)
        storedTable = SnowflakeName.resolved(table)
        qualifiedTable = Self.qualified(storedTable, settings: settings)
        label = "\(SnowflakeName.exact(storedTable)) in \(settings.label)"
        self.stagedThreshold = stagedThreshold
        self.warnings = warnings
    }

    /// Asked often; the session sends a heartbeat only once it has been idle for its
    /// `heartbeat_interval`.
    package var keepAliveCheckInterval: Double? {
        max(0.5, min(60, session.settings.heartbeatInterval / 4))
    }

    package func keepAlive() throws(ConduitError) {
        session.keepAlive()
    }

    deinit {
        if inTransaction, !commitOutcomeUnknown { _ = try? session.run("ROLLBACK", doing: "rolling back", retrying: false) }
        session.close()
    }

    private static func qualified(_ stored: String, settings: SnowflakeSettings) -> String {
        var parts: [String] = []
        if let database = settings.database, settings.schema != nil { parts.append(SnowflakeName.quoted(database)) }
        if let schema = settings.schema { parts.append(SnowflakeName.quoted(schema)) }
        return (parts + [SnowflakeName.exact(stored)]).joined(separator: ".")
    }

    private func qualified(_ stored: String) -> String {
        Self.qualified(stored, settings: session.settings)
    }

    // MARK: Names and types

    package func columnName(forKey key: String) -> String {
        SnowflakeName.resolved(key)
    }

    package var schemaChangesAreTransactional: Bool { false }

    package func typeName(for kind: ColumnKind) -> String { kind.snowflakeName }

    package func newColumnType(source: SourceColumn?, inferred: ColumnKind) -> String {
        source?.snowflakeType ?? typeName(for: inferred)
    }

    package func validateColumnName(_ name: String) -> String? {
        if name.isEmpty { return "Snowflake has no empty column names" }
        if name.utf8.count > 255 { return "longer than 255 bytes, Snowflake's limit for a name" }
        if name.utf8.contains(0) { return "Snowflake names cannot hold U+0000" }
        return nil
    }

    package func existingColumns() throws(ConduitError) -> [DestinationColumn]? {
        try columns(of: storedTable)
    }

    /// A table's columns from `information_schema.columns`, nil when there is no such table.
    private func columns(of stored: String) throws(ConduitError) -> [DestinationColumn]? {
        let settings = session.settings
        let catalog = settings.database.map { SnowflakeName.quoted($0) + "." } ?? ""
        let schema = settings.schema.map { SnowflakeName.literal(SnowflakeName.resolved($0)) } ?? "CURRENT_SCHEMA()"
        let result = try session.run(
            """
            SELECT column_name, data_type, numeric_precision, numeric_scale FROM \(catalog)information_schema.columns \
            WHERE table_schema = \(schema) AND table_name = \(SnowflakeName.literal(stored)) ORDER BY ordinal_position
            """, doing: "reading the columns of \(SnowflakeName.exact(stored)) in \(settings.label)")
        let columns = result.rows.compactMap { row -> DestinationColumn? in
            guard row.count >= 4, let name = row[0], let dataType = row[1] else { return nil }
            let scale = row[3].flatMap { Int($0) }
            var type = dataType.uppercased()
            if type == "NUMBER", let precision = row[2].flatMap({ Int($0) }) { type = "NUMBER(\(precision),\(scale ?? 0))" }
            if type == "TEXT" { type = "VARCHAR" }
            return DestinationColumn(name: name, type: type, kind: ColumnKind(snowflakeType: dataType, scale: scale))
        }
        return columns.isEmpty ? nil : columns
    }

    // MARK: Tables (DDL commits by itself in Snowflake: these run outside any batch transaction)

    package func createTable(_ columns: [(name: String, type: String)], primaryKey: [String]) throws(ConduitError) {
        try createTable(
            qualifiedTable, columns.map { (SnowflakeName.resolved($0.name), $0.type) }, primaryKey: primaryKey,
            doing: "creating \(label)")
    }

    private func createTable(
        _ qualified: String, _ columns: [(stored: String, type: String)], primaryKey: [String], doing context: String
    ) throws(ConduitError) {
        var list = columns.map { SnowflakeName.exact($0.stored) + " " + ($0.type.isEmpty ? "VARCHAR" : $0.type) }
        if !primaryKey.isEmpty { list.append("PRIMARY KEY (\(primaryKey.map(SnowflakeName.quoted).joined(separator: ", ")))") }
        try session.run("CREATE TABLE \(qualified) (\(list.joined(separator: ", ")))", doing: context)
    }

    package func addColumn(name: String, type: String) throws(ConduitError) {
        try session.run(
            "ALTER TABLE \(qualifiedTable) ADD COLUMN \(SnowflakeName.quoted(name)) \(type.isEmpty ? "VARCHAR" : type)",
            doing: "adding column \(SnowflakeName.quoted(name)) to \(label)")
    }

    package func setTargetColumns(_ columns: [DestinationColumn]) throws(ConduitError) {
        targets = columns
        valueTargets = columns.map { SnowflakeValue.Target(kind: $0.kind, type: $0.type) }
    }

    // MARK: Batches

    package func begin() throws(ConduitError) {
        batch.removeAll()
        pendingCheckpoint = nil
    }

    package func write(_ row: JSONRow, positions: [Int], lineNumber: Int) throws(ConduitError) {
        batch.startRow(width: targets.count, lineNumber: lineNumber)
        for (index, member) in row.members.enumerated() {
            let position = positions[index]
            if let refusal = SnowflakeValue.stage(
                member.value, of: row, into: valueTargets[position], column: position, batch: &batch)
            {
                let column = targets[position]
                throw .badInput(
                    "loading into \(label): line \(lineNumber): column \(SnowflakeName.exact(column.name)) (\(column.type)) cannot take \(refusal)"
                )
            }
        }
    }

    /// Snowflake keeps a log of checkpoints (the latest wins) and enforces no key, so `replacing`
    /// is not checked here (docs/INCREMENTAL.md, "State backends": the fence is PostgreSQL's and SQLite's).
    package func writeCheckpoint(
        resource: String, run: String, value: String, rows: Int64, replacing: StoredCheckpoint?
    ) throws(ConduitError) {
        pendingCheckpoint = (resource, run, value, rows)
    }

    package func commit() throws(ConduitError) {
        defer {
            batch.removeAll()
            pendingCheckpoint = nil
        }
        guard !batch.isEmpty || pendingCheckpoint != nil else { return }
        let context = "committing a batch of \(batch.rowCount) rows to \(label)"
        let width = targets.count
        if batchTableWidth != width {
            let columns = (0..<width).map { "C\($0 + 1) VARCHAR" } + ["\(Self.lineColumn) NUMBER(38,0)"]
            try session.run(
                "CREATE OR REPLACE TEMPORARY TABLE \(Self.batchTable) (\(columns.joined(separator: ", ")))",
                doing: "creating the session's batch table for \(label)")
            batchTableWidth = width
        }
        let staged = goesThroughStage(width: width) ? try stageFile(width: width) : nil
        if !batch.isEmpty {
            // The batch table is the session's own: filling it needs no transaction, and a run
            // killed here leaves nothing behind (the table goes with the session).
            try session.run("DELETE FROM \(Self.batchTable)", doing: context)
            if let staged {
                try copyStaged(staged, doing: context)
            } else {
                try bindRows(width: width, doing: context)
            }
            try checkBatchTable(doing: context)
        }
        try session.run("BEGIN", doing: context)
        inTransaction = true
        if !batch.isEmpty {
            if mergeKey.isEmpty {
                try session.run(insertStatement(staged: staged != nil), doing: context)
            } else {
                for statement in mergeStatements(staged: staged != nil) { try session.run(statement, doing: context) }
            }
        }
        if let checkpoint = pendingCheckpoint {
            for statement in checkpointStatements(checkpoint) {
                try session.run(statement, doing: "writing the checkpoint of \(checkpoint.resource) to \(label)")
            }
        }
        do {
            try session.run("COMMIT", doing: context)
        } catch {
            // Sent, and retried with its requestId, but never answered: it may have committed.
            // (An answer that refuses it — an error code, a 3xx or 4xx — says it did not.)
            if session.lastRequestUnanswered { commitOutcomeUnknown = true }
            throw error
        }
        inTransaction = false
    }

    /// Whether the batch loads through the stage: by default when its binds would not fit one
    /// statement — as many values as the session's `CLIENT_STAGE_ARRAY_BINDING_THRESHOLD`, or more
    /// than ``bindBytesPerStatement`` bytes — where Snowflake's connectors switch to a stage too.
    /// Measured (docs/SNOWFLAKE.md): the client's CPU per row is the same either way and the
    /// bytes sent within 10 %; a batch that fits one INSERT is one request, through the stage it
    /// is three (PUT, the upload, COPY), and each further statement of binds is one more.
    private func goesThroughStage(width: Int) -> Bool {
        if let stagedThreshold { return batch.byteCount > stagedThreshold }
        let values = batch.rowCount * (width + 1)
        let threshold = session.arrayBindingThreshold ?? Self.bindValuesPerStatement
        // As the connectors: at the threshold, not above it; 0 turns the switch off.
        return (threshold > 0 && values >= threshold) || batch.byteCount > Self.bindBytesPerStatement
    }

    /// The batch into the batch table by multi-row INSERTs with array bindings, each at most
    /// ``bindValuesPerStatement`` values and ``bindBytesPerStatement`` bytes of them (a single
    /// larger row goes alone). A statement the service refuses as too large (HTTP 413: nothing
    /// ran) goes again as two of half the size; a single row it refuses is 65, naming its line.
    private func bindRows(width: Int, doing context: String) throws(ConduitError) {
        let placeholders = Array(repeating: "?", count: width + 1).joined(separator: ", ")
        let insert = "INSERT INTO \(Self.batchTable) VALUES (\(placeholders))"
        // Under the threshold, as the connectors' inline binds are (0: no threshold, the default's size).
        let threshold = session.arrayBindingThreshold.flatMap { $0 > 0 ? $0 : nil } ?? Self.bindValuesPerStatement
        let valuesPerStatement = max(1, threshold - 1)
        var rowsPerStatement = max(1, valuesPerStatement / (width + 1))
        var bytesPerStatement = Self.bindBytesPerStatement
        var start = 0
        while start < batch.rowCount {
            var end = start
            var bytes = 0
            while end < batch.rowCount, end - start < rowsPerStatement {
                let size = batch.bindingBytes(row: end, width: width)
                if end > start, bytes + size > bytesPerStatement { break }
                bytes += size
                end += 1
            }
            switch try session.execute(insert, bindings: batch.arrayBindings(rows: start..<end, width: width), doing: context) {
            case .result:
                start = end
            case .tooLarge(let sent):
                guard end - start > 1 else {
                    throw .badInput(
                        "line \(batch.lineNumbers[start]): the row is too large for one Snowflake request: a statement binding only its values (\(sent) bytes) was refused (HTTP 413, Request Entity Too Large), and a row cannot be split (Conduit's own limit is \(Self.bindBytesPerStatement) bytes of values per statement, a row above it going alone); nothing of the batch was committed"
                    )
                }
                rowsPerStatement = max(1, (end - start) / 2)
                bytesPerStatement = max(1, bytes / 2)
            }
        }
    }

    /// The batch table must hold every row of the batch before the transaction that moves them
    /// and the checkpoint: a COPY that found no file, or took fewer rows than were sent, still
    /// succeeds, and committing its checkpoint would skip the missing rows for good.
    private func checkBatchTable(doing context: String) throws(ConduitError) {
        let result = try session.run("SELECT COUNT(*) FROM \(Self.batchTable)", doing: context)
        let held = result.rows.first?.first.flatMap { $0 }.flatMap { Int($0) }
        guard held == batch.rowCount else {
            throw .io(
                "\(context): the session's batch table holds \(held.map(String.init) ?? "an unreadable count of") rows after loading \(batch.rowCount); "
                    + "nothing was committed")
        }
    }

    /// The select list that turns the batch table's text cells into the table's values; a staged
    /// batch's cells carry the CSV file's `=` mark (``SnowflakeBatch/csv(width:)``), cut here.
    private func castList(staged: Bool) -> [String] {
        targets.enumerated().map { index, column in
            valueTargets[index].expression(staged ? "SUBSTR(C\(index + 1), 2)" : "C\(index + 1)", declaredType: column.type)
        }
    }

    private func insertStatement(staged: Bool) -> String {
        let names = targets.map { SnowflakeName.exact($0.name) }.joined(separator: ", ")
        return
            "INSERT INTO \(qualifiedTable) (\(names)) SELECT \(castList(staged: staged).joined(separator: ", ")) FROM \(Self.batchTable) ORDER BY \(Self.lineColumn)"
    }

    /// The upsert on the key, as two statements in the batch's transaction: UPDATE the rows whose
    /// key matches, then INSERT the rest — what MERGE's matched and not-matched clauses do.
    /// (MERGE itself cannot run inside a transaction on fakesnow, the emulator the tests use:
    /// docs/SNOWFLAKE.md.) Within the batch the last row of a key wins (the highest line); for
    /// `append` with `lookback` only the INSERT runs, and the first row of a key wins.
    private func mergeStatements(staged: Bool) -> [String] {
        let casts = castList(staged: staged)
        let aliases = targets.indices.map { "V\($0 + 1)" }
        let select = zip(casts, aliases).map { "\($0) AS \($1)" }.joined(separator: ", ")
        let keyAliases = mergeKey.compactMap { key in targets.firstIndex { $0.name == key }.map { aliases[$0] } }
        let source = """
            (SELECT \(select) FROM \(Self.batchTable) \
            QUALIFY ROW_NUMBER() OVER (PARTITION BY \(keyAliases.joined(separator: ", ")) ORDER BY \(Self.lineColumn) \(mergeUpdatesExisting ? "DESC" : "ASC")) = 1) AS source
            """
        let matches = mergeKey.compactMap { key -> String? in
            guard let index = targets.firstIndex(where: { $0.name == key }) else { return nil }
            return "\(qualifiedTable).\(SnowflakeName.exact(key)) = source.\(aliases[index])"
        }.joined(separator: " AND ")
        let updates = targets.enumerated().filter { !mergeKey.contains($0.element.name) }
            .map { "\(SnowflakeName.exact($0.element.name)) = source.\(aliases[$0.offset])" }
        let names = targets.map { SnowflakeName.exact($0.name) }.joined(separator: ", ")
        var statements: [String] = []
        if !updates.isEmpty && mergeUpdatesExisting {
            statements.append("UPDATE \(qualifiedTable) SET \(updates.joined(separator: ", ")) FROM \(source) WHERE \(matches)")
        }
        statements.append(
            "INSERT INTO \(qualifiedTable) (\(names)) SELECT \(aliases.map { "source.\($0)" }.joined(separator: ", ")) FROM \(source) "
                + "WHERE NOT EXISTS (SELECT 1 FROM \(qualifiedTable) WHERE \(matches))")
        return statements
    }

    package func rollback() {
        batch.removeAll()
        pendingCheckpoint = nil
        if inTransaction {
            inTransaction = false
            // Once, without retries: on the way out of a failure, and the logout that follows
            // ends the session's transaction anyway. Not after a COMMIT that went unanswered:
            // there may be nothing left to roll back, and the service is not answering.
            guard !commitOutcomeUnknown else { return }
            _ = try? session.run("ROLLBACK", doing: "rolling back the batch on \(label)", retrying: false)
        }
    }

    // MARK: Staged loads (PUT to the table's stage, COPY INTO the batch table)

    /// A batch file uploaded to the table's stage: where COPY finds it.
    private struct StagedFile {
        var stage: String
        var name: String
    }

    /// Uploads the batch as a gzip CSV file to the batch table's own stage (Snowflake copies into
    /// a table only from its own table stage), as Snowflake's connectors do a `PUT`: the
    /// statement's answer names the stage's storage, its credentials and the key
    /// (``StageTarget``); the file is encrypted with it when the stage wants that
    /// (``StageEncryption``) and sent to S3, Azure or GCS. Credentials that have expired on the
    /// way are renewed by running the PUT again. nil when the stage is of a kind Conduit cannot
    /// upload to: this and every later batch of the run then go by binds, with one warning.
    private func stageFile(width: Int) throws(ConduitError) -> StagedFile? {
        guard !stagingUnavailable else { return nil }
        let stage = "@%\(Self.batchTable)/conduit"
        let name = "batch-\(UUID().uuidString.lowercased()).csv.gz"
        let context = "uploading a batch of \(batch.rowCount) rows to the stage of \(label)"
        guard let file = Gzip.compress(batch.csv(width: width)) else {
            throw .internalError("\(context): compressing the batch file failed")
        }
        let put = "PUT 'file:///\(name)' \(stage) AUTO_COMPRESS = FALSE SOURCE_COMPRESSION = GZIP OVERWRITE = TRUE"
        var renewals = 0
        while true {
            let answer = try session.run(put, doing: context)
            let target: StageTarget
            switch StageTarget.read(answer.data, file: name, scheme: session.settings.scheme) {
            case .target(let read):
                target = read
            case .unusable(let reason):
                stagingUnavailable = true
                warnings("\(label): \(reason); batches go by array binds instead, which is slower (docs/SNOWFLAKE.md)")
                return nil
            }
            let upload = try target.upload(file, scheme: session.settings.scheme, amzDate: Self.amzDate())
            let reply = try session.upload(
                upload.body, to: upload.url, headers: upload.headers, doing: context, redacted: target.redacted)
            if (200..<300).contains(reply.status) { return StagedFile(stage: stage, name: name) }
            guard target.credentialsExpired(reply), renewals < Self.credentialRenewals else {
                let renewed = renewals > 0 ? " (after renewing its credentials \(Plural.count(renewals, "time")))" : ""
                throw .io(
                    "\(context): the \(target.name) stage refused the file\(renewed): \(target.redacted(SnowflakeSession.stageRefusal(reply)))"
                )
            }
            renewals += 1
        }
    }

    /// How often one upload renews expired stage credentials (a new PUT each) before it fails.
    static let credentialRenewals = 2

    /// Now as S3's signature wants it: `20261205T192159Z`.
    private static func amzDate() -> String {
        String(WallClock.nowRFC3339().filter { $0 != "-" && $0 != ":" })
    }

    private func copyStaged(_ file: StagedFile, doing context: String) throws(ConduitError) {
        do {
            try session.run(
                """
                COPY INTO \(Self.batchTable) FROM \(file.stage)/\(file.name) \
                FILE_FORMAT = (TYPE = CSV COMPRESSION = GZIP FIELD_OPTIONALLY_ENCLOSED_BY = '"' NULL_IF = () EMPTY_FIELD_AS_NULL = TRUE ESCAPE_UNENCLOSED_FIELD = NONE) PURGE = TRUE
                """, doing: context)
        } catch {
            _ = try? session.run("REMOVE \(file.stage)/\(file.name)", doing: "removing the staged batch file")
            throw error
        }
    }

    // MARK: Checkpoints

    private var checkpointTable: String { qualified(SnowflakeName.resolved(checkpointTableName)) }

    /// The checkpoint table is a log: each batch INSERTs its row, the latest row is the
    /// checkpoint. Only INSERTs run inside batch transactions, so a loader killed mid-commit,
    /// whose transaction Snowflake keeps open until it times out, holds no lock the next run's
    /// statements wait for (UPDATE and DELETE would). Each run trims the log to its latest row,
    /// outside any transaction.
    package func prepareCheckpoints() throws(ConduitError) {
        try session.run(
            """
            CREATE TABLE IF NOT EXISTS \(checkpointTable) (RESOURCE VARCHAR NOT NULL, TABLE_NAME VARCHAR NOT NULL, \
            RUN VARCHAR NOT NULL, VALUE VARCHAR NOT NULL, ROWS NUMBER(38,0) NOT NULL, UPDATED_AT TIMESTAMP_TZ NOT NULL)
            """, doing: "creating the checkpoint table in \(session.settings.label)")
    }

    private func checkpointKey(_ resource: String) -> String {
        "RESOURCE = \(SnowflakeName.literal(resource)) AND TABLE_NAME = \(SnowflakeName.literal(storedTable))"
    }

    package func readCheckpoint(resource: String) throws(ConduitError) -> (run: String, value: String, rows: Int64)? {
        let context = "reading the checkpoint of \(resource) from \(label)"
        let result = try session.run(
            "SELECT RUN, VALUE, ROWS FROM \(checkpointTable) WHERE \(checkpointKey(resource)) ORDER BY UPDATED_AT DESC, ROWS DESC LIMIT 1",
            doing: context)
        guard let row = result.rows.first, row.count >= 3, let run = row[0], let value = row[1] else { return nil }
        // Housekeeping: a log left longer by a failed trim is still read right (latest row wins).
        _ = try? session.run(
            """
            DELETE FROM \(checkpointTable) WHERE \(checkpointKey(resource)) AND UPDATED_AT < \
            (SELECT MAX(UPDATED_AT) FROM \(checkpointTable) WHERE \(checkpointKey(resource)))
            """, doing: context)
        return (run, value, row[2].flatMap { Int64($0) } ?? 0)
    }

    /// The batch's checkpoint row, INSERTed in its transaction.
    private func checkpointStatements(_ checkpoint: (resource: String, run: String, value: String, rows: Int64)) -> [String] {
        [
            """
            INSERT INTO \(checkpointTable) (RESOURCE, TABLE_NAME, RUN, VALUE, ROWS, UPDATED_AT) SELECT \
            \(SnowflakeName.literal(checkpoint.resource)), \(SnowflakeName.literal(storedTable)), \(SnowflakeName.literal(checkpoint.run)), \
            \(SnowflakeName.literal(checkpoint.value)), \(checkpoint.rows), CURRENT_TIMESTAMP()
            """
        ]
    }

    // MARK: Write modes

    package func enableMerge(primaryKey: [String]) throws(ConduitError) {
        try enableMerge(primaryKey: primaryKey, updateExisting: true)
    }

    /// With `updateExisting` false (`append` with `lookback`), a batch only inserts the rows whose
    /// key the table lacks, and the first row of a key in a batch wins.
    package func enableMerge(primaryKey: [String], updateExisting: Bool) throws(ConduitError) {
        mergeKey = primaryKey.map(SnowflakeName.resolved)
        mergeUpdatesExisting = updateExisting
    }

    package func resetStaging(like template: String) throws(ConduitError) {
        try session.run(
            "DROP TABLE IF EXISTS \(qualifiedTable)", doing: "dropping the staging table \(label) left by an unfinished run")
        if try columns(of: SnowflakeName.resolved(template)) != nil {
            try session.run(
                "CREATE TABLE \(qualifiedTable) LIKE \(qualified(SnowflakeName.resolved(template)))",
                doing: "creating the staging table \(label)")
        }
    }

    /// Creates the table or adds the columns it lacks (DDL, each committing by itself), then
    /// replaces its rows in one statement, `INSERT OVERWRITE`: readers see the old rows or the
    /// new ones, never an empty table.
    package func publishStaging(into table: String, primaryKey: [String]) throws(ConduitError) {
        let stored = SnowflakeName.resolved(table)
        let target = qualified(stored)
        let context = "replacing the rows of \(SnowflakeName.exact(stored)) in \(session.settings.label)"
        let staged = try columns(of: storedTable)
        let existing = try columns(of: stored)
        if let staged {
            if let existing {
                for column in staged where !existing.contains(where: { $0.name == column.name }) {
                    try session.run(
                        "ALTER TABLE \(target) ADD COLUMN \(SnowflakeName.exact(column.name)) \(column.type)", doing: context)
                }
            } else {
                try createTable(target, staged.map { ($0.name, $0.type) }, primaryKey: primaryKey, doing: context)
            }
            let names = staged.map { SnowflakeName.exact($0.name) }.joined(separator: ", ")
            try session.run("INSERT OVERWRITE INTO \(target) (\(names)) SELECT \(names) FROM \(qualifiedTable)", doing: context)
            try session.run("DROP TABLE \(qualifiedTable)", doing: context)
        } else if existing != nil {
            // No row arrived: the table holds exactly no rows.
            try session.run("DELETE FROM \(target)", doing: context)
        }
    }
}

@available(*, unavailable)
extension SnowflakeDestination: Sendable {}
