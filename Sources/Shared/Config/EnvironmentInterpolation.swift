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
/// The result says where each value from the environment landed (``EnvironmentSpan``), so what
/// shows a value (`--dry-run`) can show the reference as written instead.
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
        /// Where `text` holds values taken from the environment, in order. A `${NAME:-default}`
        /// whose default was used is not one: the default is text of the file.
        var environmentSpans: [EnvironmentSpan] = []
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
        var spans: [EnvironmentSpan] = []
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
                    let start = output.count
                    output += value.utf8
                    spans.append(
                        EnvironmentSpan(
                            range: start..<output.count,
                            reference: String(decoding: bytes[index..<reference.end], as: UTF8.self)))
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
        return Interpolated(
            text: String(decoding: output, as: UTF8.self), usedEnvironment: usedEnvironment, environmentSpans: spans)
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

/// A value taken from the environment inside an interpolated configuration value: where it is
/// (UTF-8 offsets in the interpolated text) and the reference as written in `ingest.yml`
/// (`${PG_SCHEMA}`, `${PG_SCHEMA:-public}`). Whatever shows a configured value to the user shows
/// the reference in its place (``shown(_:spans:replacing:)``), so no environment value is printed.
package struct EnvironmentSpan: Sendable, Equatable {
    /// The value's UTF-8 offsets in the interpolated text (empty for an empty value).
    package var range: Range<Int>
    /// The reference as written: `${NAME}` or `${NAME:-default}`.
    package var reference: String

    package init(range: Range<Int>, reference: String) {
        self.range = range
        self.reference = reference
    }

    /// `text` with each span's value replaced by its reference as written, and each of
    /// `replacements` (UTF-8 ranges of `text` with their new text, in order, not overlapping each
    /// other) applied where it touches no span's value; one that does is left as written, so the
    /// value stays hidden. Spans that do not fit `text` are ignored.
    package static func shown(
        _ text: String, spans: [EnvironmentSpan], replacing replacements: [(range: Range<Int>, text: String)] = []
    ) -> String {
        guard !spans.isEmpty || !replacements.isEmpty else { return text }
        let bytes = Array(text.utf8)
        let usable = replacements.filter { replacement in
            !spans.contains { span in
                span.range.isEmpty
                    ? replacement.range.lowerBound < span.range.lowerBound && span.range.lowerBound < replacement.range.upperBound
                    : span.range.overlaps(replacement.range)
            }
        }
        // Empty spans first at a shared offset, so a reference lands before a replacement there.
        let cuts = (spans.map { (range: $0.range, text: $0.reference) } + usable).sorted {
            ($0.range.lowerBound, $0.range.isEmpty ? 0 : 1) < ($1.range.lowerBound, $1.range.isEmpty ? 0 : 1)
        }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var cursor = 0
        for cut in cuts where cut.range.lowerBound >= cursor && cut.range.upperBound <= bytes.count {
            output += bytes[cursor..<cut.range.lowerBound]
            output += cut.text.utf8
            cursor = cut.range.upperBound
        }
        output += bytes[cursor...]
        return String(decoding: output, as: UTF8.self)
    }
}
