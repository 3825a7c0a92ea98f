import Foundation
import TestSupport
import Testing

/// `--dry-run` never prints a value from the environment, and a `:last_value` that cannot compare
/// with the incremental column fails the run (exit 65) instead of finding 0 rows silently.
@Suite struct DryRunAndStateValueTests {
    /// The secret a query holds through `${SECRET}`; no output may show it.
    static let secret = "s3cr3t-tenant-👀"

    /// A sandbox with app.db (`users`: INTEGER id, `events`: TIMESTAMP created_at, `notes`: TEXT
    /// key) and an ingest.yml whose resources read them, one query holding `${SECRET}`.
    static func prepare() throws -> Sandbox {
        let box = try Sandbox()
        try box.write(
            BaseConfiguration.text(
                destinationPath: "warehouse.db",
                resources: """
                      - name: users
                        source: app
                        destination: warehouse
                        incremental_column: id
                        query: "SELECT id, name FROM users WHERE id > :last_value ORDER BY id"
                      - name: tenant_users
                        source: app
                        destination: warehouse
                        incremental_column: id
                        initial_value: ${START}
                        query: "SELECT id, name FROM users WHERE name <> '${SECRET}' AND note = '${NOTE:-plain}' AND '$$' = '$$' AND id > :last_value ORDER BY id"
                      - name: events
                        source: app
                        destination: warehouse
                        incremental_column: created_at
                        query: "SELECT * FROM events WHERE created_at > :last_value ORDER BY created_at"
                      - name: notes
                        source: app
                        destination: warehouse
                        incremental_column: key
                        query: "SELECT * FROM notes WHERE key > :last_value ORDER BY key"
                      - name: computed
                        source: app
                        destination: warehouse
                        incremental_column: n
                        query: "SELECT id + 0 AS n FROM users WHERE id + 0 > :last_value ORDER BY n"
                    """), to: "ingest.yml")
        let setup = try box.run(
            """
            sqlite3 app.db <<'SQL'
            CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, note TEXT);
            INSERT INTO users VALUES (1, 'ann', 'plain'), (2, 'bob', 'plain');
            CREATE TABLE events(id INTEGER, created_at TIMESTAMP);
            INSERT INTO events VALUES (1, '2024-05-01 10:00:00'), (2, '2024-05-02 10:00:00');
            CREATE TABLE notes(key TEXT, body TEXT);
            INSERT INTO notes VALUES ('a', 'x'), ('b', 'y');
            SQL
            """)
        try #require(setup.status == 0, "\(setup.stderr)")
        return box
    }

    static let environment = ["SECRET": secret, "START": "0"]

