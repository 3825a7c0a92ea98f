/// The process exit statuses Conduit documents (SPEC section 7, from BSD sysexits.h).
package struct ExitStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    package var rawValue: Int32
    package init(rawValue: Int32) { self.rawValue = rawValue }

    package static let success = ExitStatus(rawValue: 0)
    /// The command line was wrong: an unknown flag, a missing argument.
    package static let usage = ExitStatus(rawValue: 64)
    /// The input data was bad: a malformed line, an unordered stream, a value a column refuses.
    package static let dataError = ExitStatus(rawValue: 65)
    /// A source or destination could not be reached; worth a retry.
    package static let unavailable = ExitStatus(rawValue: 69)
    /// A bug in Conduit.
    package static let software = ExitStatus(rawValue: 70)
    /// Reading or writing a file or pipe failed (the state file, stdout).
    package static let ioError = ExitStatus(rawValue: 74)
    /// Another run of the same resource holds its lock; retry later.
    package static let tempFail = ExitStatus(rawValue: 75)
    /// The configuration is invalid, including a query the database rejects.
    package static let configuration = ExitStatus(rawValue: 78)

    package var description: String { String(rawValue) }
}

/// The one error type every Conduit tool reports. Its `description` is the sentence the user
/// sees; its `kind` decides the exit status, in one place (`exitStatus`).
package struct ConduitError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, in the terms of SPEC section 7.
    package enum Kind: String, Sendable, Equatable {
        case usage, badInput, unavailable, internalError, io, busy, configuration
    }

    package var kind: Kind
    package var message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { message }

    /// The exit status for this error: the single mapping from error kinds to SPEC section 7.
    package var exitStatus: ExitStatus {
        switch kind {
        case .usage: .usage
        case .badInput: .dataError
        case .unavailable: .unavailable
        case .internalError: .software
        case .io: .ioError
        case .busy: .tempFail
        case .configuration: .configuration
        }
    }

    package static func usage(_ message: String) -> ConduitError { ConduitError(.usage, message) }
    package static func badInput(_ message: String) -> ConduitError { ConduitError(.badInput, message) }
    package static func unavailable(_ message: String) -> ConduitError { ConduitError(.unavailable, message) }
    package static func internalError(_ message: String) -> ConduitError { ConduitError(.internalError, message) }
    package static func io(_ message: String) -> ConduitError { ConduitError(.io, message) }
    package static func busy(_ message: String) -> ConduitError { ConduitError(.busy, message) }
    package static func configuration(_ message: String) -> ConduitError { ConduitError(.configuration, message) }
}
