import Testing

@testable import Core
@testable import State
@testable import Stream

@Suite struct IncrementalTrackerTests {
    /// Feeds lines to a tracker, numbering them from 1.
    private func track(_ lines: [String], column: String? = "id", ordered: Bool = true) throws(ConduitError) -> IncrementalTracker
    {
        var tracker = IncrementalTracker(column: column, requiresOrder: ordered)
        for (index, line) in lines.enumerated() {
            let bytes = Array(line.utf8)
            let blank = bytes.withUnsafeBufferPointer { LineReader.isBlank($0) }
            if blank { continue }
            var failure: ConduitError?
            bytes.withUnsafeBufferPointer { buffer in
                do throws(ConduitError) { try tracker.consume(buffer, lineNumber: index + 1) } catch { failure = error }
            }
            if let failure { throw failure }
        }
        return tracker
    }

    /// The maximum of an ordered stream is its last value; equal values may repeat.
    @Test func tracksTheMaximum() throws {
        let tracker = try track([#"{"id":1,"name":"a"}"#, #"{"id":2}"#, #"{"id":2}"#, #"{"name":"x","id":9007199254740993}"#])
        #expect(tracker.rows == 4)
        #expect(tracker.maximum == .number("9007199254740993"))
    }

    /// Timestamps are tracked by instant; an equal instant with another offset is not a decrease.
    @Test func tracksTimestampsAcrossOffsets() throws {
        let tracker = try track([
            #"{"id":"2024-05-01T12:00:00Z"}"#, #"{"id":"2024-05-01T14:00:00+02:00"}"#, #"{"id":"2024-05-01T12:00:00.5Z"}"#,
        ])
        #expect(tracker.maximum == .string("2024-05-01T12:00:00.5Z"))
    }

    /// Blank lines are skipped, not counted.
    @Test func blankLinesAreSkipped() throws {
        let tracker = try track([#"{"id":1}"#, "", "  \r", #"{"id":2}"#])
        #expect(tracker.rows == 2)
    }

    /// Each bad line is refused with its line number and the reason.
    @Test(arguments: [
        ([#"{"id":1}"#, #"{"id":0}"#], "line 2: \"id\" went backwards, 0 after 1"),
        ([#"{"id":1}"#, #"{"name":"x"}"#], "line 2: the row has no \"id\" key"),
        ([#"{"id":null}"#], "line 1: \"id\" is null"),
        ([#"{"id":1}"#, #"{"id":"2"}"#], "line 2: \"id\" is a string (2) after number values"),
        ([#"{"id":[1]}"#], "line 1: \"id\" must be a number or a string"),
        ([#"{"id":1"#], "line 1: not a JSON object"),
        (["[1,2]"], "line 1: not a JSON object"),
        ([#"{"meta":{"id":5}}"#], "line 1: the row has no \"id\" key"),
    ])
    func badLinesAreRefused(lines: [String], message: String) throws {
        let error = try #require(throws: ConduitError.self) { try track(lines) }
        #expect(error.kind == .badInput)
        #expect(error.exitStatus.rawValue == 65)
        #expect(error.message.hasPrefix(message), "\(error.message)")
    }

    /// With ordered: false a decrease is accepted and the maximum is still the greatest value.
    @Test func unorderedResourceAcceptsDecreases() throws {
        let tracker = try track([#"{"id":5}"#, #"{"id":2}"#, #"{"id":7}"#, #"{"id":3}"#], ordered: false)
        #expect(tracker.maximum == .number("7"))
    }

    /// A resource that is not incremental still needs JSON objects but tracks no value.
    @Test func nonIncrementalResourceChecksObjectsOnly() throws {
        let tracker = try track([#"{"a":1}"#, #"{"b":2}"#], column: nil)
        #expect(tracker.rows == 2)
        #expect(tracker.maximum == nil)
        #expect(throws: ConduitError.self) { try track(["nope"], column: nil) }
    }

    /// In front of a validating loader the tracker reads framing and cursor only, but a cursor
    /// value the full scan would refuse is refused on its own line, never carried on to be
    /// blamed on the next one (a red-team finding: `{"id":05}` then `{"id":8}` named line 2).
    @Test(arguments: ["05", "+5", "5.", ".5", "5e", "-", "1-2", "\"a\\x\""])
    func invalidCursorIsRefusedOnItsLine(cursor: String) throws {
        var tracker = IncrementalTracker(column: "id", requiresOrder: true, loaderValidates: true)
        let error = try #require(throws: ConduitError.self) {
            for (index, line) in ["{\"id\":\(cursor)}", "{\"id\":8,\"name\":\"c\"}"].enumerated() {
                let bytes = Array(line.utf8)
                var failure: ConduitError?
                bytes.withUnsafeBufferPointer { buffer in
                    do throws(ConduitError) { try tracker.consume(buffer, lineNumber: index + 1) } catch { failure = error }
                }
                if let failure { throw failure }
            }
        }
        #expect(error.message.hasPrefix("line 1: not a JSON object"), "\(error.message)")
    }

    /// Only `conduit-load` itself, loading, is trusted to validate what it reads.
    @Test func onlyConduitLoadIsTrustedToValidate() {
        #expect(CommitRun.loaderValidatesLines(["conduit-load", "users"]))
        #expect(CommitRun.loaderValidatesLines(["/usr/local/bin/conduit-load", "--infer-types", "users"]))
        #expect(!CommitRun.loaderValidatesLines(["conduit-load", "--version"]))
        #expect(!CommitRun.loaderValidatesLines(["conduit-load", "--help"]))
        #expect(!CommitRun.loaderValidatesLines(["sh", "-c", "conduit-load users"]))
        #expect(!CommitRun.loaderValidatesLines(["psql", "-c", "\\copy t from stdin"]))
        #expect(!CommitRun.loaderValidatesLines(["my-conduit-load", "users"]))
        #expect(!CommitRun.loaderValidatesLines([]))
    }
}
