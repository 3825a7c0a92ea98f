import Core
import Stream
import Testing

/// The loader's row scanner: one NDJSON line → its top-level members as bytes.
@Suite("JSONRow")
struct JSONRowTests {
    /// A scanned member with its bytes turned into values a test can compare.
    struct Member: Equatable, CustomStringConvertible {
        var key: String
        var value: Value

        enum Value: Equatable {
            case null
            case bool(Bool)
            case number(String)
            case string(String)
            case container(String)
        }

        var description: String { "\(key)=\(value)" }
    }

    /// Scans `bytes` with a fresh row and copies what it found out of the borrowed line.
    static func scan(_ bytes: [UInt8]) -> Result<[Member], JSONRowError> {
        var row = JSONRow()
        return scan(bytes, with: &row)
    }

    /// Scans `bytes` with `row` (to test reuse) and copies what it found out of the borrowed line.
    static func scan(_ bytes: [UInt8], with row: inout JSONRow) -> Result<[Member], JSONRowError> {
        bytes.withUnsafeBufferPointer { buffer in
            do throws(JSONRowError) {
                try row.scan(buffer)
            } catch {
                return .failure(error)
            }
            return .success(
                row.members.map { member in
                    let value: Member.Value
                    switch member.value {
                    case .null: value = .null
                    case .bool(let flag): value = .bool(flag)
                    case .number(let range): value = .number(String(decoding: row.lineBytes(range), as: UTF8.self))
                    case .string(let bytes): value = .string(row.string(bytes))
                    case .container(let range): value = .container(String(decoding: row.lineBytes(range), as: UTF8.self))
                    }
                    return Member(key: row.string(member.key), value: value)
                })
        }
    }

    static func scan(_ line: String) -> Result<[Member], JSONRowError> { scan(Array(line.utf8)) }

