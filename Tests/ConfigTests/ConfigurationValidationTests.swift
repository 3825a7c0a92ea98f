import CLI
import Testing

@testable import Config
@testable import Core

/// Every validation error, with the exact message: `FILE:LINE: KEY.PATH: reason`.
@Suite struct ConfigurationValidationTests {
    /// The base configuration the cases below break is itself valid.
    @Test func baseIsValid() throws {
        let configuration = try parse(base)
        #expect(configuration.sources.map(\.name) == ["app"])
        #expect(configuration.destinations.map(\.name) == ["warehouse"])
        #expect(configuration.resources.map(\.name) == ["users"])
    }

    static let unknownKeysCases: [(String, String)] = [
        (
            edited("    incremental_column: id", "    incremental_colum: id"),
            "ingest.yml:13: resources[0].incremental_colum: unknown key (did you mean 'incremental_column'?)"
        ),
        (
            edited("  - name: users", "  - nmae: users"),
            "ingest.yml:10: resources[0].nmae: unknown key (did you mean 'name'?)"
        ),
        (
            edited("    query: \"SELECT", "    qurey: \"SELECT"),
            "ingest.yml:14: resources[0].qurey: unknown key (did you mean 'query'?)"
        ),
        (
            edited("    path: app.db", "    pth: app.db"),
            "ingest.yml:4: sources[0].pth: unknown key (did you mean 'path'?)"
        ),
        (
            edited("    type: sqlite\n    path: app.db", "    tpye: sqlite\n    path: app.db"),
            "ingest.yml:3: sources[0].tpye: unknown key (did you mean 'type'?)"
        ),
        (base + "    Mode: append\n", "ingest.yml:15: resources[0].Mode: unknown key (did you mean 'mode'?)"),
        (base + "    sql: SELECT 1\n", "ingest.yml:15: resources[0].sql: unknown key (did you mean 'query'?)"),
        (base + "    host: db\n", "ingest.yml:15: resources[0].host: unknown key ('host' belongs in sources or destinations)"),
        (base + "    frobnicate: yes\n", "ingest.yml:15: resources[0].frobnicate: unknown key"),
        (
            edited("    path: app.db\n", "    path: app.db\n    query: SELECT 1\n"),
            "ingest.yml:5: sources[0].query: unknown key ('query' belongs in resources)"
        ),
        (
            edited("    path: app.db\n", "    path: app.db\n    table: t\n"),
            "ingest.yml:5: sources[0].table: unknown key ('table' belongs in destinations or resources)"
        ),
    ]

    /// Unknown keys name the closest valid key, or where the key belongs; one typo is one error.
    @Test(arguments: unknownKeysCases)
    func unknownKeys(yaml: String, expected: String) throws {
        #expect(try problems(yaml) == expected)
    }

    static let keysForOtherTypesCases: [(String, String)] = [
        (
            edited("    path: app.db\n", "    path: app.db\n    host: x\n"),
            "ingest.yml:5: sources[0].host: not a key of sqlite sources ('host' applies to postgresql sources)"
        ),
        (
            edited("    path: w.db\n", "    path: w.db\n    schema: main\n"),
            "ingest.yml:9: destinations[0].schema: not a key of sqlite destinations ('schema' applies to postgresql and snowflake destinations)"
        ),
        (
            edited("    type: sqlite\n    path: app.db", "    type: postgresql\n    path: app.db"),
            "ingest.yml:4: sources[0].path: not a key of postgresql sources ('path' applies to sqlite sources)"
        ),
        (
            edited("    type: sqlite\n    path: w.db", "    type: postgresql\n    account: xy12345"),
            "ingest.yml:8: destinations[0].account: not a key of postgresql destinations ('account' applies to snowflake destinations)"
        ),
        (
            edited("    type: sqlite\n    path: w.db", "    type: snowflake\n    sslmode: require"),
            "ingest.yml:8: destinations[0].sslmode: not a key of snowflake destinations ('sslmode' applies to postgresql destinations)"
        ),
        (
            edited("    type: sqlite\n    path: app.db", "    type: postgresql\n    username: reader"),
            "ingest.yml:4: sources[0].username: unknown key (did you mean 'user'?)"
        ),
        (
            edited("    type: sqlite\n    path: app.db", "    type: postgresql\n    sslmod: require"),
            "ingest.yml:4: sources[0].sslmod: unknown key (did you mean 'sslmode'?)"
        ),
    ]

