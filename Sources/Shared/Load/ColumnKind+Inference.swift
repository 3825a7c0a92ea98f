package import Core
import State
import Stream

extension ColumnKind {
    /// The kind inferred from one value, for a key no source column describes (added by `jq`,
    /// say): integers → bigint, other numbers → numeric, RFC 3339 timestamps → timestamptz,
    /// booleans, objects and arrays → jsonb, anything else (null included) → text.
    package static func inferred(from value: JSONValue) -> ColumnKind {
        switch value {
        case .null: return .text
        case .bool: return .boolean
        case .number(let text):
            let isInteger = !text.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
            return isInteger && Int64(text) != nil ? .bigint : .numeric
        case .string(let text):
            return isRFC3339DateTime(text) ? .timestamptz : .text
        case .array, .object: return .jsonb
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`: a full RFC 3339 date-time, offset required
    /// (without one the instant is unknown, so it is not a timestamptz).
    static func isRFC3339DateTime(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Bool {
            range.upperBound <= bytes.count && range.allSatisfy { bytes[$0] >= 0x30 && bytes[$0] <= 0x39 }
        }
        func byte(_ index: Int, in set: String) -> Bool { index < bytes.count && set.utf8.contains(bytes[index]) }
        guard digits(0..<4), byte(4, in: "-"), digits(5..<7), byte(7, in: "-"), digits(8..<10), byte(10, in: "Tt "),
            digits(11..<13), byte(13, in: ":"), digits(14..<16), byte(16, in: ":"), digits(17..<19)
        else { return false }
        var index = 19
        if byte(index, in: ".") {
            index += 1
            let start = index
            while digits(index..<index + 1) { index += 1 }
            guard index > start else { return false }
        }
        func number(_ range: Range<Int>) -> Int { range.reduce(0) { $0 * 10 + Int(bytes[$1] - 0x30) } }
        // RFC 3339's ranges, so a column created for the value can hold it (second 60: a leap second).
        guard (1...12).contains(number(5..<7)), (1...31).contains(number(8..<10)), number(11..<13) <= 23,
            number(14..<16) <= 59, number(17..<19) <= 60
        else { return false }
        if byte(index, in: "Zz") { return index + 1 == bytes.count }
        guard byte(index, in: "+-"), digits(index + 1..<index + 3), byte(index + 3, in: ":"), digits(index + 4..<index + 6),
            number(index + 1..<index + 3) <= 23, number(index + 4..<index + 6) <= 59
        else {
            return false
        }
        return index + 6 == bytes.count
    }
}
