/// What went wrong talking to Snowflake: the step, and what the service said — its error code,
/// SQL state and message where it gave them.
package struct SnowflakeError: Error, CustomStringConvertible, Sendable {
    /// What Conduit was doing: `logging in to ACCOUNT as USER`, `running INSERT INTO "RAW_USERS"`.
    package var context: String
    /// Snowflake's numeric error code (`002003`), when the service gave one.
    package var code: String?
    /// The SQL state (`42S02`), when the service gave one.
    package var sqlState: String?
    package var message: String
    /// Whether the service could not be reached at all (a retry may help): exit 69.
    package var isUnreachable: Bool

    package init(context: String, code: String? = nil, sqlState: String? = nil, message: String, isUnreachable: Bool = false) {
        self.context = context
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.isUnreachable = isUnreachable
    }

    package var description: String {
        var text = "\(context): \(message)"
        let codes = [code.map { "code \($0)" }, sqlState.map { "SQL state \($0)" }].compactMap { $0 }
        if !codes.isEmpty { text += " (\(codes.joined(separator: ", ")))" }
        return text
    }
}
