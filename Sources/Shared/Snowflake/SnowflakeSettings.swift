package import Config
package import Core
import Foundation

/// Where and as whom a Snowflake destination logs in: its configuration keys (SPEC section 6),
/// checked. The service is `https://ACCOUNT.snowflakecomputing.com` unless `host`, `port` or
/// `protocol` say otherwise (a local fakesnow server in tests).
package struct SnowflakeSettings: Sendable, Equatable {
    /// How the loader signs in (`authenticator`), with the secret it signs in with.
    package enum Authenticator: Sendable, Equatable {
        /// `snowflake`, the default: user and password.
        case password(String)
        /// `snowflake_jwt`: a key pair; the key file is read when the session opens.
        case keyPair(path: String, passphrase: String?)
        /// `programmatic_access_token`: a token made in Snowflake for the user.
        case programmaticAccessToken(String)
        /// `oauth`: an access token from the account's OAuth integration.
        case oauth(String)

        /// The name `ingest.yml` gives it.
        package var name: String {
            switch self {
            case .password: "snowflake"
            case .keyPair: "snowflake_jwt"
            case .programmaticAccessToken: "programmatic_access_token"
            case .oauth: "oauth"
            }
        }
    }

    package var account: String
    package var user: String
    package var authenticator: Authenticator
    package var database: String?
    package var schema: String?
    package var warehouse: String?
    package var role: String?
    package var scheme: String
    package var host: String
    package var port: Int
    /// Seconds within which a request the service did not answer (or answered 5xx, 408, 429)
    /// is sent again (`retry_timeout`; 0 sends nothing twice).
    package var retryTimeout: Double
    /// Seconds of silence after which an idle session is kept alive with a heartbeat
    /// (`heartbeat_interval`).
    package var heartbeatInterval: Double

    /// The sign-in methods `authenticator` accepts, and what the others need that a loader lacks.
    static let authenticators = ["snowflake", "snowflake_jwt", "programmatic_access_token", "oauth"]
    static let defaultHeartbeatInterval: Double = 3600

    /// Reads and checks a destination entry's keys; 78 naming the key that is missing or wrong.
    package init(_ config: DestinationConfig) throws(ConduitError) {
        let connection = config.connection
        func value(_ key: String) -> String? {
            connection.value(of: key).flatMap { $0.isEmpty ? nil : $0 }
        }
        let location = "destination \(config.name)"
        let host = value("host")
        guard let account = value("account") ?? host.map({ String($0.prefix { $0 != "." }) }) else {
            throw .configuration("\(location): a snowflake destination needs 'account' (or 'host')")
        }
        let authenticator = try Self.authenticator(connection, where: location)
        let user: String
        if let given = value("user") {
            user = given
        } else if case .oauth = authenticator {
            // The access token names the user; the login request may leave the name out.
            user = ""
        } else {
            throw .configuration("\(location): a snowflake destination needs 'user'")
        }
        let scheme = (value("protocol") ?? "https").lowercased()
        guard scheme == "https" || scheme == "http" else {
            throw .configuration("\(location): protocol \(JSONEscaping.quoted(scheme)) must be https or http")
        }
        var port = scheme == "https" ? 443 : 80
        if let text = value("port") {
            guard let number = Int(text), (1...65535).contains(number) else {
                throw .configuration("\(location): port \(JSONEscaping.quoted(text)) is not a port number (1-65535)")
            }
            port = number
        }
        self.account = account
        self.user = user
        self.authenticator = authenticator
        database = value("database")
        schema = connection.schema.flatMap { $0.isEmpty ? nil : $0 }
        warehouse = value("warehouse")
        role = value("role")
        self.scheme = scheme
        self.host = host ?? Self.defaultHost(account: account)
        self.port = port
        retryTimeout =
            try Self.seconds(value("retry_timeout"), key: "retry_timeout", range: 0...86_400, where: location)
            ?? SnowflakeRetry.defaultBudget
        heartbeatInterval =
            try Self.seconds(value("heartbeat_interval"), key: "heartbeat_interval", range: 1...3600, where: location)
            ?? Self.defaultHeartbeatInterval
    }

    /// The `authenticator` and the keys it takes; keys of another authenticator are refused, so
    /// a password left beside a key pair cannot look like it is the one in use.
    private static func authenticator(
        _ connection: ConnectionSettings, where location: String
    ) throws(ConduitError) -> Authenticator {
        func value(_ key: String) -> String? {
            connection.value(of: key).flatMap { $0.isEmpty ? nil : $0 }
        }
        let name = (value("authenticator") ?? "snowflake").lowercased()
        let keys: [String: [String]] = [
            "snowflake": ["password"], "snowflake_jwt": ["private_key_path", "private_key_passphrase"],
            "programmatic_access_token": ["token", "token_file_path"], "oauth": ["token", "token_file_path"],
        ]
        guard let own = keys[name] else {
            let interactive =
                ["externalbrowser", "username_password_mfa", "oauth_authorization_code"].contains(name)
                || name.hasPrefix("https://")
            let why = interactive ? " (it needs a person at a browser or a phone, which a loader does not have)" : ""
            throw .configuration(
                "\(location): authenticator \(JSONEscaping.quoted(name)) is not supported\(why); use one of \(Self.authenticators.joined(separator: ", ")) (docs/SNOWFLAKE.md)"
            )
        }
        let foreign = Set(keys.values.joined()).subtracting(own).sorted().filter { connection.value(of: $0) != nil }
        if let key = foreign.first {
            throw .configuration(
                "\(location): '\(key)' does not go with authenticator \(name) (it takes \(own.map { "'\($0)'" }.joined(separator: " and ")))"
            )
        }
        switch name {
        case "snowflake":
            guard let password = connection.value(of: "password") else {
                throw .configuration(
                    "\(location): a snowflake destination needs 'password' (write it as ${SNOWFLAKE_PASSWORD} to read it from the environment), or another authenticator such as snowflake_jwt"
                )
            }
            return .password(password)
        case "snowflake_jwt":
            guard let path = value("private_key_path") else {
                throw .configuration(
                    "\(location): authenticator snowflake_jwt needs 'private_key_path' (the PEM file of the user's RSA key)")
            }
            return .keyPair(path: path, passphrase: connection.value(of: "private_key_passphrase"))
        default:
            let token: String
            switch (connection.value(of: "token"), value("token_file_path")) {
            case (.some, .some):
                throw .configuration("\(location): give the token as 'token' or as 'token_file_path', not both")
            case (let text?, nil):
                token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            case (nil, let path?):
                do {
                    token = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                } catch {
                    throw .configuration(
                        "\(location): token_file_path \(path): cannot read the token file (\((error as NSError).localizedDescription))"
                    )
                }
            case (nil, nil):
                throw .configuration(
                    "\(location): authenticator \(name) needs 'token' (write it as ${SNOWFLAKE_TOKEN} to read it from the environment) or 'token_file_path'"
                )
            }
            guard !token.isEmpty else {
                throw .configuration("\(location): the \(name) token is empty")
            }
            return name == "oauth" ? .oauth(token) : .programmaticAccessToken(token)
        }
    }

    private static func seconds(
        _ text: String?, key: String, range: ClosedRange<Double>, where location: String
    ) throws(ConduitError) -> Double? {
        guard let text else { return nil }
        guard let number = Double(text), number.isFinite, range.contains(number) else {
            throw .configuration(
                "\(location): \(key) \(JSONEscaping.quoted(text)) is not a number of seconds from \(Int(range.lowerBound)) to \(Int(range.upperBound))"
            )
        }
        return number
    }

    /// Where an account identifier's service is, as the connectors work it out: `ACCOUNT` or
    /// `ACCOUNT.REGION[.CLOUD]` under `snowflakecomputing.com`, or `.cn` for a China region
    /// (`xy12345.cn-north-1`).
    static func defaultHost(account: String) -> String {
        let parts = account.split(separator: ".", omittingEmptySubsequences: false)
        let china = parts.count > 1 && parts[1].lowercased().hasPrefix("cn-")
        return "\(account).snowflakecomputing.\(china ? "cn" : "com")"
    }

    /// `https://xy12345.snowflakecomputing.com` (the port only when it is not the scheme's own).
    package var baseURL: String {
        let defaultPort = scheme == "https" ? 443 : 80
        return "\(scheme)://\(host)" + (port == defaultPort ? "" : ":\(port)")
    }

    /// The account name the login request (and the key pair's token) carries, as the connectors
    /// cut it from the identifier: before any region or cloud part (`xy12345.us-east-1` →
    /// `xy12345`), and for a `.global` identifier without its last `-` part as well
    /// (`xy12345-ab12.global` → `xy12345`).
    package var accountName: String {
        let parts = account.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count > 1 else { return account }
        let first = parts[0]
        if parts[1] == "global", let dash = first.lastIndex(of: "-") {
            return String(first[..<dash])
        }
        return String(first)
    }

    /// How messages name the service, without the password: `ANALYTICS.RAW at https://….com`.
    package var label: String {
        let location = [database, schema].compactMap { $0 }.map(SnowflakeName.resolved).joined(separator: ".")
        return (location.isEmpty ? "" : location + " at ") + baseURL
    }
}
