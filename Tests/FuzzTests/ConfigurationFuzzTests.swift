import CLI
import Foundation
import TestSupport
import Testing

@testable import Config
@testable import Core

/// ingest.yml text through `ConfigurationLoader`: mutated files, then the hostile ones — alias
/// bombs ("billion laughs"), merge-key bombs, deeply nested flow collections, a document of a few
/// MB. Properties: no crash, no hang, and every refusal is a configuration error with a message.
@Suite(.serialized) struct ConfigurationFuzzTests {
    static let shortCases = 1_000

    /// The environment `${…}` sees: fake, never the process's.
    static let environment = ["HOME": "/home/fuzz", "PGPASSWORD": "secret", "DW_PASSWORD": "pw", "A": "a", "EMPTY": ""]

    @Test func mutatedConfigurations() throws {
        let corpus = FuzzCorpus.configurations
        try #require(corpus.count >= 4, "the example configurations are missing")
        let folder = try Sandbox()
        let fuzz = FuzzRun(target: "ingest.yml", shortCases: Self.shortCases)
        let tried = fuzz.run { index, random, watch in
            let yaml: [UInt8]
            if index < corpus.count {
                yaml = corpus[index]
            } else {
                let seed = random.pick(corpus) ?? []
                yaml = Mutator.yaml.mutate(seed, others: corpus, random: &random)
            }
            watch(yaml)
            for problem in Self.check(yaml, throughFile: random.oneIn(8), folder: folder) {
                fuzz.fail(problem, index: index, input: yaml)
            }
        }
        #expect(tried > 0)
    }

    /// The hostile documents, each once (they do not depend on the seed), each in a child process
    /// with a deadline. A known bug (``HostileYAML/knownIssues``) is expected to fail: when it is
    /// fixed, the test says so, and the name comes off the list.
    @Test(arguments: HostileYAML.all.map(\.name))
    func hostileConfiguration(name: String) throws {
        let limit: Duration = HostileYAML.knownIssues[name] == nil ? .seconds(90) : .seconds(4)
        let outcome = try ChildProbe.run("hostile:\(name)", limit: limit)
        print("FuzzTests: ingest.yml/\(name): 1 case, \(outcome)")
        if let bug = HostileYAML.knownIssues[name] {
            withKnownIssue(Comment(rawValue: bug)) {
                #expect(outcome == .passed, "ingest.yml/\(name): \(outcome)")
            }
        } else {
            #expect(outcome == .passed, "ingest.yml/\(name): \(outcome)")
        }
    }

    /// Each input kept from an earlier finding (`Tests/Fixtures/Fuzz/*.yml`), in a child process
    /// with a deadline; known bugs are listed in ``HostileYAML/knownIssues`` by file name.
    @Test func keptFindings() throws {
        let fixtures = FuzzCorpus.files(in: FuzzCorpus.fuzzFixturesDirectory, suffix: ".yml")
        try #require(!fixtures.isEmpty, "Tests/Fixtures/Fuzz holds no .yml findings")
        for fixture in fixtures {
            let bug = HostileYAML.knownIssues[fixture.name]
            let outcome = try ChildProbe.run(
                "file:" + FuzzCorpus.fuzzFixturesDirectory.appendingPathComponent(fixture.name).path,
                limit: bug == nil ? .seconds(60) : .seconds(4))
            print("FuzzTests: Fixtures/Fuzz/\(fixture.name): \(outcome)")
            if let bug {
                withKnownIssue(Comment(rawValue: bug)) {
                    #expect(outcome == .passed, "\(fixture.name): \(outcome)")
                }
            } else {
                #expect(outcome == .passed, "\(fixture.name): \(outcome)")
            }
        }
    }

    /// Parses `yaml` as text (`parse(yaml:)`) when it is UTF-8, and from a file (`load(path:)`)
    /// when it is not or when asked; returns the properties broken.
    static func check(_ yaml: [UInt8], throughFile: Bool, folder: Sandbox) -> [String] {
        var problems: [String] = []
        func checked(_ result: Result<Configuration, ConduitError>, _ how: String) {
            guard case .failure(let error) = result else { return }
            if error.message.isEmpty { problems.append("\(how): an error without a message") }
            if error.kind != .configuration {
                problems.append("\(how): a \(error.kind) error, not configuration: \(error.message)")
            }
        }
        let text = String(validating: yaml, as: UTF8.self)
        if let text {
            checked(
                Result { () throws(ConduitError) in
                    try ConfigurationLoader.parse(
                        yaml: text, path: "ingest.yml", environment: environment, connectors: Connectors.catalog)
                }, "ConfigurationLoader.parse")
        }
        if text == nil || throughFile {
            do {
                let path = try folder.write(yaml, to: "ingest.yml")
                checked(
                    Result { () throws(ConduitError) in
                        try ConfigurationLoader.load(path: path, environment: environment, connectors: Connectors.catalog)
                    }, "ConfigurationLoader.load")
            } catch {
                problems.append("could not write the case's file: \(error)")
            }
        }
        return problems
    }
}

/// Documents built to hurt a YAML loader.
enum HostileYAML {
    struct Document: Sendable {
        var name: String
        var make: @Sendable () -> [UInt8]
    }

