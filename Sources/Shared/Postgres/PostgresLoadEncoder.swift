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
    static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        var runStart = 0
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") || byte == 0x09 || byte == 0x0A || byte == 0x0D {
                if index > runStart { output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index])) }
                output.append(UInt8(ascii: "\\"))
                switch byte {
                case 0x09: output.append(UInt8(ascii: "t"))
                case 0x0A: output.append(UInt8(ascii: "n"))
                case 0x0D: output.append(UInt8(ascii: "r"))
                default: output.append(UInt8(ascii: "\\"))
                }
                runStart = index + 1
            }
            index += 1
        }
        if count > runStart { output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<count])) }
    }

    /// Appends one member's value as a COPY field for a column taking `encoding`. Returns a
    /// reason when the value cannot go into such a column (a string that is not base64 for bytea).
    @inline(__always)
    static func append(_ value: JSONRow.Value, of row: JSONRow, as encoding: Encoding, to output: inout [UInt8]) -> String? {
        switch value {
        case .null:
            output.append(contentsOf: "\\N".utf8)
        case .bool(let flag):
            output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let range):
            output.append(contentsOf: row.lineBytes(range))
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
                row.withBytes(bytes) { appendEscaped($0, to: &output) }
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
                appendEscaped(row.lineBytes(range), to: &output)
            }
        }
        return nil
    }

    /// base64 text → `\\x…` hex (COPY-escaped bytea input).
    private static func appendBytea(_ base64: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) -> String? {
        guard let decoded = Base64.decode(base64) else { return "expected base64 for a bytea column" }
        output.append(contentsOf: "\\\\x".utf8)
        for byte in decoded {
            output.append(hexDigits[Int(byte >> 4)])
            output.append(hexDigits[Int(byte & 0x0F)])
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
