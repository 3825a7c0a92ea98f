import Testing

@testable import Config
@testable import Core

@Suite struct EnvironmentInterpolationTests {
    let environment = ["A": "alpha", "EMPTY": "", "PORT": "5432", "DOLLARS": "$$", "REF": "${A}"]

    /// ${NAME}, ${NAME:-default} (used when unset or empty, like sh), $$ and other dollars kept as written.
    @Test(arguments: [
        ("${A}", "alpha"),
        ("x${A}y${PORT}z", "xalphay5432z"),
        ("${EMPTY}", ""),
        ("${MISSING:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${A:-fallback}", "alpha"),
        ("${MISSING:-}", ""),
        ("${EMPTY:-}", ""),
        ("${A:-}", "alpha"),
        ("${MISSING:-a b:c-d}", "a b:c-d"),
        ("${MISSING:-$$HOME}", "$HOME"),
        ("${MISSING:-$1}", "$1"),
        ("$$", "$"),
        ("$${A}", "${A}"),
        ("$$$$tag$$$$", "$$tag$$"),
        ("SELECT $1, $2", "SELECT $1, $2"),
        ("costs $", "costs $"),
        ("$A and $ {A}", "$A and $ {A}"),
        ("no dollars", "no dollars"),
        ("ünïcødé ${A} ✓", "ünïcødé alpha ✓"),
        ("${_UNDER_9}", "set"),
    ])
    func interpolates(text: String, expected: String) throws {
        var environment = environment
        environment["_UNDER_9"] = "set"
        #expect(try EnvironmentInterpolation.interpolate(text, environment: environment) == expected)
    }

    /// Environment values are inserted verbatim, never interpolated a second time.
    @Test func valuesAreNotReinterpolated() throws {
        #expect(try EnvironmentInterpolation.interpolate("${DOLLARS}${REF}", environment: environment) == "$$${A}")
    }

    /// Whether a value used the environment, which decides whether messages may quote it.
    @Test func reportsUseOfTheEnvironment() throws {
        #expect(try EnvironmentInterpolation.expand("plain $$ $1", environment: environment).usedEnvironment == false)
        #expect(try EnvironmentInterpolation.expand("x${A}", environment: environment).usedEnvironment)
        #expect(try EnvironmentInterpolation.expand("${MISSING:-d}", environment: environment).usedEnvironment)
    }

    /// Unset variables, unterminated references, bad names, sh's other operators and a nested
    /// reference in a default are refused with these exact reasons.
    @Test(arguments: [
        ("${MISSING}", "environment variable 'MISSING' is not set (set it, or write ${MISSING:-default})"),
        ("before ${MISSING} after", "environment variable 'MISSING' is not set (set it, or write ${MISSING:-default})"),
        ("${A", "unterminated '${' (close it with '}', or write '$$' for a literal '$')"),
        ("${", "unterminated '${' (close it with '}', or write '$$' for a literal '$')"),
        ("${A:-default", "unterminated '${' (close it with '}', or write '$$' for a literal '$')"),
        ("${A} ${B", "unterminated '${' (close it with '}', or write '$$' for a literal '$')"),
        ("${1A}", "invalid variable reference: a name in '${…}' is letters, digits and '_', not starting with a digit"),
        ("${}", "invalid variable reference: a name in '${…}' is letters, digits and '_', not starting with a digit"),
        ("${A B}", "invalid variable reference: a name in '${…}' is letters, digits and '_', not starting with a digit"),
        ("${A.B}", "invalid variable reference: a name in '${…}' is letters, digits and '_', not starting with a digit"),
        ("${é}", "invalid variable reference: a name in '${…}' is letters, digits and '_', not starting with a digit"),
        ("${A-x}", "unsupported form of ${A…}: only ${A} and ${A:-default} are supported"),
        ("${A:=x}", "unsupported form of ${A…}: only ${A} and ${A:-default} are supported"),
        ("${A:?x}", "unsupported form of ${A…}: only ${A} and ${A:-default} are supported"),
        ("${A:+x}", "unsupported form of ${A…}: only ${A} and ${A:-default} are supported"),
        ("${A:-${B}}", "a '${' inside the default of ${A:-…} is not supported (write '$${' for a literal '${')"),
        ("${MISSING:-x${A}}", "a '${' inside the default of ${MISSING:-…} is not supported (write '$${' for a literal '${')"),
    ])
    func refuses(text: String, reason: String) throws {
        let failure = try #require(throws: EnvironmentInterpolation.Failure.self) {
            try EnvironmentInterpolation.interpolate(text, environment: environment)
        }
        #expect(failure.reason == reason)
    }

    /// A literal '${' inside a default is written '$${'; the default ends at the first '}', so a
    /// second '}' is ordinary text after the reference.
    @Test func escapedReferenceInsideDefault() throws {
        #expect(try EnvironmentInterpolation.interpolate("${MISSING:-$${B}", environment: environment) == "${B")
        #expect(try EnvironmentInterpolation.interpolate("${MISSING:-$${B}}", environment: environment) == "${B}")
        #expect(try EnvironmentInterpolation.interpolate("${A:-$${B}}", environment: environment) == "alpha}")
    }
}
