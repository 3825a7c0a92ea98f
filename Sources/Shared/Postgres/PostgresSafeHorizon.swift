import Core
import Extract
import Stream

/// The safe horizon of a PostgreSQL extract (docs/INCREMENTAL.md, "Rows that commit late"): the
/// value below which every row that will ever exist is visible to the extract's snapshot. The
/// extract writes only rows within it; the rest come in a later run. Read before the snapshot, in
/// one statement in the same round trip as `BEGIN`:
///
/// - **Sequence rule** (an integer column whose values a sequence draws: serial, identity,
///   `DEFAULT nextval(…)`, in the table and every table that inherits from it). `nextval` takes
///   `RowExclusiveLock` on the sequence before it draws and the transaction keeps it to its end
///   (through `PREPARE` too). So the statement reads the sequence's position S first, then which
///   transactions hold that lock: every id ≤ S was drawn by one of them or by a transaction that
///   has ended. Once all of them have ended — now, or by a later run — rows ≤ S are final, however
///   many ids each drew, whatever statement wrote them (`INSERT … SELECT`, `COPY`, a trigger).
/// - **Time rule** (timestamp and date columns, `DEFAULT now()`). A transaction's stamps are at or
///   after its start. The bound is the earliest start of this database's transactions in flight
///   (`xact_start`, or `query_start` of a session just starting one), never later than the read's
///   own time less ``startMargin``. A transaction whose start the role cannot read — an untracked
///   session, another role's without `pg_read_all_stats`, a prepared transaction that writes a
///   table the query reads — keeps that bound from counting until it has ended.
///
/// Both keep what they read in ``PostgresHorizonMemory``, so a later run passes a position
/// without waiting. Writers of the other tables the query reads (`EXPLAIN`) count as holders too.
struct PostgresSafeHorizon {
    /// The incremental column's position in the result, its type and, when it is a plain table
    /// column, the table and the column number.
    let columnIndex: Int
    let type: PostgresDataType
    let tableOID: UInt32
    let tableColumn: Int
    let style: PostgresTextEncoder.Style
    /// The column's type modifier (`PQfmod`): for `timestamp(p)`, p; -1 without one.
    var typeModifier: Int32 = -1

    /// A backend takes its statement's start time a moment before it publishes it; a transaction
    /// not yet seen by the read started at most this long before it (docs: the stall assumption).
    static let startMargin = "1 second"
    /// The lock modes of a writer.
    static let writeModes = "('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')"

    /// Which kinds of column the time rule reads.
    var isTimeLike: Bool { type == .timestamptz || type == .timestamp || type == .date }
    /// Which kinds of column the sequence rule reads.
    var isIntegerLike: Bool { [.int2, .int4, .int8, .numeric].contains(type) }
    /// Which kinds of column the horizon can bound at all (compared by ``StateValue``'s order).
    var isSupported: Bool { isTimeLike || (isIntegerLike && tableOID != 0) }
    var rule: String { isTimeLike ? "time" : "sequence" }
    /// The memory's identity: the rule and the column (another column of the same table, or the
    /// same name drawn from another sequence, starts afresh).
    var memoryKey: String { "\(rule):\(tableColumn)" }

    /// How far below a transaction's start a column of reduced precision may round its stamp:
    /// `timestamptz(0)` rounds to the nearest second, so a stamp can lie up to half a second
    /// before the start it was drawn at.
    var roundingMargin: String {
        guard type == .timestamptz || type == .timestamp, typeModifier >= 0, typeModifier < 6 else { return "0" }
        return "1 second"
    }

    // MARK: - The tables the query reads

    /// `EXPLAIN (VERBOSE, FORMAT JSON)` of the query: its plan names every table it reads.
    static func explain(_ sql: String) -> String { "EXPLAIN (VERBOSE, FORMAT JSON) " + sql }

