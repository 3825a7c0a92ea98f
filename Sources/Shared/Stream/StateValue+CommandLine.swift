public import Core

extension StateValue {
    /// Interprets command-line text: a JSON number becomes a number, a JSON string literal
    /// (`"123"`) a string, anything else the string itself.
    public init(commandLineText text: String) {
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
