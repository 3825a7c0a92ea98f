import TestSupport

/// Byte-level mutations of a seed input, stacked 1–4 at a time: bit flips, interesting bytes,
/// insertions (random bytes and tokens of the format), deletions, truncation, duplication of a
/// slice, splicing with another input, deep nesting, huge numbers and invalid UTF-8.
struct Mutator {
    /// Tokens of the format being fuzzed, inserted whole (JSON's or YAML's).
    var tokens: [[UInt8]]
    /// Opening and closing brackets for the nesting mutation.
    var nestings: [(open: [UInt8], close: [UInt8])]
    /// Upper bound of a nesting mutation's depth.
    var maximumDepth: Int = 2_000
    /// Upper bound of the length of a mutated input (a mutation that would pass it is skipped).
    var maximumLength: Int = 1 << 20

    static let interestingBytes: [UInt8] = [
        0x00, 0x01, 0x09, 0x0A, 0x0D, 0x20, 0x22, 0x27, 0x2C, 0x2D, 0x2E, 0x30, 0x31, 0x39, 0x3A, 0x45, 0x5B, 0x5C,
        0x5D, 0x65, 0x75, 0x7B, 0x7D, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5,
        0xF8, 0xFE, 0xFF,
    ]

    /// Byte sequences that are not UTF-8: stray continuations, overlong forms, surrogates, code
    /// points past U+10FFFF, truncated sequences, a byte order mark (valid UTF-8, refused by JSON).
    static let invalidUTF8: [[UInt8]] = [
        [0x80], [0xBF], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],
        [0xF0, 0x80, 0x80, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80],
        [0xFE], [0xFF], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xC3], [0xEF, 0xBB, 0xBF], [0xE2, 0x82, 0xAC, 0x80],
    ]

    static let jsonTokens: [[UInt8]] = [
        "\"", "\\", "\\u", "\\u0000", "\\ud800", "\\udc00", "\\ud83d\\ude00", "\\uDFFF", "\\/", "\\x", "{", "}", "[",
        "]", ",", ":", "\"id\":", "\"id\":1,", "null", "true", "false", "nul", "-", "-0", "0", "01", "1.", ".5", "1e",
        "1e+", "1E-7", "+1", "NaN", "Infinity", "1e400", "-1e-400", "0.0000000000000000000000000001", " ", "\t", "\n",
        "\r", "\u{0B}", "\u{0C}", "/*", "//", "'", "{}", "[]", "{\"\":{}}", "[[]]", "\"\\u0041\"",
        "\"2024-05-01T12:00:00Z\"", "\"2024-02-30T25:61:61+99:99\"", "\"9999-12-31T23:59:60.999999999999Z\"",
    ].map { Array($0.utf8) }

    static let yamlTokens: [[UInt8]] = [
        "&a ", "*a", "*undefined", "<<: *a\n", "<<: [*a, *a]\n", "{", "}", "[", "]", "- ", ": ", "? ", ",", "!!binary ",
        "!!str ", "!!map ", "!!seq ", "!!int ", "!custom ", "!<tag:yaml.org,2002:str> ", "%YAML 1.1\n", "%TAG ! x\n",
        "---\n", "...\n", "|\n", "|-\n", ">+\n", "\t", "  ", "\n", "\r\n", "#", "\"", "'", "\\", "\\x00", "\\u", "${",
        "${HOME}", "${UNSET}", "${UNSET:-fallback}", "${A:?message}", "$${", ":last_value", "~", "null", "yes", "no",
        "0x1F", "0o17", ".inf", "-.nan", "1e999", "99999999999999999999999", "name: x\n", "type: sqlite\n",
        "type: postgresql\n", "mode: merge\n", "primary_key: [id]\n", "batch_size: -1\n", "ordered: false\n",
        "incremental_column: id\n", "query: \"SELECT 1\"\n", "  - name: r\n",
    ].map { Array($0.utf8) }

    static let json = Mutator(
        tokens: jsonTokens,
        nestings: [
            (Array("[".utf8), Array("]".utf8)), (Array("{\"a\":".utf8), Array("}".utf8)),
            (Array("{\"id\":[".utf8), Array("]}".utf8)),
        ], maximumLength: 1 << 18)

    static let yaml = Mutator(
        tokens: yamlTokens,
        nestings: [
            (Array("[".utf8), Array("]".utf8)), (Array("{a: ".utf8), Array("}".utf8)), (Array("- ".utf8), []),
            (Array("[{".utf8), Array("}]".utf8)),
        ], maximumDepth: 5_000)

    /// `input` with 1–4 stacked mutations; `others` are splicing partners.
    func mutate(_ input: [UInt8], others: [[UInt8]], random: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<random.int(in: 1...4) {
            let before = bytes
            mutateOnce(&bytes, others: others, random: &random)
            if bytes.count > maximumLength { bytes = before }
        }
        return bytes
    }

    private func position(in bytes: [UInt8], _ random: inout SplitMix64) -> Int {
        random.int(in: 0...bytes.count)
    }

    private func mutateOnce(_ bytes: inout [UInt8], others: [[UInt8]], random: inout SplitMix64) {
        switch random.int(in: 0..<12) {
        case 0:  // flip one bit
            guard !bytes.isEmpty else { return }
            bytes[random.int(in: 0..<bytes.count)] ^= UInt8(1) << UInt8(random.int(in: 0..<8))
        case 1:  // replace a byte with an interesting or random one
            guard !bytes.isEmpty else { return }
            let byte = random.oneIn(2) ? UInt8.random(in: 0...255, using: &random) : (random.pick(Self.interestingBytes) ?? 0)
            bytes[random.int(in: 0..<bytes.count)] = byte
        case 2:  // insert random bytes
            let count = random.int(in: 1...8)
            let inserted = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            bytes.insert(contentsOf: inserted, at: position(in: bytes, &random))
        case 3:  // insert a token of the format
            bytes.insert(contentsOf: random.pick(tokens) ?? [], at: position(in: bytes, &random))
        case 4:  // delete a range
            guard !bytes.isEmpty else { return }
            let start = random.int(in: 0..<bytes.count)
            let end = min(bytes.count, start + random.int(in: 1...max(1, min(32, bytes.count))))
            bytes.removeSubrange(start..<end)
        case 5:  // truncate
            bytes.removeSubrange(random.int(in: 0...bytes.count)...)
        case 6:  // duplicate a slice, possibly many times
            guard !bytes.isEmpty else { return }
            let start = random.int(in: 0..<bytes.count)
            let end = random.int(in: (start + 1)...bytes.count)
            let slice = bytes[start..<end]
            let times = random.oneIn(4) ? random.int(in: 2...64) : 1
            let insertion = position(in: bytes, &random)
            bytes.insert(contentsOf: Array(repeating: Array(slice), count: times).joined(), at: insertion)
        case 7:  // splice: a head of this input, a tail of another
            guard let other = random.pick(others) else { return }
            let head = random.int(in: 0...bytes.count)
            let tail = random.int(in: 0...other.count)
            bytes = Array(bytes[..<head]) + Array(other[tail...])
        case 8:  // deep nesting, around and beyond the parser's limit, sometimes unbalanced
            guard let nesting = random.pick(nestings) else { return }
            let depth = random.oneIn(3) ? random.int(in: 1_000...1_030) : random.int(in: 1...maximumDepth)
            let at = position(in: bytes, &random)
            let closeAt = random.int(in: at...bytes.count)
            let closing = random.oneIn(5) ? random.int(in: 0...depth) : depth
            var result = Array(bytes[..<at])
            for _ in 0..<depth { result += nesting.open }
            result += bytes[at..<closeAt]
            for _ in 0..<closing { result += nesting.close }
            result += bytes[closeAt...]
            bytes = result
        case 9:  // a huge number
            bytes.insert(contentsOf: hugeNumber(&random), at: position(in: bytes, &random))
        case 10:  // invalid UTF-8
            bytes.insert(contentsOf: random.pick(Self.invalidUTF8) ?? [], at: position(in: bytes, &random))
        default:  // replace a number-looking run of digits with a huge number
            guard let digit = bytes.firstIndex(where: { $0 >= 0x30 && $0 <= 0x39 }) else {
                bytes.insert(contentsOf: hugeNumber(&random), at: position(in: bytes, &random))
                return
            }
            var end = digit
            while end < bytes.count && bytes[end] >= 0x30 && bytes[end] <= 0x39 { end += 1 }
            bytes.replaceSubrange(digit..<end, with: hugeNumber(&random))
        }
    }

    /// Thousands of digits, a giant exponent, or both.
    private func hugeNumber(_ random: inout SplitMix64) -> [UInt8] {
        var text = random.oneIn(3) ? "-" : ""
        let digits = random.oneIn(3) ? random.int(in: 300...100_000) : random.int(in: 1...40)
        text += "1" + String(repeating: random.oneIn(2) ? "0" : "9", count: digits - 1)
        if random.oneIn(2) {
            text += "." + String(repeating: "0", count: random.int(in: 0...5_000)) + "1"
        }
        if random.oneIn(2) {
            let exponents = [
                "e308", "e309", "E-324", "e+2147483647", "e2147483648", "e-2147483649", "e9223372036854775807",
                "e9223372036854775808", "e-9223372036854775809", "e99999999999999999999999999999",
                "E-99999999999999999999999999999",
            ]
            text += exponents[random.int(in: 0..<exponents.count)]
        }
        return Array(text.utf8)
    }
}
