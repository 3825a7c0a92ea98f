import Core
import Foundation
import Stream
import TestSupport
import Testing

@testable import Postgres

/// `PostgresLoadEncoder`: one JSON row value → one field of COPY's text format, for a column of a
/// given kind (SPEC section 4, mapped back: base64 → bytea, JSON arrays → PostgreSQL arrays).
@Suite struct PostgresLoadEncoderTests {
    /// The COPY field for the JSON value `json` in a column of `kind`, and the encoder's refusal if any.
    static func encode(_ json: String, as kind: ColumnKind?) throws -> (field: String, problem: String?) {
        let line = Array("{\"v\":\(json)}".utf8)
        var output: [UInt8] = []
        let problem = try line.withUnsafeBufferPointer { (buffer) throws -> String? in
            var row = JSONRow()
            defer { row.release() }
            try row.scan(buffer)
            let member = try #require(row.members.first)
            return PostgresLoadEncoder.append(member.value, of: row, as: PostgresLoadEncoder.Encoding(kind), to: &output)
        }
        return (String(decoding: output, as: UTF8.self), problem)
    }

    /// The COPY field, requiring that the encoder accepted the value.
    static func field(_ json: String, as kind: ColumnKind?) throws -> String {
        let (field, problem) = try encode(json, as: kind)
        #expect(problem == nil, "refused \(json): \(problem ?? "")")
        return field
    }

