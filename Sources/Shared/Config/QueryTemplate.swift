import Core

/// A resource's query with its `:last_value` placeholder tokens found (SPEC section 3).
///
/// The SQL is lexed just enough to skip what is not code: string literals, quoted identifiers
/// and comments. A placeholder is `:last_value` not preceded by `:` or an identifier character
/// and not followed by an identifier character (`[A-Za-z0-9_$]` or any non-ASCII byte), so
/// `:last_value::bigint` is a placeholder and a cast, `x::last_value` is a cast to a type named
/// `last_value`, and `:last_values` is some other name. The token is case-sensitive.
package struct QueryTemplate: Sendable, Equatable {
    /// Which quotes and comments the SQL has beyond the common ones (`'…'` with `''` inside,
    /// `"…"`, `--` comments, `/* */` comments). Each source connector names its own.
    package struct Dialect: Sendable, Equatable {
        /// `E'…'` strings, whose backslashes escape.
        package var escapeStrings: Bool
        /// `$$…$$` and `$tag$…$tag$` strings.
        package var dollarQuotedStrings: Bool
        /// `/* */` comments nest.
        package var nestedBlockComments: Bool
        /// `[…]` and `` `…` `` quote identifiers.
        package var bracketAndBacktickIdentifiers: Bool

        package init(
            escapeStrings: Bool = false, dollarQuotedStrings: Bool = false, nestedBlockComments: Bool = false,
            bracketAndBacktickIdentifiers: Bool = false
        ) {
            self.escapeStrings = escapeStrings
            self.dollarQuotedStrings = dollarQuotedStrings
            self.nestedBlockComments = nestedBlockComments
            self.bracketAndBacktickIdentifiers = bracketAndBacktickIdentifiers
        }
    }

    /// The placeholder token.
    package static let placeholder = ":last_value"

    package let sql: String
    package let dialect: Dialect
    /// Where each placeholder token is, in order.
    package let placeholderRanges: [Range<String.Index>]

    package var containsPlaceholder: Bool { !placeholderRanges.isEmpty }

    package init(_ sql: String, dialect: Dialect) {
        self.sql = sql
        self.dialect = dialect
        var lexer = SQLPlaceholderLexer(bytes: Array(sql.utf8), dialect: dialect)
        let offsets = lexer.placeholderOffsets()
        let utf8 = sql.utf8
        var ranges: [Range<String.Index>] = []
        var index = utf8.startIndex
        var position = 0
        for offset in offsets {
            index = utf8.index(index, offsetBy: offset - position)
            position = offset
            ranges.append(index..<utf8.index(index, offsetBy: Self.placeholder.utf8.count))
        }
        placeholderRanges = ranges
    }

    /// The query with every placeholder replaced by `replacement` (`$1` for libpq, `?1` for
    /// SQLite); all other text is unchanged.
    package func rendered(placeholderReplacement replacement: String) -> String {
        let utf8 = sql.utf8
        var output: [UInt8] = []
        output.reserveCapacity(utf8.count + placeholderRanges.count * replacement.utf8.count)
        var cursor = utf8.startIndex
        for range in placeholderRanges {
            output += utf8[cursor..<range.lowerBound]
            output += replacement.utf8
            cursor = range.upperBound
        }
        output += utf8[cursor...]
        return String(decoding: output, as: UTF8.self)
    }

    /// ``rendered(placeholderReplacement:)`` for showing: each of `spans` (values from the
    /// environment, see ``EnvironmentSpan``) shows as its reference as written. A placeholder that
    /// overlaps such a value is left as written rather than reveal any of it.
    package func rendered(placeholderReplacement replacement: String, showingAsWritten spans: [EnvironmentSpan]) -> String {
        guard !spans.isEmpty else { return rendered(placeholderReplacement: replacement) }
        let utf8 = sql.utf8
        let replacements = placeholderRanges.map { range in
            (
                range: utf8.distance(
                    from: utf8.startIndex, to: range.lowerBound)..<utf8.distance(from: utf8.startIndex, to: range.upperBound),
                text: replacement
            )
        }
        return EnvironmentSpan.shown(sql, spans: spans, replacing: replacements)
    }
}

/// Walks SQL bytes token by token, skipping literals, quoted identifiers and comments, and
/// collects the byte offsets of `:last_value` tokens.
struct SQLPlaceholderLexer {
    let bytes: [UInt8]
    let dialect: QueryTemplate.Dialect
    private var index = 0
    private static let token = Array(QueryTemplate.placeholder.utf8)

    init(bytes: [UInt8], dialect: QueryTemplate.Dialect) {
        self.bytes = bytes
        self.dialect = dialect
    }

