package import Config
package import Core
package import Load

/// Snowflake as `ingest.yml` names it (`type: snowflake`): a destination.
package struct SnowflakeConnector: DestinationConnector {
    package static let typeName = "snowflake"

    /// Batches of more bytes of values than this variable says load through the table's stage
    /// instead of array binds (0: every batch; unset: those whose binds would not fit one
    /// statement, as Snowflake's connectors decide).
    package static let stagedThresholdVariable = "CONDUIT_SNOWFLAKE_STAGE_ABOVE_BYTES"

    package init() {}

    package var schema: ConnectionSchema { Self.schema }

    static let schema = ConnectionSchema.keywords(
        typeName: typeName,
        keys: [
            "account", "user", "password", "database", "schema", "warehouse", "role", "host", "port", "protocol",
            "authenticator", "private_key_path", "private_key_passphrase", "token", "token_file_path", "retry_timeout",
            "heartbeat_interval",
        ],
        // The official connectors' names for the same settings.
        keyAliases: [
            "private_key_file": "private_key_path", "private_key_file_pwd": "private_key_passphrase",
            "token_file": "token_file_path", "network_timeout": "retry_timeout",
        ])

    /// Each request tried again is a warning on `reporter`.
    package func open(
        _ config: DestinationConfig, table: String, reporter: Reporter, environment: [String: String]
    ) throws(ConduitError) -> any LoadDestination {
        let threshold = Self.stagedThreshold(environment: environment)
        if threshold == nil, let text = environment[Self.stagedThresholdVariable] {
            reporter.warning(
                "\(Self.stagedThresholdVariable)=\(text) is not a whole number of bytes; ignored (batches go through the stage when their binds would not fit one statement)"
            )
        }
        return try SnowflakeDestination(
            config: config, table: table, stagedThreshold: threshold, warnings: { reporter.warning($0) })
    }

    /// ``stagedThresholdVariable`` when it holds a whole number of bytes, else nil (the
    /// destination's own rule).
    static func stagedThreshold(environment: [String: String]) -> Int? {
        guard let bytes = environment[stagedThresholdVariable].flatMap({ Int($0) }), bytes >= 0 else { return nil }
        return bytes
    }
}
