import Core
import Extract
import Load
import Stream

/// Turns PostgreSQL's text output of one value into its JSON value (SPEC section 4), on bytes.
/// The session settings of `PostgresSource` fix the text formats this expects: UTC, ISO dates,
/// ISO 8601 intervals, hex bytea, shortest round-trip floats.
enum PostgresTextEncoder {
    /// How a column's values are written; decided once per column from its type.
    enum Style: Sendable, Equatable {
        case verbatimNumber  // integers: digits as they are
        case decimalNumber  // numeric, float: digits, but NaN/Infinity as strings
        case boolean
        case jsonb  // already one line of JSON
        case json  // JSON that may hold newlines and indentation: compacted
        case timestampUTC  // "2024-05-01 12:00:00+00" → "2024-05-01T12:00:00Z"
        case timestamp  // "2024-05-01 12:00:00" → "2024-05-01T12:00:00"
        case bytea  // "\x0a0b" → base64
        case string
        /// A JSON array of elements written in the element's style; `delimiter` is what the
        /// server writes between elements (the element type's `typdelim`: `,` but for `box`).
        indirect case array(Style, delimiter: UInt8 = UInt8(ascii: ","))

        /// The style as a ``Scalar``; nil for an array.
        var scalar: Scalar? {
            switch self {
            case .verbatimNumber: .verbatimNumber
            case .decimalNumber: .decimalNumber
            case .boolean: .boolean
            case .jsonb: .jsonb
            case .json: .json
            case .timestampUTC: .timestampUTC
            case .timestamp: .timestamp
            case .bytea: .bytea
            case .string: .string
            case .array: nil
            }
        }

        init(_ type: PostgresDataType) {
            if let element = type.elementType {
                self = .array(Style(element))
                return
            }
            switch type {
            case .int2, .int4, .int8, .oid: self = .verbatimNumber
            case .numeric, .float4, .float8: self = .decimalNumber
            case .bool: self = .boolean
            case .jsonb: self = .jsonb
            case .json: self = .json
            case .timestamptz: self = .timestampUTC
            case .timestamp: self = .timestamp
            case .bytea: self = .bytea
            default: self = .string
            }
        }
    }

    /// The styles that carry nothing: what the row loop switches on, copied for free (reading a
    /// ``Style`` out of an array copies its indirect payload's box, a reference count a value).
    enum Scalar: UInt8, Sendable {
        case verbatimNumber, decimalNumber, boolean, jsonb, json, timestampUTC, timestamp, bytea, string
    }

    /// Appends the JSON for one non-NULL value's text.
    static func append<Output: ByteSink & ~Copyable>(_ text: UnsafeBufferPointer<UInt8>, style: Style, to output: inout Output) {
        if let scalar = style.scalar {
            append(text, scalar: scalar, to: &output)
        } else if case .array(let element, let delimiter) = style {
            appendArray(text, element: element, delimiter: delimiter, to: &output)
        }
    }

    /// Appends the JSON for one non-NULL value's text in a style that carries nothing.
    @inline(__always)
    static func append<Output: ByteSink & ~Copyable>(_ text: UnsafeBufferPointer<UInt8>, scalar: Scalar, to output: inout Output)
    {
        switch scalar {
        case .verbatimNumber:
            output.appendBytes(text)
        case .decimalNumber:
            if let first = text.first,
                first == UInt8(ascii: "N") || first == UInt8(ascii: "I")
                    || (first == UInt8(ascii: "-") && text.count > 1 && text[1] == UInt8(ascii: "I"))
            {
                output.appendJSONString(text)
            } else {
                output.appendBytes(text)
            }
        case .boolean:
            output.appendLiteral(text.first == UInt8(ascii: "t") ? "true" : "false")
        case .jsonb:
            output.appendBytes(text)
        case .json:
            appendCompactJSON(text, to: &output)
        case .timestampUTC:
            appendTimestamp(text, utc: true, to: &output)
        case .timestamp:
            appendTimestamp(text, utc: false, to: &output)
        case .bytea:
            appendBase64OfHex(text, to: &output)
        case .string:
            output.appendJSONString(text)
        }
    }