    static let all: [Document] = [
        // Billion laughs: 9 levels of 9 references, 9^9 "lol"s once expanded.
        Document(name: "alias-bomb-sequence") { Array((laughs() + "sources: *l9\nresources: [*l9]\n").utf8) },
        Document(name: "alias-bomb-in-a-value") { Array((laughs() + base(query: "*l9")).utf8) },
        Document(name: "alias-bomb-unknown-key") { Array((laughs() + base(query: "\"SELECT 1\"") + "extra: *l9\n").utf8) },
        // (Tests/Fixtures/Fuzz/alias-bomb-as-key.yml: the bomb as a mapping key.)
        Document(name: "alias-bomb-map-values") { Array((mapLaughs() + base(query: "*m9")).utf8) },
        // Deeply nested flow collections, balanced and not.
        Document(name: "nested-flow-sequences-1k") { nested("[", "]", depth: 1_000, in: "sources: ", tail: "\n") },
        Document(name: "nested-flow-sequences-10k") { nested("[", "]", depth: 10_000, in: "sources: ", tail: "\n") },
        Document(name: "nested-flow-sequences-100k") { nested("[", "]", depth: 100_000, in: "sources: ", tail: "\n") },
        Document(name: "nested-flow-mappings-10k") { nested("{a: ", "}", depth: 10_000, in: "resources: ", tail: "\n") },
        Document(name: "nested-flow-mappings-100k") { nested("{a: ", "}", depth: 100_000, in: "resources: ", tail: "\n") },
        Document(name: "nested-flow-unclosed-100k") { nested("[", "", depth: 100_000, in: "sources: ", tail: "\n") },
        Document(name: "nested-block-sequences-5k") {
            var text = "sources:\n"
            for level in 0..<5_000 { text += String(repeating: " ", count: level) + "-\n" }
            return Array(text.utf8)
        },
        // A few MB: many resources with long queries, one huge value, many unknown keys, one long key.
        Document(name: "huge-many-resources") {
            var text = base(query: "\"SELECT 1\"")
            let columns = (0..<150).map { "column_\($0)" }.joined(separator: ", ")
            for index in 0..<2_000 {
                text += "  - name: r\(index)\n    source: app\n    destination: warehouse\n    incremental_column: id\n"
                text += "    query: \"SELECT \(columns) FROM t\(index) WHERE id > :last_value ORDER BY id\"\n"
            }
            return Array(text.utf8)
        },
        // 20,000 small resources (3 MB): each name is checked against every earlier one.
        Document(name: "many-resources-20k") {
            var text = base(query: "\"SELECT 1\"")
            for index in 0..<20_000 {
                text += "  - name: r\(index)\n    source: app\n    destination: warehouse\n    incremental_column: id\n"
                text += "    query: \"SELECT * FROM t\(index) WHERE id > :last_value ORDER BY id\"\n"
            }
            return Array(text.utf8)
        },
        Document(name: "huge-single-value") {
            Array(base(query: "\"SELECT '" + String(repeating: "x${A}", count: 600_000) + "' WHERE id > :last_value\"").utf8)
        },
        Document(name: "huge-unknown-keys") {
            var text = base(query: "\"SELECT 1\"")
            for index in 0..<20_000 { text += "    qeury\(index): \(index)\n" }
            return Array(text.utf8)
        },
        Document(name: "huge-long-key") {
            Array((base(query: "\"SELECT 1\"") + "    " + String(repeating: "k", count: 3_000_000) + ": 1\n").utf8)
        },
        Document(name: "huge-many-documents") { Array((String(repeating: "---\na: 1\n", count: 300_000)).utf8) },
    ]

    /// Bugs the fuzzer found and Sources does not fix yet, by hostile document or fixture file name.
    static let knownIssues: [String: String] = [:]

    /// A valid configuration whose single resource's query is `query` (YAML text); a resource may be appended.
    static func base(query: String) -> String {
        BaseConfiguration.text(resources: BaseConfiguration.users(incrementalColumn: nil, query: query))
    }

    /// `l0`…`l9` anchors, each a list of nine references to the one before.
    static func laughs() -> String {
        var text = "l0: &l0 \"lol\"\n"
        for level in 1...9 {
            text += "l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 9).joined(separator: ", ") + "]\n"
        }
        return text
    }

    /// `m0`…`m9` anchors, each a map of nine references to the one before.
    static func mapLaughs() -> String {
        var text = "m0: &m0 \"lol\"\n"
        for level in 1...9 {
            let members = (0..<9).map { "k\($0): *m\(level - 1)" }.joined(separator: ", ")
            text += "m\(level): &m\(level) {\(members)}\n"
        }
        return text
    }

    /// `m0`…`m9` anchors, each a map whose merge key merges nine copies of the one before.
    static func mergeLaughs() -> String {
        var text = "m0: &m0 {name: lol}\n"
        for level in 1...9 {
            text +=
                "m\(level): &m\(level) {<<: [" + Array(repeating: "*m\(level - 1)", count: 9).joined(separator: ", ")
                + "], k\(level): \(level)}\n"
        }
        return text
    }

    static func nested(_ open: String, _ close: String, depth: Int, in prefix: String, tail: String) -> [UInt8] {
        Array((prefix + String(repeating: open, count: depth) + String(repeating: close, count: depth) + tail).utf8)
    }
}