    /// A field must never hold a raw tab, newline or carriage return: they would end the field or the row.
    static func expectSingleField(_ field: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!field.utf8.contains { $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }, "\(field)", sourceLocation: sourceLocation)
    }

    // MARK: - Scalars

    /// Guards scalars in a plain column: NULL as `\N`, booleans, numbers with their exact text, strings with COPY escapes.
    @Test(arguments: [
        ("null", #"\N"#), ("true", "true"), ("false", "false"),
        ("9007199254740993", "9007199254740993"), ("-1.50e+3", "-1.50e+3"), ("0.10", "0.10"),
        (#""plain""#, "plain"), (#""""#, ""), (#""a\tb""#, #"a\tb"#), (#""line1\nline2""#, #"line1\nline2"#),
        (#""cr\r""#, #"cr\r"#), (#""back\\slash""#, #"back\\slash"#), (#""q\"uote""#, #"q"uote"#),
        // The string \N must not read as NULL.
        (#""\\N""#, #"\\N"#), (#""\\.""#, #"\\."#),
        (#""é ✓ 😀""#, "é ✓ 😀"), (#""\u00e9\ud83d\ude00""#, "é😀"),
    ])
    func scalarsInATextColumn(json: String, expected: String) throws {
        #expect(try Self.field(json, as: .text) == expected)
        // A column outside the mapping (kind nil) takes values the same way.
        #expect(try Self.field(json, as: nil) == expected)
    }

    /// Guards that every awkward string survives COPY escaping: the server reads back exactly the string.
    @Test(arguments: awkwardStrings)
    func stringsRoundTripThroughCopy(text: String) throws {
        let field = try Self.field(JSONValue.string(text).serialized(), as: .text)
        Self.expectSingleField(field)
        #expect(PostgresTextReference.decodeCopyField(Array(field.utf8)) == Array(text.utf8))
    }

    // MARK: - json, jsonb

    /// Guards json/jsonb columns: objects and arrays go in as their JSON text (spacing kept,
    /// escapes COPY-escaped); a string goes in as a JSON string, quoted; NULL stays SQL NULL.
    @Test(arguments: [ColumnKind.json, .jsonb])
    func jsonColumns(kind: ColumnKind) throws {
        #expect(try Self.field(#"{"a": [1, 2], "t": "x\ty"}"#, as: kind) == #"{"a": [1, 2], "t": "x\\ty"}"#)
        #expect(try Self.field("[]", as: kind) == "[]")
        #expect(try Self.field(#""str""#, as: kind) == #""str""#)
        #expect(try Self.field(#""a\"b""#, as: kind) == #""a\\"b""#)
        #expect(try Self.field(#""x\ty""#, as: kind) == #""x\\ty""#)
        #expect(try Self.field("12", as: kind) == "12")
        #expect(try Self.field("true", as: kind) == "true")
        #expect(try Self.field("null", as: kind) == #"\N"#)
    }

    /// Guards that what a json column receives is, once COPY has read it, the same JSON value.
    @Test(arguments: awkwardStrings)
    func jsonStringsRoundTrip(text: String) throws {
        let value = JSONValue.string(text)
        let field = try Self.field(value.serialized(), as: .jsonb)
        Self.expectSingleField(field)
        let decoded = try #require(PostgresTextReference.decodeCopyField(Array(field.utf8)))
        #expect(try JSONParser.parse(decoded) == value)
    }

    // MARK: - bytea

    /// Guards bytea: base64 → `\\x` hex (COPY-escaped backslash), empty → `\\x`; not base64 → refused.
    @Test func byteaFromBase64() throws {
        #expect(try Self.field(#""AP8Q""#, as: .bytea) == #"\\x00ff10"#)
        #expect(try Self.field(#""AP8=""#, as: .bytea) == #"\\x00ff"#)
        #expect(try Self.field(#""XA==""#, as: .bytea) == #"\\x5c"#)
        #expect(try Self.field(#""""#, as: .bytea) == #"\\x"#)
        #expect(try Self.field("null", as: .bytea) == #"\N"#)
        let (_, problem) = try Self.encode(#""not base64!""#, as: .bytea)
        #expect(problem == "expected base64 for a bytea column")
    }

    /// Guards that arbitrary bytes, base64 as Foundation writes them, reach the server unchanged.
    @Test(arguments: [0, 1, 2, 3, 4, 5, 255, 256, 1000])
    func byteaRoundTrip(length: Int) throws {
        var generator = SplitMix64(seed: UInt64(length) + 1)
        let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let field = try Self.field("\"" + Data(bytes).base64EncodedString() + "\"", as: .bytea)
        let decoded = try #require(PostgresTextReference.decodeCopyField(Array(field.utf8)))
        #expect(PostgresTextReference.decodeByteaHex(decoded) == bytes)
    }

    // MARK: - Arrays

    /// Guards arrays → array literals: NULL elements, nested arrays as nested braces, strings
    /// always quoted (so `NULL`, empty, commas and braces stay text), then COPY-escaped.
    @Test(arguments: [
        (ColumnKind.array(.integer), "[1, null, 3]", "{1,NULL,3}"),
        (.array(.integer), "[]", "{}"),
        (.array(.array(.integer)), "[[1,2],[3,4]]", "{{1,2},{3,4}}"),
        (.array(.array(.integer)), "[[1,null],[null,4]]", "{{1,NULL},{NULL,4}}"),
        (.array(.integer), "[[[1],[2]],[[3],[4]]]", "{{{1},{2}},{{3},{4}}}"),
        (.array(.boolean), "[true,false,null]", "{true,false,NULL}"),
        (.array(.double), #"["NaN","Infinity","-Infinity",0.1,-0]"#, #"{"NaN","Infinity","-Infinity",0.1,-0}"#),
        (.array(.numeric), "[1.50, 12345678901234567890.01]", "{1.50,12345678901234567890.01}"),
        (.array(.text), #"[["a","b"],["c","d"]]"#, #"{{"a","b"},{"c","d"}}"#),
        (
            .array(.text), #"["x y", null, "q\"", "NULL", "a\\b", "", "tab\t", "nl\n", ",{}"]"#,
            #"{"x y",NULL,"q\\"","NULL","a\\\\b","","tab\t","nl\n",",{}"}"#
        ),
        (.array(.text), #"[{"k":"v"}]"#, #"{"{\\"k\\":\\"v\\"}"}"#),
        (.array(.timestamptz), #"["infinity","2024-05-01T10:00:00Z"]"#, #"{"infinity","2024-05-01T10:00:00Z"}"#),
        (.array(.text), "null", #"\N"#),
    ])
    func arrays(kind: ColumnKind, json: String, expected: String) throws {
        let field = try Self.field(json, as: kind)
        Self.expectSingleField(field)
        #expect(field == expected)
    }

    /// Guards bytea[]: base64 elements → quoted `\x` hex elements, whose backslash COPY doubles again.
    @Test func byteaArrays() throws {
        #expect(try Self.field(#"["AP8Q", "", null]"#, as: .array(.bytea)) == #"{"\\\\x00ff10","\\\\x",NULL}"#)
        let (_, problem) = try Self.encode(#"["AP8Q", "%%%"]"#, as: .array(.bytea))
        #expect(problem == "expected base64 for a bytea column")
        let field = try Self.field(#"["AP8Q"]"#, as: .array(.bytea))
        let literal = try #require(PostgresTextReference.decodeCopyField(Array(field.utf8)))
        guard case .array(let items)? = PostgresTextReference.parseArrayLiteral(literal), case .element(let hex)? = items.first
        else {
            Issue.record("not an array literal: \(field)")
            return
        }
        #expect(PostgresTextReference.decodeByteaHex(Array(hex.utf8)) == [0x00, 0xFF, 0x10])
    }

    /// Guards json[]/jsonb[]: each element is one whole JSON value (an array element too, not a
    /// nested dimension), quoted; JSON null elements become SQL NULL.
    @Test(arguments: [ColumnKind.array(.json), .array(.jsonb)])
    func jsonArrays(kind: ColumnKind) throws {
        let field = try Self.field(#"[{"a": 1}, "s", [1, 2], 3, null, true]"#, as: kind)
        #expect(field == #"{"{\\"a\\":1}","\\"s\\"","[1,2]",3,NULL,true}"#)
        let literal = try #require(PostgresTextReference.decodeCopyField(Array(field.utf8)))
        guard case .array(let items)? = PostgresTextReference.parseArrayLiteral(literal) else {
            Issue.record("not an array literal: \(field)")
            return
        }
        #expect(items == [.element(#"{"a":1}"#), .element(#""s""#), .element("[1,2]"), .element("3"), .null, .element("true")])
    }

    /// Guards that every awkward string, as an element of a text[] and of a nested text[][],
    /// reads back through COPY and array input as exactly that string.
    @Test func awkwardStringsRoundTripAsArrayElements() throws {
        let strings = awkwardStrings
        let flat = JSONValue.array(strings.map { .string($0) } + [.null])
        let field = try Self.field(flat.serialized(), as: .array(.text))
        Self.expectSingleField(field)
        let literal = try #require(PostgresTextReference.decodeCopyField(Array(field.utf8)))
        #expect(PostgresTextReference.parseArrayLiteral(literal) == .array(strings.map { .element($0) } + [.null]))

        let nested = JSONValue.array(strings.map { .array([.string($0), .string($0 + "!")]) })
        let nestedField = try Self.field(nested.serialized(), as: .array(.array(.text)))
        let nestedLiteral = try #require(PostgresTextReference.decodeCopyField(Array(nestedField.utf8)))
        #expect(
            PostgresTextReference.parseArrayLiteral(nestedLiteral)
                == .array(strings.map { .array([.element($0), .element($0 + "!")]) }))
    }

    /// Guards that awkward strings as json[] elements read back, each, as the same JSON string.
    @Test func awkwardStringsRoundTripAsJSONArrayElements() throws {
        let field = try Self.field(JSONValue.array(awkwardStrings.map { .string($0) }).serialized(), as: .array(.jsonb))
        let literal = try #require(PostgresTextReference.decodeCopyField(Array(field.utf8)))
        guard case .array(let items)? = PostgresTextReference.parseArrayLiteral(literal) else {
            Issue.record("not an array literal: \(field)")
            return
        }
        let values = try items.map { (item) throws -> JSONValue in
            guard case .element(let text) = item else { throw CocoaError(.coderInvalidValue) }
            return try JSONParser.parse(Array(text.utf8))
        }
        #expect(values == awkwardStrings.map { .string($0) })
    }

    /// Guards that a non-array container for an array column is refused, not sent as a bad literal.
    @Test(arguments: [ColumnKind.array(.integer), .array(.bytea), .array(.jsonb)])
    func objectForAnArrayColumnIsRefused(kind: ColumnKind) throws {
        let (_, problem) = try Self.encode(#"{"a": 1}"#, as: kind)
        #expect(problem == "expected a JSON array for a PostgreSQL array column")
    }

    /// Guards how column kinds choose an encoding.
    @Test func encodingsByKind() {
        typealias Encoding = PostgresLoadEncoder.Encoding
        #expect(Encoding(nil) == .plain)
        #expect(Encoding(.text) == .plain)
        #expect(Encoding(.bigint) == .plain)
        #expect(Encoding(.bytea) == .bytea)
        #expect(Encoding(.json) == .json)
        #expect(Encoding(.jsonb) == .json)
        #expect(Encoding(.array(.bytea)) == .byteaArray)
        #expect(Encoding(.array(.json)) == .jsonArray)
        #expect(Encoding(.array(.jsonb)) == .jsonArray)
        #expect(Encoding(.array(.text)) == .array)
        #expect(Encoding(.array(.array(.integer))) == .array)
    }

    /// COPY escaping, eight bytes at a time, against a byte-at-a-time reference: random runs of
    /// bytes with backslashes, tabs, newlines, carriage returns and other control bytes anywhere.
    @Test func escapingMatchesTheByteAtATimeReference() {
        var generator = SplitMix64(seed: 1031)
        let specials: [UInt8] = [0x5C, 0x09, 0x0A, 0x0D, 0x01, 0x1F, 0x7F, 0x80, 0xFF]
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                Int.random(in: 0..<6, using: &generator) == 0
                    ? specials.randomElement(using: &generator) ?? 0 : UInt8.random(in: 0x20...0x7E, using: &generator)
            }
            var expected: [UInt8] = []
            for byte in bytes {
                switch byte {
                case 0x5C: expected += [0x5C, 0x5C]
                case 0x09: expected += [0x5C, UInt8(ascii: "t")]
                case 0x0A: expected += [0x5C, UInt8(ascii: "n")]
                case 0x0D: expected += [0x5C, UInt8(ascii: "r")]
                default: expected.append(byte)
                }
            }
            var array: [UInt8] = []
            var buffer = ByteBuffer(capacity: 1)
            bytes.withUnsafeBufferPointer {
                PostgresLoadEncoder.appendEscaped($0, to: &array)
                PostgresLoadEncoder.appendEscaped($0, to: &buffer)
            }
            #expect(array == expected, "\(bytes)")
            #expect(buffer.bytes == expected, "\(bytes)")
        }
    }
}
