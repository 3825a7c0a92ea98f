import Foundation
import TestSupport
import Testing

/// The real PostgreSQL that scripts/test.sh starts, as the suites use it: its address in the
/// environment, ingest.yml entries pointing at it, tables made with psql, rows counted.
enum PostgresFixture {
    /// The variables scripts/test.sh exports with the test server's address.
    static let variables = [
        "CONDUIT_TEST_PG_HOST", "CONDUIT_TEST_PG_PORT", "CONDUIT_TEST_PG_USER", "CONDUIT_TEST_PG_PASSWORD",
        "CONDUIT_TEST_PG_DATABASE",
    ]

    /// The server's address from scripts/test.sh, and the same as PG* for psql; a missing one
    /// fails the test (run scripts/test.sh).
    static func environment() throws -> [String: String] {
        let environment = ProcessInfo.processInfo.environment
        var result: [String: String] = [:]
        for key in variables {
            guard let value = environment[key], !value.isEmpty else {
                throw MissingServer(variable: key)
            }
            result[key] = value
        }
        result["PGHOST"] = result["CONDUIT_TEST_PG_HOST"]
        result["PGPORT"] = result["CONDUIT_TEST_PG_PORT"]
        result["PGUSER"] = result["CONDUIT_TEST_PG_USER"]
        result["PGPASSWORD"] = result["CONDUIT_TEST_PG_PASSWORD"]
        result["PGDATABASE"] = result["CONDUIT_TEST_PG_DATABASE"]
        return result
    }

    /// `environment` moved to a fresh database `name` on the same server (dropped first, with
    /// FORCE), for a test whose backends must be told apart from the others'.
    static func freshDatabase(_ name: String, in box: Sandbox, _ environment: [String: String]) throws -> [String: String] {
        // A prepared transaction an earlier, failed run left behind would keep the database from being dropped.
        let created = try box.run(
            """
            psql -qAtc "SELECT gid FROM pg_prepared_xacts WHERE database = '\(name)'" 2>/dev/null | while read -r gid; do
              psql -d \(name) -qc "ROLLBACK PREPARED '$gid'"
            done
            psql -qc 'DROP DATABASE IF EXISTS \(name) WITH (FORCE)' 2>/dev/null
            psql -qc 'CREATE DATABASE \(name)'
            """, environment: environment)
        try #require(created.status == 0, "\(created.stderr)")
        var moved = environment
        moved["CONDUIT_TEST_PG_DATABASE"] = name
        moved["PGDATABASE"] = name
        return moved
    }

    /// How Conduit names the server in its messages: `<database> at <host>:<port>`.
    static func label(_ environment: [String: String]) -> String {
        "\(environment["CONDUIT_TEST_PG_DATABASE"] ?? "") at \(environment["CONDUIT_TEST_PG_HOST"] ?? ""):\(environment["CONDUIT_TEST_PG_PORT"] ?? "")"
    }

    // MARK: - ingest.yml

    /// One `sources:` or `destinations:` list item of type postgresql pointing at the test server
    /// through `${CONDUIT_TEST_PG_*}`, each line indented by `indent`; `extra` lines (`table: t`,
    /// `mode: append`) follow the connection. `password` names the variable holding the password
    /// (the user's document says `${PG_PASSWORD}`); `fallbacks` adds `:-default`s so the file
    /// still loads where no server runs.
    static func entry(
        _ name: String, password: String = "CONDUIT_TEST_PG_PASSWORD", fallbacks: Bool = false, extra: [String] = [],
        indent: String = "  "
    ) -> String {
        func variable(_ key: String, _ fallback: String) -> String { fallbacks ? "${\(key):-\(fallback)}" : "${\(key)}" }
        let lines =
            [
                "- name: \(name)",
                "  type: postgresql",
                "  host: \(variable("CONDUIT_TEST_PG_HOST", "127.0.0.1"))",
                "  port: \(variable("CONDUIT_TEST_PG_PORT", "5432"))",
                "  user: \(variable("CONDUIT_TEST_PG_USER", "postgres"))",
                "  password: \(variable(password, "none"))",
                "  database: \(variable("CONDUIT_TEST_PG_DATABASE", "postgres"))",
            ] + extra.map { "  " + $0 }
        return lines.map { indent + $0 }.joined(separator: "\n")
    }