    /// `2024-05-01 12:00:00.5+00` → `"2024-05-01T12:00:00.5Z"`; `infinity` and BC dates stay text.
    static func appendTimestamp<Output: ByteSink & ~Copyable>(
        _ text: UnsafeBufferPointer<UInt8>, utc: Bool, to output: inout Output
    ) {
        let count = text.count
        // Years before Christ ("0044-03-15 12:00:00+00 BC") have no RFC 3339 form: they stay text.
        let beforeChrist =
            count >= 3 && text[count - 1] == UInt8(ascii: "C") && text[count - 2] == UInt8(ascii: "B")
            && text[count - 3] == 0x20
        guard count >= 19, text[10] == UInt8(ascii: " "), text[4] == UInt8(ascii: "-"), !beforeChrist else {
            output.appendJSONString(text)
            return
        }
        output.appendByte(UInt8(ascii: "\""))
        var end = count
        if utc, count >= 3, text[count - 3] == UInt8(ascii: "+"), text[count - 2] == 0x30, text[count - 1] == 0x30 {
            end = count - 3
        }
        output.appendBytes(UnsafeBufferPointer(rebasing: text[0..<10]))
        output.appendByte(UInt8(ascii: "T"))
        output.appendBytes(UnsafeBufferPointer(rebasing: text[11..<end]))
        if end != count { output.appendByte(UInt8(ascii: "Z")) }
        output.appendByte(UInt8(ascii: "\""))
    }

    /// Drops whitespace outside strings, so a `json` value fits on one line.
    static func appendCompactJSON<Output: ByteSink & ~Copyable>(_ text: UnsafeBufferPointer<UInt8>, to output: inout Output) {
        var inString = false
        var escaped = false
        for byte in text {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                output.appendByte(byte)
            } else if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
                continue
            } else {
                if byte == UInt8(ascii: "\"") { inString = true }
                output.appendByte(byte)
            }
        }
    }

    @inline(__always)
    private static func hexValue(_ byte: UInt8) -> UInt8 {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x61...0x66: byte - 0x61 + 10
        case 0x41...0x46: byte - 0x41 + 10
        default: 0
        }
    }

    /// bytea's hex output (`\x` then two digits a byte) as a base64 JSON string.
    static func appendBase64OfHex<Output: ByteSink & ~Copyable>(_ text: UnsafeBufferPointer<UInt8>, to output: inout Output) {
        let start = text.count >= 2 && text[0] == UInt8(ascii: "\\") && text[1] == UInt8(ascii: "x") ? 2 : 0
        let bytes = stride(from: start, to: text.count - 1, by: 2).lazy.map { hexValue(text[$0]) << 4 | hexValue(text[$0 + 1]) }
        Base64.appendQuoted(bytes, to: &output)
    }

    /// An array literal (`{1,2,NULL}`, `{{"a b",c},{d,e}}`, `[0:1]={1,2}`) as a JSON array,
    /// each element mapped by its type; elements are separated by `delimiter` (`;` in a `box[]`).
    /// Iterative: braces open and close JSON arrays; a quoted element is unescaped and then mapped,
    /// so an element that is itself an array literal (a domain over an array) nests.
    static func appendArray<Output: ByteSink & ~Copyable>(
        _ text: UnsafeBufferPointer<UInt8>, element: Style, delimiter: UInt8 = UInt8(ascii: ","), to output: inout Output
    ) {
        var index = 0
        let count = text.count
        // Skip a dimension decoration such as "[0:1]=".
        if count > 0, text[0] == UInt8(ascii: "[") {
            while index < count, text[index] != UInt8(ascii: "=") { index += 1 }
            index += 1
        }
        var scratch: [UInt8] = []
        var needsComma = false
        while index < count {
            let byte = text[index]
            if byte == delimiter {
                index += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "{"):
                if needsComma { output.appendByte(UInt8(ascii: ",")) }
                output.appendByte(UInt8(ascii: "["))
                needsComma = false
                index += 1
            case UInt8(ascii: "}"):
                output.appendByte(UInt8(ascii: "]"))
                needsComma = true
                index += 1
            case 0x20:
                index += 1
            case UInt8(ascii: "\""):
                // Quoted element: backslash escapes any character.
                scratch.removeAll(keepingCapacity: true)
                index += 1
                while index < count, text[index] != UInt8(ascii: "\"") {
                    if text[index] == UInt8(ascii: "\\"), index + 1 < count { index += 1 }
                    scratch.append(text[index])
                    index += 1
                }
                index += 1
                if needsComma { output.appendByte(UInt8(ascii: ",")) }
                scratch.withUnsafeBufferPointer { append($0, style: element, to: &output) }
                needsComma = true
            default:
                let start = index
                while index < count, text[index] != delimiter, text[index] != UInt8(ascii: "}") { index += 1 }
                let item = UnsafeBufferPointer(rebasing: text[start..<index])
                if needsComma { output.appendByte(UInt8(ascii: ",")) }
                if item.count == 4, item.elementsEqual("NULL".utf8) {
                    output.appendLiteral("null")
                } else {
                    append(item, style: element, to: &output)
                }
                needsComma = true
            }
        }
    }
}
