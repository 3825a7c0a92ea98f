import Config
import Core
import Extract
import Glibc
import SQLite
import Stream
import TestSupport
import Testing

@testable import Load

/// NDJSON → SQLite → NDJSON through the real `SQLiteDestination` and `SQLiteSource`: a column
/// created for JSON values gives back the same JSON values (SQLiteSource: "one declared JSON
/// embeds text that is valid JSON — so SQLite → NDJSON → SQLite keeps both").
@Suite struct SQLiteJSONRoundTripTests {
    /// Loads `values` as the `j` of rows with ids 1, 2, … (the first decides the column's type),
    /// extracts them again, and returns each row's `j` as it came back.
    static func roundTrip(_ values: [String]) throws -> [JSONValue] {
        let database = try TemporaryDatabase()
        var session = LoadSession(
            destination: try database.destination(), batchSize: 100, describeSource: nil,
            checkpoints: nil, endOfStreamFD: nil)
        try session.start()
        for (index, value) in values.enumerated() {
            try Array("{\"id\":\(index + 1),\"j\":\(value)}".utf8).withUnsafeBufferPointer { (line) throws(ConduitError) in
                try session.load(line, lineNumber: index + 1)
            }
        }
        try session.finish()

        let path = database.sandbox.path("out.ndjson")
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        defer { close(fd) }
        let source = SourceConfig(
            name: "lite", type: SQLiteConnector.typeName, connection: ConnectionSettings(path: database.path))
        let extracted = try SQLiteSource.extract(
            source: source, sql: "SELECT id, j FROM \(TemporaryDatabase.table) ORDER BY id", parameter: nil,
            resource: "events", incrementalColumn: nil, output: GroupSafeOutput(fd: fd, holdsValueGroups: false))
        #expect(extracted.rows == values.count)
        let lines = try database.sandbox.contents(of: "out.ndjson").split(separator: UInt8(ascii: "\n"))
        return try lines.map { line in
            guard case .object(let members) = try JSONParser.parse(Array(line)), let j = members.last(where: { $0.key == "j" })
            else {
                throw ConduitError.internalError("not a row: \(String(decoding: line, as: UTF8.self))")
            }
            return j.value
        }
    }

    /// Guards that objects, arrays and ordinary strings in a JSON column come back as they went in.
    @Test func jsonValuesRoundTrip() throws {
        let values = [#"{"a": [1, 2.50, "x"]}"#, #"[1, "2", null]"#, #""plain text""#, "null", #"{"k": "123"}"#]
        let expected = try values.map { try JSONParser.parse(Array($0.utf8)) }
        #expect(try Self.roundTrip(values) == expected)
    }

    /// Guards that a JSON string whose text looks like a number or other JSON comes back as
    /// that string: a JSON column stores such text quoted, not bare, which the column's NUMERIC
    /// affinity would turn into 123 and SQLiteSource would re-read as `true`.
    @Test(arguments: [#""123""#, #""1.5""#, #""true""#, #""null""#, #""[1]""#, #""{\"a\":1}""#])
    func jsonStringsLookingLikeJSONRoundTrip(value: String) throws {
        let values = [#"{"first": "object"}"#, value]
        let expected = try JSONParser.parse(Array(value.utf8))
        let back = try Self.roundTrip(values)
        try #require(back.count == 2)
        #expect(back[1] == expected)
    }
}