    /// The tables a plan names (every `Schema`.`Relation Name` of an `EXPLAIN (VERBOSE, FORMAT JSON)`), and the scans whose writers no plan shows: a foreign table's
    /// (they write on another server) and a function's (the tables it reads are not in the plan).
    static func tables(inPlan plan: JSONValue) -> (names: [String], unseen: [String]) {
        var names: [String] = []
        var unseen: [String] = []
        func walk(_ value: JSONValue) {
            switch value {
            case .array(let items): items.forEach(walk)
            case .object(let members):
                var schema: String?
                var relation: String?
                for member in members {
                    if member.key == "Schema", case .string(let text) = member.value { schema = text }
                    if member.key == "Relation Name", case .string(let text) = member.value { relation = text }
                    if member.key == "Node Type", case .string(let node) = member.value {
                        if node == "Foreign Scan", !unseen.contains("a foreign table") { unseen.append("a foreign table") }
                        if node == "Function Scan", !unseen.contains("a function") { unseen.append("a function") }
                    }
                    walk(member.value)
                }
                if let relation {
                    let name = quoteIdentifier(schema ?? "public") + "." + quoteIdentifier(relation)
                    if !names.contains(name) { names.append(name) }
                }
            default: break
            }
        }
        walk(plan)
        return (names, unseen)
    }

    static func quoteIdentifier(_ text: String) -> String {
        "\"" + text.replacingAll("\"", with: "\"\"") + "\""
    }

    /// `text` as a dollar-quoted literal whose tag it does not contain: safe in a statement
    /// whatever `standard_conforming_strings` says.
    static func dollarQuoted(_ text: String) -> String {
        var tag = "$c$"
        var counter = 0
        while text.contains(tag) || text.hasSuffix("$c") {
            counter += 1
            tag = "$c\(counter)$"
        }
        return tag + text + tag
    }

    /// `ARRAY[…]::text[]` of the relation names, or an empty array.
    static func nameArray(_ names: [String]) -> String {
        names.isEmpty ? "ARRAY[]::text[]" : "ARRAY[" + names.map(dollarQuoted).joined(separator: ", ") + "]::text[]"
    }

    /// `ARRAY['3/4711', …]::text[]` of virtual transaction ids (checked to be only that).
    static func vxidArray(_ ids: [String]) -> String {
        let safe = ids.filter(PostgresHorizonMemory.isVirtualTransactionID)
        return safe.isEmpty ? "ARRAY[]::text[]" : "ARRAY[" + safe.map { "'\($0)'" }.joined(separator: ", ") + "]::text[]"
    }

    // MARK: - The pre-read

    /// Parts every pre-read shares: the cursor table and everything that inherits from it (at any
    /// depth: partitions and `INHERITS`), the other tables the query reads with theirs, and the
    /// lock table without this session.
    func commonParts(relations: [String]) -> String {
        """
        tree(relid) AS (
          SELECT \(tableOID)::oid WHERE \(tableOID) <> 0
          UNION SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.relid),
        named AS (SELECT to_regclass(n)::oid AS relid FROM unnest(\(Self.nameArray(relations))) AS n),
        everything(relid) AS (
          SELECT relid FROM named WHERE relid IS NOT NULL
          UNION SELECT i.inhrelid FROM pg_inherits i JOIN everything e ON i.inhparent = e.relid),
        others AS (SELECT relid FROM everything WHERE relid NOT IN (SELECT relid FROM tree)),
        me AS (SELECT datid FROM pg_stat_get_activity(pg_backend_pid()))
        """
    }

    /// The other tables the query reads, for messages: each partition as its partitioned table.
    static let otherTableNames = """
        SELECT coalesce(json_agg(DISTINCT coalesce(pg_partition_root(relid), relid)::regclass::text), '[]') FROM named
        WHERE relid IS NOT NULL AND relid NOT IN (SELECT relid FROM tree) AND coalesce(pg_partition_root(relid), relid) NOT IN (SELECT relid FROM tree)
        """

    /// Everything the summary says of a holder: its pid, role, state and age, or for a prepared
    /// transaction its gid, owner and age since `PREPARE`.
    static let holderDetails = """
        json_build_object('vxid', x.vxid, 'pid', x.pid, 'role', pg_get_userbyid(a.usesysid), 'state', a.state,
          'age', extract(epoch FROM statement_timestamp() - a.xact_start)::float8,
          'gid', p.gid, 'owner', pg_get_userbyid(p.ownerid), 'prepared_age', extract(epoch FROM statement_timestamp() - p.prepared)::float8)
        """

