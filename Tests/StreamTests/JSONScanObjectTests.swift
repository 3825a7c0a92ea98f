import Core
import Stream
import Testing

@Suite("JSONParser.scanObject")
struct JSONScanObjectTests {
    /// Runs scanObject on `line` for `key`.
    private func scan(_ line: String, key: String = "id") throws(JSONSyntaxError) -> JSONParser.CapturedMember {
        let bytes = Array(line.utf8)
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONSyntaxError) in try JSONParser.scanObject(buffer, capturing: Array(key.utf8)) }
        }
        return try result.get()
    }

    /// Guards that the top-level member's value is captured, whatever its type, and nothing else is needed.
    @Test(arguments: [
        (#"{"id":123456,"name":"user"}"#, JSONValue.number("123456")),
        (#"{"name":"user","id":"abc"}"#, .string("abc")),
        (#" { "id" : -1.5e3 } "#, .number("-1.5e3")),
        (
            #"{"id":{"a":[1,{"id":2}]},"z":0}"#,
            .object([JSONMember(key: "a", value: .array([.number("1"), .object([JSONMember(key: "id", value: .number("2"))])]))])
        ),
        (#"{"id":[]}"#, .array([])),
        (#"{"id":true}"#, .bool(true)),
        (#"{"id":"line\nbreak \ud83d\ude00"}"#, .string("line\nbreak 😀")),
    ])
    func capturesTopLevelMember(line: String, expected: JSONValue) throws {
        #expect(try scan(line) == .present(expected))
    }

    /// Guards that a nested member with the same name does not count as the top-level key.
    @Test func ignoresNestedSameNamedKeys() throws {
        #expect(try scan(#"{"meta":{"id":1},"list":[{"id":2}],"x":"id"}"#) == .absent)
        #expect(try scan(#"{"meta":{"id":1},"id":"top","more":{"id":3}}"#) == .present(.string("top")))
    }

    /// Guards that keys compare by decoded bytes, so an escaped key still matches and near misses do not.
    @Test func matchesDecodedKeyBytes() throws {
        #expect(try scan(#"{"\u0069d":7}"#) == .present(.number("7")))
        #expect(try scan(#"{"\u0069\u0064":8}"#) == .present(.number("8")))
        #expect(try scan(#"{"idx":1,"i":2,"ID":3,"i\"d":4}"#) == .absent)
        #expect(try scan(#"{"é":5}"#, key: "é") == .present(.number("5")))
        #expect(try scan(#"{"\u00e9":6}"#, key: "é") == .present(.number("6")))
        #expect(try scan(#"{"":9}"#, key: "") == .present(.number("9")))
    }

    /// Guards the difference between a missing key and a key whose value is null.
    @Test func distinguishesAbsentFromNull() throws {
        #expect(try scan(#"{"id":null}"#) == .present(.null))
        #expect(try scan(#"{"other":null}"#) == .absent)
        #expect(try scan("{}") == .absent)
        #expect(try scan(" { } ") == .absent)
    }

    /// Guards that the last of duplicated top-level keys wins.
    @Test func lastDuplicateWins() throws {
        #expect(try scan(#"{"id":1,"x":0,"id":2}"#) == .present(.number("2")))
    }

    /// Guards that valid JSON that is not an object is refused with "expected a JSON object" at the value.
    @Test(arguments: [("[1]", 0), ("42", 0), ("\"id\"", 0), ("null", 0), ("  [{\"id\":1}] ", 2)])
    func refusesNonObjects(line: String, offset: Int) {
        #expect(throws: JSONSyntaxError(offset: offset, reason: "expected a JSON object")) { try scan(line) }
    }

    /// Guards that a non-object that is also malformed reports its syntax error, not the kind mismatch.
    @Test func reportsSyntaxErrorBeforeKind() {
        #expect(throws: JSONSyntaxError(offset: 2, reason: "expected ',' or ']' after array element, found end of input")) {
            try scan("[1")
        }
        #expect(throws: JSONSyntaxError(offset: 0, reason: "unexpected end of input")) { try scan("") }
    }

    /// Guards that the whole line is validated, including members after the captured one and nested values.
    @Test(arguments: [
        (#"{"id":1,"x":tru}"#, 12, "invalid literal, expected 'true'"),
        (#"{"id":1,"x":[1,2,]}"#, 17, "trailing comma in array"),
        (#"{"id":1,"x":{"y":"\q"}}"#, 18, "invalid escape '\\q'"),
        (#"{"id":1,"x":01}"#, 12, "number with a leading zero"),
        (#"{"id":1,}"#, 8, "trailing comma in object"),
        (#"{"id":1 "x":2}"#, 8, "expected ',' or '}' after object member, found '\"'"),
        (#"{"id" 1}"#, 6, "expected ':' after object key, found '1'"),
        (#"{id:1}"#, 1, "expected '\"' to begin an object key, found 'i'"),
        (#"{"id":1} x"#, 9, "trailing characters after the value"),
        (#"{"id":1}{}"#, 8, "trailing characters after the value"),
        (#"{"id":1"#, 7, "expected ',' or '}' after object member, found end of input"),
        (#"{"x":"\ud800","id":1}"#, 6, "lone surrogate \\ud800"),
        ("{\"id\":1,\"x\":\"a\u{1}\"}", 14, "control character U+0001 in string"),
    ])
    func validatesWholeLine(line: String, offset: Int, reason: String) {
        #expect(throws: JSONSyntaxError(offset: offset, reason: reason)) { try scan(line) }
    }

    /// Guards that invalid UTF-8 anywhere in the line, also in keys and skipped values, is refused.
    @Test func refusesInvalidUTF8InSkippedParts() {
        let prefix = Array(#"{"id":1,"n":{"k":""#.utf8)
        let line = prefix + [0xED, 0xA0, 0x80] + Array(#""}}"#.utf8)
        let result = line.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONSyntaxError) in try JSONParser.scanObject(buffer, capturing: Array("id".utf8)) }
        }
        #expect(throws: JSONSyntaxError(offset: prefix.count, reason: "invalid UTF-8")) { try result.get() }
    }

    /// Guards that deep nesting is an error, not a crash, both in skipped and in captured values.
    @Test func limitsNestingDepth() throws {
        #expect(throws: JSONSyntaxError(offset: 1024, reason: "nesting deeper than 1024 levels")) {
            try scan(String(repeating: "[", count: 100_000))
        }
        // The object itself is level 1; `{"x":` is 5 bytes, so the 1025th container opens at byte 5 + 1023.
        #expect(throws: JSONSyntaxError(offset: 5 + 1023, reason: "nesting deeper than 1024 levels")) {
            try scan("{\"x\":" + String(repeating: "[", count: 100_000))
        }
        #expect(throws: JSONSyntaxError(offset: 6 + 1023, reason: "nesting deeper than 1024 levels")) {
            try scan("{\"id\":" + String(repeating: "[", count: 100_000))
        }
        let deepest = "{\"id\":" + String(repeating: "[", count: 1023) + String(repeating: "]", count: 1023) + "}"
        guard case .present(let value) = try scan(deepest) else {
            Issue.record("expected the deep value to be captured")
            return
        }
        #expect(value.serialized() == String(repeating: "[", count: 1023) + String(repeating: "]", count: 1023))
    }

    /// Guards that scanObject agrees with parse on a typical NDJSON row.
    @Test func agreesWithParse() throws {
        let line =
            #"{"id":123456,"name":"user 123456","email":"u123456@example.com","created_at":"2024-05-01T12:00:00.123456Z","score":12.50,"active":true,"meta":{"a":1}}"#
        guard case .object(let members) = try JSONParser.parse(line) else {
            Issue.record("expected an object")
            return
        }
        for member in members {
            #expect(try scan(line, key: member.key) == .present(member.value))
        }
        #expect(try scan(line, key: "a") == .absent)
    }
}
