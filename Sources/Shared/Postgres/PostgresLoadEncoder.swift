import Core
import Extract
import Load
import Stream

/// Encodes JSON values as fields of PostgreSQL's COPY text format (tab-separated, `\N` for
/// NULL, backslash escapes), on bytes. The inverse of the extract mapping: base64 strings into
/// bytea, JSON arrays into PostgreSQL arrays, objects and arrays as JSON text for json/jsonb.
enum PostgresLoadEncoder {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// How a column takes JSON values; a plain enum, cheap to test per value.
    enum Encoding: Sendable, Equatable {
        case plain, bytea, json, array, byteaArray, jsonArray

        init(_ kind: ColumnKind?) {
            switch kind {
            case .bytea?: self = .bytea
            case .json?, .jsonb?: self = .json
            case .array(.bytea)?: self = .byteaArray
            case .array(.json)?, .array(.jsonb)?: self = .jsonArray
            case .array?: self = .array
            default: self = .plain
            }
        }

        var isArray: Bool { self == .array || self == .byteaArray || self == .jsonArray }
    }

    /// Appends `bytes` with COPY text escaping: backslash, tab, newline and carriage return.
    @inline(__always)
    static func appendEscaped<Output: ByteSink & ~Copyable>(_ bytes: UnsafeBufferPointer<UInt8>, to output: inout Output) {
        var runStart = 0
        var index = 0
        let count = bytes.count
        while index < count {
            if index + 8 <= count, let base = bytes.baseAddress {
                // Eight bytes at a time to the next control character or backslash (the lowest flag is exact).
                let flags = copyEscapeFlags(ByteWord.load(base + index))
                index += flags.trailingZeroBitCount >> 3
                if flags == 0 { continue }
            }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") || byte == 0x09 || byte == 0x0A || byte == 0x0D {
                if index > runStart { output.appendBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<index])) }
                output.appendByte(UInt8(ascii: "\\"))
                switch byte {
                case 0x09: output.appendByte(UInt8(ascii: "t"))
                case 0x0A: output.appendByte(UInt8(ascii: "n"))
                case 0x0D: output.appendByte(UInt8(ascii: "r"))
                default: output.appendByte(UInt8(ascii: "\\"))
                }
                runStart = index + 1
            }
            index += 1
        }
        if count > runStart { output.appendBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<count])) }
    }

    /// ``ByteWord`` flags for the bytes that may need a COPY escape: a backslash or any control
    /// character (a superset of tab, newline and carriage return; the byte loop decides).
    @inline(__always)
    static func copyEscapeFlags(_ word: UInt64) -> UInt64 {
        ByteWord.equal(word, 0x5C) | ByteWord.below(word, 0x20)
    }

    /// Appends one member's value as a COPY field for a column taking `encoding`. Returns a
    /// reason when the value cannot go into such a column (a string that is not base64 for bytea).
    @inline(__always)
    static func append<Output: ByteSink & ~Copyable>(
        _ value: JSONRow.Value, of row: JSONRow, as encoding: Encoding, to output: inout Output
    ) -> String? {
        append(value, of: row, line: row.lineBuffer, as: encoding, to: &output)
    }

    /// ``append(_:of:as:to:)`` with the row's line already in hand (`row.lineBuffer`): the
    /// loader's loop asks for it once a row, not once a value.
    @inline(__always)
    static func append<Output: ByteSink & ~Copyable>(
        _ value: JSONRow.Value, of row: JSONRow, line: UnsafeBufferPointer<UInt8>, as encoding: Encoding, to output: inout Output
    ) -> String? {
        switch value {
        case .null:
            output.appendLiteral("\\N")
        case .bool(let flag):
            output.appendLiteral(flag ? "true" : "false")
        case .number(let range):
            output.appendBytes(UnsafeBufferPointer(rebasing: line[range]))
        case .string(let bytes):
            switch encoding {
            case .bytea:
                return row.withBytes(bytes) { appendBytea($0, to: &output) }
            case .json:
                // The column holds JSON: the value is a JSON string, so it goes in quoted.
                var quoted: [UInt8] = []
                row.withBytes(bytes) { JSONEscaping.appendQuoted(bytes: $0, to: &quoted) }
                quoted.withUnsafeBufferPointer { appendEscaped($0, to: &output) }
            default:
                if case .line(let range) = bytes {
                    // A string with no JSON escape holds no control character and no backslash:
                    // nothing for COPY to escape either.
                    output.appendBytes(UnsafeBufferPointer(rebasing: line[range]))
                } else {
                    row.withBytes(bytes) { appendEscaped($0, to: &output) }
                }
            }
        case .container(let range):
            if encoding.isArray {
                guard case .array(let elements)? = try? JSONParser.parse(row.lineBytes(range)) else {
                    return "expected a JSON array for a PostgreSQL array column"
                }
                var literal: [UInt8] = []
                let element: ColumnKind = encoding == .byteaArray ? .bytea : encoding == .jsonArray ? .jsonb : .text
                if let problem = appendArrayLiteral(elements, element: element, to: &literal) { return problem }
                literal.withUnsafeBufferPointer { appendEscaped($0, to: &output) }
            } else {
                appendEscaped(UnsafeBufferPointer(rebasing: line[range]), to: &output)
            }
        }
        return nil
    }

    /// base64 text → `\\x…` hex (COPY-escaped bytea input).
    private static func appendBytea<Output: ByteSink & ~Copyable>(
        _ base64: UnsafeBufferPointer<UInt8>, to output: inout Output
    ) -> String? {
        guard let decoded = Base64.decode(base64) else { return "expected base64 for a bytea column" }
        output.appendLiteral("\\\\x")
        for byte in decoded {
            output.appendByte(hexDigits[Int(byte >> 4)])
            output.appendByte(hexDigits[Int(byte & 0x0F)])
        }
        return nil
    }

    /// A PostgreSQL array literal (`{1,NULL,"a \"b\""}`) from JSON elements, nested arrays as nested braces.
    static func appendArrayLiteral(_ elements: [JSONValue], element: ColumnKind, to output: inout [UInt8]) -> String? {
        output.append(UInt8(ascii: "{"))
        for (index, value) in elements.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            switch value {
            case .null:
                output.append(contentsOf: "NULL".utf8)
            case .bool(let flag):
                output.append(contentsOf: (flag ? "true" : "false").utf8)
            case .number(let text):
                output.append(contentsOf: text.utf8)
            case .array where element == .json || element == .jsonb:
                // In a json[] every element is one JSON value, an array too.
                appendQuotedElement(Array(value.serialized().utf8), to: &output)
            case .array(let nested):
                if let problem = appendArrayLiteral(nested, element: element, to: &output) { return problem }
            case .string(let text):
                if element == .bytea {
                    var hex: [UInt8] = []
                    let problem = Array(text.utf8).withUnsafeBufferPointer { appendBytea($0, to: &hex) }
                    if let problem { return problem }
                    // appendBytea wrote COPY-escaped `\\x`; inside an array literal the backslash is quoted instead.
                    appendQuotedElement(Array(hex.dropFirst()), to: &output)
                } else if element == .json || element == .jsonb {
                    appendQuotedElement(Array(value.serialized().utf8), to: &output)
                } else {
                    appendQuotedElement(Array(text.utf8), to: &output)
                }
            case .object:
                appendQuotedElement(Array(value.serialized().utf8), to: &output)
            }
        }
        output.append(UInt8(ascii: "}"))
        return nil
    }

    private static func appendQuotedElement(_ bytes: [UInt8], to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in bytes {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { output.append(UInt8(ascii: "\\")) }
            output.append(byte)
        }
        output.append(UInt8(ascii: "\""))
    }
}