    mutating func placeholderOffsets() -> [Int] {
        var offsets: [Int] = []
        index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case ascii("'"):
                skipQuoted(byte, backslashEscapes: false)
            case ascii("\""):
                skipQuoted(byte, backslashEscapes: false)
            case ascii("`") where dialect.bracketAndBacktickIdentifiers:
                skipQuoted(byte, backslashEscapes: false)
            case ascii("[") where dialect.bracketAndBacktickIdentifiers:
                skip(through: ascii("]"))
            case ascii("-") where next == ascii("-"):
                while index < bytes.count, bytes[index] != ascii("\n"), bytes[index] != ascii("\r") { index += 1 }
            case ascii("/") where next == ascii("*"):
                skipBlockComment(nesting: dialect.nestedBlockComments)
            case ascii("$") where dialect.dollarQuotedStrings:
                skipDollarQuotedOrParameter()
            case ascii(":"):
                if next == ascii(":") {
                    index += 2  // a cast: whatever name follows is a type, not a placeholder
                } else if isPlaceholder(at: index) {
                    offsets.append(index)
                    index += Self.token.count
                } else {
                    index += 1
                }
            case _ where (byte == ascii("E") || byte == ascii("e")) && dialect.escapeStrings && next == ascii("'"):
                index += 1
                skipQuoted(ascii("'"), backslashEscapes: true)
            default:
                if Self.isIdentifierByte(byte) {
                    // A whole word, so that `x'`, `a$b$` or `1e` inside it start nothing.
                    while index < bytes.count, Self.isIdentifierByte(bytes[index]) { index += 1 }
                } else {
                    index += 1
                }
            }
        }
        return offsets
    }

    private func ascii(_ character: Unicode.Scalar) -> UInt8 { UInt8(ascii: character) }

    private var next: UInt8? { index + 1 < bytes.count ? bytes[index + 1] : nil }

    /// Letters, digits, `_`, `$` and every byte of a non-ASCII character.
    static func isIdentifierByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: "$") || byte >= 0x80
    }

    private func isPlaceholder(at start: Int) -> Bool {
        let end = start + Self.token.count
        guard end <= bytes.count, bytes[start..<end].elementsEqual(Self.token) else { return false }
        if start > 0, bytes[start - 1] == UInt8(ascii: ":") || Self.isIdentifierByte(bytes[start - 1]) { return false }
        return end == bytes.count || !Self.isIdentifierByte(bytes[end])
    }

    /// From an opening quote to just past its closing quote; a doubled quote is an escaped one.
    private mutating func skipQuoted(_ quote: UInt8, backslashEscapes: Bool) {
        index += 1
        while index < bytes.count {
            let byte = bytes[index]
            if backslashEscapes, byte == UInt8(ascii: "\\") {
                index += 2
            } else if byte == quote {
                if next == quote {
                    index += 2
                } else {
                    index += 1
                    return
                }
            } else {
                index += 1
            }
        }
    }

    private mutating func skip(through terminator: UInt8) {
        while index < bytes.count, bytes[index] != terminator { index += 1 }
        index += 1
    }

    private mutating func skipBlockComment(nesting: Bool) {
        var depth = 1
        index += 2
        while index < bytes.count, depth > 0 {
            if bytes[index] == UInt8(ascii: "*"), next == UInt8(ascii: "/") {
                depth -= 1
                index += 2
            } else if nesting, bytes[index] == UInt8(ascii: "/"), next == UInt8(ascii: "*") {
                depth += 1
                index += 2
            } else {
                index += 1
            }
        }
    }

    /// At a `$` that starts a token: `$$…$$` or `$tag$…$tag$` is skipped whole; anything else
    /// (`$1`, a lone `$`) is left for the word rule.
    private mutating func skipDollarQuotedOrParameter() {
        var end = index + 1
        if end < bytes.count, !(bytes[end] >= UInt8(ascii: "0") && bytes[end] <= UInt8(ascii: "9")) {
            while end < bytes.count, Self.isIdentifierByte(bytes[end]), bytes[end] != UInt8(ascii: "$") { end += 1 }
        }
        guard end < bytes.count, bytes[end] == UInt8(ascii: "$") else {
            index += 1
            while index < bytes.count, Self.isIdentifierByte(bytes[index]) { index += 1 }
            return
        }
        let tag = bytes[index...end]
        index = end + 1
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "$"), index + tag.count <= bytes.count,
                bytes[index..<(index + tag.count)].elementsEqual(tag)
            {
                index += tag.count
                return
            }
            index += 1
        }
    }
}
