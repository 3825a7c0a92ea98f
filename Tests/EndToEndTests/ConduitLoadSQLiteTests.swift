import Foundation
import TestSupport
import Testing

/// conduit-load into SQLite, through the real executables (SPEC sections 4 and 6).
@Suite struct ConduitLoadSQLiteTests {
    /// A sandbox with app.db (the source, built by `sql`) and an ingest.yml loading warehouse.db.
    /// Resources: `rows` (src → dst, incremental on id), `small` (batch_size 2), `hostile` (into a
    /// table named with a quote and SQL) and `frompg` (the test PostgreSQL's `<pgTable>` → frompg).
    static func prepare(sql: String, pgTable: String = "load_lite_none") throws -> Sandbox {
        let box = try Sandbox()
        try box.write(
            """
            sources:
              - {name: app, type: sqlite, path: app.db}
            \(PostgresFixture.entry("pg", fallbacks: true))
            destinations:
              - {name: warehouse, type: sqlite, path: warehouse.db, table: dst}
              - {name: nowhere, type: sqlite, path: no/such/folder/warehouse.db}
            resources:
              - name: rows
                source: app
                destination: warehouse
                incremental_column: id
                query: "SELECT * FROM src WHERE id > :last_value ORDER BY id"
              - name: small
                source: app
                destination: warehouse
                batch_size: 2
                query: "SELECT * FROM src ORDER BY id"
              - name: hostile
                source: app
                destination: warehouse
                table: 'we"ird; DROP TABLE src; --'
                query: "SELECT * FROM src ORDER BY id"
              - name: nowhere
                source: app
                destination: nowhere
                query: "SELECT * FROM src ORDER BY id"
              - name: frompg
                source: pg
                destination: warehouse
                table: frompg
                query: "SELECT * FROM \(pgTable) ORDER BY id"
            """, to: "ingest.yml")
        let setup = try box.run("sqlite3 app.db <<'SQL'\n\(sql)\nSQL")
        try #require(setup.status == 0, "\(setup.stderr)")
        return box
    }

    /// The output of `sql` run by sqlite3 on `database`, failing the test when sqlite3 fails.
    @discardableResult
    static func query(_ sql: String, database: String = "warehouse.db", in box: Sandbox) throws -> String {
        let result = try box.run("sqlite3 \(database) <<'SQL'\n\(sql)\nSQL")
        #expect(result.status == 0, "\(sql): \(result.stderr)")
        return result.stdout
    }

