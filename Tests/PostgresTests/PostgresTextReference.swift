/// Independent models of how PostgreSQL reads and writes text, written from its documentation
/// (COPY "Text Format"; "Arrays": array value input, array output syntax), so the encoders are
/// checked against what the server does rather than against themselves.
enum PostgresTextReference {
    private static let backslash = UInt8(ascii: "\\")

    /// How COPY FROM reads one text-format field: `\N` alone is NULL (nil); `\b \f \n \r \t \v`,
    /// octal `\digits`, `\xhex`; a backslash before any other character stands for that character.
    static func decodeCopyField(_ field: [UInt8]) -> [UInt8]? {
        if field == Array(#"\N"#.utf8) { return nil }
        var output: [UInt8] = []
        var index = 0
        while index < field.count {
            let byte = field[index]
            guard byte == backslash, index + 1 < field.count else {
                output.append(byte)
                index += 1
                continue
            }
            let next = field[index + 1]
            index += 2
            switch next {
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "v"): output.append(0x0B)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = Int(next - UInt8(ascii: "0"))
                var digits = 1
                while digits < 3, index < field.count, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(field[index]) {
                    value = value * 8 + Int(field[index] - UInt8(ascii: "0"))
                    index += 1
                    digits += 1
                }
                output.append(UInt8(truncatingIfNeeded: value))
            case UInt8(ascii: "x") where index < field.count && hexValue(field[index]) != nil:
                var value = 0
                var digits = 0
                while digits < 2, index < field.count, let digit = hexValue(field[index]) {
                    value = value * 16 + digit
                    index += 1
                    digits += 1
                }
                output.append(UInt8(value))
            default:
                output.append(next)
            }
        }
        return output
    }

    static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }

    /// bytea's hex input, `\x` then two hex digits a byte.
    static func decodeByteaHex(_ text: [UInt8]) -> [UInt8]? {
        guard text.count >= 2, text[0] == backslash, text[1] == UInt8(ascii: "x"), text.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = 2
        while index < text.count {
            guard let high = hexValue(text[index]), let low = hexValue(text[index + 1]) else { return nil }
            bytes.append(UInt8(high * 16 + low))
            index += 2
        }
        return bytes
    }

    /// One value of an array literal as the server reads it.
    indirect enum ArrayItem: Equatable, CustomStringConvertible {
        case null
        case element(String)
        case array([ArrayItem])

        var description: String {
            switch self {
            case .null: "NULL"
            case .element(let text): "'\(text)'"
            case .array(let items): "{" + items.map(\.description).joined(separator: ",") + "}"
            }
        }
    }

    /// Array value input: braces, `,` between items, double-quoted items with backslash escaping
    /// any character, unquoted items trimmed of whitespace with `NULL` (any case) for NULL.
    /// Nil when the literal is malformed.
    static func parseArrayLiteral(_ text: [UInt8]) -> ArrayItem? {
        var index = 0
        func skipSpace() {
            while index < text.count, text[index] == 0x20 || text[index] == 0x09 || text[index] == 0x0A || text[index] == 0x0D {
                index += 1
            }
        }
        func parseArray() -> ArrayItem? {
            guard index < text.count, text[index] == UInt8(ascii: "{") else { return nil }
            index += 1
            var items: [ArrayItem] = []
            skipSpace()
            if index < text.count, text[index] == UInt8(ascii: "}") {
                index += 1
                return .array([])
            }
            while true {
                skipSpace()
                guard index < text.count else { return nil }
                switch text[index] {
                case UInt8(ascii: "{"):
                    guard let nested = parseArray() else { return nil }
                    items.append(nested)
                case UInt8(ascii: "\""):
                    index += 1
                    var bytes: [UInt8] = []
                    while index < text.count, text[index] != UInt8(ascii: "\"") {
                        if text[index] == backslash { index += 1 }
                        guard index < text.count else { return nil }
                        bytes.append(text[index])
                        index += 1
                    }
                    guard index < text.count else { return nil }
                    index += 1
                    items.append(.element(String(decoding: bytes, as: UTF8.self)))
                default:
                    var bytes: [UInt8] = []
                    while index < text.count, text[index] != UInt8(ascii: ","), text[index] != UInt8(ascii: "}") {
                        guard text[index] != UInt8(ascii: "\""), text[index] != UInt8(ascii: "{") else { return nil }
                        if text[index] == backslash { index += 1 }
                        guard index < text.count else { return nil }
                        bytes.append(text[index])
                        index += 1
                    }
                    while let last = bytes.last, last == 0x20 || last == 0x09 || last == 0x0A || last == 0x0D {
                        bytes.removeLast()
                    }
                    let item = String(decoding: bytes, as: UTF8.self)
                    guard !item.isEmpty else { return nil }
                    items.append(item.uppercased() == "NULL" ? .null : .element(item))
                }
                skipSpace()
                guard index < text.count else { return nil }
                if text[index] == UInt8(ascii: ",") {
                    index += 1
                } else if text[index] == UInt8(ascii: "}") {
                    index += 1
                    return .array(items)
                } else {
                    return nil
                }
            }
        }
        guard let array = parseArray() else { return nil }
        skipSpace()
        return index == text.count ? array : nil
    }

    /// Array output as the server writes it (array_out): an element is double-quoted when it is
    /// empty, equals `NULL` in any case, or holds `{ } , " \` or white space; inside quotes `"`
    /// and `\` get a backslash.
    static func arrayOutput(_ item: ArrayItem) -> String {
        switch item {
        case .null:
            return "NULL"
        case .array(let items):
            return "{" + items.map(arrayOutput).joined(separator: ",") + "}"
        case .element(let text):
            let needsQuotes =
                text.isEmpty || text.uppercased() == "NULL"
                || text.unicodeScalars.contains { "{},\"\\ \t\n\r\u{0B}\u{0C}".unicodeScalars.contains($0) }
            guard needsQuotes else { return text }
            var quoted = "\""
            for character in text.unicodeScalars {
                if character == "\"" || character == "\\" { quoted.unicodeScalars.append("\\") }
                quoted.unicodeScalars.append(character)
            }
            return quoted + "\""
        }
    }
}

/// Strings that stress COPY escaping, array quoting and JSON escaping alike.
let awkwardStrings: [String] = [
    "", " ", "plain", "NULL", "null", "Null", "a,b", "{x}", "{", "}", "\"", "\\", "\\N", "\\x00", "tab\there",
    "nl\nx", "cr\rx", "\r\n", " lead", "trail ", "é ✓ 😀", "\u{1}\u{8}\u{B}\u{C}\u{1F}", "\\\"", "a\\\\b", "q\"uote",
    "\\.", "x\u{7F}y",
]
