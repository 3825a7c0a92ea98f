import Core

/// PostgreSQL's COPY text format as `COPY … TO STDOUT` writes a row: fields separated by tabs,
/// `\N` for NULL, and backslash escapes for the backslash and control characters. A field with
/// no backslash is its value's text as it is.
enum PostgresCopyText {
    /// Splits `row` at its tabs into `fields.count` fields: `fields[n]` is field n's range and
    /// `escaped[n]` whether it holds a backslash (an escape, or NULL). False when the row does not
    /// hold exactly that many fields.
    static func split(
        _ row: UnsafeBufferPointer<UInt8>, fields: UnsafeMutableBufferPointer<Range<Int>>,
        escaped: UnsafeMutableBufferPointer<Bool>
    ) -> Bool {
        guard let base = row.baseAddress, fields.count > 0 else { return fields.count == 0 && row.isEmpty }
        for index in 0..<escaped.count { escaped[index] = false }
        let count = row.count
        var field = 0
        var start = 0
        var index = 0
        while index < count {
            if index + 8 <= count {
                // Eight bytes at a time to the next tab or backslash (the lowest flag is exact).
                let flags = ByteWord.equal(ByteWord.load(base + index), 0x09) | ByteWord.equal(ByteWord.load(base + index), 0x5C)
                index += flags.trailingZeroBitCount >> 3
                if flags == 0 { continue }
            }
            switch base[index] {
            case 0x09:
                fields[field] = start..<index
                field += 1
                guard field < fields.count else { return false }
                start = index + 1
                index += 1
            case 0x5C:
                escaped[field] = true
                index += 2
            default:
                index += 1
            }
        }
        fields[field] = start..<min(count, max(start, count))
        return field == fields.count - 1
    }

    /// Whether a field that holds a backslash is NULL (`\N`).
    @inline(__always)
    static func isNull(_ field: UnsafeBufferPointer<UInt8>) -> Bool {
        field.count == 2 && field[0] == 0x5C && field[1] == UInt8(ascii: "N")
    }

    /// A field's value with its escapes decoded, into `output` (emptied first): `\b \f \n \r \t
    /// \v`, one to three octal digits, `\x` and one or two hex digits, and any other character
    /// after a backslash as itself (PostgreSQL's rules for COPY text).
    static func unescape(_ field: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) {
        output.removeAll(keepingCapacity: true)
        var index = 0
        let count = field.count
        while index < count {
            let byte = field[index]
            guard byte == 0x5C, index + 1 < count else {
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
                while digits < 3, index < count, field[index] >= UInt8(ascii: "0"), field[index] <= UInt8(ascii: "7") {
                    value = value * 8 + Int(field[index] - UInt8(ascii: "0"))
                    index += 1
                    digits += 1
                }
                output.append(UInt8(truncatingIfNeeded: value))
            case UInt8(ascii: "x") where index < count && hexValue(field[index]) != nil:
                var value = hexValue(field[index]) ?? 0
                index += 1
                if index < count, let low = hexValue(field[index]) {
                    value = value * 16 + low
                    index += 1
                }
                output.append(UInt8(truncatingIfNeeded: value))
            default:
                output.append(next)
            }
        }
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }
}
