import CLI
import Config
import Extract
import Foundation
import Load
import Testing

/// The shared layers know no connector: no code or message in Core, Stream, Config, State,
/// Extract or Load names a source or destination type (docs/ARCHITECTURE.md, "Adding a
/// destination"). Comments may, as examples; code and its strings may not, so a new
/// destination is its own target and a line in `CLI/Connectors` and nothing else.
@Suite struct ConnectorIndependenceTests {
    static let sharedTargets = ["Core", "Stream", "Config", "State", "Extract", "Load", "HTTP"]

    /// `Sources/Shared`, found from this file's place in the checkout.
    static let sharedSources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/Shared")

    /// Every word `ingest.yml` accepts as a connector's type, and the targets' own names.
    static var connectorNames: [String] {
        let schemas = Connectors.sources.map(\.schema) + Connectors.destinations.map(\.schema)
        let words = schemas.flatMap { [$0.typeName] + $0.typeAliases } + ["libpq", "postgres", "sqlite3", "snowflake"]
        return Array(Set(words.map { $0.lowercased() })).sorted()
    }

    /// A line's code: without a comment that fills the line or ends it.
    static func code(of line: Substring) -> Substring {
        let trimmed = line.drop { $0 == " " }
        if trimmed.hasPrefix("//") { return "" }
        if let comment = line.range(of: " // ") { return line[..<comment.lowerBound] }
        return line
    }

    /// `file:line: name` for each mention of a connector in the code of `text`. A long name
    /// counts anywhere (`isPostgresBuiltin`); a short alias (`pg`) only as a word of its own.
    static func mentions(in text: String, file: String, names: [String]) -> [String] {
        var found: [String] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let code = Self.code(of: line).lowercased()
            let words = Set(code.split { !($0.isLetter || $0.isNumber || $0 == "_") }.map(String.init))
            for name in names where name.count > 4 ? code.contains(name) : words.contains(name) {
                found.append("\(file):\(number + 1): \(name)")
            }
        }
        return found
    }

    /// Guards that the catalog lists what ingest.yml accepts, so the scan below looks for real names.
    @Test func namesComeFromTheConnectors() {
        let names = Self.connectorNames
        for expected in ["postgresql", "sqlite", "snowflake", "pg"] { #expect(names.contains(expected)) }
    }

    /// Guards that the scan finds a mention in code and skips one in a comment.
    @Test func scanFindsCodeAndSkipsComments() {
        let text = """
            /// PostgreSQL, as an example in a comment.
            let kind = "snowflake" // a trailing comment about sqlite
            if source.isPostgresBuiltin { }
            let page = 1
            """
        #expect(
            Self.mentions(in: text, file: "f", names: ["snowflake", "sqlite", "postgres", "pg"])
                == ["f:2: snowflake", "f:3: postgres"])
    }

    /// Guards the rule itself over every Swift file of the shared targets.
    @Test(arguments: sharedTargets) func sharedTargetNamesNoConnector(target: String) throws {
        let folder = Self.sharedSources.appendingPathComponent(target)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".swift") }
        #expect(!files.isEmpty, "no Swift files under \(folder.path)")
        var mentions: [String] = []
        for file in files.sorted() {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            mentions += Self.mentions(in: text, file: "\(target)/\(file)", names: Self.connectorNames)
        }
        #expect(mentions.isEmpty, "connector names in shared code:\n\(mentions.joined(separator: "\n"))")
    }
}
