import Postgres
import SQLite
import Testing

@testable import Config
@testable import Core

/// Where interpolation put values from the environment, and the query and `initial_value` as
/// `--dry-run` shows them: `${NAME}` as written, never the value.
@Suite struct EnvironmentShownTests {
    let environment = ["A": "alpha", "EMPTY": "", "SECRET": "hunter2-🔑", "DOLLARS": "$$"]

    /// Each value from the environment is one span (UTF-8 offsets, the reference as written); a default that was used is none.
    @Test(arguments: [
        ("x${A}y", [EnvironmentSpan(range: 1..<6, reference: "${A}")]),
        ("é${A:-d}", [EnvironmentSpan(range: 2..<7, reference: "${A:-d}")]),
        ("${EMPTY}.", [EnvironmentSpan(range: 0..<0, reference: "${EMPTY}")]),
        ("${MISSING:-d}${EMPTY:-e}", []),
        ("$$${A}", [EnvironmentSpan(range: 1..<6, reference: "${A}")]),
        ("$${A}", []),
        (
            "${SECRET}${DOLLARS}",
            [
                EnvironmentSpan(range: 0..<12, reference: "${SECRET}"), EnvironmentSpan(range: 12..<14, reference: "${DOLLARS}"),
            ]
        ),
    ])
    func spans(text: String, expected: [EnvironmentSpan]) throws {
        #expect(try EnvironmentInterpolation.expand(text, environment: environment).environmentSpans == expected)
    }

    /// `shown` puts each reference back in place of its value and applies replacements that touch no value.
    @Test func shownText() {
        let spans = [EnvironmentSpan(range: 2..<5, reference: "${X}"), EnvironmentSpan(range: 7..<7, reference: "${E}")]
        #expect(EnvironmentSpan.shown("a=val b", spans: spans) == "a=${X} b${E}")
        #expect(EnvironmentSpan.shown("a=val b", spans: spans, replacing: [(0..<1, "A"), (6..<7, "B")]) == "A=${X} B${E}")
        // A replacement overlapping a value, or holding an empty one inside, is left as written.
        #expect(EnvironmentSpan.shown("a=val b", spans: spans, replacing: [(1..<3, "!")]) == "a=${X} b${E}")
        #expect(
            EnvironmentSpan.shown("ab", spans: [EnvironmentSpan(range: 1..<1, reference: "${E}")], replacing: [(0..<2, "!")])
                == "a${E}b")
        #expect(
            EnvironmentSpan.shown("ab", spans: [EnvironmentSpan(range: 0..<0, reference: "${E}")], replacing: [(0..<2, "!")])
                == "${E}!")
        #expect(EnvironmentSpan.shown("plain", spans: []) == "plain")
    }

    /// An ingest.yml with one SQLite resource whose query and initial_value are `query` and `initial`.
    func resource(query: String, initial: String? = nil) throws -> ResourceConfig {
        let yaml = """
            sources:
              - {name: app, type: sqlite, path: app.db}
            destinations:
              - {name: w, type: sqlite, path: w.db}
            resources:
              - name: users
                source: app
                destination: w
                incremental_column: id
                query: \(query)
            \(initial.map { "    initial_value: \($0)" } ?? "")
            """
        return try parse(yaml, environment: environment).resource(named: "users")
    }

    /// The query runs with the secret, and shows with ${SECRET} as written, `:last_value` as `?1`, `$$` as `$`.
    @Test func shownQueryHidesTheEnvironment() throws {
        let resource = try resource(
            query: #""SELECT '${SECRET}', '$$', '${MISSING:-dflt}' FROM t${EMPTY} WHERE id > :last_value""#)
        #expect(resource.query == "SELECT 'hunter2-🔑', '$', 'dflt' FROM t WHERE id > :last_value")
        let shown = resource.shownQuery(placeholderReplacement: "?1", dialect: .sqlite)
        #expect(shown == "SELECT '${SECRET}', '$', 'dflt' FROM t${EMPTY} WHERE id > ?1")
        #expect(!shown.contains("hunter2"))
    }

    /// A value whose quotes change how the rest of the query lexes: placeholders are found in the query that runs.
    @Test func placeholdersFollowTheQueryThatRuns() throws {
        var environment = environment
        environment["Q"] = "'"
        let yaml = """
            sources:
              - {name: app, type: sqlite, path: app.db}
            destinations:
              - {name: w, type: sqlite, path: w.db}
            resources:
              - name: users
                source: app
                destination: w
                incremental_column: id
                query: "SELECT ${Q} :last_value ${Q}, id FROM t WHERE id > :last_value"
            """
        let resource = try parse(yaml, environment: environment).resource(named: "users")
        #expect(
            resource.shownQuery(placeholderReplacement: "?1", dialect: .sqlite)
                == "SELECT ${Q} :last_value ${Q}, id FROM t WHERE id > ?1")
    }

    /// A `:last_value` that comes from the environment is not replaced, and nothing of the value shows.
    @Test func placeholderInsideAValue() throws {
        var environment = environment
        environment["FILTER"] = "id > :last_value"
        let yaml = """
            sources:
              - {name: app, type: sqlite, path: app.db}
            destinations:
              - {name: w, type: sqlite, path: w.db}
            resources:
              - name: users
                source: app
                destination: w
                incremental_column: id
                query: "SELECT * FROM t WHERE ${FILTER} ORDER BY id"
            """
        let resource = try parse(yaml, environment: environment).resource(named: "users")
        #expect(resource.query == "SELECT * FROM t WHERE id > :last_value ORDER BY id")
        #expect(
            resource.shownQuery(placeholderReplacement: "?1", dialect: .sqlite) == "SELECT * FROM t WHERE ${FILTER} ORDER BY id")
    }

    /// Without the environment the shown query is the rendered query.
    @Test func shownQueryWithoutTheEnvironment() throws {
        let resource = try resource(query: #""SELECT '$$1' FROM t WHERE id > :last_value""#)
        #expect(resource.queryEnvironmentSpans.isEmpty)
        #expect(resource.shownQuery(placeholderReplacement: "$1", dialect: .postgresql) == "SELECT '$1' FROM t WHERE id > $1")
    }

    /// initial_value shows as JSON, with a value from the environment as written.
    @Test(arguments: [
        ("5", "5"),
        ("${A}", #""${A}""#),
        (#""${EMPTY:-2024}-${A}-01""#, #""2024-${A}-01""#),
        (#""2024-05-01""#, #""2024-05-01""#),
    ])
    func shownInitialValue(written: String, shown: String) throws {
        let resource = try resource(query: #""SELECT * FROM t WHERE id > :last_value""#, initial: written)
        #expect(resource.shownInitialValue == shown)
    }

    /// A number from the environment stays a number, and shows as the reference.
    @Test func numberFromTheEnvironment() throws {
        var environment = environment
        environment["START"] = "42"
        let yaml = """
            sources:
              - {name: app, type: sqlite, path: app.db}
            destinations:
              - {name: w, type: sqlite, path: w.db}
            resources:
              - name: users
                source: app
                destination: w
                incremental_column: id
                initial_value: ${START}
                query: "SELECT * FROM t WHERE id > :last_value"
            """
        let resource = try parse(yaml, environment: environment).resource(named: "users")
        #expect(resource.initialValue == .number("42"))
        #expect(resource.shownInitialValue == "${START}")
    }
}
