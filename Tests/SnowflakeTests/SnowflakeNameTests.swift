import Testing

@testable import Snowflake

@Suite struct SnowflakeNameTests {
    /// Names Snowflake would take unquoted are stored upper-case, so the user's `raw_users` is
    /// queryable unquoted; anything else keeps its exact spelling, quoted safely.
    @Test(arguments: [
        ("raw_users", "RAW_USERS", #""RAW_USERS""#),
        ("Email", "EMAIL", #""EMAIL""#),
        ("_private$2", "_PRIVATE$2", #""_PRIVATE$2""#),
        ("first name", "first name", #""first name""#),
        ("2fast", "2fast", #""2fast""#),
        ("ünïcode", "ünïcode", #""ünïcode""#),
        (#"x"; DROP TABLE t; --"#, #"x"; DROP TABLE t; --"#, #""x""; DROP TABLE t; --""#),
    ])
    func resolvesAndQuotes(name: String, stored: String, quoted: String) {
        #expect(SnowflakeName.resolved(name) == stored)
        #expect(SnowflakeName.quoted(name) == quoted)
    }

    /// String literals double quotes and escape backslashes (Snowflake reads `\` as an escape).
    @Test func literalEscapesQuotesAndBackslashes() {
        #expect(SnowflakeName.literal(#"it's a \ test"#) == #"'it''s a \\ test'"#)
    }
}
