public import Config
public import Core
public import Extract
public import Load
import Postgres
import SQLite
import Snowflake
import Glibc

/// The one place that knows every kind of source and destination, by the `type:` of its
/// configuration entry. Adding one is its own target and a line here.
public enum Connectors {
    /// Opens (connects to) the source a configuration entry names; the server's notices and
    /// warnings go to `reporter`.
    public static func openSource(_ config: SourceConfig, reporter: Reporter) throws(ConduitError) -> any Source {
        switch config.type {
        case .postgresql: try PostgresSource(source: config, notices: { reporter.serverNotice($0) })
        case .sqlite: SQLiteSource(source: config)
        }
    }

    /// Opens the destination a configuration entry names, for `table`; the server's notices and
    /// warnings (a trigger's `RAISE NOTICE`) go to `reporter`.
    public static func openDestination(
        _ config: DestinationConfig, table: String, reporter: Reporter
    ) throws(ConduitError) -> any LoadDestination {
        switch config.type {
        case .postgresql: try PostgresDestination(config: config, table: table, notices: { reporter.serverNotice($0) })
        case .sqlite: try SQLiteDestination(config: config, table: table)
        case .snowflake:
            try SnowflakeDestination(
                config: config, table: table, stagedThreshold: snowflakeStagedThreshold(), warnings: { reporter.warning($0) })
        }
    }

    /// Batches of more bytes than `CONDUIT_SNOWFLAKE_STAGE_ABOVE_BYTES` (default: the
    /// destination's own) load through the table's stage instead of array binds.
    static func snowflakeStagedThreshold() -> Int {
        guard let text = getenv("CONDUIT_SNOWFLAKE_STAGE_ABOVE_BYTES").map({ String(cString: $0) }), let bytes = Int(text), bytes >= 0 else {
            return SnowflakeDestination.defaultStagedThreshold
        }
        return bytes
    }

    /// ``openSource(_:reporter:)`` as the opener `ExtractRun` takes.
    public static func sourceOpener(reporter: Reporter) -> SourceOpener {
        { (config) throws(ConduitError) in try openSource(config, reporter: reporter) }
    }

    /// ``openDestination(_:table:reporter:)`` as the opener `LoadRun` takes.
    public static func destinationOpener(reporter: Reporter) -> DestinationOpener {
        { (config, table) throws(ConduitError) in try openDestination(config, table: table, reporter: reporter) }
    }
}
