package import Config
package import Core
package import Extract
package import Load
import Postgres
import SQLite
import Snowflake
package import State

/// The one list of every kind of source and destination this build knows, by the `type:` of
/// their configuration entries, in the order messages name them. Adding one is its own target
/// and a line here (docs/ARCHITECTURE.md, "Adding a destination").
package enum Connectors {
    package static let sources: [any SourceConnector] = [PostgresConnector(), SQLiteConnector()]

    package static let destinations: [any DestinationConnector] = [
        PostgresConnector(), SQLiteConnector(), SnowflakeConnector(),
    ]

    /// What the configuration reader asks about each type's keys.
    package static let catalog = ConnectorCatalog(
        sources: sources.map(\.schema), destinations: destinations.map(\.schema), stateBackends: [PostgresConnector().schema])

    /// The state backend of a `state:` section's database; the configuration's validation
    /// guarantees its type is one of `catalog.stateBackends`.
    package static func stateBackend(_ settings: DatabaseStateSettings) throws(ConduitError) -> any StateBackend {
        guard settings.type == PostgresConnector().schema.typeName else {
            throw .configuration("the state cannot live in \(settings.type); it can in \(PostgresConnector().schema.typeName)")
        }
        return PostgresStateBackend(settings: settings)
    }

    /// The kind of a source entry; the configuration's validation guarantees it exists.
    package static func source(_ config: SourceConfig) -> any SourceConnector {
        guard let connector = sources.first(where: { $0.schema.typeName == config.type }) else {
            preconditionFailure("source \(config.name) has type \(config.type), which validation should have refused")
        }
        return connector
    }

    /// The kind of a destination entry; the configuration's validation guarantees it exists.
    package static func destination(_ config: DestinationConfig) -> any DestinationConnector {
        guard let connector = destinations.first(where: { $0.schema.typeName == config.type }) else {
            preconditionFailure("destination \(config.name) has type \(config.type), which validation should have refused")
        }
        return connector
    }
}
