import Foundation
import TestSupport
import Testing

@testable import Core
@testable import State
@testable import Stream

@Suite struct StateFileTests {
    /// The history beside the state file keeps its newest megabyte or so: past two, the older
    /// lines go whole, and the newest entry is always there.
    @Test func historyKeepsItsNewestMegabyte() throws {
        let folder = try Sandbox()
        let state = StateFile(path: folder.path(".conduit_state.json"))
        let padding = String(repeating: "x", count: 900)
        for index in 0..<2_400 {
            try state.appendHistory(HistoryEntry(event: "set", resource: "r\(index)-\(padding)", to: .number(String(index))))
        }
        let size = try #require(FileIO.size(folder.path(".conduit_state.json.history")))
        #expect(size <= 2 * StateFile.historyKeptBytes && size >= StateFile.historyKeptBytes / 2, "\(size)")
        let entries = try state.history(resource: nil, limit: 100_000)
        #expect(entries.last?.to == .number("2399"))
        #expect(entries.count < 2_400 && entries.count > 500, "\(entries.count)")
        // Every line left is whole: each read back as an entry.
        let lines = try folder.read(".conduit_state.json.history").split(separator: "\n")
        #expect(lines.count == entries.count)
    }

    /// The file is written exactly as SPEC 5 says: pretty, keys sorted, trailing newline, exact digits.
    @Test func writesSortedPrettyJSONWithExactDigits() throws {
        let folder = try Sandbox()
        let state = StateFile(path: folder.path(".conduit_state.json"))
        try state.update { (document: inout StateDocument) throws(ConduitError) in
            document.set(.number("98765"), for: "sync_orders")
            document.set(.number("9007199254740993"), for: "sync_new_users")
            document.set(.number("1234567890123456789012345678901234567890"), for: "big")
            document.set(.string("2024-05-01T12:00:00.123456Z"), for: "events")
        }
        #expect(
            try folder.read(".conduit_state.json") == """
                {
                  "big": 1234567890123456789012345678901234567890,
                  "events": "2024-05-01T12:00:00.123456Z",
                  "sync_new_users": 9007199254740993,
                  "sync_orders": 98765
                }

                """)
        #expect(try state.value(of: "sync_new_users") == .number("9007199254740993"))
    }

    /// The user's document's example file reads as written.
    @Test func readsTheSeedsExample() throws {
        let folder = try Sandbox()
        try folder.write("{\n  \"sync_new_users\": 15789,\n  \"sync_orders\": 98765\n}\n", to: "s.json")
        let state = StateFile(path: folder.path("s.json"))
        #expect(try state.value(of: "sync_new_users") == .number("15789"))
        #expect(try state.value(of: "sync_orders") == .number("98765"))
        #expect(try state.value(of: "other") == nil)
    }

    /// A missing file is an empty state: the first run.
    @Test func missingFileIsEmpty() throws {
        let folder = try Sandbox()
        #expect(try StateFile(path: folder.path("none.json")).read() == StateDocument())
    }

    /// A corrupt, empty, non-object or unreadable file is an error naming the file — never treated as empty.
    @Test(arguments: ["", "{\"a\": 1", "[1,2]", "{\"a\": 1, \"a\": 2}", "not json", "{\"a\": 01}"])
    func corruptFileIsAnError(contents: String) throws {
        let folder = try Sandbox()
        try folder.write(contents, to: "s.json")
        let state = StateFile(path: folder.path("s.json"))
        let error = try #require(throws: ConduitError.self) { try state.read() }
        #expect(error.kind == .io)
        #expect(error.message.contains(folder.path("s.json")))
        #expect(error.message.contains("corrupt"))
        // And a commit refuses to overwrite it.
        #expect(throws: ConduitError.self) {
            try state.update { (document: inout StateDocument) throws(ConduitError) in document.set(.number("1"), for: "a") }
        }
        #expect(try folder.read("s.json") == contents)
    }

    /// A state file that is a folder (unreadable as a file) is an I/O error naming it.
    @Test func unreadableFileIsAnError() throws {
        let folder = try Sandbox()
        try FileManager.default.createDirectory(atPath: folder.path("dir.json"), withIntermediateDirectories: false)
        let error = try #require(throws: ConduitError.self) { try StateFile(path: folder.path("dir.json")).read() }
        #expect(error.kind == .io)
        #expect(error.message.contains("dir.json"))
    }

    /// Keys Conduit does not know, whatever their values, survive a commit of another key.
    @Test func unknownKeysAreKept() throws {
        let folder = try Sandbox()
        try folder.write(#"{"zeta": {"nested": [1, true, null]}, "sync_new_users": 1, "flag": false}"#, to: "s.json")
        let state = StateFile(path: folder.path("s.json"))
        try state.update { (document: inout StateDocument) throws(ConduitError) in
            document.set(.number("2"), for: "sync_new_users")
        }
        let document = try state.read()
        #expect(
            document.members["zeta"] == .object([JSONMember(key: "nested", value: .array([.number("1"), .bool(true), .null]))]))
        #expect(document.members["flag"] == .bool(false))
        #expect(document.members["sync_new_users"] == .number("2"))
    }

    /// A resource whose value is neither a number nor a string is reported, not guessed at.
    @Test func nonScalarValueOfAResourceIsAnError() throws {
        let folder = try Sandbox()
        try folder.write(#"{"r": [1]}"#, to: "s.json")
        let error = try #require(throws: ConduitError.self) { try StateFile(path: folder.path("s.json")).value(of: "r") }
        #expect(error.message.contains("\"r\""))
    }

    /// An update that changes nothing does not rewrite the file.
    @Test func unchangedDocumentIsNotRewritten() throws {
        let folder = try Sandbox()
        try folder.write(#"{"r":1}"#, to: "s.json")
        try StateFile(path: folder.path("s.json")).update { (_: inout StateDocument) throws(ConduitError) in }
        #expect(try folder.read("s.json") == #"{"r":1}"#)
    }

    /// The location order: --state-file, then $CONDUIT_STATE_FILE, then the config's state_file, then the default.
    @Test func locateOrder() {
        #expect(StateFile.locate(explicitPath: "a", environment: ["CONDUIT_STATE_FILE": "b"], configured: "c").path == "a")
        #expect(StateFile.locate(explicitPath: nil, environment: ["CONDUIT_STATE_FILE": "b"], configured: "c").path == "b")
        #expect(StateFile.locate(explicitPath: nil, environment: [:], configured: "c").path == "c")
        #expect(StateFile.locate(explicitPath: nil, environment: [:], configured: nil).path == ".conduit_state.json")
    }

    /// The run lock admits one holder at a time, names the holder, and is free again once released.
    @Test func runLockIsExclusive() throws {
        let folder = try Sandbox()
        let state = StateFile(path: folder.path("s.json"))
        var first: RunLock? = try state.acquireRunLock(for: "users/all")
        let error = try #require(throws: ConduitError.self) { try state.acquireRunLock(for: "users/all") }
        #expect(error.kind == .busy)
        #expect(error.exitStatus.rawValue == 75)
        #expect(error.message.contains("pid \(getpid())"))
        // A different resource is independent.
        _ = try state.acquireRunLock(for: "orders")
        withExtendedLifetime(first) {}
        first = nil
        _ = try state.acquireRunLock(for: "users/all")
    }
}
