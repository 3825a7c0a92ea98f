package import Core

/// An error from SQLite, with its result code and message.
package struct SQLiteError: ConduitErrorConvertible, CustomStringConvertible, Sendable, Equatable {
    /// What Conduit was doing: "opening app.db", "running the query of users".
    package var context: String
    package var code: Int32
    package var message: String

    package var description: String { "\(context): \(message) (SQLite code \(code))" }

    /// SPEC section 7: a file that cannot be opened is unavailable (69); SQL the database refuses
    /// (SQLITE_ERROR from prepare) is a configuration error (78); a value mismatch is bad data (65).
    package var conduitError: ConduitError {
        switch code & 0xFF {
        case 14: .unavailable(description)  // SQLITE_CANTOPEN
        case 5, 6: .unavailable(description)  // SQLITE_BUSY, SQLITE_LOCKED
        case 1: .configuration(description)  // SQLITE_ERROR: syntax, unknown table or column
        case 20, 19: .badInput(description)  // SQLITE_MISMATCH, SQLITE_CONSTRAINT
        case 10, 13: .io(description)  // SQLITE_IOERR, SQLITE_FULL
        default: .internalError(description)
        }
    }
}
