import Foundation
import TestSupport
import Testing

/// conduit-extract from a SQLite source, through the real executable.
@Suite struct ConduitExtractSQLiteTests {
    /// A sandbox with app.db holding `users` and an ingest.yml reading it.
    static func prepare() throws -> Sandbox {
        let box = try Sandbox()
        try box.writeStandardConfig()
        let setup = try box.run(
            #"""
            sqlite3 app.db <<'SQL'
            CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, score REAL, raw BLOB, note TEXT);
            INSERT INTO users VALUES
              (1, 'a"b' || char(10) || '\ é 😀', 1.5, x'00ff10', NULL),
              (2, '', 0.1, x'', 'x'),
              (9007199254740993, NULL, -1e300, NULL, '');
            SQL
            """#)
        try #require(setup.status == 0, "\(setup.stderr)")
        return box
    }

    /// Integers keep their digits, reals round-trip, text is escaped, blobs are base64, NULL is null.
    @Test func mapsStorageClasses() throws {
        let box = try Self.prepare()
        let result = try box.run("conduit-extract users")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout == #"""
                {"id":1,"name":"a\"b\n\\ é 😀"}
                {"id":2,"name":""}
                {"id":9007199254740993,"name":null}

                """#)
        let all = try box.run("sqlite3 app.db 'SELECT 1' >/dev/null && conduit-extract --last-value 0 users && true")
        #expect(all.status == 0)
    }

    /// The pipeline loads everything first, then only new rows; a hostile value is only a value.
    @Test func incrementalRuns() throws {
        let box = try Self.prepare()
        let pipeline = "conduit-extract users | conduit-state commit users -- sh -c 'cat >> out.ndjson'"
        #expect(try box.run(pipeline).status == 0)
        #expect(try box.read(".conduit_state.json") == "{\n  \"users\": 9007199254740993\n}\n")
        try box.run("conduit-state set users 1")
        #expect(try box.run(pipeline).status == 0)
        #expect(try box.read("out.ndjson").split(separator: "\n").count == 5)
        try box.write("{\"users\": \"1; DROP TABLE users\"}\n", to: ".conduit_state.json")
        let hostile = try box.run("conduit-extract users")
        // A string cannot compare with the INTEGER id: refused before anything runs (exit 65).
        #expect(hostile.status == 65)
        #expect(try box.run("sqlite3 app.db 'SELECT count(*) FROM users'").stdout == "3\n")
    }

    /// Bad SQL is 78 with SQLite's message; a missing database file is 69.
    @Test func failures() throws {
        let box = try Self.prepare()
        try box.write(
            try box.read("ingest.yml").replacingOccurrences(of: "SELECT id, name FROM users", with: "SELECT id, nam FROM users"),
            to: "bad.yml")
        let bad = try box.run("conduit-extract --config bad.yml users")
        #expect(bad.status == 78)
        #expect(
            bad.stderr == "conduit-extract: error: running the query of users on app.db: no such column: nam (SQLite code 1)\n")
        try box.run("rm app.db")
        let missing = try box.run("conduit-extract users")
        #expect(missing.status == 69, "\(missing.stderr)")
        #expect(missing.stderr == "conduit-extract: error: opening app.db: unable to open database file (SQLite code 14)\n")
    }

    /// Every SQLite storage class maps as SPEC 4 says.
    @Test func everyStorageClass() throws {
        let box = try Self.prepare()
        try box.write(
            try box.read("ingest.yml").replacingOccurrences(
                of: "SELECT id, name FROM users", with: "SELECT id, score, raw, note FROM users"), to: "all.yml")
        let result = try box.run("conduit-extract --config all.yml users")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout == """
                {"id":1,"score":1.5,"raw":"AP8Q","note":null}
                {"id":2,"score":0.1,"raw":"","note":"x"}
                {"id":9007199254740993,"score":-1e+300,"raw":null,"note":""}

                """)
    }

    /// Declared BOOLEAN gives true/false for 0 and 1; declared JSON embeds valid JSON text;
    /// --describe reports the declared types (none for an expression).
    @Test func declaredTypesRefineTheMapping() throws {
        let box = try Self.prepare()
        let setup = try box.run(
            #"""
            sqlite3 app.db <<'SQL'
            CREATE TABLE flags(id INTEGER, ok BOOLEAN, meta JSON, at DATETIME);
            INSERT INTO flags VALUES (1, 1, '{"a": [1, 2]}', '2024-05-01 10:00:00'), (2, 0, 'not json', NULL), (3, 7, NULL, NULL);
            SQL
            """#)
        try #require(setup.status == 0, "\(setup.stderr)")
        try box.write(
            try box.read("ingest.yml").replacingOccurrences(
                of: "SELECT id, name FROM users", with: "SELECT *, id * 2 AS twice FROM flags"), to: "flags.yml")
        let result = try box.run("conduit-extract --config flags.yml users")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout == #"""
                {"id":1,"ok":true,"meta":{"a":[1,2]},"at":"2024-05-01 10:00:00","twice":2}
                {"id":2,"ok":false,"meta":"not json","at":null,"twice":4}
                {"id":3,"ok":7,"meta":null,"at":null,"twice":6}

                """#)
        let described = try box.run("conduit-extract --config flags.yml --describe users | jq -c '[.name, .source_type, .kind]'")
        #expect(
            described.stdout == """
                ["id","INTEGER","bigint"]
                ["ok","BOOLEAN","boolean"]
                ["meta","JSON","json"]
                ["at","DATETIME","timestamp without time zone"]
                ["twice","",null]

                """)
    }
}
