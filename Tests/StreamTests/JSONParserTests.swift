import Core
import Stream
import Testing

@Suite("JSONParser")
struct JSONParserTests {
    /// Guards that numbers keep their exact text: no rounding through Double, no normalising of -0 or exponents.
    @Test(arguments: [
        "9007199254740993",
        "1234567890123456789012345678901234567890",
        "-0",
        "1.5E+300",
        "1.50e-3",
        "0.1000000000000000055511151231257827",
    ])
    func keepsNumberTextExactly(text: String) throws {
        #expect(try JSONParser.parse(text) == .number(text))
        #expect(try JSONParser.parse("[ \(text) ]") == .array([.number(text)]))
        #expect(try JSONParser.parse("{\"n\":\(text)}").serialized() == "{\"n\":\(text)}")
    }

    /// Guards that escapes decode, surrogate pairs combine, and raw UTF-8 passes through unchanged.
    @Test(arguments: [
        (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{08}\u{0C}\n\r\t"),
        (#""\u0041\u00e9\u20AC""#, "Aé€"),
        (#""\ud83d\ude00 and 😀""#, "😀 and 😀"),
        (#""\uDBFF\uDFFF""#, "\u{10FFFF}"),
        (#""nul\u0000byte""#, "nul\u{0}byte"),
        (#""plain ascii""#, "plain ascii"),
        (#""日本語 ünïcödé""#, "日本語 ünïcödé"),
    ])
    func decodesStrings(json: String, expected: String) throws {
        #expect(try JSONParser.parse(json) == .string(expected))
    }

    /// Guards that objects keep member order and duplicate keys exactly as written.
    @Test func keepsMemberOrderAndDuplicates() throws {
        let value = try JSONParser.parse(#" {"b":1, "a":[true,false,null], "b":{}} "#)
        #expect(
            value
                == .object([
                    JSONMember(key: "b", value: .number("1")),
                    JSONMember(key: "a", value: .array([.bool(true), .bool(false), .null])),
                    JSONMember(key: "b", value: .object([])),
                ]))
    }

    /// Guards the exact offset and reason reported for malformed text.
    @Test(arguments: [
        ("", 0, "unexpected end of input"),
        ("   ", 3, "unexpected end of input"),
        ("x", 0, "unexpected character 'x'"),
        ("01", 0, "number with a leading zero"),
        ("-", 1, "expected a digit after '-', found end of input"),
        ("-a", 1, "expected a digit after '-', found 'a'"),
        ("+1", 0, "unexpected character '+'"),
        (".5", 0, "unexpected character '.'"),
        ("1.", 2, "expected a digit after the decimal point, found end of input"),
        ("1e", 2, "expected a digit in the exponent, found end of input"),
        ("1e+x", 3, "expected a digit in the exponent, found 'x'"),
        ("NaN", 0, "unexpected character 'N'"),
        ("tru", 0, "invalid literal, expected 'true'"),
        ("[nul]", 1, "invalid literal, expected 'null'"),
        ("[1,]", 3, "trailing comma in array"),
        ("{\"a\":1,}", 7, "trailing comma in object"),
        ("[1 2]", 3, "expected ',' or ']' after array element, found '2'"),
        ("{\"a\":1 \"b\":2}", 7, "expected ',' or '}' after object member, found '\"'"),
        ("{'a':1}", 1, "expected '\"' to begin an object key, found '''"),
        ("{\"a\" 1}", 5, "expected ':' after object key, found '1'"),
        ("[1", 2, "expected ',' or ']' after array element, found end of input"),
        ("[1] x", 4, "trailing characters after the value"),
        ("1 // comment", 2, "trailing characters after the value"),
        ("/* c */ 1", 0, "unexpected character '/'"),
        ("\u{0C}1", 0, "unexpected byte 0x0C"),
        ("\"abc", 0, "unterminated string"),
        ("[\"a\\", 1, "unterminated string"),
        ("\"a\nb\"", 2, "control character U+000A in string"),
        ("\"tab\there\"", 4, "control character U+0009 in string"),
        ("\"\\x\"", 1, "invalid escape '\\x'"),
        ("\"\\u12\"", 1, "invalid \\u escape, expected 4 hexadecimal digits"),
        ("\"\\ud800\"", 1, "lone surrogate \\ud800"),
        ("\"\\uD800\\u0041\"", 1, "lone surrogate \\ud800"),
        ("\"ab\\udc00\"", 3, "lone surrogate \\udc00"),
        ("\"\\ud800\\ud800\"", 1, "lone surrogate \\ud800"),
    ])
    func reportsOffsetAndReason(json: String, offset: Int, reason: String) {
        #expect(throws: JSONSyntaxError(offset: offset, reason: reason)) { try JSONParser.parse(json) }
    }

    /// Guards that invalid UTF-8 is refused wherever it appears, at the offset of the bad sequence.
    @Test(
        arguments: [
            ([0x22, 0xC0, 0xAF, 0x22], 1, "invalid UTF-8"),  // overlong "/"
            ([0x22, 0xE0, 0x80, 0xAF, 0x22], 1, "invalid UTF-8"),  // overlong 3-byte form
            ([0x22, 0x61, 0xED, 0xA0, 0x80, 0x22], 2, "invalid UTF-8"),  // encoded surrogate U+D800
            ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], 1, "invalid UTF-8"),  // U+110000
            ([0x22, 0xE2, 0x82, 0x22], 1, "invalid UTF-8"),  // truncated before the closing quote
            ([0x22, 0xC3], 1, "invalid UTF-8"),  // truncated at the end of input
            ([0x22, 0x80, 0x22], 1, "invalid UTF-8"),  // lone continuation byte
            ([0x22, 0xE9, 0x22], 1, "invalid UTF-8"),  // ISO Latin-1 "é"
            ([0x22, 0x5C, 0x6E, 0xFF, 0x22], 3, "invalid UTF-8"),  // after an escape
            ([0xC3, 0xA9], 0, "unexpected byte 0xC3"),  // non-ASCII outside a string
            ([0xEF, 0xBB, 0xBF, 0x7B, 0x7D], 0, "byte order mark is not allowed"),
        ] as [([UInt8], Int, String)])
    func refusesInvalidUTF8(bytes: [UInt8], offset: Int, reason: String) {
        #expect(throws: JSONSyntaxError(offset: offset, reason: reason)) { try JSONParser.parse(bytes) }
    }

    /// Guards that well-formed multi-byte UTF-8 at the edges of each range is accepted.
    @Test func acceptsUTF8RangeEdges() throws {
        let text = "\u{80}\u{7FF}\u{800}\u{D7FF}\u{E000}\u{FFFF}\u{10000}\u{10FFFF}"
        #expect(try JSONParser.parse("\"\(text)\"") == .string(text))
    }

    /// Guards that nesting is limited without recursion: 1024 levels parse, 1025 and 100,000 are refused.
    @Test func limitsNestingDepth() throws {
        let limit = JSONParser.maximumDepth
        #expect(limit == 1024)
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        let value = try JSONParser.parse(deepest)
        #expect(value.serialized() == deepest)

        let tooDeep = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        #expect(throws: JSONSyntaxError(offset: limit, reason: "nesting deeper than 1024 levels")) {
            try JSONParser.parse(tooDeep)
        }
        let hostile = String(repeating: "[", count: 100_000)
        #expect(throws: JSONSyntaxError(offset: limit, reason: "nesting deeper than 1024 levels")) {
            try JSONParser.parse(hostile)
        }
        let objects = String(repeating: "{\"a\":", count: 100_000)
        #expect(throws: JSONSyntaxError(offset: 5 * limit, reason: "nesting deeper than 1024 levels")) {
            try JSONParser.parse(objects)
        }
    }

    /// Guards the user-facing sentence: a 1-based byte position, then the reason.
    @Test func describesErrorWithOneBasedPosition() {
        let error = JSONSyntaxError(offset: 4, reason: "unterminated string")
        #expect(error.description == "at byte 5: unterminated string")
        #expect("\(error)" == "at byte 5: unterminated string")
    }

    /// Guards that the String, [UInt8] and buffer entry points agree.
    @Test func entryPointsAgree() throws {
        let text = #"{"k":[1,"v",{"x":null}]}"#
        let bytes = Array(text.utf8)
        let fromBuffer = try bytes.withUnsafeBufferPointer { buffer in try JSONParser.parse(buffer) }
        #expect(try JSONParser.parse(text) == fromBuffer)
        #expect(try JSONParser.parse(bytes) == fromBuffer)
    }
}
