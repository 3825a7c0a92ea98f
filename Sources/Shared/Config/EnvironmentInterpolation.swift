/// `${NAME}`, `${NAME:-default}` and `$$` in configuration values (SPEC section 2).
enum EnvironmentInterpolation {
    /// Why a value could not be interpolated; never carries a variable's value.
    struct Failure: Error, Equatable {
        var reason: String
    }

    /// Replaces every `${NAME}` from `environment` (an unset one without default fails, naming
    /// it), `${NAME:-default}` (the default when NAME is unset or empty, like sh), and `$$` by
    /// `$`. Any other `$` stays as written (`$1` in a query). Defaults are literal text: a
    /// `${` inside a default is not expanded.
    static func interpolate(_ text: String, environment: [String: String]) throws(Failure) -> String {
        guard text.contains("$") else { return text }
        let scalars = Array(text.unicodeScalars)
        var result = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            guard scalar == "$", index + 1 < scalars.count else {
                result.append(scalar)
                index += 1
                continue
            }
            let next = scalars[index + 1]
            if next == "$" {
                result.append("$")
                index += 2
                continue
            }
            guard next == "{" else {
                result.append(scalar)
                index += 1
                continue
            }
            guard let close = scalars[(index + 2)...].firstIndex(of: "}") else {
                throw Failure(reason: "unterminated ${ (no closing brace)")
            }
            let inner = String(String.UnicodeScalarView(scalars[(index + 2)..<close]))
            let name: String
            var fallback: String?
            if let separator = inner.firstRange(of: ":-") {
                name = String(inner[..<separator.lowerBound])
                fallback = String(inner[separator.upperBound...])
            } else {
                name = inner
            }
            guard isValidName(name) else {
                throw Failure(reason: "invalid variable name in ${\(name)} (letters, digits and _, not starting with a digit)")
            }
            if let value = environment[name], !(fallback != nil && value.isEmpty) {
                result.append(contentsOf: value.unicodeScalars)
            } else if let fallback {
                result.append(contentsOf: fallback.unicodeScalars)
            } else {
                throw Failure(reason: "environment variable \(name) is not set (write ${\(name):-default} to give a default)")
            }
            index = close + 1
        }
        return String(result)
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else {
            return false
        }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }
}

