import Core
import Stream
import Testing

@testable import Postgres

/// `PostgresTextEncoder`: libpq's text format of one value → its JSON value, as SPEC section 4
/// maps types (with the session settings `PostgresSource` sets: UTC, ISO dates, hex bytea).
@Suite struct PostgresTextEncoderTests {
    /// The JSON text for the server's text `text` of a value of type `type`.
    static func json(_ text: String, _ type: PostgresDataType) -> String {
        var output: [UInt8] = []
        Array(text.utf8).withUnsafeBufferPointer {
            PostgresTextEncoder.append($0, style: PostgresTextEncoder.Style(type), to: &output)
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// One server value and the JSON it must become.
    struct Case: Sendable, CustomTestStringConvertible {
        var type: PostgresDataType
        var text: String
        var json: String
        init(_ type: PostgresDataType, _ text: String, _ json: String) {
            self.type = type
            self.text = text
            self.json = json
        }
        var testDescription: String { "\(type) \(text)" }
    }

    static let int2Array = PostgresDataType(1005), int4Array = PostgresDataType(1007), textArray = PostgresDataType(1009)
    static let boolArray = PostgresDataType(1000), float8Array = PostgresDataType(1022), byteaArray = PostgresDataType(1001)
    static let timestamptzArray = PostgresDataType(1185), jsonbArray = PostgresDataType(3807),
        numericArray = PostgresDataType(1231)

    /// Guards integers and numerics: the exact digits, never through a float (9007199254740993
    /// survives); NaN and infinities as strings, since JSON has no such numbers.
    @Test(arguments: [
        Case(.int8, "9007199254740993", "9007199254740993"), Case(.int8, "-9223372036854775808", "-9223372036854775808"),
        Case(.int2, "-32768", "-32768"), Case(.int4, "0", "0"), Case(.oid, "4294967295", "4294967295"),
        Case(.numeric, "1.50", "1.50"), Case(.numeric, "-0.001", "-0.001"),
        Case(.numeric, "12345678901234567890123456789012345678.99", "12345678901234567890123456789012345678.99"),
        Case(.numeric, "NaN", #""NaN""#), Case(.numeric, "Infinity", #""Infinity""#),
        Case(.numeric, "-Infinity", #""-Infinity""#),
        Case(.float8, "0.1", "0.1"), Case(.float8, "-1.5e-07", "-1.5e-07"), Case(.float8, "1e+100", "1e+100"),
        Case(.float8, "-0", "-0"), Case(.float8, "NaN", #""NaN""#), Case(.float8, "Infinity", #""Infinity""#),
        Case(.float8, "-Infinity", #""-Infinity""#), Case(.float4, "3.4028235e+38", "3.4028235e+38"),
    ])
    func numbers(_ value: Case) throws {
        let output = Self.json(value.text, value.type)
        #expect(output == value.json)
        // Whatever the text, the output is one JSON value.
        _ = try JSONParser.parse(Array(output.utf8))
    }

    /// Guards booleans: PostgreSQL writes `t` and `f`.
    @Test func booleans() {
        #expect(Self.json("t", .bool) == "true")
        #expect(Self.json("f", .bool) == "false")
    }

    /// Guards timestamps: timestamptz (UTC on the session) as RFC 3339 with `T` and `Z`,
    /// timestamp with `T` and no offset; fractions kept as given; infinities as their text.
    @Test(arguments: [
        Case(.timestamptz, "2024-05-01 10:00:00.123456+00", #""2024-05-01T10:00:00.123456Z""#),
        Case(.timestamptz, "2024-05-01 12:00:00+00", #""2024-05-01T12:00:00Z""#),
        Case(.timestamptz, "0001-01-01 00:00:00+00", #""0001-01-01T00:00:00Z""#),
        Case(.timestamptz, "infinity", #""infinity""#), Case(.timestamptz, "-infinity", #""-infinity""#),
        Case(.timestamp, "2024-05-01 12:00:00.5", #""2024-05-01T12:00:00.5""#),
        Case(.timestamp, "2024-05-01 12:00:00", #""2024-05-01T12:00:00""#),
        Case(.timestamp, "-infinity", #""-infinity""#),
        Case(.date, "2024-05-01", #""2024-05-01""#), Case(.time, "12:00:00", #""12:00:00""#),
        Case(.interval, "P1DT2H", #""P1DT2H""#), Case(.interval, "P-1M", #""P-1M""#),
    ])
    func dateTimes(_ value: Case) throws {
        let output = Self.json(value.text, value.type)
        #expect(output == value.json)
        _ = try JSONParser.parse(Array(output.utf8))
    }

    /// Guards the inferred column type of what a timestamptz becomes: a load that infers types
    /// from values makes it a timestamptz again.
    @Test func timestamptzOutputIsInferredAsTimestamptz() throws {
        let output = Self.json("2024-05-01 10:00:00.5+00", .timestamptz)
        guard case .string(let text) = try JSONParser.parse(Array(output.utf8)) else {
            Issue.record("not a JSON string: \(output)")
            return
        }
        #expect(text == "2024-05-01T10:00:00.5Z")
    }

    /// Guards the documented fallback for years before Christ: they "stay text" (PostgreSQL's
    /// own text), as no RFC 3339 date-time can hold them.
    @Test func timestampsBeforeChristStayText() {
        #expect(Self.json("0044-03-15 12:00:00+00 BC", .timestamptz) == #""0044-03-15 12:00:00+00 BC""#)
        #expect(Self.json("0044-03-15 12:00:00 BC", .timestamp) == #""0044-03-15 12:00:00 BC""#)
    }

    /// Guards bytea: hex output → base64 (`\x` alone is the empty string; either case of hex digits).
    @Test(arguments: [
        Case(.bytea, #"\x00ff10"#, #""AP8Q""#), Case(.bytea, #"\x00FF10"#, #""AP8Q""#), Case(.bytea, #"\x"#, #""""#),
        Case(.bytea, #"\x5c"#, #""XA==""#), Case(.bytea, #"\x00ff"#, #""AP8=""#),
        Case(.bytea, #"\x48656c6c6f2c20776f726c6421"#, #""SGVsbG8sIHdvcmxkIQ==""#),
    ])
    func bytea(_ value: Case) {
        #expect(Self.json(value.text, value.type) == value.json)
    }

    /// Guards text types (and any type outside the mapping, such as an enum or money): a JSON string with RFC 8259 escapes.
    @Test(arguments: awkwardStrings)
    func textIsAJSONString(text: String) throws {
        for type in [PostgresDataType.text, .varchar, .bpchar, .name, .uuid, .money, .xml, PostgresDataType(99_999)] {
            let output = Self.json(text, type)
            #expect(try JSONParser.parse(Array(output.utf8)) == .string(text), "\(type)")
        }
    }

    /// Guards one exact escaping, as SPEC's example row has it.
    @Test func textEscapes() {
        #expect(Self.json("a\"b\n\t\\ é ✓ 😀", .text) == #""a\"b\n\t\\ é ✓ 😀""#)
        #expect(Self.json("", .text) == #""""#)
    }

    /// Guards json and jsonb: the value itself, not a string; jsonb as the server wrote it, json
    /// compacted onto one line (white space outside strings dropped, inside strings kept).
    @Test func jsonValues() throws {
        #expect(Self.json(#"{"a": [1, 2]}"#, .jsonb) == #"{"a": [1, 2]}"#)
        #expect(Self.json("null", .jsonb) == "null")
        #expect(Self.json("\"str\"", .jsonb) == "\"str\"")
        #expect(Self.json("{ \"k\" :\n 1 }", .json) == #"{"k":1}"#)
        #expect(Self.json("[]", .json) == "[]")
        #expect(
            Self.json("{\r\n\t\"s\" : \"a  b\\\" c\" ,\n \"t\": \"x\\\\\" , \"u\" : [ 1 , \"\\u0020 \" ] }", .json)
                == #"{"s":"a  b\" c","t":"x\\","u":[1,"\u0020 "]}"#)
        let compacted = Self.json("{\n  \"deep\": {\n    \"list\": [\n      true,\n      null\n    ]\n  }\n}", .json)
        #expect(!compacted.contains("\n"))
        #expect(try JSONParser.parse(Array(compacted.utf8)) == JSONParser.parse(Array(#"{"deep":{"list":[true,null]}}"#.utf8)))
    }

    /// Guards arrays: JSON arrays of mapped elements; NULL → null; nested dimensions; a
    /// dimension decoration dropped; quoted elements unescaped; each element mapped by its type.
    @Test(arguments: [
        Case(int4Array, "{1,NULL,3}", "[1,null,3]"), Case(int4Array, "{}", "[]"),
        Case(int4Array, "{{1,NULL},{NULL,4}}", "[[1,null],[null,4]]"),
        Case(int4Array, "{{{1,2}},{{3,4}}}", "[[[1,2]],[[3,4]]]"),
        Case(int4Array, "[0:1]={1,2}", "[1,2]"), Case(int2Array, "[1:2][1:1]={{7},{8}}", "[[7],[8]]"),
        Case(textArray, #"{"x y",NULL,"q\""}"#, #"["x y",null,"q\""]"#),
        Case(textArray, "{{a,b},{c,d}}", #"[["a","b"],["c","d"]]"#),
        Case(textArray, #"{"NULL",NULL,"",",{}","a\\b"}"#, #"["NULL",null,"",",{}","a\\b"]"#),
        Case(boolArray, "{t,f,NULL}", "[true,false,null]"),
        Case(float8Array, "{NaN,Infinity,-Infinity,0.1,-0}", #"["NaN","Infinity","-Infinity",0.1,-0]"#),
        Case(numericArray, "{1.50,NaN}", #"[1.50,"NaN"]"#),
        Case(timestamptzArray, #"{infinity,"2024-05-01 10:00:00+00"}"#, #"["infinity","2024-05-01T10:00:00Z"]"#),
        Case(byteaArray, #"{"\\x00ff","\\x"}"#, #"["AP8=",""]"#),
        Case(jsonbArray, #"{"{\"a\": 1}","\"s\"","[1, 2]",3}"#, #"[{"a": 1},"s",[1, 2],3]"#),
    ])
    func arrays(_ value: Case) throws {
        let output = Self.json(value.text, value.type)
        #expect(output == value.json)
        _ = try JSONParser.parse(Array(output.utf8))
    }

    /// Guards that any text[] the server can write (array_out's quoting, modelled independently)
    /// comes out as exactly its strings, flat and nested.
    @Test func awkwardStringsInTextArrays() throws {
        let flat = PostgresTextReference.ArrayItem.array(awkwardStrings.map { .element($0) } + [.null])
        let output = Self.json(PostgresTextReference.arrayOutput(flat), Self.textArray)
        #expect(try JSONParser.parse(Array(output.utf8)) == .array(awkwardStrings.map { .string($0) } + [.null]))

        let nested = PostgresTextReference.ArrayItem.array(awkwardStrings.map { .array([.element($0), .null]) })
        let nestedOutput = Self.json(PostgresTextReference.arrayOutput(nested), Self.textArray)
        #expect(try JSONParser.parse(Array(nestedOutput.utf8)) == .array(awkwardStrings.map { .array([.string($0), .null]) }))
    }

    /// Guards which types map to which style: the OIDs PostgreSQL reports, arrays by their element type.
    @Test func stylesByType() {
        typealias Style = PostgresTextEncoder.Style
        #expect(Style(.int2) == .verbatimNumber && Style(.int4) == .verbatimNumber && Style(.int8) == .verbatimNumber)
        #expect(Style(.numeric) == .decimalNumber && Style(.float4) == .decimalNumber && Style(.float8) == .decimalNumber)
        #expect(Style(.bool) == .boolean)
        #expect(Style(.json) == .json && Style(.jsonb) == .jsonb)
        #expect(Style(.timestamptz) == .timestampUTC && Style(.timestamp) == .timestamp)
        #expect(Style(.bytea) == .bytea)
        #expect(
            Style(.text) == .string && Style(.date) == .string && Style(.uuid) == .string
                && Style(PostgresDataType(99_999)) == .string)
        #expect(Style(Self.int4Array) == .array(.verbatimNumber))
        #expect(Style(Self.byteaArray) == .array(.bytea))
        #expect(Style(PostgresDataType(199)) == .array(.json))
    }
}
