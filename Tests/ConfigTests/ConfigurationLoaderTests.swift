import CLI
import Foundation
import TestSupport
import Testing

@testable import Config
@testable import Core

@Suite struct ConfigurationLoaderTests {
    /// The example ingest.yml of the user's document, verbatim.
    static let seedExample = """
        sources:
          - name: production_db
            type: postgresql
            database: appdb
            user: readonly
            password: ${PG_PASSWORD}
            host: db.example.com
            schema: public

        destinations:
          - name: data_warehouse
            type: snowflake
            # ... snowflake config ...
            table: raw_users
            mode: append # Important for incremental loads

        resources:
          - name: sync_new_users
            source: production_db
            destination: data_warehouse
            incremental_column: id # Track the 'id' column
            query: "SELECT id, name, email, created_at FROM users WHERE id > :last_value ORDER BY id"
            # Mode is implicitly 'incremental' because incremental_column is set
        """

    /// The user's document's ingest.yml loads exactly as written, snowflake destination without
    /// connection keys included.
    @Test func seedExampleLoads() throws {
        let configuration = try parse(Self.seedExample, environment: ["PG_PASSWORD": "s3cr3t-pw"])
        #expect(configuration.path == "ingest.yml")
        #expect(configuration.stateFile == nil)

        let source = try #require(configuration.sources.first)
        #expect(configuration.sources.count == 1)
        #expect(source.name == "production_db")
        #expect(source.type == "postgresql")
        #expect(source.connection.parameters.map(\.keyword) == ["dbname", "user", "password", "host"])
        #expect(source.connection.parameters.map(\.value) == ["appdb", "readonly", "s3cr3t-pw", "db.example.com"])
        #expect(source.connection.schema == "public")
        #expect(source.connection.url == nil)
        #expect(source.connection.description == "dbname=appdb user=readonly password=*** host=db.example.com schema=public")

        let destination = try #require(configuration.destinations.first)
        #expect(
            destination
                == DestinationConfig(
                    name: "data_warehouse", type: "snowflake", connection: ConnectionSettings(), table: "raw_users", mode: .append
                ))

