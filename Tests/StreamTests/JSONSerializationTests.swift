import Core
import Stream
import Testing

@Suite("JSONValue serialization")
struct JSONSerializationTests {
    /// Guards that compact output is exact (no spaces, stored order) and parses back to the same value.
    @Test(arguments: [
        "null", "true", "false", "0", "-0", "1.50e+3", "9007199254740993", "\"\"", "[]", "{}",
        #"[1,"two",[3,[]],{"four":4}]"#,
        #"{"b":1,"a":{"c":[null,true,false]},"b":"dup"}"#,
        #"{"":"","\u0000":"\u001f"}"#,
    ])
    func roundTripsCompact(json: String) throws {
        let value = try JSONParser.parse(json)
        let text = value.serialized()
        #expect(try JSONParser.parse(text) == value)
        #expect(try JSONParser.parse(value.prettySerialized(sortKeys: false)) == value)
        if !json.contains("\\u") {
            #expect(text == json)
        }
    }

    /// Guards that strings are escaped: quotes, backslashes, every control character; emoji and other UTF-8 kept raw.
    @Test func escapesStrings() throws {
        let value = JSONValue.string("q\"b\\s/n\nt\tnul\u{0}us\u{1F}del\u{7F}😀é")
        let text = value.serialized()
        #expect(text == #""q\"b\\s/n\nt\tnul\u0000us\u001fdel"# + "\u{7F}😀é\"")
        #expect(try JSONParser.parse(text) == value)
        let allControls = String(decoding: Array(UInt8(0)..<0x20), as: UTF8.self)
        #expect(try JSONParser.parse(JSONValue.string(allControls).serialized()) == .string(allControls))
    }

    /// Guards that keys are escaped like strings.
    @Test func escapesKeys() throws {
        let value = JSONValue.object([JSONMember(key: "a\"\n😀", value: .null)])
        #expect(value.serialized() == #"{"a\"\n😀":null}"#)
        #expect(try JSONParser.parse(value.serialized()) == value)
    }

    /// Guards the exact pretty layout: 2 spaces, `"key": value`, UTF-8 key order, `{}` and `[]`, no trailing newline.
    @Test func prettyPrintsSortedExactly() throws {
        let value = try JSONParser.parse(#"{"b":[1,true],"é":[],"a":{},"B":"x","c":{"z":null,"y":"s"}}"#)
        #expect(
            value.prettySerialized(sortKeys: true) == """
                {
                  "B": "x",
                  "a": {},
                  "b": [
                    1,
                    true
                  ],
                  "c": {
                    "y": "s",
                    "z": null
                  },
                  "é": []
                }
                """)
        #expect(
            value.prettySerialized(sortKeys: false) == """
                {
                  "b": [
                    1,
                    true
                  ],
                  "é": [],
                  "a": {},
                  "B": "x",
                  "c": {
                    "z": null,
                    "y": "s"
                  }
                }
                """)
    }

    /// Guards that pretty output of scalars and empty containers has no extra whitespace.
    @Test(arguments: [("[]", "[]"), ("{}", "{}"), ("7", "7"), ("\"s\"", "\"s\""), ("[[]]", "[\n  []\n]")])
    func prettyPrintsSmallValues(json: String, expected: String) throws {
        #expect(try JSONParser.parse(json).prettySerialized(sortKeys: true) == expected)
    }

    /// Guards that sorting keeps duplicate keys in their written order.
    @Test func sortingKeepsDuplicateOrder() throws {
        let value = try JSONParser.parse(#"{"b":2,"a":1,"b":1,"a":0}"#)
        #expect(value.prettySerialized(sortKeys: true) == "{\n  \"a\": 1,\n  \"a\": 0,\n  \"b\": 2,\n  \"b\": 1\n}")
    }

    /// Guards that appendSerialized appends compact text after what the buffer already holds.
    @Test func appendsToExistingBuffer() throws {
        var output = Array("row: ".utf8)
        try JSONParser.parse(#"{"a": [1, 2]}"#).appendSerialized(to: &output)
        output.append(0x0A)
        #expect(String(decoding: output, as: UTF8.self) == "row: {\"a\":[1,2]}\n")
    }

    /// Guards that serialization does not recurse: the deepest accepted value writes and parses back.
    @Test func serializesDeepestNestingWithoutRecursion() throws {
        let depth = JSONParser.maximumDepth
        let text = String(repeating: "[{\"k\":", count: depth / 2) + "0" + String(repeating: "}]", count: depth / 2)
        let value = try JSONParser.parse(text)
        #expect(value.serialized() == text)
        #expect(try JSONParser.parse(value.prettySerialized(sortKeys: true)) == value)
    }
}
