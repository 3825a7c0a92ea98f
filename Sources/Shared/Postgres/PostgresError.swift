internal import CLibPQ
package import Core
import Extract
import Load
import Stream

/// An error from libpq or the server, with the server's diagnostic fields kept
/// (postgres-nio's PSQLError does the same). Never carries the password or the conninfo.
package struct PostgresError: ConduitErrorConvertible, CustomStringConvertible, Sendable, Equatable {
    /// What Conduit was doing: "connecting to appdb at 127.0.0.1:5432", "running the query of sync_new_users".
    package var context: String
    /// The server's or libpq's primary message.
    package var message: String
    /// Five-character SQLSTATE, when the server sent one.
    package var sqlState: String?
    package var detail: String?
    package var hint: String?
    /// 1-based character position in the query, when the server gave one.
    package var position: String?
    /// Where the server was (`COPY users, line 3, column id: "abc"`), when it said.
    package var serverContext: String?
    /// Whether the failure happened before a session existed (refused, timed out, authentication).
    package var isConnectionFailure: Bool

    package var description: String {
        var text = "\(context): \(message)"
        if let sqlState { text += " (SQLSTATE \(sqlState))" }
        if let position { text += " at character \(position)" }
        if let detail { text += "; detail: \(detail)" }
        if let hint { text += "; hint: \(hint)" }
        return text
    }

    /// The SPEC section 7 category: unreachable servers are worth a retry (69); a query the
    /// server rejects as invalid (syntax, unknown names, permissions: SQLSTATE classes 42 and
    /// 0A, 28) is a configuration error (78); bad data is 65; anything else 69 or 70.
    package var conduitError: ConduitError {
        if isConnectionFailure {
            if let sqlState, sqlState.hasPrefix("28") || sqlState == "3D000" {
                return .configuration(description)  // authentication failed, database does not exist
            }
            return .unavailable(description)
        }
        guard let sqlState else { return .unavailable(description) }
        switch sqlState.prefix(2) {
        case "42", "0A", "28", "3D", "3F": return .configuration(description)
        case "22", "23": return .badInput(description)
        case "08", "53", "57", "40": return .unavailable(description)
        default: return .internalError(description)
        }
    }

    /// Builds an error from a failed result's fields. The corresponding libpq call is `PQresultErrorField`.
    static func from(result: OpaquePointer?, connection: OpaquePointer?, context: String) -> PostgresError {
        func field(_ code: Character) -> String? {
            guard let result, let ascii = code.asciiValue, let value = PQresultErrorField(result, Int32(ascii)) else {
                return nil
            }
            let text = String(cString: value)
            return text.isEmpty ? nil : text
        }
        let primary = field("M") ?? connection.flatMap { PQerrorMessage($0) }.map { String(cString: $0) } ?? "unknown error"
        return PostgresError(
            context: context, message: primary.trimmingCharacters(), sqlState: field("C"), detail: field("D"),
            hint: field("H"), position: field("P"), serverContext: field("W"), isConnectionFailure: false)
    }
}

extension String {
    func trimmingCharacters() -> String {
        var text = Substring(self)
        while let last = text.last, last == "\n" || last == " " { text.removeLast() }
        return String(text)
    }
}
