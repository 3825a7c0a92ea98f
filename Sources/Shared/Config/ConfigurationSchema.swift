import Core

/// Which keys `ingest.yml` accepts where (SPEC section 2).
enum ConfigurationSchema {
    static let topLevelKeys = ["sources", "destinations", "resources", "state_file"]

    /// libpq's connection keywords (`database` is accepted as an alias of `dbname`).
    static let libpqKeywords = [
        "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "connect_timeout",
        "client_encoding", "options", "application_name", "fallback_application_name", "keepalives",
        "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout", "sslmode",
        "sslcompression", "sslcert", "sslkey", "sslpassword", "sslrootcert", "sslcrl", "sslcrldir", "sslsni",
        "requirepeer", "ssl_min_protocol_version", "ssl_max_protocol_version", "gssencmode", "krbsrvname",
        "gsslib", "service", "target_session_attrs", "channel_binding",
    ]

    /// PostgreSQL keys that a `url` already gives, so they may not appear beside it.
    static let urlExclusiveKeys: Set<String> = ["host", "hostaddr", "port", "database", "dbname", "user", "password"]

    static let postgresqlConnectionKeys = ["url", "database"] + libpqKeywords + ["schema"]
    static let sqliteConnectionKeys = ["path"]
    static let snowflakeConnectionKeys = [
        "account", "user", "password", "database", "schema", "warehouse", "role", "host", "port", "protocol",
        "authenticator", "private_key_path", "private_key_passphrase", "token", "token_file_path", "retry_timeout",
        "heartbeat_interval",
    ]

    /// A destination's defaults for the resources that write to it.
    static let loadKeys = ["table", "mode", "primary_key", "batch_size", "schema_evolution"]

    static let resourceKeys = [
        "name", "source", "destination", "query", "incremental_column", "initial_value", "table", "mode",
        "primary_key", "batch_size", "schema_evolution", "ordered", "safe_horizon", "lookback",
        "horizon_warning_after",
    ]

    static func sourceKeys(_ type: SourceType) -> [String] {
        switch type {
        case .postgresql: ["name", "type"] + postgresqlConnectionKeys
        case .sqlite: ["name", "type"] + sqliteConnectionKeys
        }
    }

    static func destinationKeys(_ type: DestinationType) -> [String] {
        switch type {
        case .postgresql: ["name", "type"] + postgresqlConnectionKeys + loadKeys
        case .sqlite: ["name", "type"] + sqliteConnectionKeys + loadKeys
        case .snowflake: ["name", "type"] + snowflakeConnectionKeys + loadKeys
        }
    }

    /// Words people write for a key, and the key they mean.
    static let keyAliases = [
        "username": "user", "pass": "password", "passwd": "password", "pwd": "password", "db": "database",
        "hostname": "host", "server": "host", "file": "path", "filename": "path", "uri": "url", "dsn": "url",
        "sql": "query", "cursor": "incremental_column", "cursor_column": "incremental_column",
        "incremental_key": "incremental_column", "primary_keys": "primary_key", "key": "primary_key",
        "write_mode": "mode", "target": "destination", "dest": "destination", "from": "source", "to": "destination",
        "start_value": "initial_value", "default_value": "initial_value", "batch": "batch_size",
        "horizon": "safe_horizon", "look_back": "lookback", "overlap": "lookback",
        "private_key_file": "private_key_path", "private_key_file_pwd": "private_key_passphrase",
        "token_file": "token_file_path", "network_timeout": "retry_timeout",
    ]

    /// Words people write for a type, and the type they mean.
    static let typeAliases = [
        "postgres": "postgresql", "pg": "postgresql", "pgsql": "postgresql", "psql": "postgresql",
        "sqlite3": "sqlite",
    ]

    /// A list of entries in the file.
    enum Section: String, CaseIterable {
        case sources, destinations, resources

        var singular: String {
            switch self {
            case .sources: "source"
            case .destinations: "destination"
            case .resources: "resource"
            }
        }

        /// Every key an entry of this section may have, whatever its type.
        var allKeys: [String] {
            switch self {
            case .sources: unique(SourceType.allCases.flatMap(sourceKeys))
            case .destinations: unique(DestinationType.allCases.flatMap(destinationKeys))
            case .resources: resourceKeys
            }
        }

        /// The types of this section whose entries accept `key` (none for resources).
        func types(accepting key: String) -> [String] {
            switch self {
            case .sources: SourceType.allCases.filter { sourceKeys($0).contains(key) }.map(\.rawValue)
            case .destinations: DestinationType.allCases.filter { destinationKeys($0).contains(key) }.map(\.rawValue)
            case .resources: []
            }
        }
    }

    private static func unique(_ keys: [String]) -> [String] {
        var seen: Set<String> = []
        return keys.filter { seen.insert($0).inserted }
    }
}