    /// The sequence rule's statement. One row: the sequences (JSON: name, cache, increment,
    /// cycle, readable, position), the holders (JSON), which of `pending` still run (JSON),
    /// the postmaster's start, the database, the other tables' names (JSON), recovery, the role.
    ///
    /// S is read in a subquery that must finish before the lateral side reads the lock table
    /// (`OFFSET 0` keeps it apart; the lateral reference makes it the outer side of the loop):
    /// read the other way round, a transaction could take the lock and draw an id between the
    /// two reads and be missed.
    func sequenceQuery(relations: [String], pending: [String]) -> String {
        """
        WITH RECURSIVE \(commonParts(relations: relations)),
        target AS (SELECT attname FROM pg_attribute WHERE attrelid = \(tableOID)::oid AND attnum = \(tableColumn) AND NOT attisdropped),
        src AS (
          SELECT DISTINCT coalesce(
              CASE WHEN tree.relid = \(tableOID)::oid
                THEN pg_get_serial_sequence(tree.relid::regclass::text, (SELECT attname::text FROM target))::regclass END,
              substring(pg_get_expr(ad.adbin, ad.adrelid) FROM '^nextval\\(''(.+)''::regclass\\)$')::regclass)::oid AS seq
          FROM tree JOIN pg_attribute a ON a.attrelid = tree.relid AND a.attname = (SELECT attname FROM target) AND NOT a.attisdropped
          LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum)
        SELECT s.info::text, h.holders::text, h.running::text, pg_postmaster_start_time()::text, (SELECT datid FROM me)::text,
          (\(Self.otherTableNames))::text, pg_is_in_recovery(), current_user::text
        FROM (
          SELECT coalesce(json_agg(json_build_object(
                   'name', q.seq::regclass::text, 'cache', p.seqcache, 'increment', p.seqincrement, 'cycle', p.seqcycle,
                   'readable', has_sequence_privilege(q.seq, 'SELECT, USAGE'),
                   'position', CASE WHEN has_sequence_privilege(q.seq, 'SELECT, USAGE') THEN pg_sequence_last_value(q.seq)::text END)), '[]') AS info,
                 coalesce(array_agg(q.seq), ARRAY[]::oid[]) AS oids
          FROM src q JOIN pg_sequence p ON p.seqrelid = q.seq WHERE q.seq IS NOT NULL
          OFFSET 0) AS s
        CROSS JOIN LATERAL (
          WITH locks AS MATERIALIZED (SELECT * FROM pg_lock_status() WHERE pid IS DISTINCT FROM pg_backend_pid())
          SELECT
            (SELECT coalesce(json_agg(\(Self.holderDetails)), '[]')
             FROM (SELECT DISTINCT l.virtualtransaction AS vxid, l.pid FROM locks l
                   WHERE l.locktype = 'relation' AND l.database = (SELECT datid FROM me) AND l.mode IN \(Self.writeModes)
                     AND (l.relation = ANY(s.oids) OR l.relation IN (SELECT relid FROM others))) AS x
             LEFT JOIN LATERAL (SELECT * FROM pg_stat_get_activity(x.pid) WHERE x.pid IS NOT NULL) AS a ON true
             LEFT JOIN LATERAL (SELECT pp.gid, pp.ownerid, pp.prepared FROM locks t JOIN pg_prepared_xact() pp ON pp.transaction = t.transactionid
                                WHERE x.pid IS NULL AND t.virtualtransaction = x.vxid AND t.locktype = 'transactionid' LIMIT 1) AS p ON true) AS holders,
            (SELECT coalesce(json_agg(v), '[]') FROM unnest(\(Self.vxidArray(pending))) AS v
             WHERE EXISTS (SELECT 1 FROM locks WHERE virtualtransaction = v)) AS running
        ) AS h
        """
    }

