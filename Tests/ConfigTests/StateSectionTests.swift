import CLI
import State
import Testing

@testable import Config
@testable import Core

/// The top-level `state:` section (SPEC section 5): which backend keeps the state, read with the
/// same keys and errors as a PostgreSQL source, and how `--state-file` and `CONDUIT_STATE_FILE`
/// combine with it.
@Suite struct StateSectionTests {
    /// A PostgreSQL backend keeps libpq's keywords (`database` as `dbname`), interpolates its
    /// password, and takes its schema and table (defaults `conduit`, `conduit_state`).
    @Test func postgresqlSection() throws {
        let yaml =
            base
            + "state:\n  type: postgresql\n  host: db\n  port: 5433\n  database: meta\n  user: conduit\n  password: ${STATE_PW}\n  sslmode: require\n"
        let configuration = try parse(yaml, environment: ["STATE_PW": "s3cret"])
        guard case .database(let settings)? = configuration.state else {
            Issue.record("expected a postgresql state, got \(String(describing: configuration.state))")
            return
        }
        #expect(settings.type == "postgresql" && settings.schema == "conduit" && settings.table == "conduit_state")
        #expect(settings.connection.value(of: "dbname") == "meta")
        #expect(settings.connection.value(of: "password") == "s3cret")
        #expect(settings.connection.value(of: "sslmode") == "require")

        let named = try parse(
            base + "state:\n  type: postgres\n  url: postgresql://u@h/db\n  schema: ops\n  table: loader_state\n")
        guard case .database(let custom)? = named.state else {
            Issue.record("a type alias must choose postgresql")
            return
        }
        #expect(custom.schema == "ops" && custom.table == "loader_state" && custom.connection.url == "postgresql://u@h/db")
    }

    /// A file backend takes a path; without one, the seed's file.
    @Test func fileSection() throws {
        #expect(try parse(base + "state:\n  type: file\n  path: run/state.json\n").state == .file(path: "run/state.json"))
        #expect(try parse(base + "state:\n  type: file\n").state == .file(path: ".conduit_state.json"))
    }

    /// Mistakes name the line and the key, with a suggestion where one is close.
    @Test(arguments: [
        ("state:\n  type: postgresq\n", "ingest.yml:16: state.type: unknown state type 'postgresq' (did you mean 'postgresql'?)"),
        ("state:\n  path: x.json\n", "ingest.yml:16: state: missing required key 'type' (file or postgresql)"),
        ("state:\n  type: file\n  paht: x.json\n", "ingest.yml:17: state.paht: unknown key (did you mean 'path'?)"),
        ("state:\n  type: file\n  host: db\n", "ingest.yml:17: state.host: unknown key (expected type or path)"),
        ("state: .conduit_state.json\n", "ingest.yml:15: state: must be a map of keys and values (name: …), not a single value"),
        (
            "state_file: a.json\nstate:\n  type: file\n",
            "ingest.yml:16: state: 'state_file' (line 15) and 'state' (line 16) both say where the state lives; give one (state: {type: file, path: …})"
        ),
    ])
    func mistakes(yaml: String, expected: String) throws {
        #expect(try problems(base + yaml) == expected)
    }

    /// `--state-file` chooses a file whatever the configuration says; `CONDUIT_STATE_FILE` moves
    /// a file backend but is refused beside a PostgreSQL one (it would silently split the state).
    @Test func overrides() throws {
        let postgres = try parse(base + "state:\n  type: postgresql\n  host: db\n")
        let file = try parse(base + "state:\n  type: file\n  path: a.json\n")
        #expect(
            try ToolContext.stateSettings(explicitPath: "x.json", environment: [:], configuration: postgres)
                == .file(path: "x.json"))
        #expect(
            try ToolContext.stateSettings(explicitPath: nil, environment: ["CONDUIT_STATE_FILE": "b.json"], configuration: file)
                == .file(path: "b.json"))
        #expect(try ToolContext.stateSettings(explicitPath: nil, environment: [:], configuration: file) == .file(path: "a.json"))
        let error = try #require(throws: ConduitError.self) {
            try ToolContext.stateSettings(
                explicitPath: nil, environment: ["CONDUIT_STATE_FILE": "b.json"], configuration: postgres)
        }
        #expect(error.exitStatus == .configuration)
        #expect(error.message.contains("CONDUIT_STATE_FILE is set"))
        #expect(
            try ToolContext.stateSettings(explicitPath: nil, environment: [:], configuration: nil)
                == .file(path: ".conduit_state.json"))
    }
}
