import Config
import Core
import Foundation
import State
import TestSupport
import Testing

@testable import Load
@testable import SQLite

/// A SQLite database file in a fresh sandbox folder, removed afterwards, with a second,
/// read-only connection to see what the loader has committed.
final class TemporaryDatabase {
    /// The folder holding the database file and whatever else a test writes beside it.
    let sandbox: Sandbox
    let path: String
    static let table = "events"
    static let resource = "events"

    init() throws {
        sandbox = try Sandbox()
        path = sandbox.path("load.db")
    }

    /// A new connection of the real SQLite destination to the test table.
    func destination() throws -> SQLiteDestination {
        let config = DestinationConfig(
            name: "warehouse", type: SQLiteConnector.typeName, connection: ConnectionSettings(path: path))
        return try SQLiteDestination(config: config, table: Self.table)
    }

    /// Every row `sql` returns, each column as text, read on a connection of its own (so only committed rows show).
    func query(_ sql: String) throws -> [[String]] {
        let database = try SQLiteDatabase(path: path, readOnly: true)
        let statement = try database.prepare(sql, context: "test query")
        var rows: [[String]] = []
        while try statement.step(context: "test query") {
            rows.append((0..<statement.columnCount).map { statement.text(column: $0) })
        }
        return rows
    }

    /// The committed `id`s of the test table in insertion order; empty while the table does not exist.
    func committedIDs() throws -> [Int] {
        let exists = try query("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '\(Self.table)'")
        guard exists == [["1"]] else { return [] }
        return try query("SELECT id FROM \(Self.table) ORDER BY rowid").compactMap { Int($0[0]) }
    }

    /// The committed checkpoint of the test resource: run, value (JSON text) and rows.
    func checkpoint() throws -> (run: String, value: String, rows: Int)? {
        let exists = try query("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '\(checkpointTableName)'")
        guard exists == [["1"]] else { return nil }
        let rows = try query("SELECT run, value, rows FROM \(checkpointTableName) WHERE resource = '\(Self.resource)'")
        guard let row = rows.first, let count = Int(row[2]) else { return nil }
        return (row[0], row[1], count)
    }

    /// Stores a checkpoint as an earlier run's batch would have, through the destination itself.
    func seedCheckpoint(run: String, value: String, rows: Int64) throws {
        let destination = try destination()
        try destination.prepareCheckpoints()
        try destination.begin()
        let stored = try destination.readCheckpoint(resource: Self.resource).map {
            StoredCheckpoint(run: $0.run, value: $0.value)
        }
        try destination.writeCheckpoint(resource: Self.resource, run: run, value: value, rows: rows, replacing: stored)
        try destination.commit()
    }
}

/// One row of a test stream: its id (unique, to count loads) and its incremental value (JSON text).
struct StreamRow: Sendable, CustomTestStringConvertible {
    var id: Int
    var value: String
    var line: String { "{\"id\":\(id),\"v\":\(value)}" }
    var testDescription: String { line }
}

/// Rows with ids 1, 2, … and the given incremental values.
func stream(_ values: [String]) -> [StreamRow] {
    values.enumerated().map { StreamRow(id: $0.offset + 1, value: $0.element) }
}

/// The checkpoint skip of `LoadSession` (SPEC section 5): a resumed run skips the rows its run's
/// checkpoint covers and loads the rest, batches end only where the incremental value changes,
/// and the destination ends with every row exactly once. Against the real SQLite destination.
@Suite struct CheckpointResumeTests {
    static let run = "lineage-1.4"

    /// The plan `conduit-state commit` sets up for an ordered incremental resource on column `v`.
    static func plan(run: String = CheckpointResumeTests.run) throws -> CheckpointPlan {
        let resource = ResourceConfig(
            name: TemporaryDatabase.resource, source: "src", destination: "warehouse",
            query: "SELECT * FROM t WHERE v > :last_value",
            incrementalColumn: "v")
        return try #require(try CheckpointPlan(resource: resource, environment: [CheckpointEnvironment.run: run]))
    }

    static func session(
        _ database: TemporaryDatabase, batchSize: Int, run: String = CheckpointResumeTests.run
    ) throws -> LoadSession {
        var session = LoadSession(
            destination: try database.destination(), batchSize: batchSize, describeSource: nil,
            checkpoints: try plan(run: run), endOfStreamFD: nil)
        try session.start()
        return session
    }

    static func load(_ row: StreamRow, lineNumber: Int, into session: inout LoadSession) throws {
        try Array(row.line.utf8).withUnsafeBufferPointer { (buffer) throws(ConduitError) in
            try session.load(buffer, lineNumber: lineNumber)
        }
    }

    /// Whether `count` rows of `rows` end at the end of a value group (or of the stream).
    static func endsAGroup(_ rows: [StreamRow], count: Int) throws -> Bool {
        guard count > 0 && count < rows.count else { return true }
        let before = StateValue.number(rows[count - 1].value)
        let after = StateValue.number(rows[count].value)
        return try #require(before.compare(to: after)) != .equal
    }

