import Testing

@testable import Config
@testable import Core

@Suite struct KeySuggestionTests {
    /// Typos get the intended word; unrelated words get nothing.
    @Test(arguments: [
        ("incremental_colum", ["name", "query", "incremental_column"], "incremental_column" as String?),
        ("qurey", ["query", "table"], "query"),
        ("postgres", ["postgresql", "sqlite"], "postgresql"),
        ("sqlite3", ["postgresql", "sqlite"], "sqlite"),
        ("Host", ["host", "port"], "host"),
        ("sync_new_user", ["sync_new_users", "sync_orders"], "sync_new_users"),
        ("incremental", ["incremental_column"], "incremental_column"),
        ("ap", ["app"], "app"),
        ("x", ["id"], nil),
        ("port", ["host", "role"], nil),
        ("upsert", ["append", "replace", "merge"], nil),
        ("anything", [], nil),
    ])
    func suggestions(word: String, candidates: [String], expected: String?) {
        #expect(KeySuggestion.closest(to: word, among: candidates) == expected)
    }

    /// Aliases win, but only when their target is a candidate.
    @Test func aliases() {
        #expect(KeySuggestion.closest(to: "pg", among: ["postgresql"], aliases: ["pg": "postgresql"]) == "postgresql")
        #expect(KeySuggestion.closest(to: "PG", among: ["postgresql"], aliases: ["pg": "postgresql"]) == "postgresql")
        #expect(KeySuggestion.closest(to: "pg", among: ["sqlite"], aliases: ["pg": "postgresql"]) == nil)
    }

    /// The distance counts a swap of neighbours as one edit.
    @Test(arguments: [
        ("", "abc", 3), ("abc", "abc", 0), ("abc", "acb", 1), ("kitten", "sitting", 3), ("tpye", "type", 1), ("ca", "abc", 3),
    ])
    func editDistance(left: String, right: String, expected: Int) {
        #expect(KeySuggestion.editDistance(left, right) == expected)
        #expect(KeySuggestion.editDistance(right, left) == expected)
    }

    /// Lists read as English.
    @Test func alternatives() {
        #expect(KeySuggestion.alternatives([]) == "")
        #expect(KeySuggestion.alternatives(["a"]) == "a")
        #expect(KeySuggestion.alternatives(["a", "b"]) == "a or b")
        #expect(KeySuggestion.alternatives(["a", "b", "c"], conjunction: "and") == "a, b and c")
    }
}
