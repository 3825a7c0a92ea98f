/// Finds the `:last_value` placeholder tokens of a query. It lexes SQL just enough to skip
/// string literals, quoted identifiers and comments, so only a real token is replaced.
public struct QueryTemplate: Sendable, Equatable {
    /// The SQL dialect decides which quotes and comments exist.
    public enum Dialect: Sendable {
        case postgresql, sqlite
    }

    public static let placeholder = ":last_value"

    public var sql: String
    public var placeholderRanges: [Range<String.Index>]

    public var containsPlaceholder: Bool { !placeholderRanges.isEmpty }

    public init(_ sql: String, dialect: Dialect) {
        self.sql = sql
        self.placeholderRanges = Self.findPlaceholders(in: sql, dialect: dialect)
    }

    /// The query with every placeholder replaced by `replacement` (e.g. `$1` for libpq, `?1` for SQLite).
    public func rendered(placeholderReplacement replacement: String) -> String {
        var result = ""
        var cursor = sql.startIndex
        for range in placeholderRanges {
            result += sql[cursor..<range.lowerBound]
            result += replacement
            cursor = range.upperBound
        }
        result += sql[cursor...]
        return result
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "$") || byte >= 0x80
    }

    private static func findPlaceholders(in sql: String, dialect: Dialect) -> [Range<String.Index>] {
        let bytes = Array(sql.utf8)
        let token = Array(placeholder.utf8)
        let count = bytes.count
        var offsets: [Int] = []
        var index = 0

        func skipQuoted(_ quote: UInt8, backslashEscapes: Bool) {
            // index is at the opening quote; a doubled quote is an escaped quote.
            index += 1
            while index < count {
                let byte = bytes[index]
                if backslashEscapes && byte == UInt8(ascii: "\\") {
                    index += 2
                    continue
                }
                if byte == quote {
                    if index + 1 < count && bytes[index + 1] == quote {
                        index += 2
                        continue
                    }
                    index += 1
                    return
                }
                index += 1
            }
        }

        while index < count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "'"):
                let escapeString = dialect == .postgresql && index > 0
                    && (bytes[index - 1] == UInt8(ascii: "E") || bytes[index - 1] == UInt8(ascii: "e"))
                    && (index < 2 || !isIdentifierByte(bytes[index - 2]))
                skipQuoted(byte, backslashEscapes: escapeString)
            case UInt8(ascii: "\""):
                skipQuoted(byte, backslashEscapes: false)
            case UInt8(ascii: "`") where dialect == .sqlite:
                skipQuoted(byte, backslashEscapes: false)
            case UInt8(ascii: "[") where dialect == .sqlite:
                while index < count && bytes[index] != UInt8(ascii: "]") { index += 1 }
                index += 1
            case UInt8(ascii: "-") where index + 1 < count && bytes[index + 1] == UInt8(ascii: "-"):
                while index < count && bytes[index] != 0x0A { index += 1 }
            case UInt8(ascii: "/") where index + 1 < count && bytes[index + 1] == UInt8(ascii: "*"):
                // PostgreSQL block comments nest; SQLite's do not.
                var depth = 1
                index += 2
                while index < count && depth > 0 {
                    if bytes[index] == UInt8(ascii: "*") && index + 1 < count && bytes[index + 1] == UInt8(ascii: "/") {
                        depth -= 1
                        index += 2
                    } else if dialect == .postgresql && bytes[index] == UInt8(ascii: "/") && index + 1 < count
                        && bytes[index + 1] == UInt8(ascii: "*")
                    {
                        depth += 1
                        index += 2
                    } else {
                        index += 1
                    }
                }
            case UInt8(ascii: "$") where dialect == .postgresql && (index == 0 || !isIdentifierByte(bytes[index - 1])):
                // A dollar quote: $$ or $tag$ … the same tag.
                var end = index + 1
                while end < count && isIdentifierByte(bytes[end]) && bytes[end] != UInt8(ascii: "$") { end += 1 }
                guard end < count && bytes[end] == UInt8(ascii: "$"),
                    end == index + 1 || !(bytes[index + 1] >= 0x30 && bytes[index + 1] <= 0x39)
                else {
                    index += 1  // a positional parameter like $1
                    continue
                }
                let tag = Array(bytes[index...end])
                index = end + 1
                while index < count {
                    if bytes[index] == UInt8(ascii: "$") && index + tag.count <= count
                        && Array(bytes[index..<(index + tag.count)]) == tag
                    {
                        index += tag.count
                        break
                    }
                    index += 1
                }
            case UInt8(ascii: ":"):
                if index + 1 < count && bytes[index + 1] == UInt8(ascii: ":") {
                    // A cast: `::type`; skip both colons so `x::last_value` is not a placeholder.
                    index += 2
                    continue
                }
                let end = index + token.count
                let precededByIdentifier = index > 0 && isIdentifierByte(bytes[index - 1])
                if end <= count, Array(bytes[index..<end]) == token, !precededByIdentifier,
                    end == count || !isIdentifierByte(bytes[end])
                {
                    offsets.append(index)
                    index = end
                } else {
                    index += 1
                }
            default:
                index += 1
            }
        }

        let utf8 = sql.utf8
        return offsets.map { offset in
            let lower = utf8.index(utf8.startIndex, offsetBy: offset)
            let upper = utf8.index(lower, offsetBy: token.count)
            return lower..<upper
        }
    }
}
