import Config
import Core
import State
import Testing

@testable import Load
@testable import SQLite

/// `lookback` on the load side (docs/INCREMENTAL.md): append inserts only the keys the table
/// lacks, and a resumed run does not skip rows below its checkpoint, so a row that committed late
/// in that band still goes in. Against the real SQLite destination.
@Suite struct LookbackResumeTests {
    /// A session as `conduit-load` opens it for append with `lookback` and `primary_key: id`.
    static func session(_ database: TemporaryDatabase) throws -> LoadSession {
        let destination = try database.destination()
        try destination.enableMerge(primaryKey: ["id"], updateExisting: false)
        var session = LoadSession(
            destination: destination, batchSize: 2, describeSource: nil,
            checkpoints: try CheckpointResumeTests.plan(), endOfStreamFD: nil, primaryKey: ["id"], merge: true,
            resumesByKey: true)
        try session.start()
        return session
    }

    /// An interrupted run, then a resumed one re-reading below its checkpoint with a late row
    /// (id 99 at value 2) among the rows it already holds: the late row goes in, nothing twice,
    /// the rows it holds keep their values.
    @Test func resumedRunLoadsALateRowBelowTheCheckpoint() throws {
        let database = try TemporaryDatabase()
        let rows = stream(["1", "2", "2", "3", "4", "5"])
        var first = try Self.session(database)
        for (index, row) in rows.prefix(5).enumerated() {
            try CheckpointResumeTests.load(row, lineNumber: index + 1, into: &first)
        }
        first.destination.rollback()
        let committed = try database.committedIDs()
        try #require(committed.count >= 3 && committed.count < rows.count, "\(committed)")

        let late = StreamRow(id: 99, value: "2")
        let reread = [rows[0], rows[1], rows[2], late] + rows.dropFirst(3)
        var second = try Self.session(database)
        for (index, row) in reread.enumerated() {
            try CheckpointResumeTests.load(row, lineNumber: index + 1, into: &second)
        }
        try second.finish()
        #expect(second.skippedRows == 0)
        #expect(
            try database.query("SELECT id, v FROM \(TemporaryDatabase.table) ORDER BY id") == [
                ["1", "1"], ["2", "2"], ["3", "2"], ["4", "3"], ["5", "4"], ["6", "5"], ["99", "2"],
            ])
    }

    /// Insert-only leaves a held row as it is: a re-read row with other values does not update it.
    @Test func heldRowsAreNotUpdated() throws {
        let database = try TemporaryDatabase()
        var first = try Self.session(database)
        try CheckpointResumeTests.load(StreamRow(id: 1, value: "1"), lineNumber: 1, into: &first)
        try first.finish()
        var second = try Self.session(database)
        try CheckpointResumeTests.load(StreamRow(id: 1, value: "7"), lineNumber: 1, into: &second)
        try CheckpointResumeTests.load(StreamRow(id: 2, value: "8"), lineNumber: 2, into: &second)
        try second.finish()
        #expect(try database.query("SELECT id, v FROM \(TemporaryDatabase.table) ORDER BY id") == [["1", "1"], ["2", "8"]])
    }
}
