import Foundation
import TestSupport

/// The seed inputs of the fuzz targets: valid rows, ingest.yml files and state files written here,
/// the JSONTestSuite files and the example configurations kept in the repository (found relative
/// to this source file: tests never read outside the repository).
enum FuzzCorpus {
    /// The repository's `Tests` folder.
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    static let jsonTestSuiteDirectory = testsDirectory.appendingPathComponent("Fixtures/JSONTestSuite", isDirectory: true)
    static let fuzzFixturesDirectory = testsDirectory.appendingPathComponent("Fixtures/Fuzz", isDirectory: true)
    static let examplesDirectory = testsDirectory.deletingLastPathComponent().appendingPathComponent(
        "examples", isDirectory: true)

    /// The contents of the files in `directory` whose names end with `suffix`, sorted by name.
    static func files(in directory: URL, suffix: String) -> [(name: String, bytes: [UInt8])] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        return names.filter { $0.hasSuffix(suffix) }.sorted().compactMap { name in
            (try? Data(contentsOf: directory.appendingPathComponent(name))).map { (name, [UInt8]($0)) }
        }
    }

    /// Every JSONTestSuite `test_parsing` file: accepted (y_), refused (n_) and either (i_).
    static let jsonTestSuite: [[UInt8]] = files(in: jsonTestSuiteDirectory, suffix: ".json").map(\.bytes)

    /// Rows as conduit-extract writes them, and as a filter in the pipe might.
    static let validRows: [[UInt8]] = [
        #"{"id":1,"name":"Ada Lovelace","email":"ada@example.com"}"#,
        #"{"id":2,"name":"Grace \"Amazing\" Hopper","active":true,"score":null}"#,
        #"{"id":9007199254740993,"big":123456789012345678901234567890.000000000000000000001}"#,
        #"{"id":-0.5e-10,"f":1E+2,"g":0}"#,
        #"{"id":"2024-05-01T12:00:00.123456Z","at":"2024-05-01T14:00:00+02:00"}"#,
        #"{"id":"abc","text":"tab\tnewline\nquote\"backslash\\slash\/"}"#,
        #"{"\u0069d":3,"k\u00e9y":"\u00e9\u4e2d\ud83d\ude00"}"#,
        #"{"id":4,"tags":["a","b",{"nested":[1,2,{"deep":[]}]}],"meta":{}}"#,
        #"{"id":5,"payload":{"a":{"b":{"c":{"d":[[[[null]]]]}}}}}"#,
        #"{"id":6,"bytes":"3q2+7w==","uuid":"123e4567-e89b-12d3-a456-426614174000"}"#,
        #"  {"id" : 7 , "spaced" : [ 1 , 2 ] }  "#,
        #"{"id":8,"id":9}"#,
        #"{}"#,
        #"{"id":10,"emoji":"😀","cjk":"中文","nul":"\u0000"}"#,
        #"{"id":"9999-12-31T23:59:59.999999999Z","d":"2024-05-01"}"#,
        #"{"id":1e400,"tiny":1e-400}"#,
    ].map { Array($0.utf8) }

    /// Valid ingest.yml texts: the repository's examples and a few written to reach every section.
    static let configurations: [[UInt8]] =
        files(in: examplesDirectory, suffix: ".yml").map(\.bytes)
        + [
            BaseConfiguration.standard,
            """
            state_file: ${STATE_DIR:-.}/state.json
            sources:
              - name: pg
                type: postgresql
                url: postgres://u:${PGPASSWORD}@localhost:5432/app?sslmode=disable
            destinations:
              - name: dw
                type: postgresql
                host: localhost
                port: 5432
                database: dw
                user: loader
                password: ${DW_PASSWORD}
                schema: raw
                mode: merge
                primary_key: [id, region]
                batch_size: 5000
                schema_evolution: add_columns
            resources:
              - name: orders
                source: pg
                destination: dw
                incremental_column: updated_at
                initial_value: "2024-01-01T00:00:00Z"
                ordered: false
                query: |
                  SELECT * FROM orders
                  WHERE updated_at > :last_value -- ':last_value' in a comment
                  ORDER BY updated_at
              - name: full
                source: pg
                destination: dw
                table: full_copy
                mode: replace
                query: 'SELECT 1 AS one'

            """,
            """
            base: &base
              source: app
              destination: warehouse
            sources: [{name: app, type: sqlite, path: a.db}]
            destinations: [{name: warehouse, type: snowflake, account: acme, user: u, password: p, database: d, warehouse: w}]
            resources:
              - <<: *base
                name: a
                query: "SELECT 1"
              - {<<: *base, name: b, query: "SELECT 2", incremental_column: id, initial_value: 0}

            """,
        ].map { Array($0.utf8) }

    /// State files as Conduit writes them, and as a user might edit them.
    static let stateFiles: [[UInt8]] = [
        "{\n  \"sync_new_users\": 15789,\n  \"sync_orders\": 98765\n}\n",
        "{\n  \"big\": 1234567890123456789012345678901234567890,\n  \"events\": \"2024-05-01T12:00:00.123456Z\"\n}\n",
        "{}\n",
        "{\"a\":1,\"b\":\"x\",\"unknown\":{\"kept\":[1,2,3]},\"n\":null,\"t\":true}",
        "{\n  \"r\\u00e9sum\\u00e9\": \"\\ud83d\\ude00\",\n  \"neg\": -1.5e-300\n}\n",
    ].map { Array($0.utf8) }
}
