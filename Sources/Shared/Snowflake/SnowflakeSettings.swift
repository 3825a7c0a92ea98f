public import Config
public import Core

/// Where and as whom a Snowflake destination logs in: its configuration keys (SPEC section 6),
/// checked. The service is `https://ACCOUNT.snowflakecomputing.com` unless `host`, `port` or
/// `protocol` say otherwise (a local fakesnow server in tests).
public struct SnowflakeSettings: Sendable, Equatable {
    public var account: String
    public var user: String
    public var password: String
    public var database: String?
    public var schema: String?
    public var warehouse: String?
    public var role: String?
    public var scheme: String
    public var host: String
    public var port: Int

    /// Reads and checks a destination entry's keys; 78 naming the key that is missing or wrong.
    public init(_ config: DestinationConfig) throws(ConduitError) {
        let connection = config.connection
        func value(_ key: String) -> String? {
            connection.value(of: key).flatMap { $0.isEmpty ? nil : $0 }
        }
        let where_ = "destination \(config.name)"
        if let authenticator = value("authenticator"), authenticator.lowercased() != "snowflake" {
            throw .configuration("\(where_): authenticator \(JSONEscaping.quoted(authenticator)) is not supported; conduit-load logs in with user and password (authenticator: snowflake)")
        }
        let host = value("host")
        guard let account = value("account") ?? host.map({ String($0.prefix { $0 != "." }) }) else {
            throw .configuration("\(where_): a snowflake destination needs 'account' (or 'host')")
        }
        guard let user = value("user") else {
            throw .configuration("\(where_): a snowflake destination needs 'user'")
        }
        guard let password = connection.value(of: "password") else {
            throw .configuration("\(where_): a snowflake destination needs 'password' (write it as ${SNOWFLAKE_PASSWORD} to read it from the environment)")
        }
        let scheme = (value("protocol") ?? "https").lowercased()
        guard scheme == "https" || scheme == "http" else {
            throw .configuration("\(where_): protocol \(JSONEscaping.quoted(scheme)) must be https or http")
        }
        var port = scheme == "https" ? 443 : 80
        if let text = value("port") {
            guard let number = Int(text), (1...65535).contains(number) else {
                throw .configuration("\(where_): port \(JSONEscaping.quoted(text)) is not a port number (1-65535)")
            }
            port = number
        }
        self.account = account
        self.user = user
        self.password = password
        database = value("database")
        schema = connection.schema.flatMap { $0.isEmpty ? nil : $0 }
        warehouse = value("warehouse")
        role = value("role")
        self.scheme = scheme
        self.host = host ?? "\(account).snowflakecomputing.com"
        self.port = port
    }

    /// `https://xy12345.snowflakecomputing.com` (the port only when it is not the scheme's own).
    public var baseURL: String {
        let defaultPort = scheme == "https" ? 443 : 80
        return "\(scheme)://\(host)" + (port == defaultPort ? "" : ":\(port)")
    }

    /// The account name the login request carries: the identifier before any region or cloud
    /// part (`xy12345.us-east-1` → `xy12345`).
    public var accountName: String {
        String(account.prefix { $0 != "." })
    }

    /// How messages name the service, without the password: `ANALYTICS.RAW at https://….com`.
    public var label: String {
        let location = [database, schema].compactMap { $0 }.map(SnowflakeName.resolved).joined(separator: ".")
        return (location.isEmpty ? "" : location + " at ") + baseURL
    }
}