    /// The time rule's statement. One row: the bound (as the column's type spells it), then as
    /// ``sequenceQuery(relations:pending:)``: the holders — here the transactions whose start is
    /// unknown (JSON: untracked or hidden sessions in a transaction, prepared transactions writing
    /// a table the query reads) — which of `pending` still run (JSON), the postmaster's start, the
    /// database, the other tables' names (JSON), recovery, the role; last the oldest transaction
    /// in flight (JSON).
    func timeQuery(relations: [String], pending: [String]) -> String {
        let zone = "(SELECT reset_val FROM pg_settings WHERE name = 'TimeZone')"
        let bound =
            "(least(statement_timestamp() - interval '\(Self.startMargin)', (SELECT started FROM oldest)) - interval '\(roundingMargin)')"
        let spelled: String
        switch type {
        case .timestamptz: spelled = "\(bound)::text"
        case .timestamp: spelled = "(\(bound) AT TIME ZONE \(zone))::text"
        default: spelled = "(\(bound) AT TIME ZONE \(zone))::date::text"
        }
        // No session is trusted by its name: only this one, autovacuum and WAL senders (whose
        // backend_type a client cannot set) are left out.
        return """
            WITH RECURSIVE \(commonParts(relations: relations)),
            s AS (
              SELECT a.* FROM pg_stat_get_activity(NULL) AS a, me
              WHERE a.datid = me.datid AND a.pid <> pg_backend_pid()
                AND a.backend_type IS DISTINCT FROM 'autovacuum worker' AND a.backend_type IS DISTINCT FROM 'walsender'),
            starts AS (
              -- An active session counts from its statement's start too: a procedure that commits
              -- stamps statement_timestamp(), its CALL's start, in transactions that begin later.
              SELECT pid, usesysid, state,
                CASE WHEN state = 'active' THEN least(xact_start, query_start) ELSE xact_start END AS started FROM s),
            oldest AS (SELECT * FROM starts WHERE started IS NOT NULL ORDER BY started LIMIT 1),
            locks AS MATERIALIZED (SELECT * FROM pg_lock_status() WHERE pid IS DISTINCT FROM pg_backend_pid()),
            blind AS (
              SELECT s.pid, l.virtualtransaction AS vxid, CASE WHEN s.state = 'disabled' THEN 'untracked' ELSE 'hidden' END AS why
              FROM s JOIN locks l ON l.pid = s.pid AND l.locktype = 'virtualxid'
              WHERE s.state = 'disabled' OR (s.backend_type IS NULL AND s.usesysid IS NOT NULL)),
            prep AS (
              SELECT p.gid, pg_get_userbyid(p.ownerid) AS owner, extract(epoch FROM statement_timestamp() - p.prepared)::float8 AS age,
                x.virtualtransaction AS vxid
              FROM pg_prepared_xact() AS p JOIN locks x ON x.locktype = 'transactionid' AND x.pid IS NULL AND x.transactionid = p.transaction
              WHERE p.dbid = (SELECT datid FROM me) AND EXISTS (
                SELECT 1 FROM locks w WHERE w.virtualtransaction = x.virtualtransaction AND w.pid IS NULL AND w.locktype = 'relation'
                  AND (w.relation IN (SELECT relid FROM tree) OR w.relation IN (SELECT relid FROM everything)) AND w.mode IN \(Self.writeModes)))
            SELECT \(spelled),
              (SELECT coalesce(json_agg(u), '[]') FROM (
                 SELECT json_build_object('vxid', vxid, 'pid', pid, 'why', why) AS u FROM blind
                 UNION ALL SELECT json_build_object('vxid', vxid, 'gid', gid, 'owner', owner, 'prepared_age', age) FROM prep) AS unknown)::text,
              (SELECT coalesce(json_agg(v), '[]') FROM unnest(\(Self.vxidArray(pending))) AS v
               WHERE EXISTS (SELECT 1 FROM locks WHERE virtualtransaction = v))::text,
              pg_postmaster_start_time()::text, (SELECT datid FROM me)::text,
              (\(Self.otherTableNames))::text, pg_is_in_recovery(), current_user::text,
              (SELECT json_build_object('pid', pid, 'role', pg_get_userbyid(usesysid), 'state', state,
                 'age', extract(epoch FROM statement_timestamp() - started)::float8,
                 'counts', started < statement_timestamp() - interval '\(Self.startMargin)') FROM oldest)::text
            """
    }

    // MARK: - What the pre-read saw

    /// A transaction that holds rows back, as messages name it.
    struct Holder: Equatable {
        var vxid: String
        var pid: Int?
        var role: String?
        var state: String?
        var age: Double?
        var gid: String?
        var owner: String?
        var preparedAge: Double?
        /// Why its start is unknown (time rule): `untracked`, `hidden`.
        var why: String?

        var isPrepared: Bool { gid != nil || (pid == nil && why == nil) }

        init(_ object: [String: JSONValue]) {
            func text(_ key: String) -> String? { if case .string(let value)? = object[key] { return value } else { return nil } }
            func number(_ key: String) -> Double? {
                if case .number(let value)? = object[key] { return Double(value) } else { return nil }
            }
            vxid = text("vxid") ?? "?"
            pid = number("pid").map { Int($0) }
            role = text("role")
            state = text("state")
            age = number("age")
            gid = text("gid")
            owner = text("owner")
            preparedAge = number("prepared_age")
            why = text("why")
        }

