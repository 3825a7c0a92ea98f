import Foundation

/// A fresh folder under the temporary directory for one test, removed when the last reference
/// goes; it runs shell scripts there with the built executables first on PATH, the way a data
/// engineer runs Conduit: real processes, real pipes.
package final class Sandbox: Sendable {
    /// The folder's absolute path.
    package let folder: String

    /// The folder holding conduit-extract, conduit-load and conduit-state: $CONDUIT_BIN_DIR, else
    /// the folder of the test bundle (SwiftPM builds executables beside it).
    package static let binaryFolder: String = {
        if let configured = ProcessInfo.processInfo.environment["CONDUIT_BIN_DIR"], !configured.isEmpty {
            return configured
        }
        let testBinary =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
        // On Linux the tests run from `<build>/conduitPackageTests.xctest`, a file beside the executables.
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("conduit-state").path), url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url.path
    }()

    /// Creates the folder, `conduit-tests-<UUID>` under the temporary directory.
    package init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("conduit-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    /// What a script did: its exit status and everything it wrote.
    package struct Result {
        package var status: Int32
        package var stdout: String
        package var stderr: String
    }

    /// Runs `script` with bash (`set -o pipefail`) in the sandbox folder.
    @discardableResult
    package func run(_ script: String, environment: [String: String] = [:]) throws -> Result {
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

    /// The path of `name` in the folder.
    package func path(_ name: String) -> String { "\(folder)/\(name)" }

    /// Writes `bytes` to `name` in the folder and returns its path.
    @discardableResult
    package func write(_ bytes: [UInt8], to name: String) throws -> String {
        let file = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    /// Writes `text` (UTF-8) to `name` in the folder and returns its path.
    @discardableResult
    package func write(_ text: String, to name: String) throws -> String {
        try write(Array(text.utf8), to: name)
    }

    /// The text of `name` in the folder.
    package func read(_ name: String) throws -> String {
        try String(contentsOfFile: path(name), encoding: .utf8)
    }

    /// The bytes of `name` in the folder.
    package func contents(of name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }

    /// Whether `name` exists in the folder.
    package func exists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: path(name))
    }

    /// The names in the folder, sorted.
    package func names() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
    }
}