    /// Guards that batches commit only at value-group ends, each with a checkpoint equal to the last
    /// committed row's value and a row count equal to the committed rows, seen from another
    /// connection after every row; and that groups longer than the batch size are not split.
    @Test func batchesEndOnlyWhereTheValueChanges() throws {
        let database = try TemporaryDatabase()
        let rows = stream(["1", "1", "1", "2", "3", "3", "4", "4", "4", "4", "4", "5", "6", "6"])
        var session = try Self.session(database, batchSize: 2)
        var commits: [Int] = [0]
        for (index, row) in rows.enumerated() {
            try Self.load(row, lineNumber: index + 1, into: &session)
            let committed = try database.committedIDs()
            #expect(committed == rows.prefix(committed.count).map(\.id), "rows commit in order")
            #expect(try Self.endsAGroup(rows, count: committed.count), "a batch ended inside a value group after row \(row.id)")
            if committed.count > 0 {
                let checkpoint = try #require(try database.checkpoint())
                #expect(checkpoint.value == rows[committed.count - 1].value)
                #expect(checkpoint.rows == committed.count)
                #expect(checkpoint.run == Self.run)
            }
            if committed.count != commits.last { commits.append(committed.count) }
        }
        try session.finish()
        #expect(try database.committedIDs() == rows.map(\.id))
        let final = try #require(try database.checkpoint())
        #expect(final.value == "6" && final.rows == rows.count)
        // More than one batch before the end, and the five 4s went in one batch although it holds 2 rows.
        #expect(commits.count >= 3, "\(commits)")
        let sizes = zip(commits.dropFirst(), commits).map { $0 - $1 }
        #expect(sizes.contains { $0 >= 5 }, "batch sizes \(sizes)")
        #expect(session.skippedRows == 0)
    }

    /// Guards the incremental value read from rows whose keys move: a row repeating the last
    /// row's keys has its value read where those keys put it (the last occurrence when the key
    /// is there twice), with no search by key; each checkpoint is the last committed row's value.
    @Test func checkpointFollowsTheColumnWhereverTheKeysPutIt() throws {
        let database = try TemporaryDatabase()
        let lines = [
            #"{"id":1,"v":1}"#, #"{"id":2,"v":2}"#, #"{"v":3,"id":3}"#, #"{"v":4,"id":4}"#,
            #"{"v":0,"id":5,"v":5}"#, #"{"v":0,"id":6,"v":6}"#, #"{"v":0,"i\u0064":7,"v":7}"#, #"{"id":8,"v":8}"#,
            #"{"id":9,"v":9}"#,
        ]
        var session = try Self.session(database, batchSize: 1)
        for (index, line) in lines.enumerated() {
            try Array(line.utf8).withUnsafeBufferPointer { (buffer) throws(ConduitError) in
                try session.load(buffer, lineNumber: index + 1)
            }
            let committed = try database.committedIDs()
            #expect(committed == Array(1...9).prefix(committed.count).map { $0 })
            if let last = committed.last {
                #expect(try database.checkpoint()?.value == String(last), "after line \(index + 1)")
            }
        }
        try session.finish()
        #expect(try database.committedIDs() == Array(1...9))
        #expect(try database.checkpoint()?.value == "9")
    }

    /// Guards the resume after a crash: a first load of the run commits some batches and dies
    /// with its open batch rolled back; loading the whole stream again under the same run skips
    /// exactly the rows the checkpoint covers, loads the rest, and every row ends in the table once.
    @Test(arguments: [1, 2, 3])
    func resumedRunLoadsEveryRowOnce(batchSize: Int) throws {
        let database = try TemporaryDatabase()
        let rows = stream(["1", "2", "2", "3", "3", "3", "4", "5", "5", "5", "6"])

        // The interrupted run: nine rows in, then killed (its open batch rolls back).
        var first = try Self.session(database, batchSize: batchSize)
        for (index, row) in rows.prefix(9).enumerated() {
            try Self.load(row, lineNumber: index + 1, into: &first)
        }
        first.destination.rollback()
        let committed = try database.committedIDs()
        try #require(
            committed.count > 0 && committed.count < rows.count, "the first run should have committed part of the stream")
        #expect(committed == Array(1...committed.count))
        let checkpoint = try #require(try database.checkpoint())
        #expect(checkpoint.value == rows[committed.count - 1].value)
        #expect(checkpoint.rows == committed.count)

