import Config
import Core
import Testing

@testable import Snowflake

@Suite struct SnowflakeSettingsTests {
    static func config(_ parameters: [(String, String)], schema: String? = "raw") -> DestinationConfig {
        DestinationConfig(
            name: "data_warehouse", type: SnowflakeConnector.typeName,
            connection: ConnectionSettings(parameters: parameters.map { (keyword: $0.0, value: $0.1) }, schema: schema))
    }

    /// The service defaults to https://ACCOUNT.snowflakecomputing.com; the login carries the
    /// account name without its region.
    @Test func defaultsToTheAccountsHost() throws {
        let settings = try SnowflakeSettings(
            Self.config([("account", "xy12345.us-east-1"), ("user", "loader"), ("password", "s3cret"), ("database", "analytics")])
        )
        #expect(settings.baseURL == "https://xy12345.us-east-1.snowflakecomputing.com")
        #expect(settings.accountName == "xy12345")
        #expect(settings.label == "ANALYTICS.RAW at https://xy12345.us-east-1.snowflakecomputing.com")
        #expect(!settings.label.contains("s3cret"))
    }

    /// host, port and protocol point it elsewhere (a local fakesnow).
    @Test func hostPortAndProtocolOverride() throws {
        let settings = try SnowflakeSettings(
            Self.config([
                ("account", "a"), ("user", "u"), ("password", "p"), ("host", "127.0.0.1"), ("port", "8080"), ("protocol", "http"),
            ]))
        #expect(settings.baseURL == "http://127.0.0.1:8080")
    }

    /// Missing or wrong keys are configuration errors (78) naming the destination and the key.
    @Test(arguments: [
        ([("user", "u"), ("password", "p")], "destination data_warehouse: a snowflake destination needs 'account' (or 'host')"),
        ([("account", "a"), ("password", "p")], "destination data_warehouse: a snowflake destination needs 'user'"),
        (
            [("account", "a"), ("user", "u")],
            "destination data_warehouse: a snowflake destination needs 'password' (write it as ${SNOWFLAKE_PASSWORD} to read it from the environment), or another authenticator such as snowflake_jwt"
        ),
        (
            [("account", "a"), ("user", "u"), ("password", "p"), ("port", "http")],
            #"destination data_warehouse: port "http" is not a port number (1-65535)"#
        ),
        (
            [("account", "a"), ("user", "u"), ("password", "p"), ("protocol", "ftp")],
            #"destination data_warehouse: protocol "ftp" must be https or http"#
        ),
        (
            [("account", "a"), ("user", "u"), ("password", "p"), ("authenticator", "externalbrowser")],
            #"destination data_warehouse: authenticator "externalbrowser" is not supported (it needs a person at a browser or a phone, which a loader does not have); use one of snowflake, snowflake_jwt, programmatic_access_token, oauth (docs/SNOWFLAKE.md)"#
        ),
    ])
    func refusesIncompleteSettings(parameters: [(String, String)], message: String) {
        #expect(throws: ConduitError.configuration(message)) { try SnowflakeSettings(Self.config(parameters)) }
    }

    /// Account identifiers become hosts and login names as the connectors make them
    /// (`construct_hostname`, `parse_account` in the Python connector): a China region's host
    /// ends in `.cn`; a `.global` identifier logs in without its last `-` part.
    @Test(arguments: [
        ("xy12345", "https://xy12345.snowflakecomputing.com", "xy12345"),
        ("myorg-myaccount", "https://myorg-myaccount.snowflakecomputing.com", "myorg-myaccount"),
        ("xy12345.cn-north-1", "https://xy12345.cn-north-1.snowflakecomputing.cn", "xy12345"),
        ("xy12345.cn-northwest-1.aws", "https://xy12345.cn-northwest-1.aws.snowflakecomputing.cn", "xy12345"),
        ("xy12345.eu-central-1.aws", "https://xy12345.eu-central-1.aws.snowflakecomputing.com", "xy12345"),
        ("xy12345-ab12cd.global", "https://xy12345-ab12cd.global.snowflakecomputing.com", "xy12345"),
        ("my-org-acct-ab12.global", "https://my-org-acct-ab12.global.snowflakecomputing.com", "my-org-acct"),
    ])
    func accountIdentifiersBecomeHostsAndNames(account: String, url: String, name: String) throws {
        let settings = try SnowflakeSettings(Self.config([("account", account), ("user", "u"), ("password", "p")]))
        #expect(settings.baseURL == url)
        #expect(settings.accountName == name)
    }