    /// The members the row scanner finds in `line`, as the parser's type, or its refusal.
    static func scannedMembers(_ line: [UInt8]) -> Result<[JSONMember], JSONRowError> {
        var row = JSONRow()
        return line.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONRowError) in
                try row.scan(buffer)
                return row.members.map { JSONMember(key: row.string($0.key), value: row.jsonValue($0.value)) }
            }
        }
    }

    /// The members JSONParser finds in `value` when it is an object.
    static func parsedMembers(_ bytes: [UInt8]) -> [JSONMember]? {
        guard case .object(let members)? = try? JSONParser.parse(bytes) else { return nil }
        return members
    }

    // MARK: - The JSONTestSuite corpus

    /// Guards that the corpus is there, so the per-file tests below are not silently empty.
    @Test func corpusHasObjectsAndNonObjects() throws {
        try #require(JSONTestSuiteCorpus.directoryPath != nil, "JSONTestSuite corpus not found in Tests/Fixtures/JSONTestSuite")
        let valid = JSONTestSuiteCorpus.fileNames(prefix: "y_")
        let objects = try valid.filter { Self.parsedMembers(try JSONTestSuiteCorpus.contents(of: $0)) != nil }
        #expect(objects.count >= 10, "too few y_ objects: \(objects)")
        #expect(valid.count - objects.count > 50)
        #expect(JSONTestSuiteCorpus.fileNames(prefix: "n_").count > 150)
    }

    /// Every valid JSON text: an object is accepted with the members JSONParser sees, in order;
    /// anything else is refused with "expected a JSON object".
    @Test(arguments: JSONTestSuiteCorpus.fileNames(prefix: "y_"))
    func validText(file: String) throws {
        let bytes = try JSONTestSuiteCorpus.contents(of: file)
        var row = JSONRow()
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONRowError) in
                try row.scan(buffer)
                return row.members.map { JSONMember(key: row.string($0.key), value: row.jsonValue($0.value)) }
            }
        }
        if let expected = Self.parsedMembers(bytes) {
            #expect(try result.get() == expected, "\(file)")
        } else {
            let error = try #require(throws: JSONRowError.self) { try result.get() }
            #expect(error.syntax.reason == "expected a JSON object", "\(file): \(error)")
            #expect(error.key == nil)
        }
    }

    /// Every invalid JSON text is refused, with an offset inside the input.
    @Test(arguments: JSONTestSuiteCorpus.fileNames(prefix: "n_"))
    func invalidText(file: String) throws {
        let bytes = try JSONTestSuiteCorpus.contents(of: file)
        let error = try #require(throws: JSONRowError.self, "\(file)") { try Self.scan(bytes).get() }
        #expect(error.syntax.offset >= 0 && error.syntax.offset <= bytes.count, "\(file): \(error)")
        #expect(!error.syntax.reason.isEmpty)
    }

    /// Every corpus text, valid or not, as the value of a member (`{"k":TEXT}`): the row scanner
    /// accepts it exactly when JSONParser does, with the same members, and refuses it with the
    /// same error at the same byte (the loader's value scanning takes shortcuts for scalars).
    @Test(arguments: JSONTestSuiteCorpus.fileNames(prefix: "y_") + JSONTestSuiteCorpus.fileNames(prefix: "n_"))
    func corpusAsAMemberValueMatchesTheParser(file: String) throws {
        let text = try JSONTestSuiteCorpus.contents(of: file)
        // Most texts are one-element arrays (`[-01]`): their insides are the scalar cases.
        var texts = [text]
        if text.first == UInt8(ascii: "["), text.last == UInt8(ascii: "]") { texts.append(Array(text.dropFirst().dropLast())) }
        let wrappings = [("{\"k\":", "}"), ("{\"a\":1, \"k\" : ", " ,\"z\":null}")]
        for text in texts {
            for (prefix, suffix) in wrappings {
                expectRowScanMatchesTheParser(Array(prefix.utf8) + text + Array(suffix.utf8), file: file)
            }
        }
    }

    private func expectRowScanMatchesTheParser(_ line: [UInt8], file: String) {
        let parsed = Result { () throws(JSONSyntaxError) in try JSONParser.parse(line) }
        let scanned = Self.scannedMembers(line)
        switch (parsed, scanned) {
        case (.success(.object(let expected)), .success(let members)):
            #expect(members == expected, "\(file)")
        case (.failure(let expected), .failure(let error)):
            #expect(error.syntax == expected, "\(file)")
        default:
            Issue.record("\(file): the parser says \(parsed), the row scanner \(scanned)")
        }
    }

    /// Changes one byte of `line` to one of `noise`, inserts one, or removes one, at random.
    static func damage(_ line: inout [UInt8], with noise: [UInt8], using generator: inout ByteScanningTests.Generator) {
        guard !line.isEmpty else { return }
        let at = Int.random(in: 0..<line.count, using: &generator)
        let byte = noise.randomElement(using: &generator) ?? 0
        switch Int.random(in: 0..<3, using: &generator) {
        case 0: line[at] = byte
        case 1: line.insert(byte, at: at)
        default: line.remove(at: at)
        }
    }

    /// Compact lines (no whitespace, the shape the scanner reads on its shortcut), 20,000 of
    /// them, half with one byte changed, inserted or removed: every line is accepted exactly
    /// when the parser takes it as an object, with the parser's members, and refused otherwise.
    @Test func compactLinesScanAsTheParserReadsThem() {
        var generator = ByteScanningTests.Generator(state: 2026)
        let scalars = [
            "0", "-1", "12.5e-3", "1E+2", "true", "false", "null", "\"\"", "\"plain\"", "\"é中😀\"", "\"tab\\tq\\\"\"",
            "\"\\u00e9\"", "[]", "{}", "[1,\"a\",{\"b\":null}]", "{\"n\":{\"m\":[true]}}",
        ]
        let keys = ["id", "name", "k\\u00e9y", "", "é", "a b"]
        let noise: [UInt8] = Array(" \t,:{}[]\"\\0-eE.tfnu".utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xFF]
        var accepted = 0
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...5, using: &generator)
            let members = (0..<count).map { _ in
                "\"\(keys.randomElement(using: &generator) ?? "")\":\(scalars.randomElement(using: &generator) ?? "")"
            }
            var line = Array("{\(members.joined(separator: ","))}".utf8)
            if Bool.random(using: &generator) { Self.damage(&line, with: noise, using: &generator) }
            let expected = Self.parsedMembers(line)
            let scanned = Self.scannedMembers(line)
            switch (expected, scanned) {
            case (let members?, .success(let scannedMembers)):
                #expect(scannedMembers == members, "\(String(decoding: line, as: UTF8.self))")
                accepted += 1
            case (nil, .failure): break
            default:
                Issue.record(
                    "\(String(decoding: line, as: UTF8.self).debugDescription): parser \(String(describing: expected)), row \(scanned)"
                )
            }
        }
        #expect(accepted > 8_000)
    }

    /// The loader's key checks (`keys(equal:ends:)`, `bytes(_:equal:)`, `lastValue(forKey:)`)
    /// against plain comparisons: keys of 0 to 20 bytes, escaped or not, and near misses that
    /// differ in one byte anywhere or in length.
    @Test func keyChecksMatchPlainComparisons() {
        var generator = ByteScanningTests.Generator(state: 31)
        func randomKey() -> [UInt8] {
            (0..<Int.random(in: 0...20, using: &generator)).map { _ in UInt8.random(in: 0x61...0x64, using: &generator) }
        }
        for _ in 0..<3000 {
            let keys = (0..<Int.random(in: 1...5, using: &generator)).map { _ in randomKey() }
            let escaped = Bool.random(using: &generator)
            let members = keys.enumerated().map { index, key in
                // A key with an escape is decoded; without, it is read in the line.
                let text = String(decoding: key, as: UTF8.self)
                let written = escaped ? text.replacingAll("a", with: "\\u0061") : text
                return "\"\(written)\":\(index)"
            }
            let line = Array("{\(members.joined(separator: ","))}".utf8)
            var expected = keys
            if Bool.random(using: &generator) {
                // A near miss: one byte changed, or one added or dropped.
                let which = Int.random(in: 0..<expected.count, using: &generator)
                var key = expected[which]
                switch Int.random(in: 0..<3, using: &generator) {
                case 0 where !key.isEmpty: key[Int.random(in: 0..<key.count, using: &generator)] ^= 0x04
                case 1: key.append(0x61)
                default: if !key.isEmpty { key.removeLast() } else { key.append(0x62) }
                }
                expected[which] = key
            }
            var ends: [Int] = []
            for key in expected { ends.append((ends.last ?? 0) + key.count) }
            var row = JSONRow()
            line.withUnsafeBufferPointer { buffer in
                #expect(throws: Never.self) { try row.scan(buffer) }
                #expect(row.keys(equal: expected.flatMap { $0 }, ends: ends) == (expected == keys), "\(keys) \(expected)")
                for (index, member) in row.members.enumerated() {
                    #expect(row.bytes(member.key, equal: expected[index]) == (expected[index] == keys[index]))
                }
                let probe = expected[Int.random(in: 0..<expected.count, using: &generator)]
                if let last = keys.lastIndex(of: probe) {
                    #expect(row.lastValue(forKey: probe) == .number(row.members[last].value.numberRange ?? 0..<0))
                } else {
                    #expect(row.lastValue(forKey: probe) == nil)
                }
                row.release()
            }
        }
    }

    /// A row told which keys to expect (``JSONRow/expectKeys(_:)``) reads compact lines as one
    /// that was not told: the same acceptance and members on 20,000 lines (a third with a byte
    /// changed, added or dropped, some with the keys spelled with escapes or in another order),
    /// and `holdsExpectedKeys` exactly when the members' keys are the expected ones in order.
    @Test func expectedKeysChangeNothingButTheShortcut() {
        var generator = ByteScanningTests.Generator(state: 77)
        let keyChoices: [[UInt8]] = [
            Array("id".utf8), Array("name".utf8), Array("é".utf8), [], Array("a b".utf8), Array("i".utf8),
            Array("idd".utf8), Array("created_at".utf8), Array("0123456789abcdefX".utf8),
        ]
        let values = ["1", "-2.5e3", "\"x\"", "\"q\\\"\"", "null", "true", "{\"a\": [1, {\"b\":2}]}", "[]", "\"é\""]
        let noise: [UInt8] = Array(" \t,:{}[]\"\\0-eE.tfnu".utf8) + [0x00, 0x1F, 0x80, 0xC3]
        var told = JSONRow()
        var held = 0
        for _ in 0..<20_000 {
            let expected = (0..<Int.random(in: 1...4, using: &generator)).map { _ in
                keyChoices.randomElement(using: &generator) ?? []
            }
            told.expectKeys(expected)
            var keys = expected
            switch Int.random(in: 0..<6, using: &generator) {
            case 0: keys.shuffle(using: &generator)
            case 1: keys.append(keyChoices.randomElement(using: &generator) ?? [])
            case 2: keys.removeLast()
            default: break
            }
            let escapeKeys = Int.random(in: 0..<8, using: &generator) == 0
            let members = keys.map { key in
                var text = String(decoding: key, as: UTF8.self)
                if escapeKeys { text = text.replacingAll("i", with: "\\u0069") }
                return "\"\(text)\":\(values.randomElement(using: &generator) ?? "0")"
            }
            var line = Array("{\(members.joined(separator: ","))}".utf8)
            if Int.random(in: 0..<3, using: &generator) == 0 { Self.damage(&line, with: noise, using: &generator) }
            let plain = Self.scannedMembers(line)
            let scanned = line.withUnsafeBufferPointer { buffer in
                Result { () throws(JSONRowError) in
                    try told.scan(buffer)
                    return told.members.map { member in
                        JSONMember(key: told.string(member.key), value: told.jsonValue(member.value))
                    }
                }
            }
            switch (plain, scanned) {
            case (.success(let a), .success(let b)):
                #expect(a == b, "\(String(decoding: line, as: UTF8.self))")
                let keysHeld = b.map { Array($0.key.utf8) }
                let compact = !line.contains(0x20) && !line.contains(0x09)
                let spelledPlainly = !escapeKeys || !expected.contains { $0.contains(UInt8(ascii: "i")) }
                if keysHeld == expected && compact && spelledPlainly {
                    #expect(told.holdsExpectedKeys, "\(String(decoding: line, as: UTF8.self))")
                } else if keysHeld != expected {
                    #expect(!told.holdsExpectedKeys, "\(String(decoding: line, as: UTF8.self))")
                }
                if told.holdsExpectedKeys { held += 1 }
            case (.failure(let a), .failure(let b)):
                #expect(a.description == b.description)
            default:
                Issue.record("\(String(decoding: line, as: UTF8.self).debugDescription): untold \(plain), told \(scanned)")
            }
            told.release()
        }
        #expect(held > 5_000)
    }

    /// A key a compact line could spell only with an escape is never expected as bytes: the
    /// row reads such keys with the string scan, and says it holds no expected keys.
    @Test func keysNeedingAnEscapeAreNotExpected() throws {
        var row = JSONRow()
        row.expectKeys([Array("a\"b".utf8)])
        let line = Array(#"{"a\"b":1}"#.utf8)
        try line.withUnsafeBufferPointer { try row.scan($0) }
        #expect(row.members.count == 1)
        #expect(row.string(row.members[0].key) == "a\"b")
        #expect(!row.holdsExpectedKeys)
        // Spelled raw, such a key is not that key: a stray quote, an escape, a control character.
        let strayQuote = Array(#"{"a"b":1}"#.utf8)
        #expect(throws: JSONRowError.self) { try strayQuote.withUnsafeBufferPointer { try row.scan($0) } }
        row.expectKeys([Array(#"a\b"#.utf8)])
        let escape = Array(#"{"a\b":1}"#.utf8)
        try escape.withUnsafeBufferPointer { try row.scan($0) }
        #expect(row.string(row.members[0].key) == "a\u{8}")
        #expect(!row.holdsExpectedKeys)
        row.expectKeys([[UInt8(ascii: "a"), 0x09]])
        let control: [UInt8] = Array(#"{"a"#.utf8) + [0x09] + Array(#"":1}"#.utf8)
        #expect(throws: JSONRowError.self) { try control.withUnsafeBufferPointer { try row.scan($0) } }
        row.expectKeys([Array("id".utf8)])
        let plain = Array(#"{"id":1}"#.utf8)
        try plain.withUnsafeBufferPointer { try row.scan($0) }
        #expect(row.holdsExpectedKeys)
        // `{}` holds no key, whatever was expected.
        let empty = Array("{}".utf8)
        try empty.withUnsafeBufferPointer { try row.scan($0) }
        #expect(!row.holdsExpectedKeys)
    }

    // MARK: - Rows

    /// Scalars keep their kind; numbers their exact text; containers their JSON text.
    @Test func scansEveryKindOfValue() throws {
        let members = try Self.scan(
            #"{"n":null,"t":true,"f":false,"i":9007199254740993,"e":1.50e+3,"neg":-0.0,"s":"x","o":{"a":[1, 2]},"a":[],"big":123456789012345678901234567890.000}"#
        ).get()
        #expect(
            members == [
                Member(key: "n", value: .null),
                Member(key: "t", value: .bool(true)),
                Member(key: "f", value: .bool(false)),
                Member(key: "i", value: .number("9007199254740993")),
                Member(key: "e", value: .number("1.50e+3")),
                Member(key: "neg", value: .number("-0.0")),
                Member(key: "s", value: .string("x")),
                Member(key: "o", value: .container(#"{"a":[1, 2]}"#)),
                Member(key: "a", value: .container("[]")),
                Member(key: "big", value: .number("123456789012345678901234567890.000")),
            ])
    }

    /// Escapes in keys and values decode to their UTF-8; plain keys point into the line itself.
    @Test func decodesEscapes() throws {
        let line = #"{"a\"b\\c\/\u00e9\ud83d\ude00":"x\ny\t\r\b\f\u0000z\u2028","plain":"é😀","\u0041":"\"\\"}"#
        let members = try Self.scan(line).get()
        #expect(
            members == [
                Member(key: "a\"b\\c/é😀", value: .string("x\ny\t\r\u{8}\u{C}\u{0}z\u{2028}")),
                Member(key: "plain", value: .string("é😀")),
                Member(key: "A", value: .string("\"\\")),
            ])
        var row = JSONRow()
        let bytes = Array(line.utf8)
        let kinds = bytes.withUnsafeBufferPointer { buffer in
            (try? row.scan(buffer)).map { row.members.map(\.key) }
        }
        let keys = try #require(kinds)
        guard case .decoded = keys[0], case .line(let range) = keys[1], case .decoded = keys[2] else {
            Issue.record("expected decoded, line, decoded keys: \(keys)")
            return
        }
        #expect(Array(bytes[range]) == Array("plain".utf8))
    }

    /// Duplicate keys are all kept, in the order of the line.
    @Test func keepsDuplicateKeysInOrder() throws {
        #expect(
            try Self.scan(#"{"a":1,"b":2,"a":"3","a":null}"#).get() == [
                Member(key: "a", value: .number("1")),
                Member(key: "b", value: .number("2")),
                Member(key: "a", value: .string("3")),
                Member(key: "a", value: .null),
            ])
    }

    /// Whitespace around and inside the object is fine (a CRLF line keeps its carriage return).
    @Test(arguments: [" {\"a\" : 1 } ", "{\"a\":1}\r", "\t{\n\"a\"\r:\t1}"])
    func allowsWhitespace(line: String) throws {
        #expect(try Self.scan(line).get() == [Member(key: "a", value: .number("1"))])
    }

    /// An empty object scans to no members (the loader decides what that means).
    @Test func emptyObject() throws {
        #expect(try Self.scan("{}").get() == [])
        #expect(try Self.scan(" { } ").get() == [])
    }

    /// Valid JSON that is not an object is refused as such.
    @Test(arguments: ["[1]", "42", "\"a\"", "null", "true", "[{\"a\":1}]"])
    func refusesNonObjects(line: String) throws {
        let error = try #require(throws: JSONRowError.self) { try Self.scan(line).get() }
        #expect(error.syntax.reason == "expected a JSON object")
    }

    /// Broken lines are refused; an error inside a member's value names its key.
    @Test(arguments: [
        (#"{"a":1,"b":tru}"#, "b"),
        (#"{"a":[1,}"#, "a"),
        (#"{"a":"x\q"}"#, "a"),
        (#"{"a":01}"#, "a"),
        (#"{"x\u00e9":NaN}"#, "xé"),
    ])
    func namesTheKeyOfABadValue(line: String, key: String) throws {
        let error = try #require(throws: JSONRowError.self) { try Self.scan(line).get() }
        #expect(error.key == key, "\(error)")
        #expect(error.description.contains("key \"\(key)\""), "\(error)")
    }

    /// Broken objects around the members are refused too.
    @Test(arguments: [
        "", "{", "{\"a\"}", "{\"a\":1", "{\"a\":1}x", "{\"a\":1}{}", "{a:1}", "{'a':1}", "{\"a\":1,}", "{,}",
        "\u{FEFF}{\"a\":1}", "{\"a\":\"\u{1}\"}", "{\"a\":1 /* c */}",
    ])
    func refusesBrokenObjects(line: String) {
        #expect(throws: JSONRowError.self, "\(line.debugDescription)") { try Self.scan(line).get() }
    }

    /// Invalid UTF-8, in a key or a value, is refused.
    @Test(arguments: [
        [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D] as [UInt8],
        [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xC0, 0xAF, 0x22, 0x7D],
        [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x7D],
        Array(#"{"a":"\ud800"}"#.utf8),
    ])
    func refusesInvalidUTF8(bytes: [UInt8]) {
        #expect(throws: JSONRowError.self) { try Self.scan(bytes).get() }
    }

    /// 100,000 nested arrays inside an object are an error, not a stack overflow.
    @Test func deepNestingIsAnError() throws {
        let depth = 100_000
        let line =
            Array(#"{"deep":"#.utf8) + Array(repeating: UInt8(ascii: "["), count: depth)
            + Array(repeating: UInt8(ascii: "]"), count: depth) + [UInt8(ascii: "}")]
        let error = try #require(throws: JSONRowError.self) { try Self.scan(line).get() }
        #expect(error.key == "deep")
        #expect(error.syntax.reason.contains("nesting"), "\(error)")
        // Nesting within the limit is a value like any other.
        let shallow =
            Array(#"{"ok":"#.utf8) + Array(repeating: UInt8(ascii: "["), count: 500)
            + Array(repeating: UInt8(ascii: "]"), count: 500) + [UInt8(ascii: "}")]
        let members = try Self.scan(shallow).get()
        #expect(members.count == 1 && members.first?.key == "ok")
    }

    /// One JSONRow scans line after line: each scan starts afresh, also after an error.
    @Test func reusesTheRow() throws {
        var row = JSONRow()
        #expect(
            try Self.scan(Array(#"{"a\n":"x\ty","b":2}"#.utf8), with: &row).get() == [
                Member(key: "a\n", value: .string("x\ty")), Member(key: "b", value: .number("2")),
            ])
        #expect(throws: JSONRowError.self) { try Self.scan(Array(#"{"c":1,"d":}"#.utf8), with: &row).get() }
        #expect(try Self.scan(Array(#"{"\u0063":"\u0064"}"#.utf8), with: &row).get() == [Member(key: "c", value: .string("d"))])
        #expect(row.decoded == Array("cd".utf8))
        #expect(try Self.scan(Array("{}".utf8), with: &row).get() == [])
        #expect(row.members.isEmpty && row.decoded.isEmpty)
    }

    /// A long string value (several MB) scans whole.
    @Test func scansLongValues() throws {
        let body = String(repeating: "ab\\n", count: 1 << 20)
        let members = try Self.scan("{\"body\":\"\(body)\",\"n\":1}").get()
        #expect(members.count == 2)
        guard case .string(let text) = members.first?.value else {
            Issue.record("expected a string, got \(members)")
            return
        }
        #expect(text.utf8.count == 3 << 20)
        #expect(text.hasPrefix("ab\nab\n"))
    }
}

extension JSONRow.Value {
    /// A number's range in the line (nil for other values).
    fileprivate var numberRange: Range<Int>? {
        if case .number(let range) = self { return range }
        return nil
    }
}
