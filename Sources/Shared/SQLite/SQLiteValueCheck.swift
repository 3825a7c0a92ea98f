import Core
import Stream

/// Whether a JSON value may go into a SQLite column, judged by the column's kind before the
/// value is bound (SPEC section 6: "SQLite's flexible typing is no excuse to store "abc" in an
/// INTEGER column"). A value the column cannot take fails the load; NULL always passes (NOT NULL
/// is SQLite's to enforce, and it reports it).
///
/// Why Conduit checks, rather than creating STRICT tables: a STRICT table accepts only INT,
/// INTEGER, REAL, TEXT, BLOB and ANY as column types, so it would lose the BOOLEAN, JSON,
/// TIMESTAMPTZ, DATE… declared types a SQLite round trip relies on (``ColumnKind/init(sqliteDeclaredType:)``
/// reads them back); and STRICT protects only the tables Conduit creates, not the tables that
/// already exist, which are most of them.
///
/// What each kind takes (anything else is refused):
/// - smallint, integer, bigint: JSON integers in Int64's range (no fraction, no exponent), and
///   strings holding exactly such an integer (an optional sign, then digits), which INTEGER
///   affinity stores as integers;
/// - real, double: JSON numbers, numeric strings, and the strings `"Infinity"` and `"-Infinity"`
///   (bound as REAL infinities) — not `"NaN"`, which SQLite would store as NULL;
/// - numeric: JSON numbers and numeric strings;
/// - boolean: `true`, `false`, and the integers 0 and 1;
/// - json, jsonb, arrays: any JSON value;
/// - bytea (BLOB): a string of canonical padded base64 (as ``Base64/decode(_:)`` takes it);
/// - text, uuid, and a column with no declared type: anything (numbers and booleans as SQLite's
///   affinity converts them);
/// - timestamptz, timestamp, date, time, timetz, interval: strings only. Their format is not
///   checked: SQLite has no such types, and keeps the text as it is given (DATE and TIMESTAMP
///   have NUMERIC affinity, so a string of digits is stored as a number).
///
/// The check works on the row's bytes: no Foundation, no re-parsing, no allocation unless the
/// value is refused.
enum SQLiteValueCheck {
    /// Nil when a column of `kind` takes `value`; otherwise what the value is, for the message
    /// (`a JSON string ("abc")`, `a JSON number (1.5)`), with a reason where the type alone does
    /// not say it.
    static func refusal(of value: JSONRow.Value, in row: JSONRow, kind: ColumnKind?) -> String? {
        if case .null = value { return nil }
        guard let kind else { return nil }
        let accepted: Bool
        var reason = ""
        switch kind {
        case .text, .uuid, .json, .jsonb, .array:
            return nil
        case .smallint, .integer, .bigint:
            switch value {
            case .number(let range):
                let bytes = row.lineBytes(range)
                accepted = isInteger(bytes)
                if !accepted && !bytes.contains(where: isFractionOrExponent) { reason = ": out of the 64-bit integer range" }
            case .string(let bytes):
                accepted = row.withBytes(bytes) { isInteger($0) }
                if !accepted && row.withBytes(bytes, { isIntegerSyntax($0) }) { reason = ": out of the 64-bit integer range" }
            default:
                accepted = false
            }
        case .real, .double:
            switch value {
            case .number:
                accepted = true
            case .string(let bytes):
                accepted = row.withBytes(bytes) { isNumeric($0) || infinity($0) != nil }
                if !accepted && row.withBytes(bytes, { $0.elementsEqual("NaN".utf8) }) { reason = ": SQLite stores NaN as NULL" }
            default:
                accepted = false
            }
        case .numeric:
            switch value {
            case .number: accepted = true
            case .string(let bytes): accepted = row.withBytes(bytes) { isNumeric($0) }
            default: accepted = false
            }
        case .boolean:
            switch value {
            case .bool:
                accepted = true
            case .number(let range):
                let bytes = row.lineBytes(range)
                accepted = bytes.elementsEqual("0".utf8) || bytes.elementsEqual("1".utf8) || bytes.elementsEqual("-0".utf8)
            default:
                accepted = false
            }
        case .bytea:
            if case .string(let bytes) = value {
                accepted = row.withBytes(bytes) { isBase64($0) }
                reason = ": not base64"
            } else {
                accepted = false
            }
        case .timestamptz, .timestamp, .date, .time, .timetz, .interval:
            if case .string = value { accepted = true } else { accepted = false }
        }
        return accepted ? nil : describe(value, in: row) + reason
    }

    /// The REAL a real or double column stores for the string `"Infinity"` or `"-Infinity"`;
    /// nil for any other text. (SQLite's affinity does not read these names: bound as text,
    /// they would stay text.)
    static func infinity(_ text: UnsafeBufferPointer<UInt8>) -> Double? {
        if text.elementsEqual("Infinity".utf8) { return .infinity }
        if text.elementsEqual("-Infinity".utf8) { return -.infinity }
        return nil
    }

    // MARK: Bytes