    /// Keys that only some types take are refused on the others, saying which types take them.
    @Test(arguments: keysForOtherTypesCases)
    func keysForOtherTypes(yaml: String, expected: String) throws {
        #expect(try problems(yaml) == expected)
    }

    static let typesCases: [(String, String)] = [
        (
            edited("    type: sqlite\n    path: app.db", "    type: postgres"),
            "ingest.yml:3: sources[0].type: unknown type 'postgres' (did you mean 'postgresql'?)"
        ),
        (
            edited("    type: sqlite\n    path: app.db", "    type: pg"),
            "ingest.yml:3: sources[0].type: unknown type 'pg' (did you mean 'postgresql'?)"
        ),
        (
            edited("    type: sqlite\n    path: app.db", "    type: PostgreSQL"),
            "ingest.yml:3: sources[0].type: unknown type 'PostgreSQL' (did you mean 'postgresql'?)"
        ),
        (
            edited("    type: sqlite\n    path: app.db", "    type: mysql"),
            "ingest.yml:3: sources[0].type: unknown type 'mysql' (expected postgresql or sqlite)"
        ),
        (
            edited("    type: sqlite\n    path: w.db", "    type: bigquery"),
            "ingest.yml:7: destinations[0].type: unknown type 'bigquery' (expected postgresql, sqlite or snowflake)"
        ),
        (
            edited("    type: sqlite\n    path: w.db", "    type: snowflak"),
            "ingest.yml:7: destinations[0].type: unknown type 'snowflak' (did you mean 'snowflake'?)"
        ),
        (
            edited("    type: sqlite\n    path: app.db\n", ""),
            "ingest.yml:2: sources[0]: missing required key 'type' (postgresql or sqlite)"
        ),
        (
            edited("    type: sqlite\n    path: w.db\n", ""),
            "ingest.yml:6: destinations[0]: missing required key 'type' (postgresql, sqlite or snowflake)"
        ),
        (
            edited("    type: sqlite\n    path: app.db", "    type:"),
            "ingest.yml:3: sources[0].type: must not be empty (postgresql or sqlite)"
        ),
    ]

    /// A missing or unknown type is refused, suggesting the closest type.
    @Test(arguments: typesCases)
    func types(yaml: String, expected: String) throws {
        #expect(try problems(yaml) == expected)
    }

    static let namesCases: [(String, String)] = [
        (
            edited("  - name: app\n    type: sqlite", "  - type: sqlite"),
            """
            ingest.yml:2: sources[0]: missing required key 'name' (what the source is called)
            ingest.yml:10: resources[0].source: no source named 'app' (no sources are defined)
            """
        ),
        (
            edited("  - name: warehouse", "  - name: \"\""),
            """
            ingest.yml:6: destinations[0].name: must not be empty (what the destination is called)
            ingest.yml:12: resources[0].destination: no destination named 'warehouse' (no destinations are defined)
            """
        ),
        (
            base + "  - name: users\n    source: app\n    destination: warehouse\n    query: SELECT 1\n",
            "ingest.yml:15: resources[1].name: another resource is already named 'users' (line 10)"
        ),
        (
            edited("destinations:\n", "  - name: app\n    type: sqlite\n    path: other.db\ndestinations:\n"),
            "ingest.yml:5: sources[1].name: another source is already named 'app' (line 2)"
        ),
    ]

    /// Names: required, not empty, unique within their section.
    @Test(arguments: namesCases)
    func names(yaml: String, expected: String) throws {
        #expect(try problems(yaml) == expected)
    }