    /// The password of ``unreachableEntry(_:indent:)``, which no message may show.
    static let unreachablePassword = "secret-never-printed"

    /// A postgresql list item nothing listens for (127.0.0.1, port 1, database `none`).
    static func unreachableEntry(_ name: String, indent: String = "  ") -> String {
        [
            "- name: \(name)",
            "  type: postgresql",
            "  host: 127.0.0.1",
            "  port: 1",
            "  user: nobody",
            "  password: \(unreachablePassword)",
            "  database: none",
        ].map { indent + $0 }.joined(separator: "\n")
    }

    // MARK: - psql

    /// A quoted PostgreSQL identifier.
    static func quote(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    /// Runs `sql` with psql (stopping at the first error, notices silenced), failing the test
    /// when it fails: tables the test needs, rows it adds.
    static func execute(_ sql: String, in box: Sandbox, _ environment: [String: String]) throws {
        let result = try box.run(
            """
            psql -v ON_ERROR_STOP=1 -q <<'SQL'
            SET client_min_messages = warning;
            \(sql)
            SQL
            """, environment: environment)
        try #require(result.status == 0, "\(result.stderr)")
    }

    /// Drops `tables` if they exist, then runs `sql` (which creates what the test needs).
    static func recreate(_ tables: [String], with sql: String, in box: Sandbox, _ environment: [String: String]) throws {
        try execute("DROP TABLE IF EXISTS \(tables.map(quote).joined(separator: ", "));\n\(sql)", in: box, environment)
    }

    /// The unaligned output of `sql` (psql -At, time zone UTC), failing the test when psql fails.
    @discardableResult
    static func query(_ sql: String, in box: Sandbox, _ environment: [String: String]) throws -> String {
        let result = try box.run(
            "psql -v ON_ERROR_STOP=1 -qAt <<'SQL'\nSET TIME ZONE 'UTC';\n\(sql)\nSQL", environment: environment)
        #expect(result.status == 0, "\(sql): \(result.stderr)")
        return result.stdout
    }

    /// `count(*)` of `table` as psql prints it ("6\n").
    static func count(_ table: String, in box: Sandbox, _ environment: [String: String]) throws -> String {
        try query("SELECT count(*) FROM \(quote(table))", in: box, environment)
    }

    /// Rows and distinct ids in `table`; (0, 0) when it does not exist (yet); -1 for what cannot be read.
    static func rowsAndDistinctIDs(
        _ table: String, in box: Sandbox, _ environment: [String: String]
    ) throws -> (rows: Int, distinct: Int) {
        let counts = try box.run(
            "psql -Atqc 'SELECT count(*) || chr(32) || count(DISTINCT id) FROM \(quote(table))' 2>/dev/null || echo 0 0",
            environment: environment
        )
        .stdout.split(separator: " ").map { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }
        return (counts.first ?? -1, counts.dropFirst().first ?? -1)
    }

    /// `name|type` of each column of `table`, in order.
    static func columns(of table: String, in box: Sandbox, _ environment: [String: String]) throws -> String {
        try query(
            "SELECT attname || '|' || format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = to_regclass('\(quote(table).replacingOccurrences(of: "'", with: "''"))') AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            in: box, environment)
    }
}

/// The test server's address is missing: the tests were not started by scripts/test.sh.
struct MissingServer: Error, CustomStringConvertible {
    var variable: String
    var description: String { "\(variable) is not set: run the tests with scripts/test.sh, which starts PostgreSQL" }
}
