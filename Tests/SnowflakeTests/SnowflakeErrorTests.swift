import Testing

@testable import Snowflake

@Suite struct SnowflakeErrorTests {
    /// The message a user sees carries Snowflake's code and SQL state after the service's text.
    @Test func descriptionCarriesCodeAndSQLState() {
        let error = SnowflakeError(
            context: "running SELECT 1", code: "002003", sqlState: "42S02", message: "Table 'X' does not exist")
        #expect(error.description == "running SELECT 1: Table 'X' does not exist (code 002003, SQL state 42S02)")
    }

    /// The service's own trouble is 69 (a later run may not meet it), by SQL state class or
    /// Snowflake's code; a statement's own fault is not.
    @Test(
        arguments: [
            ("000603", "XX000", true), ("000630", "57014", true), (nil, "08001", true), (nil, "40001", true),
            ("390114", nil, true), ("002003", "42S02", false), ("100038", "22018", false), (nil, nil, false), (nil, "XX", false),
        ] as [(String?, String?, Bool)])
    func transientFailuresAreTheServicesTrouble(code: String?, sqlState: String?, transient: Bool) {
        #expect(SnowflakeSession.isTransient(code: code, sqlState: sqlState) == transient)
    }
}
