import Foundation
import Testing

/// Runs shell scripts in a fresh folder with the built executables first on PATH, the way a
/// data engineer runs Conduit: real processes, real pipes.
final class Sandbox {
    let folder: String

    /// The folder holding conduit-extract, conduit-load and conduit-state: $CONDUIT_BIN_DIR, else
    /// the folder of the test bundle (SwiftPM builds executables beside it).
    static let binaryFolder: String = {
        if let configured = ProcessInfo.processInfo.environment["CONDUIT_BIN_DIR"], !configured.isEmpty {
            return configured
        }
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
        // On Linux the tests run from `<build>/conduitPackageTests.xctest`, a file beside the executables.
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("conduit-state").path), url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url.path
    }()

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("conduit-e2e-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `script` with bash (`set -o pipefail`) in the sandbox folder.
    @discardableResult
    func run(_ script: String, environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        // A hung script fails its test after three minutes instead of hanging the suite.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["-k", "5", "180", "/bin/bash", "-c", "set -o pipefail\n" + script]
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = "\(Self.binaryFolder):\(env["PATH"] ?? "/usr/bin:/bin")"
        env["CONDUIT_CONFIG"] = nil
        env["CONDUIT_STATE_FILE"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let outPath = "\(folder)/.stdout-\(UUID().uuidString)"
        let errPath = "\(folder)/.stderr-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: try String(contentsOfFile: outPath, encoding: .utf8),
            stderr: try String(contentsOfFile: errPath, encoding: .utf8))
    }

    func write(_ text: String, to name: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path(name)))
    }

    func read(_ name: String) throws -> String {
        try String(contentsOfFile: path(name), encoding: .utf8)
    }

    func exists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: path(name))
    }

    func path(_ name: String) -> String { "\(folder)/\(name)" }

    /// An ingest.yml with SQLite source and destination (nothing connects in these tests) and
    /// resources `users` (id), `events` (created_at, a timestamp) and `loose` (ordered: false).
    func writeStandardConfig() throws {
        try write("""
            sources:
              - name: app
                type: sqlite
                path: app.db
            destinations:
              - name: warehouse
                type: sqlite
                path: warehouse.db
            resources:
              - name: users
                source: app
                destination: warehouse
                incremental_column: id
                query: "SELECT id, name FROM users WHERE id > :last_value ORDER BY id"
              - name: events
                source: app
                destination: warehouse
                incremental_column: created_at
                query: "SELECT * FROM events WHERE created_at > :last_value ORDER BY created_at"
              - name: loose
                source: app
                destination: warehouse
                incremental_column: id
                ordered: false
                query: "SELECT * FROM loose WHERE id > :last_value"
              - name: other
                source: app
                destination: warehouse
                incremental_column: id
                query: "SELECT * FROM other WHERE id > :last_value ORDER BY id"
            """, to: "ingest.yml")
    }
}
