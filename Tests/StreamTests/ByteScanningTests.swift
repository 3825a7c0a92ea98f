import Testing

@testable import Core
@testable import Stream

/// The word-at-a-time byte tests behind string scanning and escaping (eight bytes at once), and
/// `ByteBuffer`: each checked against a byte-at-a-time reference, at every position in a word.
@Suite struct ByteScanningTests {
    /// A small deterministic generator (StreamTests has no TestSupport).
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func word(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    }

    /// The first byte a string scan must stop at: a quote, a backslash, a control character, non-ASCII.
    static func endsPlainRun(_ byte: UInt8) -> Bool {
        byte == 0x22 || byte == 0x5C || byte < 0x20 || byte >= 0x80
    }

    /// Every byte value at every position of a word of plain bytes, and a second special byte
    /// after it: the scan flags none for plain bytes and exactly the first special one's position.
    @Test func specialBytesFindTheFirstThatEndsAPlainRun() {
        for position in 0..<8 {
            for value in 0...255 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
                bytes[position] = UInt8(value)
                let flags = JSONScanner.specialBytes(Self.word(bytes))
                if Self.endsPlainRun(UInt8(value)) {
                    #expect(flags.trailingZeroBitCount >> 3 == position, "byte \(value) at \(position)")
                } else {
                    #expect(flags == 0, "byte \(value) at \(position)")
                }
                // A second special byte later (a borrow may flag it too): the first still wins.
                for later in (position + 1)..<8 where Self.endsPlainRun(UInt8(value)) {
                    var two = bytes
                    two[later] = 0x00
                    #expect(JSONScanner.specialBytes(Self.word(two)).trailingZeroBitCount >> 3 == position)
                }
            }
        }
    }

    /// The same for the bytes JSON output escapes: a quote, a backslash, a control character.
    @Test func escapeFlagsFindTheFirstByteToEscape() {
        for position in 0..<8 {
            for value in 0...255 {
                var bytes = [UInt8](repeating: UInt8(ascii: "z"), count: 8)
                bytes[position] = UInt8(value)
                let flags = JSONEscaping.escapeFlags(Self.word(bytes))
                if JSONEscaping.needsEscape(UInt8(value)) {
                    #expect(flags.trailingZeroBitCount >> 3 == position, "byte \(value) at \(position)")
                } else {
                    #expect(flags == 0, "byte \(value) at \(position)")
                }
            }
        }
    }

    /// A byte-at-a-time reference for `JSONEscaping.appendQuoted(bytes:to:)`.
    static func quotedReference(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = [0x22]
        let hex = Array("0123456789abcdef".utf8)
        for byte in bytes {
            switch byte {
            case 0x22: output += [0x5C, 0x22]
            case 0x5C: output += [0x5C, 0x5C]
            case 0x0A: output += Array("\\n".utf8)
            case 0x0D: output += Array("\\r".utf8)
            case 0x09: output += Array("\\t".utf8)
            case 0x08: output += Array("\\b".utf8)
            case 0x0C: output += Array("\\f".utf8)
            case 0..<0x20: output += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            default: output.append(byte)
            }
        }
        output.append(0x22)
        return output
    }

    /// Random runs of bytes (mostly plain, some to escape, any length up to 40) quote as the
    /// byte-at-a-time reference does, into both a ByteBuffer and an array.
    @Test func quotingMatchesTheByteAtATimeReference() {
        var generator = Generator(state: 20_261_206)
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...40, using: &generator)
            let bytes = (0..<count).map { _ in
                Int.random(in: 0..<10, using: &generator) == 0
                    ? UInt8.random(in: 0...255, using: &generator) : UInt8.random(in: 0x20...0x7E, using: &generator)
            }
            var array: [UInt8] = []
            var buffer = ByteBuffer(capacity: 1)
            bytes.withUnsafeBufferPointer {
                JSONEscaping.appendQuoted(bytes: $0, to: &array)
                JSONEscaping.appendQuoted(bytes: $0, to: &buffer)
            }
            let expected = Self.quotedReference(bytes)
            #expect(array == expected, "\(bytes)")
            #expect(buffer.bytes == expected, "\(bytes)")
        }
    }

    /// Random strings (ASCII, two- to four-byte UTF-8, escapes, every length up to 40) serialized
    /// and parsed back come back the same; a raw control character or a broken UTF-8 sequence
    /// put anywhere in one is refused, wherever it falls in an eight-byte word.
    @Test func stringsScanAsTheyAreWritten() throws {
        var generator = Generator(state: 6)
        let pieces: [String] = ["a", "Z", " ", "é", "€", "😀", "\"", "\\", "\n", "\u{1}", "/", "~"]
        for _ in 0..<5000 {
            let count = Int.random(in: 0...40, using: &generator)
            let text = (0..<count).map { _ in
                Int.random(in: 0..<4, using: &generator) == 0 ? pieces.randomElement(using: &generator) ?? "a" : "x"
            }.joined()
            let json = Array("{\"k\":".utf8) + JSONValue.string(text).serialized().utf8 + Array("}".utf8)
            #expect(try JSONParser.parse(json) == .object([JSONMember(key: "k", value: .string(text))]))
            // Corrupt one byte inside the quotes.
            let quoteStart = 5
            let quoteEnd = json.count - 2
            guard quoteEnd > quoteStart + 1 else { continue }
            var broken = json
            let at = Int.random(in: (quoteStart + 1)..<quoteEnd, using: &generator)
            broken[at] = Bool.random(using: &generator) ? 0x01 : 0xFF
            #expect(throws: JSONSyntaxError.self, "\(broken)") { try JSONParser.parse(broken) }
        }
    }

    /// `ByteBuffer` holds what an array given the same appends and removals holds, growing
    /// from one byte.
    @Test func byteBufferAgreesWithAnArray() {
        var generator = Generator(state: 42)
        var buffer = ByteBuffer(capacity: 1)
        var array: [UInt8] = []
        for _ in 0..<5000 {
            switch Int.random(in: 0..<6, using: &generator) {
            case 0:
                let byte = UInt8.random(in: 0...255, using: &generator)
                buffer.append(byte)
                array.append(byte)
            case 1, 2:
                // Half of the runs short (the 1-to-16-byte copies take their own path), half long.
                let longest = Bool.random(using: &generator) ? 20 : 300
                let run = (0..<Int.random(in: 0...longest, using: &generator)).map { _ in
                    UInt8.random(in: 0...255, using: &generator)
                }
                run.withUnsafeBufferPointer { buffer.append(contentsOf: $0) }
                array.append(contentsOf: run)
            case 3:
                buffer.append("null")
                array.append(contentsOf: Array("null".utf8))
            case 4:
                let prefix = Int.random(in: 0...array.count, using: &generator)
                buffer.removePrefix(prefix)
                array.removeFirst(prefix)
            default:
                let keep = Int.random(in: 0...array.count, using: &generator)
                buffer.removeSuffix(from: keep)
                array.removeLast(array.count - keep)
            }
            #expect(buffer.count == array.count)
        }
        #expect(buffer.bytes == array)
        var digits = ByteBuffer()
        for value: Int64 in [0, 7, -7, 1_234_567_890, .max, .min] {
            digits.appendDecimal(value)
            digits.append(UInt8(ascii: ","))
        }
        #expect(String(decoding: digits.bytes, as: UTF8.self) == "0,7,-7,1234567890,\(Int64.max),\(Int64.min),")
    }

    /// `overwrite(with:)` leaves exactly the new bytes, whether they are as long as the old
    /// ones (copied over them), shorter, longer or none; and a copy of the array keeps the old.
    @Test func overwriteLeavesExactlyTheNewBytes() {
        var generator = Generator(state: 7)
        var array: [UInt8] = []
        for _ in 0..<2000 {
            let count = Bool.random(using: &generator) ? array.count : Int.random(in: 0...24, using: &generator)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let before = array
            bytes.withUnsafeBufferPointer { array.overwrite(with: $0) }
            #expect(array == bytes)
            if before.count == bytes.count && before != bytes { #expect(before != array) }
        }
    }

    /// The captured cursor value's text: numbers and plain strings in place, an escaped string as
    /// its token, anything else as "other"; the line is validated whole all the same.
    @Test func scanObjectCapturesTheValueText() throws {
        func capture(_ line: String) throws -> (JSONParser.CapturedText, String) {
            let bytes = Array(line.utf8)
            return try bytes.withUnsafeBufferPointer { buffer in
                let captured = try JSONParser.scanObject(buffer, capturingText: Array("id".utf8))
                switch captured {
                case .number(let range), .plainString(let range), .escapedString(let range), .other(let range):
                    return (captured, String(decoding: UnsafeBufferPointer(rebasing: buffer[range]), as: UTF8.self))
                case .absent, .null: return (captured, "")
                }
            }
        }
        #expect(try capture(#"{"a":"x","id":-1.5e3}"#).1 == "-1.5e3")
        #expect(try capture(#"{"id":"2024-01-01T00:00:00Z"}"#).1 == "2024-01-01T00:00:00Z")
        let escaped = try capture(#"{"id":"a\"b", "z":[1]}"#)
        guard case .escapedString = escaped.0 else {
            Issue.record("not an escaped string: \(escaped)")
            return
        }
        #expect(escaped.1 == #""a\"b""#)
        guard case .other = try capture(#"{"id":{"x":1}}"#).0 else {
            Issue.record("an object is other")
            return
        }
        guard case .null = try capture(#"{"id":null}"#).0 else {
            Issue.record("null")
            return
        }
        guard case .absent = try capture(#"{"meta":{"id":1}}"#).0 else {
            Issue.record("a nested id is not the column")
            return
        }
        #expect(throws: JSONSyntaxError.self) { try capture("{\"id\":1,\"x\":\"\u{1}\"}") }
    }
}

/// `JSONParser.scanObjectStructure`, the framing-only read `conduit-state commit` uses in front
/// of `conduit-load`: on valid rows it answers as the full scan does; on broken ones it either
/// declines (nil: validate fully) or answers — and then the loader is what refuses the line.
@Suite struct JSONStructureScanTests {
    static func both(_ line: String, key: String = "id") -> (framed: JSONParser.CapturedText?, full: JSONParser.CapturedText?) {
        let bytes = Array(line.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            (
                JSONParser.scanObjectStructure(buffer, capturingText: Array(key.utf8)),
                try? JSONParser.scanObject(buffer, capturingText: Array(key.utf8))
            )
        }
    }

    /// Random valid rows — nested objects and arrays, strings with escapes and brackets, every
    /// value kind where the key is, the key first, last, twice or absent, spaces around tokens —
    /// read the same both ways, and the framing read declines none of them unless the key has
    /// an escape.
    @Test func validRowsReadAsTheFullScanReadsThem() {
        var generator = ByteScanningTests.Generator(state: 77)
        let values = [
            "1", "-12.5e+3", "0", "\"2024-01-01T00:00:01Z\"", "\"a \\\"q\\\" ] } , \\\\\"", "null", "true", "false",
            "{\"id\":9,\"x\":[1,{\"y\":\"}\"}]}", "[\"]\",[],{}]", "\"é😀\"", "{}", "[]",
        ]
        for _ in 0..<20_000 {
            var members: [String] = []
            for _ in 0..<Int.random(in: 0...6, using: &generator) {
                let key = ["id", "name", "i\\u0064", "meta", "x"].randomElement(using: &generator) ?? "x"
                let value = values.randomElement(using: &generator) ?? "1"
                let space = Bool.random(using: &generator) ? " " : ""
                members.append("\"\(key)\"\(space):\(space)\(value)")
            }
            let line = (Bool.random(using: &generator) ? " {" : "{") + members.joined(separator: ", ") + "}"
            let (framed, full) = Self.both(line)
            #expect(full != nil, "\(line) is valid")
            if line.contains("i\\u0064") {
                #expect(framed == nil || framed == full, "\(line)")
            } else {
                #expect(framed == full, "\(line)")
            }
        }
    }

    /// Random valid rows read with `stoppingAtKey`, as `conduit-state commit` reads them in front
    /// of `conduit-load`: the answer is the full scan's answer for the row cut after the key's
    /// first top-level member (the only one, for rows the loader takes: it refuses a row
    /// holding the key twice), and declined only where the key or a key before it has an escape.
    @Test func stoppingAtTheKeyReadsItsFirstOccurrence() {
        var generator = ByteScanningTests.Generator(state: 1207)
        let values = [
            "1", "-12.5e+3", "\"2024-01-01T00:00:01Z\"", "\"a \\\"q\\\" ] } , \\\\\"", "null", "true",
            "{\"id\":9,\"x\":[1,{\"y\":\"}\"}]}", "[\"]\",[],{}]", "\"é😀\"", "{}",
        ]
        var twice = 0
        for _ in 0..<20_000 {
            var members: [String] = []
            for _ in 0..<Int.random(in: 0...6, using: &generator) {
                let key = ["id", "name", "i\\u0064", "meta"].randomElement(using: &generator) ?? "x"
                let value = values.randomElement(using: &generator) ?? "1"
                members.append("\"\(key)\":\(value)")
            }
            let line = "{" + members.joined(separator: ",") + "}"
            let firstKey = members.firstIndex { $0.hasPrefix("\"id\":") }
            let cut = firstKey.map { "{" + members[...$0].joined(separator: ",") + "}" } ?? line
            if let firstKey, members[(firstKey + 1)...].contains(where: { $0.hasPrefix("\"id\":") }) { twice += 1 }
            let bytes = Array(line.utf8)
            let stopped = bytes.withUnsafeBufferPointer {
                JSONParser.scanObjectStructure($0, capturingText: Array("id".utf8), stoppingAtKey: true)
            }
            let expected = Array(cut.utf8).withUnsafeBufferPointer {
                try? JSONParser.scanObject($0, capturingText: Array("id".utf8))
            }
            // Ranges count from the line's start, which the cut row shares up to the key's value.
            if cut.contains("i\\u0064") {
                #expect(stopped == nil || stopped == expected, "\(line)")
            } else {
                #expect(stopped == expected, "\(line)")
            }
        }
        #expect(twice > 1_000)
    }

    /// With `stoppingAtKey`, damage before the key's value is still declined (the full scan
    /// then names it), and damage after it goes unseen here: those lines are the loader's to
    /// refuse, and the commit validates a held group the loader never sees.
    @Test(arguments: [
        ("not json", true), ("[1]", true), ("{\"x\":tru,\"id\":1}", false), ("{\"x\":\"open,\"id\":1}", true),
        ("{\"x\":[1,\"id\":1}", true), ("{\"id\":nul}", true), ("{\"id\":1.2.x}", true), ("{\"id\":1}}", false),
        ("{\"id\":1}{\"id\":9}", false), ("{\"id\":1,\"id\":9}", false), ("{\"id\":1,\"x\":\"\u{1}\"}", false),
    ])
    func stoppingAtTheKeyOnBrokenLines(line: String, declines: Bool) {
        let stopped = Array(line.utf8).withUnsafeBufferPointer {
            JSONParser.scanObjectStructure($0, capturingText: Array("id".utf8), stoppingAtKey: true)
        }
        if declines {
            #expect(stopped == nil, "\(line): \(String(describing: stopped))")
        } else {
            #expect(stopped != nil, "\(line)")
        }
    }

    /// Broken lines: where the framing read answers, the line is one the loader refuses — and
    /// every refusal the SPEC names for the commit itself (not an object, a cut line, no key,
    /// null) is still found.
    @Test(arguments: [
        ("not json", true), ("[1]", true), ("{\"id\":1", true), ("{\"id\":1}}", true), ("{\"id\":\"open}", true),
        ("{\"id\":nul}", true), ("{\"id\":1,}", false), ("{\"id\":tru}", false), ("{\"x\":1,\"id\":1.2.3}", false),
        ("{\"id\":1,\"x\":\"\u{1}\"}", false),
    ])
    func brokenLines(line: String, declines: Bool) {
        let (framed, full) = Self.both(line)
        #expect(full == nil, "\(line) is not valid JSON")
        if declines { #expect(framed == nil, "\(line): \(String(describing: framed))") }
    }
}

/// `JSONParser.isValidValue`, which `conduit-state commit` asks of each line's cursor text: its
/// shortcuts for plain integers and strings answer as the full parser does.
@Suite struct JSONValueCheckTests {
    static func parses(_ bytes: [UInt8]) -> Bool { (try? JSONParser.parse(bytes)) != nil }

    static func isValid(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBufferPointer { JSONParser.isValidValue($0) } }

    /// 50,000 short texts from an alphabet of digits, signs, quotes, escapes, controls and
    /// non-ASCII bytes, shaped like numbers and strings half the time.
    @Test func agreesWithTheParserOnRandomTexts() {
        var generator = ByteScanningTests.Generator(state: 1206)
        let alphabet: [UInt8] =
            Array("0123456789-+.eE\"\\ ntrueflsa/u{}[]".utf8) + [0x00, 0x09, 0x1F, 0x7F, 0x80, 0xC3, 0xA9, 0xFF]
        var accepted = 0
        for _ in 0..<50_000 {
            var bytes = (0..<Int.random(in: 0...8, using: &generator)).map { _ in alphabet.randomElement(using: &generator) ?? 0 }
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: bytes = [UInt8(ascii: "\"")] + bytes + [UInt8(ascii: "\"")]
            case 1: bytes = bytes.map { $0 &- UInt8(ascii: "0") < 10 ? $0 : UInt8(ascii: "7") }
            default: break
            }
            #expect(Self.isValid(bytes) == Self.parses(bytes), "\(bytes)")
            if Self.parses(bytes) { accepted += 1 }
        }
        #expect(accepted > 10_000)
    }

    @Test(arguments: [
        ("0", true), ("7", true), ("1234567890", true), ("05", false), ("00", false), ("-5", true), ("+5", false),
        ("5.", false), ("\"\"", true), ("\"2024-01-01T00:00:00Z\"", true), ("\"a\\\"", false), ("\"a\"b\"", false),
        ("\"", false), ("\"\u{1}\"", false), ("\"é\"", true), ("", false), (" 5", true),
    ])
    func shapes(text: String, valid: Bool) {
        #expect(Self.isValid(Array(text.utf8)) == valid, "\(text.debugDescription)")
        #expect(Self.parses(Array(text.utf8)) == valid, "\(text.debugDescription)")
    }
}