        /// `the transaction of pid 4242 (role app, idle in transaction), open 12.5 s`, or the
        /// prepared transaction's gid.
        var description: String {
            if let gid {
                var text = "the prepared transaction \(JSONEscaping.quoted(gid))"
                if let owner { text += " (owner \(owner))" }
                if let preparedAge { text += ", prepared \(PostgresSafeHorizon.seconds(preparedAge)) ago" }
                return text
            }
            guard let pid else { return "the prepared transaction \(vxid)" }
            var state = self.state
            if why == "untracked" { state = "untracked: track_activities is off, its start unknown" }
            if why == "hidden" { state = "another role's, its start hidden without pg_read_all_stats" }
            return PostgresSafeHorizon.describe(pid: pid, role: role, state: state, age: age)
        }
    }

    /// The objects of a JSON array given as text.
    static func objects(_ text: String?) -> [[String: JSONValue]] {
        guard let text, case .array(let items)? = try? JSONParser.parse(text) else { return [] }
        return items.compactMap { item in
            guard case .object(let members) = item else { return nil }
            var fields: [String: JSONValue] = [:]
            for member in members { fields[member.key] = member.value }
            return fields
        }
    }

    static func strings(_ text: String?) -> [String] {
        guard let text, case .array(let items)? = try? JSONParser.parse(text) else { return [] }
        return items.compactMap { if case .string(let value) = $0 { return value } else { return nil } }
    }

    /// What one run's pre-read saw, and what it makes of it.
    struct Reading {
        /// The position this run read (S, or the time bound), nil when there is none to read.
        var position: String?
        /// Transactions that could still write at or below it.
        var holders: [Holder] = []
        /// Which of the memory's pending transactions still run.
        var running: Set<String> = []
        var postmasterStart = ""
        var database = ""
        /// The other tables the query reads.
        var otherTables: [String] = []
        var isStandby = false
        var role = ""
        /// Time rule: the oldest transaction in flight, when it set the bound.
        var oldest: Holder?
        /// Why the rule cannot bound this column at all (said every run); nil when it can.
        var unavailable: String?
        /// What the query reads whose writers the plan does not show (a foreign table, a function).
        var unseen: [String] = []
    }

    /// The fields both statements return in columns 1 to 7: holders, which pending transactions
    /// still run, the postmaster's start, the database, the other tables, recovery, the role.
    static func commonReading(_ result: PostgresResult) -> Reading {
        var reading = Reading()
        reading.holders = objects(result.string(row: 0, column: 1)).map(Holder.init)
        reading.running = Set(strings(result.string(row: 0, column: 2)))
        reading.postmasterStart = result.string(row: 0, column: 3) ?? ""
        reading.database = result.string(row: 0, column: 4) ?? ""
        reading.otherTables = strings(result.string(row: 0, column: 5))
        reading.isStandby = result.string(row: 0, column: 6) == "t"
        reading.role = result.string(row: 0, column: 7) ?? ""
        return reading
    }

    /// The sequence rule's reading from ``sequenceQuery(relations:pending:)``'s row.
    func sequenceReading(_ result: PostgresResult, column name: String) -> Reading {
        var reading = Self.commonReading(result)
        let sequences = Self.objects(result.string(row: 0, column: 0))
        guard !sequences.isEmpty else {
            reading.unavailable =
                "\(name) draws from no sequence (serial, identity or DEFAULT nextval), so the extract cannot tell which ids transactions in flight hold"
            return reading
        }
        var positions: [String] = []
        var problems: [String] = []
        for sequence in sequences {
            var sequenceName = "?"
            if case .string(let text)? = sequence["name"] { sequenceName = text }
            if case .bool(false)? = sequence["readable"] {
                problems.append(
                    "the role \(reading.role) may not read the sequence \(sequenceName) (GRANT SELECT ON SEQUENCE \(sequenceName) TO \(reading.role))"
                )
                continue
            }
            if case .number(let cache)? = sequence["cache"], cache != "1" {
                problems.append(
                    "the sequence \(sequenceName) has CACHE \(cache), so a session hands out ids it drew earlier (ALTER SEQUENCE \(sequenceName) CACHE 1)"
                )
            }
            if case .number(let increment)? = sequence["increment"], increment.hasPrefix("-") || increment == "0" {
                problems.append("the sequence \(sequenceName) does not ascend")
            }
            if case .bool(true)? = sequence["cycle"] { problems.append("the sequence \(sequenceName) cycles") }
            if case .string(let position)? = sequence["position"] { positions.append(position) }
        }
        if !problems.isEmpty {
            reading.unavailable = problems.joined(separator: "; ")
            return reading
        }
        // Several sequences (a child table with its own): ids at or below the lowest are final in all.
        reading.position = positions.min { (PostgresHorizonOrder.numbers($0, $1) ?? .equal) == .ascending }
        return reading
    }

