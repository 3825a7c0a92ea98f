import Foundation
import TestSupport
import Testing

/// Runs one hostile input in a child process — this test binary, running only ``FuzzProbe`` — so a
/// hang is killed at a deadline and a crash (a stack overflow, a sanitizer's abort) is reported as
/// an issue of the case instead of ending the whole test run.
enum ChildProbe {
    static let variable = "CONDUIT_FUZZ_PROBE"

    enum Outcome: Equatable, CustomStringConvertible {
        /// Exited 0: the input was taken or refused with a configuration error, in time.
        case passed
        /// Exited non-zero: the probe recorded an issue (its output says which).
        case failed(status: Int32, output: String)
        /// Killed by a signal it raised itself: a crash.
        case crashed(signal: Int32, output: String)
        /// Still running at the deadline: killed.
        case timedOut(Duration)

        var description: String {
            switch self {
            case .passed: "passed"
            case .failed(let status, let output): "failed (exit \(status)): \(output)"
            case .crashed(let signal, let output): "crashed (signal \(signal)): \(output)"
            case .timedOut(let limit): "still running after \(limit) (a hang): killed"
            }
        }
    }

    /// Runs the probe on `subject` ("hostile:NAME" or "file:PATH") with a deadline.
    static func run(_ subject: String, limit: Duration) throws -> Outcome {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("conduit-fuzz-probe-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let output = try FileHandle(forWritingTo: log)
        defer { try? output.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--testing-library", "swift-testing", "--filter", "FuzzTests.FuzzProbe/"]
        var environment = ProcessInfo.processInfo.environment
        environment[variable] = subject
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        try process.run()

        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while process.isRunning && clock.now < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return .timedOut(limit)
        }
        process.waitUntilExit()
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        let tail = String(text.split(separator: "\n").suffix(30).joined(separator: "\n"))
        switch (process.terminationReason, process.terminationStatus) {
        case (.exit, 0): return .passed
        case (.exit, let status): return .failed(status: status, output: tail)
        case (_, let signal): return .crashed(signal: signal, output: tail)
        }
    }
}

/// The child's side of ``ChildProbe``: skipped unless `CONDUIT_FUZZ_PROBE` names an input.
@Suite struct FuzzProbe {
    @Test(.enabled(if: ProcessInfo.processInfo.environment[ChildProbe.variable] != nil))
    func probe() throws {
        let subject = try #require(ProcessInfo.processInfo.environment[ChildProbe.variable])
        let yaml: [UInt8]
        if subject.hasPrefix("hostile:") {
            let name = String(subject.dropFirst("hostile:".count))
            yaml = try #require(HostileYAML.all.first { $0.name == name }, "no hostile document \(name)").make()
        } else {
            let path = String(subject.dropFirst("file:".count))
            yaml = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        }
        let folder = try Sandbox()
        let fuzz = FuzzRun(target: "ingest.yml/\(subject)", shortCases: 1, caseLimit: .seconds(30))
        fuzz.run { index, _, watch in
            watch(yaml)
            for problem in ConfigurationFuzzTests.check(yaml, throughFile: true, folder: folder) {
                fuzz.fail(problem, index: index, input: yaml)
            }
        }
    }
}