    static let referencesCases: [(String, String)] = [
        (
            edited("    source: app\n", "    source: ap\n"),
            "ingest.yml:11: resources[0].source: no source named 'ap' (did you mean 'app'?)"
        ),
        (
            edited("    source: app\n", "    source: billing\n"),
            "ingest.yml:11: resources[0].source: no source named 'billing' (the sources are 'app')"
        ),
        (
            edited("    destination: warehouse\n", "    destination: warehose\n"),
            "ingest.yml:12: resources[0].destination: no destination named 'warehose' (did you mean 'warehouse'?)"
        ),
        (
            edited(
                "    destination: warehouse\n", "    destination: lake\n",
                in: edited("destinations:\n", "destinations:\n  - name: mart\n    type: sqlite\n    path: m.db\n")),
            "ingest.yml:15: resources[0].destination: no destination named 'lake' (the destinations are 'mart' and 'warehouse')"
        ),
        (
            edited("    source: app\n", ""),
            "ingest.yml:10: resources[0]: missing required key 'source' (the name of the source to read from)"
        ),
        (
            edited("    destination: warehouse\n", ""),
            "ingest.yml:10: resources[0]: missing required key 'destination' (the name of the destination to write to)"
        ),
    ]

    /// A resource must name a source and a destination that exist; the closest name is suggested,
    /// else the names there are.
    @Test(arguments: referencesCases)
    func references(yaml: String, expected: String) throws {
        #expect(try problems(yaml) == expected)
    }

    static let queriesCases: [(String, String)] = [
        (
            edited("    query: \"SELECT * FROM users WHERE id > :last_value ORDER BY id\"\n", ""),
            "ingest.yml:10: resources[0]: missing required key 'query' (the SQL that selects the rows)"
        ),
        (
            edited("\"SELECT * FROM users WHERE id > :last_value ORDER BY id\"", "\"\""),
            "ingest.yml:14: resources[0].query: must not be empty (the SQL that selects the rows)"
        ),
        (
            edited(" \"SELECT * FROM users WHERE id > :last_value ORDER BY id\"", ""),
            "ingest.yml:14: resources[0].query: must not be empty (the SQL that selects the rows)"
        ),
        (
            edited("\"SELECT * FROM users WHERE id > :last_value ORDER BY id\"", "\"  \""),
            "ingest.yml:14: resources[0].query: must not be empty (the SQL that selects the rows)"
        ),
        (
            edited("WHERE id > :last_value ORDER BY id", "ORDER BY id"),
            "ingest.yml:14: resources[0].query: has no :last_value placeholder, which an incremental resource needs (e.g. WHERE id > :last_value)"
        ),
        (
            edited("WHERE id > :last_value", "WHERE note = ':last_value' -- :last_value"),
            "ingest.yml:14: resources[0].query: has no :last_value placeholder, which an incremental resource needs (e.g. WHERE id > :last_value)"
        ),
        (
            edited("WHERE id > :last_value", "WHERE id > [:last_value]"),
            "ingest.yml:14: resources[0].query: has no :last_value placeholder, which an incremental resource needs (e.g. WHERE id > :last_value)"
        ),
        (
            edited(
                "    incremental_column: id", "    incremental_column: updated_at",
                in: edited("WHERE id > :last_value", "WHERE x::last_value")),
            "ingest.yml:14: resources[0].query: has no :last_value placeholder, which an incremental resource needs (e.g. WHERE updated_at > :last_value)"
        ),
        (
            edited("    incremental_column: id\n", ""),
            "ingest.yml:13: resources[0].query: uses :last_value but the resource has no incremental_column"
        ),
        (
            edited("    incremental_column: id", "    incremental_column: \"\""),
            "ingest.yml:13: resources[0].incremental_column: must not be empty"
        ),
    ]

    /// The query must be there, not empty, and match incremental_column: :last_value exactly
    /// when the resource is incremental (lexed in the source's dialect).
    @Test(arguments: queriesCases)
    func queries(yaml: String, expected: String) throws {
        #expect(try problems(yaml) == expected)
    }