    /// The time rule's reading from ``timeQuery(relations:pending:)``'s row.
    func timeReading(_ result: PostgresResult) -> Reading {
        var reading = Self.commonReading(result)
        reading.position = result.string(row: 0, column: 0)
        if let oldest = Self.objects("[" + (result.string(row: 0, column: 8) ?? "") + "]").first,
            case .bool(true)? = oldest["counts"]
        {
            reading.oldest = Holder(oldest)
        }
        return reading
    }

    // MARK: - The bound

    /// Rows the run may write: those at or below (sequence) or before (time) `value`; all held
    /// when `value` is nil.
    struct Bound {
        var value: StateValue?
        var inclusive: Bool
        var blocker: String
        var pid: Int?
        var age: Double?

        /// Whether a row with `current` waits for a later run.
        func holds(_ current: StateValue) -> Bool {
            guard let value else { return true }
            switch current.compare(to: value) {
            case .ascending?: return false
            case .equal?: return !inclusive
            default: return true
            }
        }
    }

    /// The bound from this run's reading and the memory of earlier ones, and the memory to keep.
    func bound(from reading: Reading, memory previous: JSONValue?) -> (bound: Bound?, memory: PostgresHorizonMemory?) {
        guard reading.unavailable == nil else { return (nil, nil) }
        let remembered = PostgresHorizonMemory(json: previous, rule: memoryKey, database: reading.database, relation: tableOID)
        guard let position = reading.position else {
            // The sequence has drawn nothing since it was created or set (setval(…, false)): ids
            // drawn before a setval may still be in flight, so what was cleared still bounds.
            guard let remembered, let bound = remembered.bound else { return (nil, nil) }
            return (
                Bound(
                    value: stateValue(bound), inclusive: true,
                    blocker: "the sequence's next draw (its position is unknown since it was set)", pid: nil, age: nil),
                remembered
            )
        }
        let memory = remembered ?? PostgresHorizonMemory(rule: memoryKey, database: reading.database, relation: tableOID)
        let current = PostgresHorizonMemory.Record(
            position: position, holders: reading.holders.map(\.vxid), postmasterStart: reading.postmasterStart)
        let preparedRunning = reading.holders.contains(where: \.isPrepared)
        let next = memory.advanced(with: current, running: reading.running, preparedRunning: preparedRunning) { left, right in
            self.order(left, right)
        }
        // What holds the rows above the bound: the transactions of the oldest record still waiting.
        let waiting = next.records.first?.holders ?? []
        let blocking = reading.holders.first { waiting.contains($0.vxid) } ?? reading.holders.first
        var blocker: String
        var pid: Int?
        var age: Double?
        if let blocking {
            blocker = blocking.description
            pid = blocking.pid
            age = blocking.age ?? blocking.preparedAge
            let others = Set(waiting).subtracting([blocking.vxid]).count
            if others > 0 { blocker += " and \(Plural.count(others, "other transaction"))" }
        } else if let oldest = reading.oldest {
            blocker = oldest.description
            pid = oldest.pid
            age = oldest.age
        } else if !waiting.isEmpty {
            blocker = "\(Plural.count(waiting.count, "transaction")) in flight at an earlier run"
        } else {
            blocker =
                isTimeLike ? "this run's start (rows stamped at or after it wait for the next run)" : "transactions in flight"
        }
        let value = next.bound.flatMap(stateValue)
        return (Bound(value: value, inclusive: !isTimeLike, blocker: blocker, pid: pid, age: age), next)
    }

