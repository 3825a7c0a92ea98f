/// What went wrong talking to Snowflake: the step, and what the service said — its error code,
/// SQL state and message where it gave them.
public struct SnowflakeError: Error, CustomStringConvertible, Sendable {
    /// What Conduit was doing: `logging in to ACCOUNT as USER`, `running INSERT INTO "RAW_USERS"`.
    public var context: String
    /// Snowflake's numeric error code (`002003`), when the service gave one.
    public var code: String?
    /// The SQL state (`42S02`), when the service gave one.
    public var sqlState: String?
    public var message: String
    /// Whether the service could not be reached at all (a retry may help): exit 69.
    public var isUnreachable: Bool

    public init(context: String, code: String? = nil, sqlState: String? = nil, message: String, isUnreachable: Bool = false) {
        self.context = context
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.isUnreachable = isUnreachable
    }

    public var description: String {
        var text = "\(context): \(message)"
        let codes = [code.map { "code \($0)" }, sqlState.map { "SQL state \($0)" }].compactMap { $0 }
        if !codes.isEmpty { text += " (\(codes.joined(separator: ", ")))" }
        return text
    }
}