    /// Each authenticator takes its own keys; the retry budget and heartbeat have defaults.
    @Test func authenticatorsTakeTheirKeys() throws {
        let password = try SnowflakeSettings(Self.config([("account", "a"), ("user", "u"), ("password", "p")]))
        #expect(password.authenticator == .password("p"))
        #expect(password.retryTimeout == 300 && password.heartbeatInterval == 3600)
        let keyPair = try SnowflakeSettings(
            Self.config([
                ("account", "a"), ("user", "u"), ("authenticator", "SNOWFLAKE_JWT"), ("private_key_path", "k.p8"),
                ("private_key_passphrase", "pp"),
                ("retry_timeout", "0"), ("heartbeat_interval", "900"),
            ]))
        #expect(keyPair.authenticator == .keyPair(path: "k.p8", passphrase: "pp"))
        #expect(keyPair.retryTimeout == 0 && keyPair.heartbeatInterval == 900)
        let pat = try SnowflakeSettings(
            Self.config([("account", "a"), ("user", "u"), ("authenticator", "programmatic_access_token"), ("token", " t0k \n")]))
        #expect(pat.authenticator == .programmaticAccessToken("t0k"))
        let oauth = try SnowflakeSettings(Self.config([("account", "a"), ("authenticator", "oauth"), ("token", "t")]))
        #expect(oauth.authenticator == .oauth("t") && oauth.user == "")
    }

    /// Keys of another authenticator, a missing secret, and out-of-range numbers are 78.
    @Test(arguments: [
        (
            [("authenticator", "snowflake_jwt"), ("password", "p"), ("private_key_path", "k")],
            "destination data_warehouse: 'password' does not go with authenticator snowflake_jwt (it takes 'private_key_path' and 'private_key_passphrase')"
        ),
        (
            [("authenticator", "snowflake_jwt")],
            "destination data_warehouse: authenticator snowflake_jwt needs 'private_key_path' (the PEM file of the user's RSA key)"
        ),
        (
            [("authenticator", "oauth")],
            "destination data_warehouse: authenticator oauth needs 'token' (write it as ${SNOWFLAKE_TOKEN} to read it from the environment) or 'token_file_path'"
        ),
        (
            [("authenticator", "programmatic_access_token"), ("token", "t"), ("token_file_path", "f")],
            "destination data_warehouse: give the token as 'token' or as 'token_file_path', not both"
        ),
        (
            [("authenticator", "programmatic_access_token"), ("token_file_path", "/nonexistent/token")],
            "destination data_warehouse: token_file_path /nonexistent/token: cannot read the token file (The operation could not be completed. The file doesn’t exist.)"
        ),
        ([("authenticator", "oauth"), ("token", "  ")], "destination data_warehouse: the oauth token is empty"),
        (
            [("password", "p"), ("retry_timeout", "-1")],
            #"destination data_warehouse: retry_timeout "-1" is not a number of seconds from 0 to 86400"#
        ),
        (
            [("password", "p"), ("heartbeat_interval", "0")],
            #"destination data_warehouse: heartbeat_interval "0" is not a number of seconds from 1 to 3600"#
        ),
        (
            [("authenticator", "username_password_mfa"), ("password", "p")],
            #"destination data_warehouse: authenticator "username_password_mfa" is not supported (it needs a person at a browser or a phone, which a loader does not have); use one of snowflake, snowflake_jwt, programmatic_access_token, oauth (docs/SNOWFLAKE.md)"#
        ),
    ])
    func refusesKeysThatDoNotFit(parameters: [(String, String)], message: String) {
        #expect(throws: ConduitError.configuration(message)) {
            try SnowflakeSettings(Self.config([("account", "a"), ("user", "u")] + parameters))
        }
    }
}
