import Foundation
import Testing

/// Raw system calls go through Core's funnel (`SystemCall`, `FileIO`, `ThisProcess`, …): only
/// Core and the targets that wrap a C library import Glibc (docs/ARCHITECTURE.md).
@Suite struct SystemCallFunnelTests {
    static let mayImportGlibc: Set<String> = ["Core", "Postgres", "HTTP"]

    /// The targets under `Sources/Shared` whose Swift files import Glibc, by target name.
    static func targetsImportingGlibc() throws -> [String: [String]] {
        let shared = ConnectorIndependenceTests.sharedSources
        var found: [String: [String]] = [:]
        for target in try FileManager.default.contentsOfDirectory(atPath: shared.path).sorted() {
            let folder = shared.appendingPathComponent(target)
            guard let files = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { continue }
            for file in files.sorted() where file.hasSuffix(".swift") {
                let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                let importsGlibc = text.split(separator: "\n").contains { line in
                    line.split(separator: " ").last == "Glibc" && line.contains("import ")
                        && !line.drop { $0 == " " }.hasPrefix("//")
                }
                if importsGlibc { found[target, default: []].append(file) }
            }
        }
        return found
    }

    /// Guards that the scan sees the funnel itself, so an empty answer below means something.
    @Test func funnelImportsGlibc() throws {
        #expect(try Self.targetsImportingGlibc()["Core"]?.contains("SystemCalls.swift") == true)
    }

    /// Guards the rule over every target.
    @Test func onlyTheFunnelAndCWrappersImportGlibc() throws {
        let outside = try Self.targetsImportingGlibc().filter { !Self.mayImportGlibc.contains($0.key) }
        #expect(outside.isEmpty, "Glibc imported outside Core and the C wrappers: \(outside)")
    }
}
