import Core
import Stream
import Testing

@testable import Postgres

/// What the safe horizon remembers between runs (docs/INCREMENTAL.md, "Sequence rule"): when a
/// run's reading clears, which records wait, what survives a restart, and how it is kept.
@Suite struct PostgresHorizonMemoryTests {
    typealias Record = PostgresHorizonMemory.Record

    static func numbers(_ left: String, _ right: String) -> Ordering? {
        StateValue.number(left).compare(to: .number(right))
    }

    static func fresh() -> PostgresHorizonMemory {
        PostgresHorizonMemory(rule: "sequence:1", database: "5", relation: 16384)
    }

    /// Guards that a reading with no transaction in flight clears at once: its position is the bound.
    @Test func readingWithoutHoldersClears() {
        let next = Self.fresh().advanced(
            with: Record(position: "10", holders: [], postmasterStart: "pm"), running: [], preparedRunning: false,
            order: Self.numbers)
        #expect(next.bound == "10")
        #expect(next.records.isEmpty)
    }

    /// Guards that a reading with a holder waits, and clears in a later run once the holder no
    /// longer runs — then a newer reading with a holder of its own waits in turn.
    @Test func readingWaitsForItsHolders() {
        var memory = Self.fresh().advanced(
            with: Record(position: "10", holders: [], postmasterStart: "pm"), running: [], preparedRunning: false,
            order: Self.numbers)
        memory = memory.advanced(
            with: Record(position: "13", holders: ["3/7"], postmasterStart: "pm"), running: [], preparedRunning: false,
            order: Self.numbers)
        #expect(memory.bound == "10")
        #expect(memory.pendingHolders == ["3/7"])
        // 3/7 still runs: nothing moves, and the new reading waits for its own holder too.
        memory = memory.advanced(
            with: Record(position: "20", holders: ["4/2"], postmasterStart: "pm"), running: ["3/7"], preparedRunning: false,
            order: Self.numbers)
        #expect(memory.bound == "10")
        #expect(memory.records.map(\.position) == ["13", "20"])
        // 3/7 has ended, 4/2 still runs (and holds the lock now): 13 clears, 20 waits.
        memory = memory.advanced(
            with: Record(position: "25", holders: ["4/2"], postmasterStart: "pm"), running: ["4/2"], preparedRunning: false,
            order: Self.numbers)
        #expect(memory.bound == "13")
        #expect(memory.records.map(\.position) == ["20", "25"])
        // Everything ended: the newest position is the bound.
        memory = memory.advanced(
            with: Record(position: "30", holders: [], postmasterStart: "pm"), running: [], preparedRunning: false,
            order: Self.numbers)
        #expect(memory.bound == "30")
        #expect(memory.records.isEmpty)
    }

    /// Guards a restart: virtual ids start again, and a prepared transaction survives under a new
    /// name, so a record read before the restart clears only when no prepared transaction runs.
    @Test func restartWithAPreparedTransaction() {
        var memory = Self.fresh().advanced(
            with: Record(position: "11", holders: ["4/796"], postmasterStart: "before"), running: [], preparedRunning: true,
            order: Self.numbers)
        memory = memory.advanced(
            with: Record(position: "12", holders: ["-1/1418"], postmasterStart: "after"), running: [], preparedRunning: true,
            order: Self.numbers)
        #expect(memory.bound == nil)
        memory = memory.advanced(
            with: Record(position: "12", holders: [], postmasterStart: "after"), running: [], preparedRunning: false,
            order: Self.numbers)
        #expect(memory.bound == "12")
    }

    /// Guards the cap on records: the oldest go first, which only delays.
    @Test func recordsAreCapped() {
        var memory = Self.fresh()
        for position in 1...20 {
            memory = memory.advanced(
                with: Record(position: String(position), holders: ["9/\(position)"], postmasterStart: "pm"),
                running: Set((1...position).map { "9/\($0)" }),
                preparedRunning: false, order: Self.numbers)
        }
        #expect(memory.records.count == PostgresHorizonMemory.recordLimit)
        #expect(memory.records.first?.position == "13")
        #expect(memory.bound == nil)
    }

    /// Guards the memory as kept in the horizon record: it reads back equal, and one of another
    /// rule or column, database or table, or with a holder that is not a virtual id, is ignored.
    @Test func keptAndCheckedOnRead() throws {
        var memory = Self.fresh()
        memory.bound = "10"
        memory.records = [Record(position: "13", holders: ["3/7", "-1/812"], postmasterStart: "2026-12-05 10:00:00+00")]
        let json = memory.json
        #expect(PostgresHorizonMemory(json: json, rule: "sequence:1", database: "5", relation: 16384) == memory)
        #expect(PostgresHorizonMemory(json: json, rule: "sequence:2", database: "5", relation: 16384) == nil)
        #expect(PostgresHorizonMemory(json: json, rule: "sequence:1", database: "6", relation: 16384) == nil)
        #expect(PostgresHorizonMemory(json: json, rule: "sequence:1", database: "5", relation: 1) == nil)
        #expect(PostgresHorizonMemory.pendingHolders(in: json, rule: "sequence:1") == ["3/7", "-1/812"])
        let spoiled = try JSONParser.parse(
            #"{"rule":"sequence:1","database":"5","relation":16384,"records":[{"position":"1","holders":["1'; DROP TABLE t; --"],"postmaster_start":"x"}]}"#
        )
        #expect(PostgresHorizonMemory(json: spoiled, rule: "sequence:1", database: "5", relation: 16384) == nil)
        #expect(PostgresSafeHorizon.vxidArray(["3/7", "x'); --"]) == "ARRAY['3/7']::text[]")
    }

    /// Guards reading the tables a plan names (schema-qualified, quoted), and the scans whose
    /// writers no plan shows.
    @Test func tablesInAPlan() throws {
        let plan = try JSONParser.parse(
            #"""
            [{"Plan": {"Node Type": "Hash Join", "Plans": [
              {"Node Type": "Seq Scan", "Relation Name": "orders", "Schema": "public", "Alias": "o"},
              {"Node Type": "Hash", "Plans": [{"Node Type": "Seq Scan", "Relation Name": "Cust\"omers", "Schema": "crm"}]},
              {"Node Type": "Foreign Scan", "Relation Name": "remote", "Schema": "public"},
              {"Node Type": "Function Scan", "Function Name": "f"}]}}]
            """#)
        let tables = PostgresSafeHorizon.tables(inPlan: plan)
        #expect(tables.names == [#""public"."orders""#, #""crm"."Cust""omers""#, #""public"."remote""#])
        #expect(tables.unseen == ["a foreign table", "a function"])
        #expect(PostgresSafeHorizon.dollarQuoted("a$c$b") == "$c1$a$c$b$c1$")
    }
}