    /// Compares two positions as the column's values.
    func order(_ left: String, _ right: String) -> Ordering? {
        guard let a = stateValue(left), let b = stateValue(right) else { return nil }
        return a.compare(to: b)
    }

    // MARK: - Words

    /// `the transaction of pid 4242 (role app, idle in transaction), open 12.5 s`.
    static func describe(pid: Int, role: String?, state: String?, age: Double?) -> String {
        var details: [String] = []
        if let role, !role.isEmpty { details.append("role \(role)") }
        if let state, !state.isEmpty { details.append(state) }
        var text = "the transaction of pid \(pid)"
        if !details.isEmpty { text += " (" + details.joined(separator: ", ") + ")" }
        if let age { text += ", open \(Self.seconds(age))" }
        return text
    }

    /// `12.5 s`, `3 min 20 s`: to a tenth of a second below a minute, whole seconds above.
    static func seconds(_ value: Double) -> String {
        guard value.isFinite, value >= 0 else { return "? s" }
        if value < 60 { return "\(Double(Int(value * 10)) / 10) s" }
        let whole = Int(value)
        if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
        return "\(whole / 3600) h \(whole / 60 % 60) min"
    }

    /// A value of the column as the stream writes it, as a state value (what orders rows).
    func stateValue(_ text: String) -> StateValue? {
        var bytes: [UInt8] = []
        Array(text.utf8).withUnsafeBufferPointer { PostgresTextEncoder.append($0, style: style, to: &bytes) }
        return Self.stateValue(json: bytes)
    }

    /// The JSON bytes of a value (a number, or a string) as a state value.
    static func stateValue(json bytes: [UInt8]) -> StateValue? {
        guard let first = bytes.first else { return nil }
        if first == UInt8(ascii: "\"") {
            guard case .string(let text)? = try? JSONParser.parse(String(decoding: bytes, as: UTF8.self)) else { return nil }
            return .string(text)
        }
        if first == UInt8(ascii: "n") { return nil }
        return .number(String(decoding: bytes, as: UTF8.self))
    }

    /// The warnings this run owes: each guarantee it could not give, every run it cannot.
    func warnings(_ reading: Reading, column name: String) -> [String] {
        var warnings: [String] = []
        if reading.isStandby {
            // In recovery, the activity view and the lock table are the standby's, not the primary's.
            warnings.append(
                "the source is a standby, which shows neither the primary's open transactions nor its locks, so a row that a transaction on the primary commits late can be missed; extract from the primary, or use lookback"
            )
        }
        if let unavailable = reading.unavailable {
            warnings.append(
                "the safe horizon holds back nothing: \(unavailable); lookback covers what it cannot see, safe_horizon: false silences this"
            )
        }
        if !reading.unseen.isEmpty {
            warnings.append(
                "the query reads \(reading.unseen.joined(separator: " and ")), whose writers the safe horizon cannot see (a foreign table's writers are on another server; a function's tables are not in the plan): rows they make visible late can be missed; lookback covers them"
            )
        }
        if !reading.otherTables.isEmpty {
            let tables = reading.otherTables.joined(separator: ", ")
            warnings.append(
                "the query reads \(tables) besides the table of \(name): rows that appear only once a row of \(reading.otherTables.count == 1 ? "it" : "those") commits wait while its writer is in flight at a run, but one written by a transaction that starts after the run can appear below the watermark; an enforced foreign key to it, or lookback, covers that"
            )
        }
        if isTimeLike {
            let unknown = reading.holders
            if !unknown.isEmpty {
                let named = unknown.prefix(3).map(\.description).joined(separator: "; ")
                let more = unknown.count > 3 ? " and \(unknown.count - 3) more" : ""
                var text =
                    "\(Plural.count(unknown.count, "transaction")) whose start cannot be read (\(named)\(more)) may still commit rows stamped before this run: rows wait until \(unknown.count == 1 ? "it ends" : "they end")"
                if unknown.contains(where: { $0.why == "hidden" }) {
                    text +=
                        "; GRANT pg_read_all_stats TO \(reading.role) (or pg_monitor) lets the horizon read other roles' starts"
                }
                warnings.append(text)
            }
        }
        return warnings
    }
}

/// Orders positions that are integers as text, for the sequence rule's several sequences.
enum PostgresHorizonOrder {
    static func numbers(_ left: String, _ right: String) -> Ordering? {
        StateValue.number(left).compare(to: .number(right))
    }
}
