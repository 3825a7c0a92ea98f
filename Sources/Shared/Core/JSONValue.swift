/// A JSON value as Conduit keeps it: numbers as their exact text (no float conversion, ever),
/// objects as ordered members (the source's column order, duplicates kept as written).
package indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's text exactly as written, e.g. `9007199254740993` or `1.50e+3`.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])
}

/// One `"key": value` pair of a JSON object.
package struct JSONMember: Sendable, Equatable {
    package var key: String
    package var value: JSONValue

    package init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}
