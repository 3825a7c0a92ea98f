/// The process exit statuses Conduit documents (SPEC section 7, from BSD sysexits.h).
public struct ExitStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let success = ExitStatus(rawValue: 0)
    /// The command line was wrong: an unknown flag, a missing argument.
    public static let usage = ExitStatus(rawValue: 64)
    /// The input data was bad: a malformed line, an unordered stream, a value a column refuses.
    public static let dataError = ExitStatus(rawValue: 65)
    /// A source or destination could not be reached; worth a retry.
    public static let unavailable = ExitStatus(rawValue: 69)
    /// A bug in Conduit.
    public static let software = ExitStatus(rawValue: 70)
    /// Reading or writing a file or pipe failed (the state file, stdout).
    public static let ioError = ExitStatus(rawValue: 74)
    /// Another run of the same resource holds its lock; retry later.
    public static let tempFail = ExitStatus(rawValue: 75)
    /// The configuration is invalid, including a query the database rejects.
    public static let configuration = ExitStatus(rawValue: 78)

    public var description: String { String(rawValue) }
}

/// The one error type every Conduit tool reports. Its `description` is the sentence the user
/// sees; its `kind` decides the exit status, in one place (`exitStatus`).
public struct ConduitError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, in the terms of SPEC section 7.
    public enum Kind: String, Sendable, Equatable {
        case usage, badInput, unavailable, internalError, io, busy, configuration
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// The exit status for this error: the single mapping from error kinds to SPEC section 7.
    public var exitStatus: ExitStatus {
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

    public static func usage(_ message: String) -> ConduitError { ConduitError(.usage, message) }
    public static func badInput(_ message: String) -> ConduitError { ConduitError(.badInput, message) }
    public static func unavailable(_ message: String) -> ConduitError { ConduitError(.unavailable, message) }
    public static func internalError(_ message: String) -> ConduitError { ConduitError(.internalError, message) }
    public static func io(_ message: String) -> ConduitError { ConduitError(.io, message) }
    public static func busy(_ message: String) -> ConduitError { ConduitError(.busy, message) }
    public static func configuration(_ message: String) -> ConduitError { ConduitError(.configuration, message) }
}
