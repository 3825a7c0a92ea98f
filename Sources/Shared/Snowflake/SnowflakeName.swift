import Core

/// Snowflake's rules for names. Snowflake resolves an unquoted name upper-case, so a table or
/// column the user writes as `raw_users` or `email` is created as `RAW_USERS` / `EMAIL` and is
/// queryable unquoted afterwards (`SELECT email FROM raw_users`). A name that could not be
/// written unquoted (`first name`, `x"; DROP TABLE t; --`, a name starting with a digit) keeps
/// its exact spelling and is always quoted.
package enum SnowflakeName {
    /// The name Snowflake stores for what the user wrote.
    package static func resolved(_ name: String) -> String {
        isPlainIdentifier(name) ? name.uppercased() : name
    }

    /// The resolved name, quoted for SQL text: `"RAW_USERS"`, `"first name"`.
    package static func quoted(_ name: String) -> String {
        exact(resolved(name))
    }

    /// A name already as Snowflake stores it, quoted.
    package static func exact(_ stored: String) -> String {
        "\"" + stored.replacingAll("\"", with: "\"\"") + "\""
    }

    /// A string literal for SQL text: `'it''s'`.
    package static func literal(_ text: String) -> String {
        "'" + text.replacingAll("\\", with: "\\\\").replacingAll("'", with: "''") + "'"
    }

    /// Whether Snowflake would accept the name unquoted: a letter or underscore, then letters,
    /// digits, underscores or dollar signs (ASCII only), at most 255 characters.
    package static func isPlainIdentifier(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 255, isLetter(first) || first == UInt8(ascii: "_") else { return false }
        return bytes.dropFirst().allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "$") }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
