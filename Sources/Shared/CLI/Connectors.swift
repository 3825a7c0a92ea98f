public import Config
public import Core
public import Extract
public import Load
import Postgres
import SQLite

/// The one place that knows every kind of source and destination, by the `type:` of its
/// configuration entry. Adding one is its own target and a line here.
public enum Connectors {
    /// Opens (connects to) the source a configuration entry names.
    public static func openSource(_ config: SourceConfig) throws(ConduitError) -> any Source {
        switch config.type {
        case .postgresql: try PostgresSource(source: config)
        case .sqlite: SQLiteSource(source: config)
        }
    }

    /// Opens the destination a configuration entry names, for `table`.
    public static func openDestination(_ config: DestinationConfig, table: String) throws(ConduitError) -> any LoadDestination {
        switch config.type {
        case .postgresql: try PostgresDestination(config: config, table: table)
        case .sqlite: try SQLiteDestination(config: config, table: table)
        case .snowflake:
            throw .configuration("destination \(config.name): the snowflake destination is not supported by this release of conduit-load")
        }
    }
}
