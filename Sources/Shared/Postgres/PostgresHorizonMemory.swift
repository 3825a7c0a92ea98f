import Core

/// What the safe horizon of a PostgreSQL source remembers between runs (docs/INCREMENTAL.md,
/// "The safe horizon"): the positions it read before earlier snapshots and the transactions that
/// were in flight then. A position becomes a bound once every one of those transactions has
/// ended — then every row at or below it (sequence rule), or before it (time rule), that will
/// ever exist is visible to any later snapshot.
///
/// Each run adds a record of its own: the position it read and the transactions that held it up
/// (virtual transaction ids, `3/4711`; a prepared transaction keeps its session's, and becomes
/// `-1/<xid>` after a restart). A record clears when none of its transactions is running any more
/// (none holds a lock: every transaction holds a lock on its own virtual id) and, after a server
/// restart, no prepared transaction is running (prepared ones survive a restart under a new
/// name). The bound is the greatest position cleared so far.
///
/// Kept in the resource's horizon record beside the state file; losing it only delays rows (a
/// later run clears its own record), and a memory of another rule, database or table is ignored.
struct PostgresHorizonMemory: Equatable {
    /// One run's reading: a position and who could still write at or below it.
    struct Record: Equatable {
        /// The sequence's position, or the time bound, as the server spelled it.
        var position: String
        var holders: [String]
        /// `pg_postmaster_start_time()` when it was read: virtual ids start again after a restart.
        var postmasterStart: String
    }

    /// `sequence` or `time`.
    var rule: String
    /// The database's OID and the cursor table's (0 for a column that is not a table's).
    var database: String
    var relation: UInt32
    /// The greatest position cleared so far.
    var bound: String?
    /// Records not cleared yet, oldest first.
    var records: [Record] = []

    /// The most records kept: dropping the oldest only delays rows (a newer record's position is
    /// higher, and any transaction still holding the oldest is in every newer one).
    static let recordLimit = 8

    /// Every virtual transaction id a record waits for, for the next pre-read to ask about.
    var pendingHolders: [String] {
        var seen = Set<String>()
        return records.flatMap(\.holders).filter { seen.insert($0).inserted }
    }

    /// Whether `text` looks like a virtual transaction id (`3/4711`, `-1/812`): only those are
    /// written into a statement.
    static func isVirtualTransactionID(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[1].isEmpty, parts[1].allSatisfy(\.isNumber) else { return false }
        let backend = parts[0].hasPrefix("-") ? parts[0].dropFirst() : parts[0]
        return !backend.isEmpty && backend.allSatisfy(\.isNumber)
    }

    /// The memory after this run's reading.
    ///
    /// - Parameters:
    ///   - current: this run's record (its holders: the transactions in flight now that could
    ///     still write at or below its position).
    ///   - running: which of ``pendingHolders`` still run now.
    ///   - preparedRunning: whether a prepared transaction that could write runs now.
    ///   - order: compares two positions (nil when they cannot be compared).
    func advanced(
        with current: Record, running: Set<String>, preparedRunning: Bool,
        order: (String, String) -> Ordering?
    ) -> PostgresHorizonMemory {
        var next = self
        var kept: [Record] = []
        for record in records + [current] {
            let waits =
                record.holders.contains { running.contains($0) || current.holders.contains($0) }
                || (record.postmasterStart != current.postmasterStart && preparedRunning)
            if waits {
                kept.append(record)
            } else if next.bound.map({ order(record.position, $0) == .descending }) ?? true {
                next.bound = record.position
            }
        }
        // A record at or below the bound can teach nothing more.
        next.records = Array(
            kept.filter { record in
                next.bound.map { order(record.position, $0) == .descending } ?? true
            }.suffix(Self.recordLimit))
        return next
    }

    // MARK: - JSON, as the horizon record keeps it

    var json: JSONValue {
        var members = [
            JSONMember(key: "rule", value: .string(rule)),
            JSONMember(key: "database", value: .string(database)),
            JSONMember(key: "relation", value: .number(String(relation))),
        ]
        if let bound { members.append(JSONMember(key: "bound", value: .string(bound))) }
        members.append(
            JSONMember(
                key: "records",
                value: .array(
                    records.map { record in
                        .object([
                            JSONMember(key: "position", value: .string(record.position)),
                            JSONMember(key: "holders", value: .array(record.holders.map { .string($0) })),
                            JSONMember(key: "postmaster_start", value: .string(record.postmasterStart)),
                        ])
                    })))
        return .object(members)
    }

    /// The memory in `json`, when it is one of `rule` for this database and table; nil otherwise
    /// (then the run starts from what it sees).
    init?(json: JSONValue?, rule: String, database: String, relation: UInt32) {
        guard case .object(let members)? = json else { return nil }
        var fields: [String: JSONValue] = [:]
        for member in members { fields[member.key] = member.value }
        guard case .string(rule)? = fields["rule"], case .string(database)? = fields["database"],
            case .number(String(relation))? = fields["relation"], case .array(let items)? = fields["records"]
        else { return nil }
        self.rule = rule
        self.database = database
        self.relation = relation
        switch fields["bound"] {
        case .string(let text)?: bound = text
        case nil: bound = nil
        default: return nil
        }
        for item in items {
            guard case .object(let recordMembers) = item else { return nil }
            var record = Record(position: "", holders: [], postmasterStart: "")
            for member in recordMembers {
                switch (member.key, member.value) {
                case ("position", .string(let text)): record.position = text
                case ("postmaster_start", .string(let text)): record.postmasterStart = text
                case ("holders", .array(let holders)):
                    for holder in holders {
                        guard case .string(let id) = holder, Self.isVirtualTransactionID(id) else { return nil }
                        record.holders.append(id)
                    }
                default: break
                }
            }
            guard !record.position.isEmpty, !record.postmasterStart.isEmpty else { return nil }
            records.append(record)
        }
    }

    /// The transactions a stored memory of `rule` waits for, read before the database is known
    /// (the pre-read asks whether they still run; ids of another database's memory are harmless).
    static func pendingHolders(in json: JSONValue?, rule: String) -> [String] {
        guard case .object(let members)? = json, members.contains(where: { $0.key == "rule" && $0.value == .string(rule) }),
            let database = members.first(where: { $0.key == "database" }).flatMap({ member -> String? in
                if case .string(let text) = member.value { return text } else { return nil }
            }),
            let relation = members.first(where: { $0.key == "relation" }).flatMap({ member -> UInt32? in
                if case .number(let text) = member.value { return UInt32(text) } else { return nil }
            }),
            let memory = PostgresHorizonMemory(json: json, rule: rule, database: database, relation: relation)
        else { return [] }
        return memory.pendingHolders
    }

    init(rule: String, database: String, relation: UInt32) {
        self.rule = rule
        self.database = database
        self.relation = relation
    }
}
