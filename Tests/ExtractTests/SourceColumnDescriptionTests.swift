import Config
import Core
import Extract
import Postgres
import SQLite
import Testing

/// `SourceColumn.readDescription`: reads `conduit-extract --describe` output, as
/// `conduit-load --schema FILE` takes it.
@Suite struct SourceColumnDescriptionTests {
    /// Reads `text` as the file `schema.ndjson`.
    static func read(
        _ text: String, from source: any SourceConnector = PostgresConnector()
    ) throws(ConduitError) -> [SourceColumn] {
        try SourceColumn.readDescription(Array(text.utf8), file: "schema.ndjson", source: source)
    }

    /// A column of a PostgreSQL source; `isPostgresBuiltin`: a PostgreSQL destination may create its type as written.
    static func postgresColumn(name: String, sourceType: String, kind: ColumnKind?, isPostgresBuiltin: Bool) -> SourceColumn {
        SourceColumn(
            name: name, sourceType: sourceType, kind: kind, sourceKind: PostgresConnector.typeName,
            sourceTypeIsPortable: isPostgresBuiltin)
    }

    /// The error reading `text` raises; a test fails when there is none.
    static func error(reading text: String) throws -> ConduitError {
        try #require(throws: ConduitError.self) { try read(text) }
    }

    /// Guards that the describe output of a PostgreSQL query reads back column by column, in order.
    @Test func readsPostgresDescribeOutput() throws {
        let columns = try Self.read(
            #"""
            {"name":"id","source_type":"bigint","kind":"bigint"}
            {"name":"amount","source_type":"numeric(12,2)","kind":"numeric"}
            {"name":"at","source_type":"timestamp with time zone","kind":"timestamp with time zone"}
            {"name":"tags","source_type":"text[]","kind":"text[]"}
            {"name":"mood","source_type":"extract_mood","kind":null}

            """#)
        #expect(
            columns == [
                Self.postgresColumn(name: "id", sourceType: "bigint", kind: .bigint, isPostgresBuiltin: true),
                Self.postgresColumn(name: "amount", sourceType: "numeric(12,2)", kind: .numeric, isPostgresBuiltin: true),
                Self.postgresColumn(
                    name: "at", sourceType: "timestamp with time zone", kind: .timestamptz, isPostgresBuiltin: true),
                Self.postgresColumn(name: "tags", sourceType: "text[]", kind: .array(.text), isPostgresBuiltin: true),
                // A type outside the mapping (an enum) is not built in: it travels as text.
                Self.postgresColumn(name: "mood", sourceType: "extract_mood", kind: nil, isPostgresBuiltin: false),
            ])
    }

    /// Guards that a SQLite source's declared types are never taken for PostgreSQL built-ins.
    @Test func sqliteColumnsAreNotPostgresBuiltins() throws {
        let columns = try Self.read(#"{"name":"n","source_type":"INTEGER","kind":"bigint"}"# + "\n", from: SQLiteConnector())
        #expect(
            columns == [
                SourceColumn(
                    name: "n", sourceType: "INTEGER", kind: .bigint, sourceKind: SQLiteConnector.typeName,
                    sourceTypeIsPortable: true)
            ])
        #expect(columns[0].portableType(to: PostgresConnector.typeName) == nil)
    }

    /// Guards that what `--describe` writes (`jsonValue`) reads back as the same columns.
    @Test func describeOutputRoundTrips() throws {
        let written = [
            Self.postgresColumn(name: "id", sourceType: "integer", kind: .integer, isPostgresBuiltin: true),
            Self.postgresColumn(
                name: "we \"ird\"\nname", sourceType: "character varying(20)", kind: .text, isPostgresBuiltin: true),
            Self.postgresColumn(name: "m", sourceType: "public.mood", kind: nil, isPostgresBuiltin: false),
            Self.postgresColumn(name: "grid", sourceType: "integer[]", kind: .array(.integer), isPostgresBuiltin: true),
        ]
        let text = written.map { $0.jsonValue.serialized() + "\n" }.joined()
        #expect(try Self.read(text) == written)
    }

    /// Guards that blank and whitespace-only lines, a missing final newline and CRLF endings are accepted.
    @Test func skipsBlankLines() throws {
        let columns = try Self.read("\n  \n{\"name\":\"a\",\"source_type\":\"text\",\"kind\":\"text\"}\r\n\t\n{\"name\":\"b\"}")
        #expect(columns.map(\.name) == ["a", "b"])
        // A line without source_type or kind: an unknown type, no kind.
        #expect(columns.last == Self.postgresColumn(name: "b", sourceType: "", kind: nil, isPostgresBuiltin: false))
    }

    /// Guards that empty input describes no columns.
    @Test func emptyInputHasNoColumns() throws {
        #expect(try Self.read("").isEmpty)
        #expect(try Self.read("\n\n").isEmpty)
    }

    /// Guards each refusal: a bad-input error naming the file and the line (counting blank lines), and the reason.
    @Test(arguments: [
        ("{\"name\":\"a\"}\n\n{not json}\n", "schema.ndjson: line 3: not JSON"),
        ("[1, 2]\n", "schema.ndjson: line 1: not a JSON object"),
        ("\"name\"\n", "schema.ndjson: line 1: not a JSON object"),
        ("{\"name\":\"a\",\"kind\":\"int4\"}\n", #"schema.ndjson: line 1: unknown kind "int4""#),
        ("{\"name\":\"a\"}\n{\"name\":\"b\",\"kind\":\"text[\"}\n", #"schema.ndjson: line 2: unknown kind "text[""#),
        ("{\"name\":\"a\"}\n{\"source_type\":\"text\",\"kind\":\"text\"}\n", #"schema.ndjson: line 2: no "name" key"#),
        ("{\"name\":7}\n", #"schema.ndjson: line 1: no "name" key"#),
    ])
    func refusesWithFileAndLine(text: String, expectedStart: String) throws {
        let error = try Self.error(reading: text)
        #expect(error.kind == .badInput)
        #expect(error.exitStatus == .dataError)
        #expect(error.message.hasPrefix(expectedStart), "\(error.message)")
    }

    /// Guards that a refusal that is about the format tells the user what to give instead.
    @Test(arguments: ["{oops\n", "42\n"])
    func formatErrorsSuggestDescribe(text: String) throws {
        let error = try Self.error(reading: text)
        #expect(error.message.hasSuffix("give the output of conduit-extract --describe"), "\(error.message)")
    }
}
