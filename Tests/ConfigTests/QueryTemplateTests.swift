import Testing
@testable import Shared

@Suite struct QueryTemplateTests {
    /// Only real placeholder tokens are replaced (PostgreSQL lexing).
    @Test(arguments: [
        ("SELECT * FROM t WHERE id > :last_value ORDER BY id", "SELECT * FROM t WHERE id > $1 ORDER BY id"),
        ("WHERE id > :last_value::bigint", "WHERE id > $1::bigint"),
        ("WHERE a > :last_value AND b > :last_value", "WHERE a > $1 AND b > $1"),
        ("SELECT ':last_value', id FROM t WHERE id > :last_value", "SELECT ':last_value', id FROM t WHERE id > $1"),
        ("SELECT 'it''s :last_value' WHERE x > :last_value", "SELECT 'it''s :last_value' WHERE x > $1"),
        (#"SELECT E'\' :last_value' WHERE x > :last_value"#, #"SELECT E'\' :last_value' WHERE x > $1"#),
        ("SELECT $$ :last_value $$ WHERE x > :last_value", "SELECT $$ :last_value $$ WHERE x > $1"),
        ("SELECT $tag$ :last_value $x$ $tag$ WHERE x > :last_value", "SELECT $tag$ :last_value $x$ $tag$ WHERE x > $1"),
        (#"SELECT ":last_value" FROM t WHERE x > :last_value"#, #"SELECT ":last_value" FROM t WHERE x > $1"#),
        ("SELECT 1 -- :last_value\nWHERE x > :last_value", "SELECT 1 -- :last_value\nWHERE x > $1"),
        ("SELECT /* a /* :last_value */ :last_value */ 1 WHERE x > :last_value", "SELECT /* a /* :last_value */ :last_value */ 1 WHERE x > $1"),
        ("SELECT x::last_value, :last_values, a:last_value FROM t", "SELECT x::last_value, :last_values, a:last_value FROM t"),
        ("WHERE id > :last_value", "WHERE id > $1"),
        ("WHERE id>:last_value)", "WHERE id>$1)"),
        ("SELECT $1, '€' WHERE é > :last_value", "SELECT $1, '€' WHERE é > $1"),
    ])
    func postgresql(sql: String, expected: String) {
        #expect(QueryTemplate(sql, dialect: .postgresql).rendered(placeholderReplacement: "$1") == expected)
    }

    /// SQLite: brackets and backticks quote identifiers; there are no E'' or dollar quotes.
    @Test(arguments: [
        ("SELECT [:last_value], `:last_value` FROM t WHERE id > :last_value", "SELECT [:last_value], `:last_value` FROM t WHERE id > ?1"),
        ("SELECT $$ WHERE id > :last_value", "SELECT $$ WHERE id > ?1"),
        ("SELECT /* :last_value */ 1 WHERE x > :last_value", "SELECT /* :last_value */ 1 WHERE x > ?1"),
    ])
    func sqlite(sql: String, expected: String) {
        #expect(QueryTemplate(sql, dialect: .sqlite).rendered(placeholderReplacement: "?1") == expected)
    }

    /// containsPlaceholder is false when the token appears only in literals or comments.
    @Test func detectsAbsence() {
        #expect(!QueryTemplate("SELECT ':last_value' -- :last_value", dialect: .postgresql).containsPlaceholder)
        #expect(QueryTemplate("SELECT 1 WHERE id > :last_value", dialect: .postgresql).placeholderRanges.count == 1)
    }
}
