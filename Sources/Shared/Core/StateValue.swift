/// A value of an incremental column as the state file keeps it: a JSON number with its exact
/// digits, or a string (a timestamp, a date, any other text).
package enum StateValue: Sendable, Hashable {
    /// The number's exact JSON text, e.g. `9007199254740993`.
    case number(String)
    case string(String)
}
