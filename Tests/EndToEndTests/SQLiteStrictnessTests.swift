import Foundation
import TestSupport
import Testing

/// conduit-load into SQLite refuses a value its column cannot take (SPEC section 6: "SQLite's
/// flexible typing is no excuse to store "abc" in an INTEGER column"), through the real executables.
@Suite struct SQLiteStrictnessTests {
    /// A sandbox with an ingest.yml loading wh.db: `users` (batch_size 100, more than any input
    /// here) and `small` (batch_size 2) both into the table `users`; `copy` reads app.db's `src`.
    /// `table`, when given, is created in wh.db first.
    static func prepare(table: String? = nil) throws -> Sandbox {
        let box = try Sandbox()
        try box.write(
            """
            sources:
              - {name: app, type: sqlite, path: app.db}
            destinations:
              - {name: wh, type: sqlite, path: wh.db}
            resources:
              - name: users
                source: app
                destination: wh
                batch_size: 100
                query: "SELECT * FROM users ORDER BY id"
              - name: small
                source: app
                destination: wh
                table: users
                batch_size: 2
                query: "SELECT * FROM users ORDER BY id"
              - name: copy
                source: app
                destination: wh
                query: "SELECT * FROM src ORDER BY id"
            """, to: "ingest.yml")
        if let table { try query(table, in: box) }
        return box
    }

    /// The output of `sql` run by sqlite3 on `database`, failing the test when sqlite3 fails.
    @discardableResult
    static func query(_ sql: String, database: String = "wh.db", in box: Sandbox) throws -> String {
        let result = try box.run("sqlite3 \(database) <<'SQL'\n\(sql)\nSQL")
        #expect(result.status == 0, "\(sql): \(result.stderr)")
        return result.stdout
    }

    /// `lines` as NDJSON in rows.ndjson, loaded by `conduit-load --infer-types RESOURCE`.
    static func load(_ lines: [String], resource: String = "users", in box: Sandbox) throws -> Sandbox.Result {
        try box.write(lines.map { $0 + "\n" }.joined(), to: "rows.ndjson")
        return try box.run("conduit-load --infer-types \(resource) < rows.ndjson")
    }

    /// The message of a refused value on `line`, with what stays committed.
    static func refusal(
        line: Int, column: String, type: String, value: String, committed: String = ", nothing was written"
    ) -> String {
        """
        conduit-load: error: loading into "users" in wh.db: line \(line): column "\(column)" (\(type)) cannot take \(value); \
        the open batch was rolled back\(committed)

        """
    }

