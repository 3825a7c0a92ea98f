/// Where the state lives: the top-level `state:` section of `ingest.yml` (SPEC section 5).
package enum StateSettings: Sendable, Equatable {
    /// `{type: file, path: .conduit_state.json}`, the default: the seed's state file.
    case file(path: String)
    /// `{type: postgresql, host, port, database, user, password, schema, table}`.
    case postgresql(PostgresStateSettings)

    /// The `type:` values, in the order messages name them.
    package static let typeNames = ["file", "postgresql"]
}

/// A PostgreSQL state backend: the same connection keys as a PostgreSQL source, and where its tables go.
package struct PostgresStateSettings: Sendable, Equatable {
    package var connection: ConnectionSettings
    /// The schema that holds the state's tables (created when missing).
    package var schema: String
    /// The values table; the others are named after it (`<table>_history`, …).
    package var table: String

    package static let defaultSchema = "conduit"
    package static let defaultTable = "conduit_state"

    package init(connection: ConnectionSettings, schema: String? = nil, table: String? = nil) {
        self.connection = connection
        self.schema = schema ?? connection.schema ?? Self.defaultSchema
        self.table = table ?? Self.defaultTable
    }
}