        // The run again, from the start of the same stream.
        var second = try Self.session(database, batchSize: batchSize)
        for (index, row) in rows.enumerated() {
            try Self.load(row, lineNumber: index + 1, into: &second)
        }
        try second.finish()
        #expect(try database.committedIDs() == rows.map(\.id), "every row exactly once, in order")
        let coveredRows = rows.filter { StateValue.number($0.value).compare(to: .number(checkpoint.value)) != .descending }.count
        #expect(second.skippedRows == coveredRows)
        #expect(second.rows == rows.count - coveredRows)
        let final = try #require(try database.checkpoint())
        #expect(final.value == "6")
        #expect(final.rows == rows.count, "the checkpoint counts the interrupted run's rows too")
    }

    /// Guards that a checkpoint another run wrote (a finished run, another state file) decides
    /// nothing: every row loads.
    /// A checkpoint is written only over the one the loader last saw: a second loader of the same
    /// resource (a run lock lost with its state session) that wrote in between makes the write
    /// fail (75) and its batch roll back, so two loaders never both commit the same rows.
    @Test func checkpointIsWrittenOnlyOverTheOneLastSeen() throws {
        let database = try TemporaryDatabase()
        try database.seedCheckpoint(run: "a.1", value: "10", rows: 10)
        let destination = try database.destination()
        try destination.begin()
        let first = try #require(throws: ConduitError.self) {
            try destination.writeCheckpoint(
                resource: TemporaryDatabase.resource, run: "a.1", value: "20", rows: 20, replacing: nil)
        }
        #expect(first.exitStatus == .tempFail && first.message.contains("wrote its checkpoint since this one started"))
        destination.rollback()
        try destination.begin()
        #expect(throws: ConduitError.self) {
            try destination.writeCheckpoint(
                resource: TemporaryDatabase.resource, run: "a.1", value: "20", rows: 20,
                replacing: StoredCheckpoint(run: "a.1", value: "15"))
        }
        destination.rollback()
        try destination.begin()
        try destination.writeCheckpoint(
            resource: TemporaryDatabase.resource, run: "a.1", value: "20", rows: 20,
            replacing: StoredCheckpoint(run: "a.1", value: "10"))
        try destination.commit()
        #expect(try database.checkpoint()?.value == "20")
    }

    @Test func checkpointOfAnotherRunIsIgnored() throws {
        let database = try TemporaryDatabase()
        try database.seedCheckpoint(run: "lineage-1.3", value: "3", rows: 3)
        let rows = stream(["1", "2", "3", "4"])
        var session = try Self.session(database, batchSize: 10)
        for (index, row) in rows.enumerated() {
            try Self.load(row, lineNumber: index + 1, into: &session)
        }
        try session.finish()
        #expect(session.skippedRows == 0)
        #expect(try database.committedIDs() == [1, 2, 3, 4])
        let final = try #require(try database.checkpoint())
        #expect(final.run == Self.run && final.value == "4" && final.rows == 4)
    }

    /// One case of the skip comparison: a stored checkpoint (JSON text), the stream's values, and the ids that load.
    struct SkipCase: Sendable, CustomTestStringConvertible {
        var checkpoint: String
        var values: [String]
        var loadedIDs: [Int]
        var testDescription: String { "after \(checkpoint): \(values.joined(separator: " "))" }
    }

    /// Guards "at or below the checkpoint" as SPEC section 5 orders values: numbers numerically
    /// with exact digits, RFC 3339 timestamps by instant whatever their offsets, other strings by code point.
    @Test(arguments: [
        SkipCase(checkpoint: "10", values: ["9.5", "10.0", "10", "1e1", "10.5", "11"], loadedIDs: [5, 6]),
        SkipCase(
            checkpoint: "9007199254740993", values: ["9007199254740992", "9007199254740993", "9007199254740994"],
            loadedIDs: [3]),
        SkipCase(
            checkpoint: #""2024-05-01T12:00:00Z""#,
            values: [
                #""2024-05-01T11:59:59Z""#, #""2024-05-01T14:00:00+02:00""#, #""2024-05-01T12:00:00.000001Z""#,
                #""2024-05-01T15:00:00+02:00""#,
            ],
            loadedIDs: [3, 4]),
        SkipCase(checkpoint: #""m""#, values: [#""a""#, #""m""#, #""n""#, #""é""#], loadedIDs: [3, 4]),
    ])
    func skipsRowsAtOrBelowTheCheckpoint(_ skip: SkipCase) throws {
        let database = try TemporaryDatabase()
        try database.seedCheckpoint(run: Self.run, value: skip.checkpoint, rows: 7)
        let rows = stream(skip.values)
        var session = try Self.session(database, batchSize: 2)
        for (index, row) in rows.enumerated() {
            try Self.load(row, lineNumber: index + 1, into: &session)
        }
        try session.finish()
        #expect(try database.committedIDs() == skip.loadedIDs)
        #expect(session.skippedRows == rows.count - skip.loadedIDs.count)
        let final = try #require(try database.checkpoint())
        #expect(final.value == rows[rows.count - 1].value)
        #expect(final.rows == 7 + skip.loadedIDs.count)
    }

    /// Guards that a value that does not compare with the checkpoint (a string after a number
    /// checkpoint) is bad input naming the line, not a silent load or skip.
    @Test func incomparableValueIsBadInput() throws {
        let database = try TemporaryDatabase()
        try database.seedCheckpoint(run: Self.run, value: "5", rows: 5)
        var session = try Self.session(database, batchSize: 2)
        let error = try #require(throws: ConduitError.self) {
            try Self.load(StreamRow(id: 1, value: #""six""#), lineNumber: 3, into: &session)
        }
        #expect(error.kind == .badInput)
        #expect(error.message.hasPrefix("line 3: "), "\(error.message)")
        session.destination.rollback()
        #expect(try database.committedIDs().isEmpty)
    }
}
