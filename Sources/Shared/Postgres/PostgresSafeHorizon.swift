import Config
import Core
import Extract
import Stream

/// The safe horizon of a PostgreSQL extract (docs/INCREMENTAL.md, "Rows that commit late"): the
/// lowest incremental value that a transaction in flight when the extract's snapshot was taken
/// could still commit a row at. The extract writes only rows below it; the rest come in a later
/// run. Two rules, and the lower bound wins:
///
/// - **Time rule** (timestamp and date columns). A transaction's `now()` is its start, and
///   `clock_timestamp()`/`statement_timestamp()` are later, so every timestamp it draws is at or
///   after `pg_stat_activity.xact_start`. Read *before* the snapshot (a transaction absent from
///   that read starts after it), the bound is the earliest `xact_start` of this database's open
///   transactions, or the read's own time minus ``startMargin`` when that is earlier.
/// - **Xid rule** (columns read straight from a table). A row whose inserting transaction got its
///   xid after the oldest transaction still in flight that writes the table (`xmin` not older
///   than it) may have drawn its value after that one drew a smaller value; the bound is the
///   smallest such row's value, read in the extract's snapshot.
struct PostgresSafeHorizon {
    /// The incremental column's position in the result, its type and, when it is a plain table
    /// column, the table and the column as SQL names.
    let columnIndex: Int
    let type: PostgresDataType
    let tableOID: UInt32
    let tableColumn: Int
    let style: PostgresTextEncoder.Style

    /// A backend publishes its transaction's start a moment after taking it (the start is the
    /// time its statement arrived); this margin keeps such a transaction, unseen by the read, on
    /// the safe side of the bound.
    static let startMargin = "1 second"

    /// Which kinds of column the time rule reads.
    var isTimeLike: Bool { type == .timestamptz || type == .timestamp || type == .date }
    /// Which kinds of column the horizon can bound at all (compared by ``StateValue``'s order).
    var isSupported: Bool { isTimeLike || [.int2, .int4, .int8, .numeric].contains(type) }

    /// What the read before the snapshot learned.
    struct Sessions {
        /// The time rule's bound, as the column's type spells it; nil for a column it does not read.
        var timeBound: String?
        /// The oldest open transaction of this database when it set the bound: pid, role, state, age.
        var oldest: (pid: Int, role: String, state: String, age: Double)?
        /// Whether the role may see every session (`pg_read_all_stats`, `pg_monitor`, superuser).
        var seesAll: Bool
        /// Sessions of this database the role may not see.
        var hiddenSessions: Int
        var role: String
        /// The table and column as SQL names, when the column is a table's.
        var table: String?
        var column: String?
        /// A standby: its sessions are not the primary's, whose transactions write the rows.
        var isStandby = false
    }