    /// The dialect is the source's: `$q$…$q$` hides the placeholder from PostgreSQL but not from
    /// SQLite. (In YAML `$$` is interpolation's literal `$`, so `$$…$$` is written `$$$$…$$$$`.)
    @Test func queryIsLexedInTheSourceDialect() throws {
        let query = "\"SELECT * FROM users WHERE id > :last_value ORDER BY id\""
        let dollarQuoted = "\"SELECT $q$ :last_value $q$, $$$$ :last_value $$$$\""
        let sqlite = try parse(edited(query, dollarQuoted))
        #expect(sqlite.resources.first?.query == "SELECT $q$ :last_value $q$, $$ :last_value $$")
        let postgres = edited(
            query, dollarQuoted, in: edited("    type: sqlite\n    path: app.db", "    type: postgresql\n    host: db"))
        #expect(
            try problems(postgres)
                == "ingest.yml:14: resources[0].query: has no :last_value placeholder, which an incremental resource needs (e.g. WHERE id > :last_value)"
        )
    }

    static let loadOptionsCases: [(String, String)] = [
        (
            base + "    mode: merge\n",
            "ingest.yml:15: resources[0].mode: merge needs primary_key (the columns that identify a row)"
        ),
        (
            edited("    path: w.db\n", "    path: w.db\n    mode: merge\n"),
            "ingest.yml:13: resources[0].destination: destination 'warehouse' has mode merge, which needs primary_key (set it here or on the destination)"
        ),
        (base + "    mode: upsert\n", "ingest.yml:15: resources[0].mode: unknown mode 'upsert' (did you mean 'merge'?)"),
        (base + "    mode: apend\n", "ingest.yml:15: resources[0].mode: unknown mode 'apend' (did you mean 'append'?)"),
        (
            base + "    mode: incremental\n",
            "ingest.yml:15: resources[0].mode: unknown mode 'incremental' (did you mean 'append'?)"
        ),
        (
            base + "    mode: sideways\n",
            "ingest.yml:15: resources[0].mode: unknown mode 'sideways' (expected append, replace or merge)"
        ),
        (
            edited("    path: w.db\n", "    path: w.db\n    mode: Replace\n"),
            "ingest.yml:9: destinations[0].mode: unknown mode 'Replace' (did you mean 'replace'?)"
        ),
        (base + "    batch_size: 0\n", "ingest.yml:15: resources[0].batch_size: must be a positive integer, not '0'"),
        (base + "    batch_size: -5\n", "ingest.yml:15: resources[0].batch_size: must be a positive integer, not '-5'"),
        (base + "    batch_size: 1.5\n", "ingest.yml:15: resources[0].batch_size: must be a positive integer, not '1.5'"),
        (base + "    batch_size: lots\n", "ingest.yml:15: resources[0].batch_size: must be a positive integer, not 'lots'"),
        (
            base + "    batch_size: 99999999999999999999\n",
            "ingest.yml:15: resources[0].batch_size: must be a positive integer, not '99999999999999999999'"
        ),
        (
            edited("    path: w.db\n", "    path: w.db\n    batch_size: 1e3\n"),
            "ingest.yml:9: destinations[0].batch_size: must be a positive integer, not '1e3'"
        ),
        (base + "    ordered: maybe\n", "ingest.yml:15: resources[0].ordered: must be true or false, not 'maybe'"),
        (base + "    ordered: 1\n", "ingest.yml:15: resources[0].ordered: must be true or false, not '1'"),
        (base + "    ordered: [true]\n", "ingest.yml:15: resources[0].ordered: must be a single value, not a list"),
        (base + "    primary_key: []\n", "ingest.yml:15: resources[0].primary_key: must name at least one column"),
        (base + "    primary_key: \"\"\n", "ingest.yml:15: resources[0].primary_key: must not be empty"),
        (base + "    primary_key: [id, id]\n", "ingest.yml:15: resources[0].primary_key[1]: names 'id' a second time"),
        (
            base + "    primary_key: [id, [a, b]]\n",
            "ingest.yml:15: resources[0].primary_key[1]: must be a single value, not a list"
        ),
        (
            base + "    primary_key:\n      - id\n      - ''\n",
            "ingest.yml:17: resources[0].primary_key[1]: must be a column name, not empty"
        ),
        (base + "    primary_key: {id: 1}\n", "ingest.yml:15: resources[0].primary_key: must be a single value, not a map"),
        (base + "    table: \"\"\n", "ingest.yml:15: resources[0].table: must not be empty"),
        (base + "    initial_value: [1, 2]\n", "ingest.yml:15: resources[0].initial_value: must be a single value, not a list"),
        (base + "    initial_value: {at: 1}\n", "ingest.yml:15: resources[0].initial_value: must be a single value, not a map"),
        (
            edited("    incremental_column: id\n", "    initial_value: 5\n", in: edited(" > :last_value", " > 5")),
            "ingest.yml:13: resources[0].initial_value: only applies to an incremental resource (one with incremental_column)"
        ),
    ]

    /// mode, primary_key, batch_size, ordered, table and initial_value are checked where they are written.
    @Test(arguments: loadOptionsCases)
    func loadOptions(yaml: String, expected: String) throws {
        #expect(try problems(yaml) == expected)
    }

    static let connectionsCases: [(String, String)] = [
        (edited("    path: app.db\n", ""), "ingest.yml:2: sources[0]: a sqlite source needs 'path' (the database file)"),
        (edited("    path: w.db\n", ""), "ingest.yml:6: destinations[0]: a sqlite destination needs 'path' (the database file)"),
        (edited("    path: app.db\n", "    path:\n"), "ingest.yml:4: sources[0].path: must not be empty (the database file)"),
        (
            edited(
                "    type: sqlite\n    path: w.db\n",
                "    type: postgresql\n    url: postgresql://u:pw@h/db\n    user: u\n    sslmode: require\n    password: hunter2\n    port: 5433\n"
            ),
            """
            ingest.yml:9: destinations[0].user: cannot be combined with 'url' (give the connection either as a url or as separate keys)
            ingest.yml:11: destinations[0].password: cannot be combined with 'url' (give the connection either as a url or as separate keys)
            ingest.yml:12: destinations[0].port: cannot be combined with 'url' (give the connection either as a url or as separate keys)
            """
        ),
        (
            edited("    type: sqlite\n    path: app.db\n", "    type: postgresql\n    url: mysql://u:pw@h/db\n"),
            "ingest.yml:4: sources[0].url: must be a libpq connection URI (postgresql://user@host:port/database)"
        ),
        (
            edited("    type: sqlite\n    path: app.db\n", "    type: postgresql\n    database: a\n    dbname: b\n"),
            "ingest.yml:5: sources[0].dbname: 'dbname' and 'database' (line 4) are the same setting; give one"
        ),
        (
            edited("    type: sqlite\n    path: app.db\n", "    type: postgresql\n    host: [a, b]\n"),
            "ingest.yml:4: sources[0].host: must be a single value, not a list"
        ),
        (
            edited("    type: sqlite\n    path: app.db\n", "    type: postgresql\n    password:\n      value: x\n"),
            "ingest.yml:5: sources[0].password: must be a single value, not a map"
        ),
    ]

    /// Connection keys: sqlite needs path; a postgresql url excludes the keys it already gives;
    /// database and dbname are one setting.
    @Test(arguments: connectionsCases)
    func connections(yaml: String, expected: String) throws {
        #expect(try problems(yaml) == expected)
    }

    static let documentShapeCases: [(String, String)] = [
        ("", "ingest.yml:1: the file is empty; it needs sources, destinations and resources"),
        ("# only a comment\n", "ingest.yml:1: the file is empty; it needs sources, destinations and resources"),
        ("- a\n- b\n", "ingest.yml:1: the top level must be a map with sources, destinations and resources"),
        ("hello\n", "ingest.yml:1: the top level must be a map with sources, destinations and resources"),
        (base + "sorces: []\n", "ingest.yml:15: sorces: unknown key (did you mean 'sources'?)"),
        (base + "state_fle: s.json\n", "ingest.yml:15: state_fle: unknown key (did you mean 'state_file'?)"),
        (
            base + "extra: 1\n",
            "ingest.yml:15: extra: unknown key (expected sources, destinations, resources, state or state_file)"
        ),
        (base + "state_file: [a]\n", "ingest.yml:15: state_file: must be a single value, not a list"),
        (base + "state_file: ''\n", "ingest.yml:15: state_file: must not be empty"),
        (
            "sources:\n  name: app\n  type: sqlite\n",
            "ingest.yml:2: sources: must be a list of sources, each entry starting with '- name: …'"
        ),
        ("resources: SELECT 1\n", "ingest.yml:1: resources: must be a list of resources, each entry starting with '- name: …'"),
        ("sources:\n  - app\n", "ingest.yml:2: sources[0]: must be a map of keys and values (name: …), not a single value"),
        ("destinations:\n  - [a, b]\n", "ingest.yml:2: destinations[0]: must be a map of keys and values (name: …), not a list"),
        ("resources:\n  -\n", "ingest.yml:2: resources[0]: is empty; it needs keys and values (name: …)"),
        ("? [a, b]\n: 1\n", "ingest.yml:1: keys must be plain names, not lists or maps"),
    ]

    /// The document's shape: a map at the top, known top-level keys, lists of maps.
    @Test(arguments: documentShapeCases)
    func documentShape(yaml: String, expected: String) throws {
        #expect(try problems(yaml) == expected)
    }

    static let yamlSyntaxCases: [(String, String)] = [
        (
            "sources: []\nresources: [\n",
            "ingest.yml:3: invalid YAML: did not find expected node content (while parsing a flow node at line 3)"
        ),
        ("sources:\n  - name: a: b\n", "ingest.yml:2: invalid YAML: mapping values are not allowed in this context"),
        (
            "sources:\n  - name: \"unterminated\n",
            "ingest.yml:3: invalid YAML: found unexpected end of stream (while scanning a quoted scalar at line 2)"
        ),
        (
            "sources:\n\t- name: a\n",
            "ingest.yml:2: invalid YAML: found character that cannot start any token (while scanning for the next token at line 2)"
        ),
        ("sources: *nowhere\n", "ingest.yml:1: invalid YAML: found undefined alias"),
        (
            "sources: []\nsources: []\n",
            "ingest.yml:1: invalid YAML: duplicate key 'sources' in one map (each key may appear once)"
        ),
        ("sources: []\nresources: \u{07}\n", "ingest.yml:2: invalid YAML: control characters are not allowed"),
        (
            "a: 1\n---\nb: 2\n",
            "ingest.yml:2: invalid YAML: but found another document (expected a single document in the stream at line 1)"
        ),
    ]

    /// YAML syntax errors name the line; duplicate keys are refused.
    @Test(arguments: yamlSyntaxCases)
    func yamlSyntax(yaml: String, expected: String) throws {
        #expect(try problems(yaml) == expected)
    }

    /// Every problem is reported at once, one per line, sorted by line, each with its key path.
    @Test func reportsAllProblemsSortedByLine() throws {
        let yaml = """
            resources:
              - name: users
                source: ap
                destination: warehouse
                incremental_colum: id
                query: "SELECT * FROM users WHERE id > :last_value"
                batch_size: 0
            destinations:
              - name: warehouse
                type: snowflake
                tabel: raw_users
            sources:
              - name: app
                type: postgres
            """
        #expect(
            try problems(yaml) == """
                ingest.yml:3: resources[0].source: no source named 'ap' (did you mean 'app'?)
                ingest.yml:5: resources[0].incremental_colum: unknown key (did you mean 'incremental_column'?)
                ingest.yml:7: resources[0].batch_size: must be a positive integer, not '0'
                ingest.yml:11: destinations[0].tabel: unknown key (did you mean 'table'?)
                ingest.yml:14: sources[0].type: unknown type 'postgres' (did you mean 'postgresql'?)
                """)
    }

    /// Errors name the file as it was given.
    @Test func errorsNameTheFileAsGiven() throws {
        let error = try #require(throws: ConduitError.self) {
            try ConfigurationLoader.parse(
                yaml: base + "    mode: merge\n", path: "conf/prod.yml", environment: [:], connectors: Connectors.catalog)
        }
        #expect(error.message == "conf/prod.yml:15: resources[0].mode: merge needs primary_key (the columns that identify a row)")
    }
}