    /// --dry-run shows ${SECRET} and ${START} as written, the used default as itself, $$ as $; stdout exactly, stderr empty.
    @Test func dryRunShowsEnvironmentReferences() throws {
        let box = try Self.prepare()
        let dry = try box.run("conduit-extract --dry-run tenant_users", environment: Self.environment)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(
            dry.stdout == """
                -- resource tenant_users: source app (sqlite)
                -- ?1 = ${START}   from initial_value
                SELECT id, name FROM users WHERE name <> '${SECRET}' AND note = 'plain' AND '$' = '$' AND id > ?1 ORDER BY id

                """)
        #expect(dry.stderr == "")
        #expect(!dry.stdout.contains(Self.secret))
        // The query that runs has the secret's value: no row is named the secret, so both rows come.
        let run = try box.run("conduit-extract tenant_users", environment: Self.environment)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "{\"id\":1,\"name\":\"ann\"}\n{\"id\":2,\"name\":\"bob\"}\n")
        #expect(!run.stderr.contains(Self.secret))
    }

    /// A reference whose variable is set shows as written, default and all, never its value.
    @Test func dryRunHidesASetVariableWithADefault() throws {
        let box = try Self.prepare()
        var environment = Self.environment
        environment["NOTE"] = "n0t3-from-env"
        let dry = try box.run("conduit-extract --dry-run tenant_users", environment: environment)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(
            dry.stdout.hasSuffix("WHERE name <> '${SECRET}' AND note = '${NOTE:-plain}' AND '$' = '$' AND id > ?1 ORDER BY id\n"))
        #expect(!dry.stdout.contains("n0t3-from-env"))
        #expect(!dry.stdout.contains(Self.secret))
    }

    /// A value from the state file shows as itself (it is not from the environment).
    @Test func dryRunShowsTheStateValue() throws {
        let box = try Self.prepare()
        #expect(try box.run("conduit-state set tenant_users 1", environment: Self.environment).status == 0)
        let dry = try box.run("conduit-extract --dry-run tenant_users", environment: Self.environment)
        #expect(dry.stdout.split(separator: "\n").dropFirst().first == "-- ?1 = 1   from the state file .conduit_state.json")
    }

    /// SQLite: `conduit-state set users abc` against INTEGER id exits 65 naming both, and writes no row.
    @Test func sqliteRefusesTextForAnIntegerColumn() throws {
        let box = try Self.prepare()
        #expect(try box.run("conduit-state set users abc", environment: Self.environment).status == 0)
        let run = try box.run("conduit-extract users", environment: Self.environment)
        #expect(run.status == 65)
        #expect(run.stdout == "")
        #expect(
            run.stderr == """
                conduit-extract: error: users: :last_value is the string "abc" (from the state file .conduit_state.json) \
                but the incremental column "id" is INTEGER; fix it with conduit-state set users <number>

                """)
        // A pipeline fails too, and the state stays as it was.
        let pipeline = try box.run(
            "conduit-extract users | conduit-state commit users -- conduit-load users", environment: Self.environment)
        #expect(pipeline.status == 65)
        #expect(try box.read(".conduit_state.json") == "{\n  \"users\": \"abc\"\n}\n")
        #expect(try box.run("conduit-state set users 1", environment: Self.environment).status == 0)
        let fixed = try box.run("conduit-extract users", environment: Self.environment)
        #expect(fixed.status == 0, "\(fixed.stderr)")
        #expect(fixed.stdout == "{\"id\":2,\"name\":\"bob\"}\n")
    }

    /// A string of digits is still a string: the stream's numbers could never be committed over it; the fix names the number.
    @Test func sqliteRefusesADigitStringForAnIntegerColumn() throws {
        let box = try Self.prepare()
        #expect(try box.run(#"conduit-state set users '"1"'"#, environment: Self.environment).status == 0)
        let run = try box.run("conduit-extract users", environment: Self.environment)
        #expect(run.status == 65)
        #expect(
            run.stderr == """
                conduit-extract: error: users: :last_value is the string "1" (from the state file .conduit_state.json) \
                but the incremental column "id" is INTEGER; fix it with conduit-state set users 1

                """)
    }

    /// --last-value of the wrong kind names the option, not the state file.
    @Test func sqliteRefusesALastValueOption() throws {
        let box = try Self.prepare()
        let run = try box.run("conduit-extract --last-value abc users", environment: Self.environment)
        #expect(run.status == 65)
        #expect(
            run.stderr == """
                conduit-extract: error: users: :last_value is the string "abc" (from --last-value) \
                but the incremental column "id" is INTEGER; give --last-value <number>

                """)
    }

    /// initial_value of the wrong kind names ingest.yml, and shows a value from the environment as written.
    @Test func sqliteRefusesAnInitialValueFromTheEnvironment() throws {
        let box = try Self.prepare()
        var environment = Self.environment
        environment["START"] = "s3cr3t-start"
        let run = try box.run("conduit-extract tenant_users", environment: environment)
        #expect(run.status == 65)
        #expect(
            run.stderr == """
                conduit-extract: error: tenant_users: :last_value is the string "${START}" (from initial_value) \
                but the incremental column "id" is INTEGER; fix initial_value of tenant_users in ingest.yml

                """)
    }

    /// A number against a TEXT column exits 65, and the fix is the quoted string.
    @Test func sqliteRefusesANumberForATextColumn() throws {
        let box = try Self.prepare()
        #expect(try box.run("conduit-state set notes 5", environment: Self.environment).status == 0)
        let run = try box.run("conduit-extract notes", environment: Self.environment)
        #expect(run.status == 65)
        #expect(
            run.stderr == """
                conduit-extract: error: notes: :last_value is the number 5 (from the state file .conduit_state.json) \
                but the incremental column "key" is TEXT; fix it with conduit-state set notes '"5"'

                """)
        #expect(try box.run("conduit-state set notes a", environment: Self.environment).status == 0)
        let fixed = try box.run("conduit-extract notes", environment: Self.environment)
        #expect(fixed.status == 0, "\(fixed.stderr)")
        #expect(fixed.stdout == "{\"key\":\"b\",\"body\":\"y\"}\n")
    }

    /// A TIMESTAMP column takes a date or timestamp string, or a number (Unix time); other text exits 65.
    @Test func sqliteTimestampColumns() throws {
        let box = try Self.prepare()
        #expect(try box.run("conduit-state set events yesterday", environment: Self.environment).status == 0)
        let run = try box.run("conduit-extract events", environment: Self.environment)
        #expect(run.status == 65)
        #expect(
            run.stderr == """
                conduit-extract: error: events: :last_value is the string "yesterday" (from the state file .conduit_state.json) \
                but the incremental column "created_at" is TIMESTAMP (a date or timestamp, YYYY-MM-DD…); \
                fix it with conduit-state set events <timestamp, e.g. 2024-05-01T00:00:00Z>

                """)
        #expect(try box.run("conduit-state set events '2024-05-01 12:00:00'", environment: Self.environment).status == 0)
        let later = try box.run("conduit-extract events", environment: Self.environment)
        #expect(later.status == 0, "\(later.stderr)")
        #expect(later.stdout == "{\"id\":2,\"created_at\":\"2024-05-02 10:00:00\"}\n")
        #expect(try box.run("conduit-state set events 0", environment: Self.environment).status == 0)
        let epoch = try box.run("conduit-extract events", environment: Self.environment)
        #expect(epoch.status == 0, "\(epoch.stderr)")
    }

    /// An expression column has no declared type: its values decide, nothing is checked.
    @Test func sqliteExpressionColumnsAreNotChecked() throws {
        let box = try Self.prepare()
        #expect(try box.run("conduit-state set computed abc", environment: Self.environment).status == 0)
        let run = try box.run("conduit-extract computed", environment: Self.environment)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "")
    }

    /// PostgreSQL: `conduit-state set rows abc` against a bigint id exits 65 with the server's message.
    @Test func postgresRefusesTextForABigintColumn() throws {
        let box = try Sandbox()
        let environment = try PostgresFixture.environment()
        try box.write(
            """
            sources:
            \(PostgresFixture.entry("pg"))
            destinations:
              - {name: w, type: sqlite, path: w.db}
            resources:
              - name: rows
                source: pg
                destination: w
                incremental_column: id
                query: "SELECT id FROM dry_state_values WHERE id > :last_value ORDER BY id"
            """, to: "ingest.yml")
        try PostgresFixture.recreate(
            ["dry_state_values"], with: "CREATE TABLE dry_state_values(id bigint); INSERT INTO dry_state_values VALUES (1), (2);",
            in: box, environment)
        #expect(try box.run("conduit-state set rows abc", environment: environment).status == 0)
        let run = try box.run("conduit-extract rows", environment: environment)
        #expect(run.status == 65)
        #expect(run.stdout == "")
        #expect(
            run.stderr == """
                conduit-extract: error: running the query of rows on \(PostgresFixture.label(environment)): \
                invalid input syntax for type bigint: "abc" (SQLSTATE 22P02)

                """)
        #expect(try box.run("conduit-state set rows 1", environment: environment).status == 0)
        let fixed = try box.run("conduit-extract rows", environment: environment)
        #expect(fixed.status == 0, "\(fixed.stderr)")
        #expect(fixed.stdout == "{\"id\":2}\n")
    }
}