    /// `name|type` of each column of `table`.
    static func columns(of table: String, database: String = "warehouse.db", in box: Sandbox) throws -> String {
        try query(
            "SELECT name || '|' || type FROM pragma_table_info('\(table.replacingOccurrences(of: "'", with: "''"))');",
            database: database, in: box)
    }

    /// Every column of a row as `quote(value) typeof(value)`, so 1, 1.0 and '1' all differ.
    static func exactRows(_ table: String, columns: [String], database: String, in box: Sandbox) throws -> String {
        let list = columns.map { "quote(\"\($0)\") || ' ' || typeof(\"\($0)\")" }.joined(separator: " || ' | ' || ")
        return try query("SELECT \(list) FROM \"\(table)\" ORDER BY id;", database: database, in: box)
    }

    static let sourceTable = #"""
        CREATE TABLE src(id INTEGER PRIMARY KEY, i INT, big BIGINT, r REAL, d DOUBLE, n NUMERIC(12,2), t TEXT,
          vc VARCHAR(20), bl BLOB, ok BOOLEAN, meta JSON, at DATETIME, day DATE);
        INSERT INTO src VALUES
          (1, -9223372036854775808, 9223372036854775807, 1.5, -1e300, 12.5,
           'a"b' || char(10) || '\ é 😀' || char(9) || char(1) || char(13) || 'end', 'vc', x'00ff10', 1, '{"a":[1,2]}',
           '2024-05-01 10:00:00', '2024-05-01'),
          (2, 0, 9007199254740993, 0.1, 5e-324, 0, '', '', x'', 0, '[]', '2024-05-01T10:00:00Z', NULL),
          (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (4, 1, 2, 2.0, 1e20, 1.25, '123', '007', x'5c', 1, 'not json', 'x', 'y'),
          (5, 7, 8, 3.4, -0.0, 3, 'NaN', 'x', randomblob(300), 0, '{"k":{"n":null,"s":"é"}}', 'x', 'y');
        """#

    static let sourceColumns = ["id", "i", "big", "r", "d", "n", "t", "vc", "bl", "ok", "meta", "at", "day"]

    /// SQLite → SQLite: integers, reals, text, blobs, BOOLEAN, JSON and NULL arrive identical (value
    /// and storage class), in a table created with the source's declared types.
    @Test func roundTripsEveryStorageClass() throws {
        let box = try Self.prepare(sql: Self.sourceTable)
        let load = try box.run("conduit-extract rows | conduit-load rows")
        #expect(load.status == 0, "\(load.stderr)")
        #expect(
            Messages.stableLines(load.stderr) == [
                "conduit-extract: rows: 5 rows, 1161 bytes in \(Messages.timing)",
                "conduit-extract: rows: no conduit-state commit of rows is running, so the end of this stream was not confirmed to one",
                "conduit-load: rows: 5 rows, 1161 bytes in \(Messages.timing) into \"dst\" in warehouse.db",
            ], "\(load.stderr)")
        let source = try Self.exactRows("src", columns: Self.sourceColumns, database: "app.db", in: box)
        #expect(source.contains("X'00FF10' blob") && source.contains("9007199254740993 integer"))
        #expect(try Self.exactRows("dst", columns: Self.sourceColumns, database: "warehouse.db", in: box) == source)
        #expect(
            try Self.columns(of: "dst", in: box) == """
                id|INTEGER
                i|INT
                big|BIGINT
                r|REAL
                d|DOUBLE
                n|NUMERIC(12,2)
                t|TEXT
                vc|VARCHAR(20)
                bl|BLOB
                ok|BOOLEAN
                meta|JSON
                at|DATETIME
                day|DATE

                """)
        #expect(try Self.columns(of: "dst", in: box) != "")
        // Read back, the loaded table streams the same NDJSON as the source.
        try box.write(
            try box.read("ingest.yml").replacingOccurrences(of: "path: app.db", with: "path: warehouse.db")
                .replacingOccurrences(of: "SELECT * FROM src WHERE", with: "SELECT * FROM dst WHERE"), to: "back.yml")
        let again = try box.run(
            "conduit-extract --config back.yml rows > back.ndjson && conduit-extract rows > out.ndjson && cmp out.ndjson back.ndjson"
        )
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
    }

    /// A source column with no declared type must not come out with one: SQLite → SQLite keeps the
    /// declared type, and an INTEGER column would turn the text '5' into the integer 5.
    @Test func keepsAnEmptyDeclaredType() throws {
        let box = try Self.prepare(
            sql: """
                CREATE TABLE src(id INTEGER, anything);
                INSERT INTO src VALUES (1, 7), (2, '5'), (3, 'text'), (4, 1.5);
                """)
        let load = try box.run("conduit-extract rows | conduit-load rows")
        #expect(load.status == 0, "\(load.stderr)")
        let created = try Self.columns(of: "dst", in: box)
        let loaded = try Self.exactRows("dst", columns: ["id", "anything"], database: "warehouse.db", in: box)
        let source = try Self.exactRows("src", columns: ["id", "anything"], database: "app.db", in: box)
        #expect(created == "id|INTEGER\nanything|\n")
        #expect(loaded == source)
    }

    /// A key the table lacks becomes a column typed from its value; a missing key loads NULL;
    /// columns no row names keep their defaults.
    @Test func addsColumnsAndKeepsDefaults() throws {
        let box = try Self.prepare(sql: "CREATE TABLE src(id INTEGER, name TEXT);")
        try Self.query(
            "CREATE TABLE dst(id INTEGER, name TEXT, note TEXT DEFAULT 'dflt', n INTEGER NOT NULL DEFAULT 42);", in: box)
        try box.write(
            #"""
            {"id":1,"name":"a"}
            {"id":2}
            {"name":"c","id":3,"count":5,"ratio":1.5,"flag":true,"at":"2024-05-01T10:00:00Z","obj":{"a":[1]},"s":"x"}
            {"id":4,"name":null,"Mixed Case":"m"}

            """#, to: "rows.ndjson")
        let load = try box.run("conduit-load --infer-types rows < rows.ndjson")
        #expect(load.status == 0, "\(load.stderr)")
        #expect(
            try Self.columns(of: "dst", in: box) == """
                id|INTEGER
                name|TEXT
                note|TEXT
                n|INTEGER
                count|INTEGER
                ratio|NUMERIC
                flag|BOOLEAN
                at|TIMESTAMPTZ
                obj|JSON
                s|TEXT
                Mixed Case|TEXT

                """)
        #expect(
            try Self.exactRows(
                "dst", columns: ["id", "name", "note", "n", "count", "ratio", "flag", "at", "obj", "Mixed Case"],
                database: "warehouse.db", in: box) == """
                    1 integer | 'a' text | 'dflt' text | 42 integer | NULL null | NULL null | NULL null | NULL null | NULL null | NULL null
                    2 integer | NULL null | 'dflt' text | 42 integer | NULL null | NULL null | NULL null | NULL null | NULL null | NULL null
                    3 integer | 'c' text | 'dflt' text | 42 integer | 5 integer | 1.5 real | 1 integer | '2024-05-01T10:00:00Z' text | '{"a":[1]}' text | NULL null
                    4 integer | NULL null | 'dflt' text | 42 integer | NULL null | NULL null | NULL null | NULL null | NULL null | 'm' text

                    """)
    }

    /// A key and a table name full of quotes and SQL are only names.
    @Test func hostileIdentifiersAreJustNames() throws {
        let box = try Self.prepare(sql: "CREATE TABLE src(id INTEGER); INSERT INTO src VALUES (1);")
        try box.write(
            #"""
            {"id":1,"x\"; DROP TABLE src; --":"v1","it's":"q"}
            {"id":2,"x\"; DROP TABLE src; --":"v2","[br]":"b"}

            """#, to: "rows.ndjson")
        let load = try box.run("conduit-load hostile < rows.ndjson")
        #expect(load.status == 0, "\(load.stderr)")
        let table = #"we"ird; DROP TABLE src; --"#
        #expect(
            try Self.columns(of: table, in: box) == """
                id|INTEGER
                x"; DROP TABLE src; --|TEXT
                it's|TEXT
                [br]|TEXT

                """)
        #expect(
            try Self.query(
                #"SELECT id, "x""; DROP TABLE src; --", "it's", "[br]" FROM "we""ird; DROP TABLE src; --" ORDER BY id;"#, in: box)
                == "1|v1|q|\n2|v2||b\n")
        #expect(try Self.query("SELECT count(*) FROM src;", database: "app.db", in: box) == "1\n")
    }

    /// A constraint failure on line 3: exit 65 naming the line, none of the batch's rows stay.
    @Test(arguments: [
        (#"{"id":3,"c":30}"#, "CHECK constraint failed"),
        (#"{"id":3,"nn":null}"#, "NOT NULL constraint failed"),
        (#"{"id":1,"c":3}"#, "UNIQUE constraint failed"),
    ])
    func constraintFailureRollsBackTheBatch(line: String, reason: String) throws {
        let box = try Self.prepare(sql: "CREATE TABLE src(id INTEGER);")
        try Self.query("CREATE TABLE dst(id INTEGER UNIQUE, c INTEGER CHECK (c < 10), nn TEXT NOT NULL DEFAULT 'd');", in: box)
        try box.write("{\"id\":1,\"c\":1}\n{\"id\":2,\"c\":2}\n\(line)\n{\"id\":4,\"c\":4}\n", to: "rows.ndjson")
        let result = try box.run("conduit-load rows < rows.ndjson")
        #expect(result.status == 65)
        let failures = [
            "CHECK constraint failed": "CHECK constraint failed: c < 10",
            "NOT NULL constraint failed": "NOT NULL constraint failed: dst.nn",
            "UNIQUE constraint failed": "UNIQUE constraint failed: dst.id",
        ]
        #expect(
            result.stderr == """
                conduit-load: error: loading into "dst" in warehouse.db: line 3: \(failures[reason] ?? reason) (SQLite code 19); \
                the open batch was rolled back, nothing was written

                """)
        #expect(try Self.query("SELECT count(*) FROM dst;", in: box) == "0\n")
    }

    /// batch_size 2 and a failure in the third batch: exactly the first two batches stay.
    @Test func earlierBatchesStayCommitted() throws {
        let box = try Self.prepare(sql: "CREATE TABLE src(id INTEGER);")
        try Self.query("CREATE TABLE dst(id INTEGER CHECK (id <> 6));", in: box)
        let result = try box.run("seq 1 8 | sed 's/.*/{\"id\":&}/' | conduit-load small")
        #expect(result.status == 65)
        #expect(
            result.stderr == """
                conduit-load: error: loading into "dst" in warehouse.db: line 6: CHECK constraint failed: id <> 6 (SQLite code 19); \
                the open batch was rolled back (4 rows of earlier batches stay committed)

                """)
        #expect(try Self.query("SELECT group_concat(id, ',') FROM (SELECT id FROM dst ORDER BY id);", in: box) == "1,2,3,4\n")
    }

    /// A bad JSON line fails the run naming its line; a table created by the failed batch is gone.
    @Test func badLineNamesItsNumber() throws {
        let box = try Self.prepare(sql: "CREATE TABLE src(id INTEGER);")
        let result = try box.run(#"printf '{"id":1}\n\n{"id":2,}\n' | conduit-load rows"#)
        #expect(result.status == 65)
        #expect(
            result.stderr == """
                conduit-load: error: line 3: not a valid JSON object: key "id": at byte 9: trailing comma in object; \
                the open batch was rolled back, nothing was written

                """)
        #expect(try Self.query("SELECT count(*) FROM sqlite_master WHERE name = 'dst';", in: box) == "0\n")
    }

    /// A stream whose last line has no newline was cut: exit 65 naming it, nothing committed.
    @Test func cutStreamCommitsNothing() throws {
        let box = try Self.prepare(sql: "CREATE TABLE src(id INTEGER);")
        try Self.query("CREATE TABLE dst(id INTEGER);", in: box)
        let result = try box.run(#"printf '{"id":1}\n{"id":2}\n{"id":3}' | conduit-load rows"#)
        #expect(result.status == 65)
        #expect(
            result.stderr == """
                conduit-load: error: line 3: the stream ended without a newline after the last line (it was cut short); \
                the open batch was rolled back, nothing was written

                """)
        #expect(try Self.query("SELECT count(*) FROM dst;", in: box) == "0\n")
    }

    /// A destination that cannot be opened is 69.
    @Test func unopenableDestinationIs69() throws {
        let box = try Self.prepare(sql: "CREATE TABLE src(id INTEGER);")
        let result = try box.run(#"printf '{"id":1}\n' | conduit-load nowhere"#)
        #expect(result.status == 69, "\(result.stderr)")
        #expect(
            result.stderr
                == "conduit-load: error: opening no/such/folder/warehouse.db: unable to open database file (SQLite code 14)\n")
    }

    /// extract | state commit -- load on SQLite: the second run loads only the new rows.
    @Test func pipelineLoadsOnlyNewRows() throws {
        let box = try Self.prepare(sql: Self.sourceTable)
        let pipeline = "conduit-extract rows | conduit-state commit rows -- conduit-load rows"
        let first = try box.run(pipeline)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try box.read(".conduit_state.json") == "{\n  \"rows\": 5\n}\n")
        try Self.query("INSERT INTO src(id, t, bl) VALUES (6, 'six', x'01'), (7, 'seven', NULL);", database: "app.db", in: box)
        let second = try box.run(pipeline)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(
            Messages.stableLines(second.stderr) == [
                "conduit-extract: rows: 2 rows, 262 bytes in \(Messages.timing)",
                "conduit-load: rows: 2 rows, 262 bytes in \(Messages.timing) into \"dst\" in warehouse.db",
                "conduit-state: rows: 2 rows, 262 bytes in \(Messages.timing); state 5 → 7",
            ], "\(second.stderr)")
        #expect(try box.read(".conduit_state.json") == "{\n  \"rows\": 7\n}\n")
        #expect(
            try Self.exactRows("dst", columns: Self.sourceColumns, database: "warehouse.db", in: box)
                == Self.exactRows("src", columns: Self.sourceColumns, database: "app.db", in: box))
    }

    /// PostgreSQL → SQLite: created columns get the SQLite types of their kinds, and values land
    /// in the matching storage classes (bytea decoded to a blob, json as its text).
    @Test func createsSQLiteTypesFromPostgres() throws {
        let environment = try PostgresFixture.environment()
        let table = "load_lite_frompg"
        let box = try Self.prepare(sql: "SELECT 1;", pgTable: table)
        try PostgresFixture.recreate(
            [table],
            with: #"""
                CREATE TABLE load_lite_frompg(id bigint, si smallint, i integer, n numeric(12,2), r real, d double precision,
                  b boolean, t text, vc varchar(5), u uuid, js json, jb jsonb, tz timestamptz, by bytea, ia int[]);
                INSERT INTO load_lite_frompg VALUES
                  (1, 1, 2, 3.25, 0.5, 0.1, true, 'x', 'y', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": 1}', '[1, "x"]',
                   '2024-05-01 12:00+02', '\x00ff', '{1,NULL}'),
                  (2, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
                """#, in: box, environment)
        let load = try box.run("conduit-extract frompg | conduit-load frompg", environment: environment)
        #expect(load.status == 0, "\(load.stderr)")
        #expect(
            try Self.columns(of: "frompg", in: box) == """
                id|INTEGER
                si|INTEGER
                i|INTEGER
                n|NUMERIC
                r|REAL
                d|REAL
                b|BOOLEAN
                t|TEXT
                vc|TEXT
                u|TEXT
                js|JSON
                jb|JSON
                tz|TIMESTAMPTZ
                by|BLOB
                ia|JSON

                """)
        let columns = ["id", "si", "i", "n", "r", "d", "b", "t", "vc", "u", "js", "jb", "tz", "by", "ia"]
        #expect(
            try Self.exactRows("frompg", columns: columns, database: "warehouse.db", in: box) == """
                1 integer | 1 integer | 2 integer | 3.25 real | 0.5 real | 0.1 real | 1 integer | 'x' text | 'y' text | 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' text | '{"a":1}' text | '[1, "x"]' text | '2024-05-01T10:00:00Z' text | X'00FF' blob | '[1,null]' text
                2 integer | NULL null | NULL null | NULL null | NULL null | NULL null | 0 integer | NULL null | NULL null | NULL null | NULL null | NULL null | NULL null | NULL null | NULL null

                """)
    }
}