    /// Values a column takes, as JSON, with what SQLite stores for each (`quote(v) typeof(v)`).
    static let accepted: [(type: String, values: [(json: String, stored: String)])] = [
        (
            "INTEGER",
            [
                ("42", "42 integer"), ("-9223372036854775808", "-9223372036854775808 integer"), ("-0", "0 integer"),
                (#""9223372036854775807""#, "9223372036854775807 integer"), (#""+7""#, "7 integer"), (#""-0""#, "0 integer"),
                (#""007""#, "7 integer"), ("null", "NULL null"),
            ]
        ),
        ("BIGINT", [("9007199254740993", "9007199254740993 integer"), (#""-12""#, "-12 integer")]),
        ("SMALLINT", [("7", "7 integer")]),
        (
            "REAL",
            [
                ("1.5", "1.5 real"), ("3", "3.0 real"), ("1e400", "Inf real"), ("-0.25e1", "-2.5 real"),
                ("99999999999999999999", "1.0e+20 real"), (#""2.5""#, "2.5 real"), (#"".5""#, "0.5 real"),
                (#""-1E3""#, "-1000.0 real"), (#""7.""#, "7.0 real"), (#""Infinity""#, "Inf real"),
                (#""-Infinity""#, "-Inf real"),
                ("null", "NULL null"),
            ]
        ),
        ("DOUBLE", [("0.1", "0.1 real"), (#""Infinity""#, "Inf real"), (#""12""#, "12.0 real")]),
        ("NUMERIC(12,2)", [("7", "7 integer"), ("1.25", "1.25 real"), (#""12.50""#, "12.5 real"), (#""-3""#, "-3 integer")]),
        (
            "BOOLEAN",
            [("true", "1 integer"), ("false", "0 integer"), ("1", "1 integer"), ("0", "0 integer"), ("null", "NULL null")]
        ),
        (
            "JSON",
            [
                (#"{"a":[1,2]}"#, #"'{"a":[1,2]}' text"#), (#"[1,"x"]"#, #"'[1,"x"]' text"#), (#""plain""#, "'plain' text"),
                ("3.5", "3.5 real"), ("true", "1 integer"), ("null", "NULL null"),
            ]
        ),
        (
            "BLOB",
            [
                (#""AAH/EA==""#, "X'0001FF10' blob"), (#""AAE=""#, "X'0001' blob"), (#""AAEC""#, "X'000102' blob"),
                (#""""#, "X'' blob"), ("null", "NULL null"),
            ]
        ),
        ("TEXT", [("5", "'5' text"), ("1.50", "'1.50' text"), ("true", "'1' text"), (#"{"a":1}"#, #"'{"a":1}' text"#)]),
        ("TIMESTAMPTZ", [(#""2024-05-01T12:00:00Z""#, "'2024-05-01T12:00:00Z' text"), (#""not a time""#, "'not a time' text")]),
        ("DATE", [(#""2024-05-01""#, "'2024-05-01' text"), ("null", "NULL null")]),
        ("", [("5", "5 integer"), (#""abc""#, "'abc' text"), ("true", "1 integer"), ("[1]", "'[1]' text")]),
    ]

    /// Good values load, each with the storage class its column's affinity gives it.
    @Test(arguments: accepted)
    func loadsWhatTheColumnTakes(type: String, values: [(json: String, stored: String)]) throws {
        let box = try Self.prepare(table: "CREATE TABLE users(id INTEGER, v \(type));")
        let lines = values.enumerated().map { #"{"id":\#($0.offset + 1),"v":\#($0.element.json)}"# }
        let result = try Self.load(lines, in: box)
        #expect(result.status == 0, "\(result.stderr)")
        let stored = try Self.query("SELECT quote(v) || ' ' || typeof(v) FROM users ORDER BY id;", in: box)
        #expect(stored == values.map { $0.stored + "\n" }.joined())
    }

    /// Values a column cannot take, as JSON, with how the message shows each.
    static let refused: [(type: String, json: String, shown: String)] = [
        ("INTEGER", #""abc""#, #"a JSON string ("abc")"#),
        ("INTEGER", "1.5", "a JSON number (1.5)"),
        ("INTEGER", "1.0", "a JSON number (1.0)"),
        ("INTEGER", "1e3", "a JSON number (1e3)"),
        ("INTEGER", "9223372036854775808", "a JSON number (9223372036854775808): out of the 64-bit integer range"),
        ("INTEGER", #""-9223372036854775809""#, #"a JSON string ("-9223372036854775809"): out of the 64-bit integer range"#),
        ("INTEGER", #"" 42""#, #"a JSON string (" 42")"#),
        ("INTEGER", #""4.0""#, #"a JSON string ("4.0")"#),
        ("INTEGER", #""""#, #"a JSON string ("")"#),
        ("INTEGER", "true", "a JSON boolean (true)"),
        ("INTEGER", #"{"a":1}"#, #"a JSON object ({"a":1})"#),
        ("BIGINT", "[1, 2]", "a JSON array ([1, 2])"),
        ("REAL", #""NaN""#, #"a JSON string ("NaN"): SQLite stores NaN as NULL"#),
        ("REAL", #""abc""#, #"a JSON string ("abc")"#),
        ("REAL", #""inf""#, #"a JSON string ("inf")"#),
        ("REAL", #""0x10""#, #"a JSON string ("0x10")"#),
        ("REAL", #""1e""#, #"a JSON string ("1e")"#),
        ("REAL", #""1.5 ""#, #"a JSON string ("1.5 ")"#),
        ("DOUBLE", "false", "a JSON boolean (false)"),
        ("NUMERIC", #""Infinity""#, #"a JSON string ("Infinity")"#),
        ("NUMERIC(12,2)", #""12,5""#, #"a JSON string ("12,5")"#),
        ("BOOLEAN", "2", "a JSON number (2)"),
        ("BOOLEAN", "1.0", "a JSON number (1.0)"),
        ("BOOLEAN", #""true""#, #"a JSON string ("true")"#),
        ("BLOB", #""abc""#, #"a JSON string ("abc"): not base64"#),
        ("BLOB", #""QR==""#, #"a JSON string ("QR=="): not base64"#),
        ("BLOB", #""AB=C""#, #"a JSON string ("AB=C"): not base64"#),
        ("BLOB", #""AA==AAAA""#, #"a JSON string ("AA==AAAA"): not base64"#),
        ("BLOB", "5", "a JSON number (5)"),
        ("BLOB", #"{"a":1}"#, #"a JSON object ({"a":1})"#),
        ("TIMESTAMPTZ", "1714564800", "a JSON number (1714564800)"),
        ("DATE", "true", "a JSON boolean (true)"),
        ("INTEGER", #""tab\there \"q\" \u00e9""#, #"a JSON string ("tab\there \"q\" é")"#),
        (
            "INTEGER", "\"" + String(repeating: "x", count: 100) + "\"",
            "a JSON string (\"" + String(repeating: "x", count: 64) + "\"…)"
        ),
        (
            "INTEGER", "\"a" + String(repeating: "é", count: 40) + "\"",
            "a JSON string (\"a" + String(repeating: "é", count: 31) + "\"…)"
        ),
    ]

    /// A refused value on line 3 fails the load with exit 65 naming the line, the column, its
    /// declared type and the value; nothing of the batch is stored.
    @Test(arguments: refused)
    func refusesWhatTheColumnCannotTake(type: String, json: String, shown: String) throws {
        let box = try Self.prepare(table: "CREATE TABLE users(id INTEGER, amount \(type));")
        let result = try Self.load(
            [#"{"id":1,"amount":null}"#, #"{"id":2}"#, #"{"id":3,"amount":\#(json)}"#, #"{"id":4}"#], in: box)
        #expect(result.status == 65)
        #expect(result.stderr == Self.refusal(line: 3, column: "amount", type: type, value: shown))
        #expect(result.stdout == "")
        #expect(try Self.query("SELECT count(*) FROM users;", in: box) == "0\n")
    }

    /// A table conduit-load created from a first good row is checked by the types it was given;
    /// with batch_size 2 its first batch stays, table and rows.
    @Test(arguments: [
        (#"{"id":4,"amount":"abc"}"#, #"column "amount" (INTEGER) cannot take a JSON string ("abc")"#),
        (#"{"id":4,"ratio":"1,5"}"#, #"column "ratio" (NUMERIC) cannot take a JSON string ("1,5")"#),
        (#"{"id":4,"flag":"yes"}"#, #"column "flag" (BOOLEAN) cannot take a JSON string ("yes")"#),
        (#"{"id":4,"amount":2.5}"#, #"column "amount" (INTEGER) cannot take a JSON number (2.5)"#),
    ])
    func checksATableItCreated(bad: String, reason: String) throws {
        let box = try Self.prepare()
        let result = try Self.load(
            [
                #"{"id":1,"amount":5,"ratio":1.5,"flag":true,"meta":{"a":1},"name":"x"}"#,
                #"{"id":2,"amount":"6","ratio":"2.25","flag":0,"meta":"s","name":7}"#,
                #"{"id":3,"amount":-7,"ratio":3,"flag":false,"meta":[1],"name":null}"#,
                bad,
            ], resource: "small", in: box)
        #expect(result.status == 65)
        #expect(
            result.stderr == """
                conduit-load: error: loading into "users" in wh.db: line 4: \(reason); \
                the open batch was rolled back (2 rows of earlier batches stay committed)

                """)
        #expect(
            try Self.query("SELECT name || '|' || type FROM pragma_table_info('users');", in: box) == """
                id|INTEGER
                amount|INTEGER
                ratio|NUMERIC
                flag|BOOLEAN
                meta|JSON
                name|TEXT

                """)
        let columns = ["id", "amount", "ratio", "flag", "meta", "name"]
        let list = columns.map { "quote(\($0)) || ' ' || typeof(\($0))" }.joined(separator: " || ' | ' || ")
        #expect(
            try Self.query("SELECT \(list) FROM users ORDER BY id;", in: box) == """
                1 integer | 5 integer | 1.5 real | 1 integer | '{"a":1}' text | 'x' text
                2 integer | 6 integer | 2.25 real | 0 integer | 's' text | '7' text

                """)
    }

    /// A table created by the failed batch itself goes with the batch.
    @Test func aTableCreatedInTheFailedBatchIsGone() throws {
        let box = try Self.prepare()
        let result = try Self.load([#"{"id":1,"amount":5}"#, #"{"id":2,"amount":"abc"}"#], in: box)
        #expect(result.status == 65)
        #expect(result.stderr == Self.refusal(line: 2, column: "amount", type: "INTEGER", value: #"a JSON string ("abc")"#))
        #expect(try Self.query("SELECT count(*) FROM sqlite_master WHERE name = 'users';", in: box) == "0\n")
    }

    /// batch_size 2 and a refused value in the third batch: exactly the first two batches stay.
    @Test func earlierBatchesStayCommitted() throws {
        let box = try Self.prepare(table: "CREATE TABLE users(id INTEGER, amount INTEGER, data BLOB);")
        let result = try Self.load(
            [
                #"{"id":1,"amount":1}"#, #"{"id":2,"data":"AQI="}"#, #"{"id":3,"amount":"3"}"#, #"{"id":4}"#,
                #"{"id":5,"amount":5}"#, #"{"id":6,"data":"not base64"}"#, #"{"id":7}"#,
            ], resource: "small", in: box)
        #expect(result.status == 65)
        #expect(
            result.stderr
                == Self.refusal(
                    line: 6, column: "data", type: "BLOB", value: #"a JSON string ("not base64"): not base64"#,
                    committed: " (4 rows of earlier batches stay committed)"))
        #expect(
            try Self.query("SELECT id, quote(amount), quote(data) FROM users ORDER BY id;", in: box) == """
                1|1|NULL
                2|NULL|X'0102'
                3|3|NULL
                4|NULL|NULL

                """)
    }

    /// SQLite → SQLite: a REAL infinity, which the extract writes as "Infinity", loads back as a
    /// REAL infinity, not as the text 'Infinity'.
    @Test func infinitiesRoundTripAsReals() throws {
        let box = try Self.prepare()
        try Self.query(
            "CREATE TABLE src(id INTEGER, r REAL, d DOUBLE); INSERT INTO src VALUES (1, 9e999, -9e999), (2, 1.5, NULL);",
            database: "app.db", in: box)
        let result = try box.run("conduit-extract copy | conduit-load copy")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            try Self.query("SELECT id, quote(r), typeof(r), quote(d), typeof(d) FROM copy ORDER BY id;", in: box) == """
                1|Inf|real|-Inf|real
                2|1.5|real|NULL|null

                """)
    }
}