        let resource = try configuration.resource(named: "sync_new_users")
        #expect(
            resource
                == ResourceConfig(
                    name: "sync_new_users", source: "production_db", destination: "data_warehouse",
                    query: "SELECT id, name, email, created_at FROM users WHERE id > :last_value ORDER BY id",
                    incrementalColumn: "id"))
        #expect(resource.isIncremental)
        #expect(resource.ordered)
        #expect(configuration.source(of: resource) == source)
        #expect(configuration.destination(of: resource) == destination)
        #expect(configuration.effectiveTable(of: resource) == "raw_users")
        #expect(configuration.effectiveMode(of: resource) == .append)
        #expect(configuration.effectivePrimaryKey(of: resource) == nil)
        #expect(configuration.effectiveBatchSize(of: resource) == nil)
    }

    /// Without PG_PASSWORD the seed is refused, naming the variable and where it is used.
    @Test func seedExampleNeedsItsPassword() throws {
        #expect(
            try problems(Self.seedExample) == """
                ingest.yml:6: sources[0].password: environment variable 'PG_PASSWORD' is not set (set it, or write ${PG_PASSWORD:-default})
                """)
    }

    /// An unknown resource name suggests the closest one, else lists the names there are.
    @Test func unknownResourceNames() throws {
        let seed = try parse(Self.seedExample, environment: ["PG_PASSWORD": "x"])
        let close = try #require(throws: ConduitError.self) { try seed.resource(named: "sync_new_user") }
        #expect(close == .configuration("ingest.yml: no resource named 'sync_new_user' (did you mean 'sync_new_users'?)"))
        #expect(close.exitStatus == .configuration)
        let far = try #require(throws: ConduitError.self) { try seed.resource(named: "orders") }
        #expect(far.message == "ingest.yml: no resource named 'orders' (it defines sync_new_users)")
        let none = try #require(throws: ConduitError.self) { try Configuration(path: "c.yml").resource(named: "orders") }
        #expect(none.message == "c.yml: no resource named 'orders' (it defines no resources)")
    }

    /// Resource keys override the destination's; the destination's apply otherwise; then the defaults.
    @Test func effectiveLoadOptions() throws {
        let yaml =
            edited(
                "    path: w.db\n",
                """
                    path: w.db
                    table: shared_table
                    mode: merge
                    primary_key: id
                    batch_size: 500

                """) + """
                  - name: events
                    source: app
                    destination: warehouse
                    incremental_column: created_at
                    table: raw_events
                    mode: replace
                    primary_key: [id, region]
                    batch_size: 5000
                    ordered: false
                    query: "SELECT * FROM events WHERE created_at > :last_value"
                """
        let configuration = try parse(yaml)
        let users = try configuration.resource(named: "users")
        #expect(configuration.effectiveTable(of: users) == "shared_table")
        #expect(configuration.effectiveMode(of: users) == .merge)
        #expect(configuration.effectivePrimaryKey(of: users) == ["id"])
        #expect(configuration.effectiveBatchSize(of: users) == 500)
        let events = try configuration.resource(named: "events")
        #expect(configuration.effectiveTable(of: events) == "raw_events")
        #expect(configuration.effectiveMode(of: events) == .replace)
        #expect(configuration.effectivePrimaryKey(of: events) == ["id", "region"])
        #expect(configuration.effectiveBatchSize(of: events) == 5000)
        #expect(!events.ordered)
        let plain = try parse(base)
        let defaults = try plain.resource(named: "users")
        #expect(plain.effectiveTable(of: defaults) == "users")
        #expect(plain.effectiveMode(of: defaults) == .append)
        #expect(plain.effectivePrimaryKey(of: defaults) == nil)
        #expect(plain.effectiveBatchSize(of: defaults) == nil)
    }

    /// initial_value: a plain YAML number keeps its exact digits as a number, anything else
    /// (quoted, a timestamp, a tagged string) is a string; a plain interpolated value is typed
    /// by its text; null means unset.
    @Test(arguments: [
        ("0", StateValue.number("0")),
        ("-5", .number("-5")),
        ("9007199254740993", .number("9007199254740993")),
        ("123456789012345678901234567890", .number("123456789012345678901234567890")),
        ("1.50", .number("1.50")),
        ("1e3", .number("1e3")),
        ("\"100\"", .string("100")),
        ("'100'", .string("100")),
        ("!!str 100", .string("100")),
        ("2024-01-01T00:00:00Z", .string("2024-01-01T00:00:00Z")),
        ("\"2024-01-01 00:00:00+00\"", .string("2024-01-01 00:00:00+00")),
        ("2024-01-01", .string("2024-01-01")),
        ("0x1F", .string("0x1F")),
        ("abc", .string("abc")),
        ("${START}", .number("42")),
        ("\"${START}\"", .string("42")),
        ("${UNSET_START:-1970-01-01}", .string("1970-01-01")),
    ])
    func initialValues(written: String, expected: StateValue) throws {
        let configuration = try parse(base + "    initial_value: \(written)\n", environment: ["START": "42"])
        #expect(configuration.resources.first?.initialValue == expected)
    }

    /// An empty or null initial_value means none.
    @Test(arguments: ["", "~", "null"])
    func nullInitialValue(written: String) throws {
        let configuration = try parse(base + "    initial_value: \(written)\n")
        #expect(configuration.resources.first?.initialValue == nil)
    }

    /// ordered takes YAML's true and false in their three spellings, quoted or from the environment.
    @Test(arguments: [
        ("true", true), ("True", true), ("TRUE", true), ("false", false), ("False", false),
        ("'false'", false), ("${ORDERED}", false), ("~", true),
    ])
    func orderedValues(written: String, expected: Bool) throws {
        let configuration = try parse(base + "    ordered: \(written)\n", environment: ["ORDERED": "false"])
        #expect(configuration.resources.first?.ordered == expected)
    }

    /// Numbers in YAML and interpolated values are strings to the connection (`port: 5432` → "5432").
    @Test func connectionValuesAreStrings() throws {
        let yaml = edited(
            "    type: sqlite\n    path: app.db\n",
            """
                type: postgresql
                host: ${PG_HOST:-localhost}
                port: ${PG_PORT}
                connect_timeout: 5
                sslmode: require
                application_name: "conduit test"
                password: ""

            """)
        let source = try #require(try parse(yaml, environment: ["PG_PORT": "5433"]).sources.first)
        #expect(
            source.connection.parameters.map(\.keyword) == [
                "host", "port", "connect_timeout", "sslmode", "application_name", "password",
            ])
        #expect(source.connection.parameters.map(\.value) == ["localhost", "5433", "5", "require", "conduit test", ""])
        #expect(source.connection.value(of: "port") == "5433")
        #expect(
            source.connection.description
                == "host=localhost port=5433 connect_timeout=5 sslmode=require application_name='conduit test' password=***")
    }

    /// A postgresql url stands alone, beside keys it does not give; snowflake keys keep their names.
    @Test func urlsAndSnowflakeKeys() throws {
        let yaml = edited(
            "    type: sqlite\n    path: app.db\n",
            """
                type: postgresql
                url: postgres://reader:${PG_PASSWORD}@db:5432/app?sslmode=require
                sslmode: verify-full
                schema: sales

            """,
            in: edited(
                "    type: sqlite\n    path: w.db\n",
                """
                    type: snowflake
                    account: xy12345
                    user: loader
                    password: pw
                    database: analytics
                    schema: raw
                    warehouse: load_wh
                    role: loader_role

                """))
        let configuration = try parse(yaml, environment: ["PG_PASSWORD": "hunter2"])
        let source = try #require(configuration.sources.first)
        #expect(source.connection.url == "postgres://reader:hunter2@db:5432/app?sslmode=require")
        #expect(source.connection.parameters.map(\.keyword) == ["sslmode"])
        #expect(source.connection.schema == "sales")
        #expect(
            source.connection.description
                == "url=postgres://reader:***@db:5432/app?sslmode=require sslmode=verify-full schema=sales")
        let destination = try #require(configuration.destinations.first)
        #expect(
            destination.connection.parameters.map(\.keyword) == ["account", "user", "password", "database", "warehouse", "role"])
        #expect(destination.connection.schema == "raw")
        #expect(
            destination.connection.description
                == "account=xy12345 user=loader password=*** database=analytics warehouse=load_wh role=loader_role schema=raw")
    }

    /// YAML anchors, aliases and merge keys work; keys written in the map win over merged ones.
    @Test func anchorsAndMergeKeys() throws {
        let yaml = """
            sources:
              - name: app
                type: sqlite
                path: app.db
            destinations:
              - &defaults
                name: warehouse
                type: sqlite
                path: w.db
                batch_size: 100
              - <<: *defaults
                name: mart
                path: mart.db
            resources:
              - name: users
                source: app
                destination: mart
                incremental_column: id
                query: &q "SELECT * FROM users WHERE id > :last_value"
              - name: users_copy
                source: app
                destination: warehouse
                incremental_column: id
                query: *q
            """
        let configuration = try parse(yaml)
        #expect(configuration.destinations.map(\.name) == ["warehouse", "mart"])
        #expect(configuration.destinations.map(\.connection.path) == ["w.db", "mart.db"])
        #expect(configuration.destinations.map(\.batchSize) == [100, 100])
        #expect(configuration.resources.map(\.query) == Array(repeating: "SELECT * FROM users WHERE id > :last_value", count: 2))
    }

    /// A merge key must merge maps.
    @Test func mergeKeyOfAScalar() throws {
        #expect(
            try problems(edited("  - name: warehouse\n", "  - <<: 5\n    name: warehouse\n"))
                == "ingest.yml:6: destinations[0].<<: a merge key ('<<') takes a map or a list of maps")
    }

    /// Empty or null sections are empty lists; state_file is read; a config with no resources loads.
    @Test func emptySectionsAndStateFile() throws {
        let configuration = try parse("sources:\ndestinations: []\nresources:\nstate_file: ${STATE:-state/conduit.json}\n")
        #expect(configuration == Configuration(path: "ingest.yml", stateFile: "state/conduit.json"))
    }

    /// Keys are never interpolated, and an environment value cannot change the YAML's structure.
    @Test func interpolationIsOnValuesOnly() throws {
        #expect(
            try problems(base + "${KEY}: 1\n", environment: ["KEY": "state_file"])
                == "ingest.yml:15: ${KEY}: unknown key (expected sources, destinations, resources, state or state_file)")
        let injected = "app.db\nresources: []\n  - evil: {}"
        let configuration = try parse(edited("path: app.db", "path: ${APP_DB}"), environment: ["APP_DB": injected])
        #expect(configuration.sources.first?.connection.path == injected)
        #expect(configuration.resources.count == 1)
    }

    /// Interpolation problems are reported at the value's line and key path.
    @Test func interpolationProblemsHaveTheirKeyPath() throws {
        let yaml = edited("path: app.db", "path: ${APP_DB}", in: edited("path: w.db", "path: ${W:-x"))
        #expect(
            try problems(yaml) == """
                ingest.yml:4: sources[0].path: environment variable 'APP_DB' is not set (set it, or write ${APP_DB:-default})
                ingest.yml:8: destinations[0].path: unterminated '${' (close it with '}', or write '$$' for a literal '$')
                """)
    }

    /// A query keeps `$1`-style text and turns `$$` into `$`.
    @Test func queryDollars() throws {
        let yaml = edited(
            "\"SELECT * FROM users WHERE id > :last_value ORDER BY id\"",
            "\"SELECT '$1', '$$$$' FROM users WHERE id > :last_value\"")
        #expect(try parse(yaml).resources.first?.query == "SELECT '$1', '$$' FROM users WHERE id > :last_value")
    }

    /// --config, else $CONDUIT_CONFIG, else ./ingest.yml; empty values count as unset.
    @Test(arguments: [
        ("a.yml" as String?, ["CONDUIT_CONFIG": "b.yml"], "a.yml"),
        (nil, ["CONDUIT_CONFIG": "b.yml"], "b.yml"),
        ("", ["CONDUIT_CONFIG": "b.yml"], "b.yml"),
        (nil, [:], "ingest.yml"),
        (nil, ["CONDUIT_CONFIG": ""], "ingest.yml"),
        ("/etc/conduit/prod.yml", [:], "/etc/conduit/prod.yml"),
    ])
    func locate(explicit: String?, environment: [String: String], expected: String) {
        #expect(ConfigurationLoader.locate(explicitPath: explicit, environment: environment) == expected)
    }

    /// A file on disk loads, with interpolation, and remembers its path.
    @Test func loadsFromDisk() throws {
        let box = try Sandbox()
        let path = try box.write(edited("path: w.db", "path: ${WH:-default.db}"), to: "ingest.yml")
        let configuration = try ConfigurationLoader.load(path: path, environment: [:], connectors: Connectors.catalog)
        #expect(configuration.path == path)
        #expect(configuration.destinations.first?.connection.path == "default.db")
    }

    /// Validation errors from a file name that file.
    @Test func fileErrorsNameTheFile() throws {
        let box = try Sandbox()
        let path = try box.write(base + "    mode: merge\n", to: "prod.yml")
        let error = try #require(throws: ConduitError.self) {
            try ConfigurationLoader.load(path: path, environment: [:], connectors: Connectors.catalog)
        }
        #expect(error.message == "\(path):15: resources[0].mode: merge needs primary_key (the columns that identify a row)")
    }

    /// A missing file is a configuration error naming it and the system's reason.
    @Test func missingFile() throws {
        let box = try Sandbox()
        let path = box.path("nowhere.yml")
        let error = try #require(throws: ConduitError.self) {
            try ConfigurationLoader.load(path: path, environment: [:], connectors: Connectors.catalog)
        }
        #expect(error == .configuration("\(path): cannot read the configuration: No such file or directory"))
        #expect(error.exitStatus.rawValue == 78)
    }

    /// A directory is a configuration error naming it and the system's reason.
    @Test func directoryInsteadOfFile() throws {
        let box = try Sandbox()
        let error = try #require(throws: ConduitError.self) {
            try ConfigurationLoader.load(path: box.folder, environment: [:], connectors: Connectors.catalog)
        }
        #expect(error == .configuration("\(box.folder): cannot read the configuration: Is a directory"))
    }

    /// A file that is not UTF-8 is refused, naming the line.
    @Test func invalidUTF8() throws {
        let box = try Sandbox()
        let path = try box.write(Array("sources: []\nresources: [\"".utf8) + [0xFF] + Array("\"]\n".utf8), to: "bad.yml")
        let error = try #require(throws: ConduitError.self) {
            try ConfigurationLoader.load(path: path, environment: [:], connectors: Connectors.catalog)
        }
        #expect(error == .configuration("\(path):2: the configuration is not valid UTF-8"))
    }
}
