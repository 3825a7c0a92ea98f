import Foundation
import Testing
@testable import Shared

@Suite struct EnvironmentInterpolationTests {
    let environment = ["A": "alpha", "EMPTY": "", "PORT": "5432"]

    /// ${NAME}, defaults, $$ and stray dollars, as SPEC section 2 says.
    @Test(arguments: [
        ("${A}", "alpha"),
        ("x${A}y${PORT}", "xalphay5432"),
        ("${MISSING:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${A:-fallback}", "alpha"),
        ("${MISSING:-}", ""),
        ("${EMPTY}", ""),
        ("$$", "$"),
        ("$${A}", "${A}"),
        ("price $1 and $", "price $1 and $"),
        ("$$$$tag$$$$", "$$tag$$"),
        ("${MISSING:-${A}}", "${A}"),
        ("no dollars", "no dollars"),
    ])
    func interpolates(text: String, expected: String) throws {
        let result = try EnvironmentInterpolation.interpolate(text, environment: environment)
        #expect(result == expected)
    }

    /// Unset variables, unterminated references and bad names fail, naming the variable.
    @Test(arguments: [
        ("${MISSING}", "environment variable MISSING is not set"),
        ("${A", "unterminated ${"),
        ("${1A}", "invalid variable name in ${1A}"),
        ("${}", "invalid variable name"),
    ])
    func refuses(text: String, reason: String) throws {
        let failure = try #require(throws: EnvironmentInterpolation.Failure.self) {
            try EnvironmentInterpolation.interpolate(text, environment: environment)
        }
        #expect(failure.reason.hasPrefix(reason), "\(failure.reason)")
    }

    /// In a configuration, an unset variable is reported with its key path and line.
    @Test func unsetVariableInConfiguration() throws {
        let message = try problems(base.replacingOccurrences(of: "path: app.db", with: "path: ${APP_DB}"))
        #expect(message.contains("ingest.yml:4: sources[0].path: environment variable APP_DB is not set"))
    }
}
