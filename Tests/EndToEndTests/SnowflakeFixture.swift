import Foundation
import TestSupport
import Testing

/// The fakesnow server that scripts/test.sh starts (Snowflake's HTTP protocol, emulated on
/// loopback), as the suites use it: ingest.yml entries pointing at it, a fresh database per test
/// (fakesnow cannot drop one), and rows read back through Snowflake's own Python connector.
enum SnowflakeFixture {
    /// The server's port and the virtualenv's python from scripts/test.sh; a missing one fails
    /// the test (run scripts/test.sh).
    static func environment() throws -> [String: String] {
        let environment = ProcessInfo.processInfo.environment
        var result: [String: String] = [:]
        for key in ["CONDUIT_TEST_SNOWFLAKE_PORT", "CONDUIT_TEST_SNOWFLAKE_PYTHON"] {
            guard let value = environment[key], !value.isEmpty else { throw MissingServer(variable: key) }
            result[key] = value
        }
        result["SNOWFLAKE_PASSWORD"] = "fakesnow-accepts-any"
        return result
    }

    /// A database of its own for one test, with schema RAW: `CONDUIT_<prefix>_<random>`.
    static func freshDatabase(_ prefix: String, in box: Sandbox, _ environment: [String: String]) throws -> String {
        let name = "CONDUIT_\(prefix.uppercased())_\(UUID().uuidString.prefix(8).uppercased())"
        try execute(["CREATE DATABASE \(name)", "CREATE SCHEMA \(name).RAW"], database: nil, in: box, environment)
        return name
    }

    /// One `destinations:` item of type snowflake at the fakesnow server, each line indented by
    /// `indent`; `extra` lines (`table: t`, `mode: merge`) follow the connection.
    /// `credentials` replace the password (a key pair's keys, say).
    static func entry(
        _ name: String, database: String, extra: [String] = [], credentials: [String] = ["password: ${SNOWFLAKE_PASSWORD}"],
        indent: String = "  "
    ) -> String {
        let lines =
            [
                "- name: \(name)",
                "  type: snowflake",
                "  account: conduit_test",
                "  user: loader",
            ] + credentials.map { "  " + $0 } + [
                "  database: \(database)",
                "  schema: raw",
                "  warehouse: loading",
                "  host: 127.0.0.1",
                "  port: ${CONDUIT_TEST_SNOWFLAKE_PORT}",
                "  protocol: http",
            ] + extra.map { "  " + $0 }
        return lines.map { indent + $0 }.joined(separator: "\n")
    }

    /// How Conduit names the table in its messages.
    static func label(_ table: String, database: String, _ environment: [String: String]) -> String {
        "\"\(table)\" in \(database).RAW at http://127.0.0.1:\(environment["CONDUIT_TEST_SNOWFLAKE_PORT"] ?? "")"
    }

    /// Runs statements through Snowflake's Python connector, failing the test when one fails.
    static func execute(_ statements: [String], database: String?, in box: Sandbox, _ environment: [String: String]) throws {
        let result = try python(statements, database: database, in: box, environment)
        try #require(result.status == 0, "\(result.stderr)")
    }

    /// The rows of `sql`, one JSON array per line (Python's `json.dumps`, other values as `str()`),
    /// read through Snowflake's Python connector on the same server.
    static func query(_ sql: String, database: String, in box: Sandbox, _ environment: [String: String]) throws -> [String] {
        let result = try python([sql], database: database, in: box, environment, printRows: true)
        #expect(result.status == 0, "\(sql): \(result.stderr)")
        return result.stdout.split(separator: "\n").map(String.init)
    }

    private static func python(
        _ statements: [String], database: String?, in box: Sandbox, _ environment: [String: String], printRows: Bool = false
    ) throws -> Sandbox.Result {
        let script = """
            import json, sys, snowflake.connector
            port = int(sys.argv[1]); database = sys.argv[2] or None; statements = json.loads(sys.argv[3]); print_rows = sys.argv[4] == "1"
            connection = snowflake.connector.connect(user="checker", password="x", account="conduit_test", host="127.0.0.1",
                port=port, protocol="http", database=database, schema="RAW" if database else None)
            cursor = connection.cursor()
            for statement in statements:
                cursor.execute(statement)
                if print_rows:
                    for row in cursor.fetchall():
                        print(json.dumps(list(row), default=str))
            """
        try box.write(script, to: ".snowflake-query.py")
        let encoded = String(decoding: try JSONSerialization.data(withJSONObject: statements), as: UTF8.self)
        return try box.run(
            "\"$CONDUIT_TEST_SNOWFLAKE_PYTHON\" .snowflake-query.py \"$CONDUIT_TEST_SNOWFLAKE_PORT\" \(shellQuoted(database ?? "")) \(shellQuoted(encoded)) \(printRows ? 1 : 0)",
            environment: environment)
    }

    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