    private static let zero = UInt8(ascii: "0")
    private static let nine = UInt8(ascii: "9")

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= zero && byte <= nine }

    private static func isFractionOrExponent(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
    }

    /// An optional `+` or `-`, then at least one digit, and nothing else.
    private static func isIntegerSyntax(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        if index < text.count && (text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+")) { index += 1 }
        guard index < text.count else { return false }
        while index < text.count {
            guard isDigit(text[index]) else { return false }
            index += 1
        }
        return true
    }

    /// An integer in Int64's range: an optional `+` or `-`, then digits (leading zeros allowed),
    /// nothing else — exactly what `Int64(_: String)` reads and INTEGER affinity stores as an integer.
    private static func isInteger(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        var negative = false
        if index < text.count && (text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+")) {
            negative = text[index] == UInt8(ascii: "-")
            index += 1
        }
        guard index < text.count else { return false }
        let limit: UInt64 = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
        var magnitude: UInt64 = 0
        while index < text.count {
            let byte = text[index]
            guard isDigit(byte) else { return false }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - zero))
            guard !overflow1, !overflow2, sum <= limit else { return false }
            magnitude = sum
            index += 1
        }
        return true
    }

    /// A decimal number SQLite's numeric affinities convert: an optional sign, digits with an
    /// optional point (at least one digit on either side), an optional exponent. No spaces, no
    /// hexadecimal, no names.
    private static func isNumeric(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        if index < text.count && (text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+")) { index += 1 }
        var digits = 0
        while index < text.count && isDigit(text[index]) {
            index += 1
            digits += 1
        }
        if index < text.count && text[index] == UInt8(ascii: ".") {
            index += 1
            while index < text.count && isDigit(text[index]) {
                index += 1
                digits += 1
            }
        }
        guard digits > 0 else { return false }
        if index < text.count && (text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E")) {
            index += 1
            if index < text.count && (text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+")) { index += 1 }
            var exponentDigits = 0
            while index < text.count && isDigit(text[index]) {
                index += 1
                exponentDigits += 1
            }
            guard exponentDigits > 0 else { return false }
        }
        return index == text.count
    }

    private static let base64Values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(byte)] = UInt8(index)
        }
        return table
    }()

    /// Exactly what ``Base64/decode(_:)`` accepts (so the blob binds), without building the
    /// bytes: groups of four, `=` only as the padding of the last group, zero bits under it.
    private static func isBase64(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard text.count % 4 == 0 else { return false }
        let pad = UInt8(ascii: "=")
        var index = 0
        while index < text.count {
            let isLast = index + 4 == text.count
            for offset in 0..<4 {
                let byte = text[index + offset]
                if byte == pad && isLast && offset >= 2 {
                    // "xx=y" is refused: padding only at the very end.
                    if offset == 2 && text[index + 3] != pad { return false }
                    continue
                }
                guard base64Values[Int(byte)] != 0xFF else { return false }
            }
            if isLast && text[index + 3] == pad {
                // Canonical form: the bits of the last character before the padding that fall
                // outside the decoded bytes must be zero.
                if text[index + 2] == pad {
                    if base64Values[Int(text[index + 1])] & 0x0F != 0 { return false }
                } else if base64Values[Int(text[index + 2])] & 0x03 != 0 {
                    return false
                }
            }
            index += 4
        }
        return true
    }

    // MARK: The message

    /// How much of a refused value the message shows.
    private static let shownBytes = 64

    /// `a JSON string ("abc")`, `a JSON number (1.5)`, `a JSON boolean (true)`,
    /// `a JSON object ({"a":1})`; a long value is cut after ``shownBytes`` bytes, marked `…`.
    private static func describe(_ value: JSONRow.Value, in row: JSONRow) -> String {
        switch value {
        case .null:
            return "null"
        case .bool(let flag):
            return "a JSON boolean (\(flag))"
        case .number(let range):
            return "a JSON number (\(shown(row.lineBytes(range))))"
        case .string(let bytes):
            return row.withBytes(bytes) { text in
                let (prefix, cut) = cutShort(text)
                return "a JSON string (\(JSONEscaping.quoted(prefix))\(cut ? "…" : ""))"
            }
        case .container(let range):
            let bytes = row.lineBytes(range)
            let noun = bytes.first == UInt8(ascii: "{") ? "object" : "array"
            return "a JSON \(noun) (\(shown(bytes)))"
        }
    }

    private static func shown(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let (prefix, cut) = cutShort(bytes)
        return prefix + (cut ? "…" : "")
    }

    /// The first ``shownBytes`` bytes of `bytes`, ending on a character boundary, and whether any were left out.
    private static func cutShort(_ bytes: UnsafeBufferPointer<UInt8>) -> (String, Bool) {
        guard bytes.count > shownBytes else { return (String(decoding: bytes, as: UTF8.self), false) }
        var end = shownBytes
        // Back up over continuation bytes (10xxxxxx) so no character is split.
        while end > 0 && bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return (String(decoding: UnsafeBufferPointer(rebasing: bytes[..<end]), as: UTF8.self), true)
    }
}
