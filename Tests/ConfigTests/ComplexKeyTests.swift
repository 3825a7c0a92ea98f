import CLI
import Core
import Testing

@testable import Config

/// Keys that are aliases are refused before Yams composes the document (its
/// duplicate-key check hashes such a key whole: exponential for an alias of an alias bomb).
@Suite struct ComplexKeyTests {
    /// Aliases at a key's place, block or flow, or inside an explicit `?` key, name their line.
    @Test(arguments: [
        ("a: &x 1\n*x : 2\n", 2),
        ("a: &x 1\nb:\n  - *x: 3\n", 3),
        ("a: &x 1\nb: {c: 1, *x: 2}\n", 2),
        ("? [*x, *x]\n: 3\n", 1),
        ("list:\n  - ? *y\n    : 1\n", 2),
    ])
    func refusesAliasAndComplexKeys(yaml: String, line: Int) {
        #expect(ConfigurationLoader.complexKeyLine(yaml) == line)
    }

    /// Aliases as values, merge keys, and the same characters in quotes, comments and block
    /// scalars are not keys.
    @Test(arguments: [
        "defaults: &d {type: sqlite}\nsources:\n  - <<: *d\n    name: a\n  - {<<: *d, name: b}\n",
        "query: \"SELECT '*x: 1' FROM t WHERE a = ? \"\n",
        "query: |\n  SELECT *\n  ? *x: 1\n  FROM t\nnext: 1\n",
        "query: >-\n  *x: y\nnext: 1\n",
        "a: 1 # *x: 2\n",
        "list: [*a, *b]\n",
        "? [1, 2]\n: 3\n",
    ])
    func acceptsEverythingElse(yaml: String) {
        #expect(ConfigurationLoader.complexKeyLine(yaml) == nil)
    }

    /// The loader turns such a key into a configuration error naming the file and line.
    @Test func loaderRefusesAliasKeys() {
        do {
            _ = try ConfigurationLoader.parse(
                yaml: "a: &x 1\n*x : 2\n", path: "ingest.yml", environment: [:], connectors: Connectors.catalog)
            Issue.record("an alias key was accepted")
        } catch {
            #expect(error.kind == .configuration)
            #expect(error.message == "ingest.yml:2: keys must be plain names, not aliases (*name)")
        }
    }
}
