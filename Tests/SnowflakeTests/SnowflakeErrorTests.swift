import Testing
@testable import Snowflake

@Suite struct SnowflakeErrorTests {
    /// The message a user sees carries Snowflake's code and SQL state after the service's text.
    @Test func descriptionCarriesCodeAndSQLState() {
        let error = SnowflakeError(context: "running SELECT 1", code: "002003", sqlState: "42S02", message: "Table 'X' does not exist")
        #expect(error.description == "running SELECT 1: Table 'X' does not exist (code 002003, SQL state 42S02)")
    }
}