    /// The statement run just before `BEGIN`, in the same round trip: this database's open
    /// transactions (not autovacuum's, not replication senders', not this session's, not other
    /// extracts' — `conduit-extract` reads in `READ ONLY` transactions, which cannot write), and
    /// the names of the column's table.
    var sessionsQuery: String {
        let zone = "(SELECT reset_val FROM pg_settings WHERE name = 'TimeZone')"
        let bound = "least(statement_timestamp() - interval '\(Self.startMargin)', o.xact_start)"
        let timeBound: String
        switch type {
        case .timestamptz: timeBound = "\(bound)::text"
        case .timestamp: timeBound = "(\(bound) AT TIME ZONE \(zone))::text"
        case .date: timeBound = "(\(bound) AT TIME ZONE \(zone))::date::text"
        default: timeBound = "NULL::text"
        }
        // The OID and column number are integers from libpq, not text from anywhere else.
        // pg_stat_get_activity() is the function behind the pg_stat_activity view, without the
        // view's joins (a third of the cost), and gives this session's database too; a NULL
        // backend_type is a session the role may not see. Each catalog query costs about a
        // millisecond on a new connection, so there is one.
        return """
            WITH me AS (SELECT datid FROM pg_stat_get_activity(pg_backend_pid())),
            open AS (
              SELECT s.pid, s.usesysid, s.state, s.xact_start, s.backend_type, s.application_name
              FROM pg_stat_get_activity(NULL) AS s, me WHERE s.datid = me.datid AND s.pid <> pg_backend_pid()),
            col AS (
              SELECT c.oid::regclass::text AS tab, quote_ident(a.attname) AS att FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
              WHERE c.oid = \(tableOID) AND c.relkind IN ('r', 'p', 'm') AND a.attnum = \(tableColumn) AND NOT a.attisdropped)
            SELECT \(timeBound), o.pid, pg_get_userbyid(o.usesysid)::text, coalesce(o.state, ''),
              extract(epoch FROM statement_timestamp() - o.xact_start)::float8::text,
              o.xact_start < statement_timestamp() - interval '\(Self.startMargin)',
              pg_has_role(current_user, 'pg_read_all_stats', 'USAGE'),
              (SELECT count(*) FROM open h WHERE h.backend_type IS NULL AND h.usesysid IS NOT NULL),
              current_user::text, (SELECT tab FROM col), (SELECT att FROM col), pg_is_in_recovery()
            FROM (SELECT 1) AS one LEFT JOIN LATERAL (
              SELECT * FROM open a
              WHERE a.xact_start IS NOT NULL AND a.backend_type IS DISTINCT FROM 'autovacuum worker'
                AND a.backend_type IS DISTINCT FROM 'walsender' AND a.application_name IS DISTINCT FROM 'conduit-extract'
              ORDER BY a.xact_start LIMIT 1) AS o ON true
            """
    }

    func sessions(from result: PostgresResult) -> Sessions {
        var sessions = Sessions(
            timeBound: isTimeLike ? result.string(row: 0, column: 0) : nil, oldest: nil,
            seesAll: result.string(row: 0, column: 6) == "t", hiddenSessions: Int(result.string(row: 0, column: 7) ?? "") ?? 0,
            role: result.string(row: 0, column: 8) ?? "", table: result.string(row: 0, column: 9),
            column: result.string(row: 0, column: 10))
        sessions.isStandby = result.string(row: 0, column: 11) == "t"
        if let pid = result.string(row: 0, column: 1).flatMap({ Int($0) }), result.string(row: 0, column: 5) == "t" {
            sessions.oldest = (
                pid, result.string(row: 0, column: 2) ?? "?", result.string(row: 0, column: 3) ?? "",
                Double(result.string(row: 0, column: 4) ?? "") ?? 0
            )
        }
        return sessions
    }

    /// The statement run in the extract's snapshot (after `DECLARE`): the oldest xid in flight
    /// that may have drawn a value of the column, the smallest value of the column among rows
    /// above `$1` whose transaction is not older than it, and who holds that xid.
    ///
    /// Xids are the whole cluster's, and most in flight never touch this table. A transaction
    /// draws a serial or identity value inside an `INSERT`, which holds `RowExclusiveLock` on
    /// the table (or one of its partitions) until the transaction ends, so an xid counts when
    /// its holder holds such a lock (`pg_lock_status()`, behind `pg_locks`, readable by every
    /// role), or when its holder is gone or unknown (it may have ended since the snapshot; assume
    /// the worse). `age()` measures both xids from one point fixed for the transaction, so the
    /// comparison is exact across the 32-bit wrap.
    func snapshotQuery(table: String, column: String) -> String {
        """
        WITH locks AS (SELECT * FROM pg_lock_status() WHERE granted),
        xip AS (
          SELECT x, (x::text::numeric % 4294967296)::text::xid AS xid FROM pg_snapshot_xip(pg_current_snapshot()) AS x),
        holders AS (
          SELECT transactionid AS xid, pid FROM locks WHERE locktype = 'transactionid' AND mode = 'ExclusiveLock'),
        writers AS (
          SELECT xip.x, xip.xid, h.pid FROM xip LEFT JOIN holders h ON h.xid = xip.xid
          WHERE h.pid IS NULL OR EXISTS (
            SELECT 1 FROM locks r WHERE r.pid = h.pid AND r.locktype = 'relation'
              AND (r.relation = \(tableOID) OR r.relation IN (SELECT relid FROM pg_partition_tree(\(tableOID)::oid::regclass)))
              AND r.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'))),
        oldest AS (SELECT x, xid, pid FROM writers ORDER BY x LIMIT 1)
        SELECT CASE WHEN o.x IS NULL THEN NULL ELSE
            (SELECT min(t.\(column))::text FROM \(table) AS t WHERE t.\(column) > $1 AND age(t.xmin) <= age(o.xid)) END,
          o.pid, pg_get_userbyid(a.usesysid)::text, coalesce(a.state, ''),
          extract(epoch FROM statement_timestamp() - a.xact_start)::float8::text, o.x::text
        FROM (SELECT 1) AS one LEFT JOIN oldest AS o ON true LEFT JOIN LATERAL (SELECT * FROM pg_stat_get_activity(o.pid) AS s WHERE s.pid = o.pid) AS a ON true
        """
    }

