import Core

/// `${NAME}`, `${NAME:-default}` and `$$` in configuration values (SPEC section 2).
///
/// - `${NAME}` is NAME's value (empty when set to the empty string); unset, it is an error that
///   names the variable.
/// - `${NAME:-default}` is the default when NAME is unset *or empty*, like sh.
/// - `$$` is a literal `$`. Any other `$` stays as written, so `$1` in a query survives.
/// - NAME is letters, digits and `_`, not starting with a digit.
/// - A default is literal text up to the first `}`; `$$` in it is still `$`. A `${` inside a
///   default (`${A:-${B}}`) is an error, not a nested expansion: sh would expand it, keeping it
///   as text would silently differ, so the user is told to write `$${` for a literal `${`.
/// - An unterminated `${`, a bad name, and sh's other forms (`${A-x}`, `${A:=x}`, `${A:?x}`,
///   `${A:+x}`) are errors.
///
/// Failure reasons may name a variable but never contain a value, from the environment or the file.
enum EnvironmentInterpolation {
    /// Why a value could not be interpolated.
    struct Failure: Error, Equatable {
        var reason: String
    }

    /// A value after interpolation.
    struct Interpolated: Equatable {
        var text: String
        /// Whether any `${…}` was expanded, so the text may hold a value from the environment.
        var usedEnvironment: Bool
    }

    /// The interpolated text of `text`.
    static func interpolate(_ text: String, environment: [String: String]) throws(Failure) -> String {
        try expand(text, environment: environment).text
    }

    /// The interpolated text of `text`, and whether it used the environment.
    static func expand(_ text: String, environment: [String: String]) throws(Failure) -> Interpolated {
        let bytes = Array(text.utf8)
        guard bytes.contains(dollar) else { return Interpolated(text: text, usedEnvironment: false) }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var usedEnvironment = false
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == dollar, index + 1 < bytes.count else {
                output.append(byte)
                index += 1
                continue
            }
            switch bytes[index + 1] {
            case dollar:
                output.append(dollar)
                index += 2
            case openBrace:
                let reference = try parseReference(bytes, at: index)
                if let value = environment[reference.name], !(reference.fallback != nil && value.isEmpty) {
                    output += value.utf8
                } else if let fallback = reference.fallback {
                    output += fallback
                } else {
                    throw Failure(
                        reason: "environment variable '\(reference.name)' is not set "
                            + "(set it, or write ${\(reference.name):-default})")
                }
                usedEnvironment = true
                index = reference.end
            default:
                output.append(byte)
                index += 1
            }
        }
        return Interpolated(text: String(decoding: output, as: UTF8.self), usedEnvironment: usedEnvironment)
    }

    private static let dollar = UInt8(ascii: "$")
    private static let openBrace = UInt8(ascii: "{")
    private static let closeBrace = UInt8(ascii: "}")

    private struct Reference {
        var name: String
        /// The default's bytes, `$$` already turned into `$`.
        var fallback: [UInt8]?
        /// The index just after the closing `}`.
        var end: Int
    }

    private static let unterminated = Failure(
        reason: "unterminated '${' (close it with '}', or write '$$' for a literal '$')")

    /// Parses `${NAME}` or `${NAME:-default}` starting at the `$` at `start`.
    private static func parseReference(_ bytes: [UInt8], at start: Int) throws(Failure) -> Reference {
        var index = start + 2
        let nameStart = index
        while index < bytes.count, isNameByte(bytes[index]) { index += 1 }
        let nameBytes = bytes[nameStart..<index]
        guard index < bytes.count, bytes[nameStart...].contains(closeBrace) else { throw unterminated }
        let validName = nameBytes.first.map { !isDigit($0) } ?? false
        let name = String(decoding: nameBytes, as: UTF8.self)
        if bytes[index] == closeBrace {
            guard validName else { throw invalidName }
            return Reference(name: name, fallback: nil, end: index + 1)
        }
        let isDefault = bytes[index] == UInt8(ascii: ":") && index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-")
        guard validName else { throw invalidName }
        guard isDefault else {
            if "-=?+:".utf8.contains(bytes[index]) {
                throw Failure(
                    reason: "unsupported form of ${\(name)…}: only ${\(name)} and ${\(name):-default} are supported")
            }
            throw invalidName
        }
        index += 2
        var fallback: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            if byte == closeBrace { return Reference(name: name, fallback: fallback, end: index + 1) }
            if byte == dollar, index + 1 < bytes.count {
                if bytes[index + 1] == dollar {
                    fallback.append(dollar)
                    index += 2
                    continue
                }
                if bytes[index + 1] == openBrace {
                    throw Failure(
                        reason: "a '${' inside the default of ${\(name):-…} is not supported "
                            + "(write '$${' for a literal '${')")
                }
            }
            fallback.append(byte)
            index += 1
        }
        throw unterminated
    }

    private static let invalidName = Failure(
        reason: "invalid variable reference: a name in '${…}' is letters, digits and '_', not starting with a digit")

    private static func isNameByte(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || byte == UInt8(ascii: "_")
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
