import Postgres
import SQLite
import Testing

@testable import Config
@testable import Core

@Suite struct QueryTemplateTests {
    /// PostgreSQL: only real placeholder tokens are replaced; literals, quoted identifiers,
    /// comments, casts and longer names are left exactly as written.
    @Test(arguments: [
        // The user's document's query.
        (
            "SELECT id, name, email, created_at FROM users WHERE id > :last_value ORDER BY id",
            "SELECT id, name, email, created_at FROM users WHERE id > $1 ORDER BY id"
        ),
        // Casts.
        ("WHERE id > :last_value::bigint", "WHERE id > $1::bigint"),
        ("WHERE ts > (:last_value)::timestamptz", "WHERE ts > ($1)::timestamptz"),
        ("WHERE id > CAST(:last_value AS bigint)", "WHERE id > CAST($1 AS bigint)"),
        ("SELECT x::last_value FROM t", "SELECT x::last_value FROM t"),
        ("SELECT x:::last_value FROM t", "SELECT x:::last_value FROM t"),
        ("SELECT x :: last_value, y::text FROM t WHERE id > :last_value", "SELECT x :: last_value, y::text FROM t WHERE id > $1"),
        // Neighbours.
        ("WHERE a > :last_value AND b > :last_value", "WHERE a > $1 AND b > $1"),
        ("WHERE id>:last_value)", "WHERE id>$1)"),
        (":last_value", "$1"),
        ("WHERE id > :last_value;", "WHERE id > $1;"),
        ("WHERE id > :last_value\n", "WHERE id > $1\n"),
        ("WHERE x IN (:last_value,:last_value)", "WHERE x IN ($1,$1)"),
        // Longer or glued names are not the placeholder.
        (
            "SELECT :last_values, :last_value_2, :last_value$, a:last_value, 1:last_value",
            "SELECT :last_values, :last_value_2, :last_value$, a:last_value, 1:last_value"
        ),
        ("SELECT :last_valueé", "SELECT :last_valueé"),
        ("SELECT :LAST_VALUE, :last_Value", "SELECT :LAST_VALUE, :last_Value"),
        ("SELECT arr[:last_value] FROM t", "SELECT arr[$1] FROM t"),
        // Standard strings: '' inside, a backslash is an ordinary character.
        ("SELECT ':last_value', id FROM t WHERE id > :last_value", "SELECT ':last_value', id FROM t WHERE id > $1"),
        ("SELECT 'it''s :last_value' WHERE x > :last_value", "SELECT 'it''s :last_value' WHERE x > $1"),
        (#"SELECT 'a\' WHERE x > :last_value"#, #"SELECT 'a\' WHERE x > $1"#),
        ("SELECT 'unterminated :last_value", "SELECT 'unterminated :last_value"),
        // E'' strings: backslash escapes and '' both.
        (#"SELECT E'\' :last_value' WHERE x > :last_value"#, #"SELECT E'\' :last_value' WHERE x > $1"#),
        (#"SELECT e'it''s \\' WHERE x > :last_value"#, #"SELECT e'it''s \\' WHERE x > $1"#),
        (#"SELECT E'\\\' :last_value' WHERE x > :last_value"#, #"SELECT E'\\\' :last_value' WHERE x > $1"#),
        // A word ending in e before a quote is not an E'' string.
        (#"SELECT some'\' WHERE x > :last_value"#, #"SELECT some'\' WHERE x > $1"#),
        // Dollar quoting.
        ("SELECT $$ :last_value $$ WHERE x > :last_value", "SELECT $$ :last_value $$ WHERE x > $1"),
        ("SELECT $tag$ :last_value $x$ ' $tag$ WHERE x > :last_value", "SELECT $tag$ :last_value $x$ ' $tag$ WHERE x > $1"),
        ("SELECT $_t1$ :last_value $_t1$, :last_value", "SELECT $_t1$ :last_value $_t1$, $1"),
        ("SELECT $$ :last_value", "SELECT $$ :last_value"),
        ("SELECT $1, a$$b, :last_value", "SELECT $1, a$$b, $1"),
        ("SELECT $1 WHERE x > :last_value", "SELECT $1 WHERE x > $1"),
        // Quoted identifiers.
        (#"SELECT ":last_value" FROM t WHERE x > :last_value"#, #"SELECT ":last_value" FROM t WHERE x > $1"#),
        (#"SELECT "a"":last_value" FROM t WHERE x > :last_value"#, #"SELECT "a"":last_value" FROM t WHERE x > $1"#),
        // Comments.
        ("SELECT 1 -- :last_value\nWHERE x > :last_value", "SELECT 1 -- :last_value\nWHERE x > $1"),
        ("SELECT 1 -- ' unbalanced\nWHERE x > :last_value", "SELECT 1 -- ' unbalanced\nWHERE x > $1"),
        (
            "SELECT /* a /* :last_value */ :last_value */ 1 WHERE x > :last_value",
            "SELECT /* a /* :last_value */ :last_value */ 1 WHERE x > $1"
        ),
        ("SELECT /* ' */ :last_value", "SELECT /* ' */ $1"),
        ("SELECT 1 /* :last_value", "SELECT 1 /* :last_value"),
        ("SELECT 1 - -:last_value", "SELECT 1 - -$1"),
        ("SELECT 4/:last_value", "SELECT 4/$1"),
        // Non-ASCII text around.
        ("SELECT '€', \"ïd\" FROM t WHERE é > :last_value", "SELECT '€', \"ïd\" FROM t WHERE é > $1"),
        ("SELECT 'ü' || :last_value || 'ü'", "SELECT 'ü' || $1 || 'ü'"),
    ])
    func postgresql(sql: String, expected: String) {
        #expect(QueryTemplate(sql, dialect: .postgresql).rendered(placeholderReplacement: "$1") == expected)
    }

    /// SQLite: brackets and backticks quote identifiers, comments do not nest, and there are no
    /// E'' strings or dollar quotes.
    @Test(arguments: [
        ("SELECT * FROM t WHERE id > :last_value ORDER BY id", "SELECT * FROM t WHERE id > ?1 ORDER BY id"),
        (
            "SELECT [:last_value], `:last_value` FROM t WHERE id > :last_value",
            "SELECT [:last_value], `:last_value` FROM t WHERE id > ?1"
        ),
        ("SELECT `a``:last_value` FROM t WHERE id > :last_value", "SELECT `a``:last_value` FROM t WHERE id > ?1"),
        ("SELECT ':last_value', \":last_value\" WHERE id > :last_value", "SELECT ':last_value', \":last_value\" WHERE id > ?1"),
        ("SELECT 'it''s' WHERE id > :last_value", "SELECT 'it''s' WHERE id > ?1"),
        // No dollar quotes: the text between $$ is code.
        ("SELECT $$ WHERE id > :last_value", "SELECT $$ WHERE id > ?1"),
        // No E'' strings: a backslash ends nothing, the quote closes the string.
        (#"SELECT E'\' WHERE id > :last_value"#, #"SELECT E'\' WHERE id > ?1"#),
        // Comments: -- to the end of the line, /* */ without nesting.
        ("SELECT /* :last_value */ 1 WHERE x > :last_value", "SELECT /* :last_value */ 1 WHERE x > ?1"),
        ("SELECT /* /* */ :last_value */", "SELECT /* /* */ ?1 */"),
        ("SELECT 1 -- :last_value\nWHERE x > :last_value", "SELECT 1 -- :last_value\nWHERE x > ?1"),
        ("SELECT x::last_value, :last_values WHERE y = :last_value", "SELECT x::last_value, :last_values WHERE y = ?1"),
        ("SELECT [unterminated :last_value", "SELECT [unterminated :last_value"),
    ])
    func sqlite(sql: String, expected: String) {
        #expect(QueryTemplate(sql, dialect: .sqlite).rendered(placeholderReplacement: "?1") == expected)
    }

    /// The ranges point at exactly the tokens, in order, even after multi-byte characters.
    @Test func rangesCoverTheTokens() {
        let sql = "SELECT 'é' WHERE a > :last_value AND b < :last_value::int"
        let template = QueryTemplate(sql, dialect: .postgresql)
        #expect(template.placeholderRanges.count == 2)
        #expect(template.placeholderRanges.allSatisfy { sql[$0] == ":last_value" })
        #expect(template.placeholderRanges[0].lowerBound < template.placeholderRanges[1].lowerBound)
        #expect(template.sql == sql)
        #expect(template.dialect == .postgresql)
    }

    /// containsPlaceholder is false when the token appears only in literals, identifiers or comments.
    @Test(arguments: [
        "SELECT ':last_value' -- :last_value",
        "SELECT \":last_value\" /* :last_value */",
        "SELECT $q$:last_value$q$",
        "SELECT x::last_value",
        "SELECT 1",
        "",
    ])
    func detectsAbsence(sql: String) {
        let template = QueryTemplate(sql, dialect: .postgresql)
        #expect(!template.containsPlaceholder)
        #expect(template.placeholderRanges.isEmpty)
        #expect(template.rendered(placeholderReplacement: "$1") == sql)
    }

    /// The replacement text is inserted as given, and the rest of the query is untouched.
    @Test func renderingUsesTheReplacement() {
        let template = QueryTemplate("a :last_value b :last_value c", dialect: .sqlite)
        #expect(template.rendered(placeholderReplacement: "?1") == "a ?1 b ?1 c")
        #expect(template.rendered(placeholderReplacement: "") == "a  b  c")
        #expect(template.rendered(placeholderReplacement: ":last_value") == "a :last_value b :last_value c")
    }

    /// Each source type lexes its own dialect.
    @Test func sourceTypesNameTheirDialect() {
        #expect(PostgresConnector().schema.queryDialect == .postgresql)
        #expect(SQLiteConnector().schema.queryDialect == .sqlite)
    }
}
