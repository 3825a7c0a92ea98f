package import Core

extension StateValue {
    /// Interprets command-line text: a JSON number becomes a number, a JSON string literal
    /// (`"123"`) a string, anything else the string itself.
    package init(commandLineText text: String) {
        if DecimalText.isJSONNumber(text) {
            self = .number(text)
        } else if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\""),
            case .string(let inner)? = try? JSONParser.parse(text)
        {
            self = .string(inner)
        } else {
            self = .string(text)
        }
    }
}

extension StateValue {
    /// The value as `conduit-state set` takes it, quoted for a POSIX shell: a number as its
    /// digits, a string that would read as a number as a JSON string literal.
    package var shellArgument: String {
        let text: String
        switch self {
        case .number(let digits): return digits
        case .string(let value): text = DecimalText.isJSONNumber(value) || value.hasPrefix("\"") ? jsonValue.serialized() : value
        }
        let safe = text.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: "+")
        }
        return safe && !text.isEmpty ? text : "'" + text.replacingAll("'", with: "'\\''") + "'"
    }

    /// Whether the value is a number.
    package var isNumber: Bool {
        if case .number = self { return true }
        return false
    }
}