    /// A bound and what set it.
    struct Bound {
        var value: StateValue
        var blocker: String
        var pid: Int?
        var age: Double?
    }

    /// The time rule's bound.
    func timeBound(_ sessions: Sessions) -> Bound? {
        guard let text = sessions.timeBound, let value = stateValue(text) else { return nil }
        if let oldest = sessions.oldest {
            return Bound(
                value: value, blocker: Self.describe(pid: oldest.pid, role: oldest.role, state: oldest.state, age: oldest.age),
                pid: oldest.pid, age: oldest.age)
        }
        return Bound(value: value, blocker: "this run's start (rows stamped at or after it wait for the next run)", pid: nil, age: nil)
    }

    /// The xid rule's bound, from ``snapshotQuery(table:column:)``'s row.
    func xidBound(_ result: PostgresResult) -> Bound? {
        guard let text = result.string(row: 0, column: 0), let value = stateValue(text) else { return nil }
        let xid = result.string(row: 0, column: 5) ?? "?"
        guard let pid = result.string(row: 0, column: 1).flatMap({ Int($0) }) else {
            return Bound(value: value, blocker: "transaction \(xid), still in flight", pid: nil, age: nil)
        }
        let age = result.string(row: 0, column: 4).flatMap { Double($0) }
        let role = result.string(row: 0, column: 2)
        return Bound(
            value: value,
            blocker: Self.describe(pid: pid, role: role, state: result.string(row: 0, column: 3), age: age, xid: xid),
            pid: pid, age: age)
    }

    /// `the transaction of pid 4242 (role app, idle in transaction), open 12.5 s`.
    static func describe(pid: Int, role: String?, state: String?, age: Double?, xid: String? = nil) -> String {
        var details: [String] = []
        if let xid { details.append("xid \(xid)") }
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

    /// The warnings this run owes: a guarantee it could not give, and the grant that gives it.
    func warnings(_ sessions: Sessions, column name: String) -> [String] {
        var warnings: [String] = []
        if sessions.isStandby {
            // In recovery, pg_stat_activity lists the standby's sessions and a snapshot keeps the
            // primary's xids where pg_snapshot_xip does not show them: both rules are blind.
            warnings.append(
                "the source is a standby, which shows neither the primary's open transactions nor their xids, so a row that a transaction on the primary commits late can be missed; extract from the primary, or use lookback")
        } else if isTimeLike && !sessions.seesAll {
            warnings.append(
                "the role \(sessions.role) cannot see other roles' sessions in pg_stat_activity, so a transaction of another role that began before a row's \(name) and commits after this run can be missed"
                    + (sessions.hiddenSessions > 0 ? " (\(sessions.hiddenSessions) such session\(sessions.hiddenSessions == 1 ? " is" : "s are") open now)" : "")
                    + "; GRANT pg_read_all_stats TO \(sessions.role) (or pg_monitor) gives the safe horizon that guarantee")
        }
        if !isTimeLike && (sessions.table == nil || sessions.column == nil) {
            warnings.append(
                "the safe horizon holds back nothing: \(name) is not a column read straight from a table (an expression, or a view), so the extract cannot see which rows transactions in flight could precede; lookback covers it, safe_horizon: false silences this")
        }
        return warnings
    }
}
