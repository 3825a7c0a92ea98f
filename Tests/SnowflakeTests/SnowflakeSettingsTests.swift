import Config
import Core
import Testing
@testable import Snowflake

@Suite struct SnowflakeSettingsTests {
    static func config(_ parameters: [(String, String)], schema: String? = "raw") -> DestinationConfig {
        DestinationConfig(
            name: "data_warehouse", type: .snowflake,
            connection: ConnectionSettings(parameters: parameters.map { (keyword: $0.0, value: $0.1) }, schema: schema))
    }

    /// The service defaults to https://ACCOUNT.snowflakecomputing.com; the login carries the
    /// account name without its region.
    @Test func defaultsToTheAccountsHost() throws {
        let settings = try SnowflakeSettings(Self.config([("account", "xy12345.us-east-1"), ("user", "loader"), ("password", "s3cret"), ("database", "analytics")]))
        #expect(settings.baseURL == "https://xy12345.us-east-1.snowflakecomputing.com")
        #expect(settings.accountName == "xy12345")
        #expect(settings.label == "ANALYTICS.RAW at https://xy12345.us-east-1.snowflakecomputing.com")
        #expect(!settings.label.contains("s3cret"))
    }

    /// host, port and protocol point it elsewhere (a local fakesnow).
    @Test func hostPortAndProtocolOverride() throws {
        let settings = try SnowflakeSettings(Self.config([("account", "a"), ("user", "u"), ("password", "p"), ("host", "127.0.0.1"), ("port", "8080"), ("protocol", "http")]))
        #expect(settings.baseURL == "http://127.0.0.1:8080")
    }

    /// Missing or wrong keys are configuration errors (78) naming the destination and the key.
    @Test(arguments: [
        ([("user", "u"), ("password", "p")], "destination data_warehouse: a snowflake destination needs 'account' (or 'host')"),
        ([("account", "a"), ("password", "p")], "destination data_warehouse: a snowflake destination needs 'user'"),
        ([("account", "a"), ("user", "u")], "destination data_warehouse: a snowflake destination needs 'password' (write it as ${SNOWFLAKE_PASSWORD} to read it from the environment)"),
        ([("account", "a"), ("user", "u"), ("password", "p"), ("port", "http")], #"destination data_warehouse: port "http" is not a port number (1-65535)"#),
        ([("account", "a"), ("user", "u"), ("password", "p"), ("protocol", "ftp")], #"destination data_warehouse: protocol "ftp" must be https or http"#),
        ([("account", "a"), ("user", "u"), ("password", "p"), ("authenticator", "externalbrowser")], #"destination data_warehouse: authenticator "externalbrowser" is not supported; conduit-load logs in with user and password (authenticator: snowflake)"#),
    ])
    func refusesIncompleteSettings(parameters: [(String, String)], message: String) {
        #expect(throws: ConduitError.configuration(message)) { try SnowflakeSettings(Self.config(parameters)) }
    }
}
