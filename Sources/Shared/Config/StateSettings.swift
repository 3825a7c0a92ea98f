/// Where the state lives: the top-level `state:` section of `ingest.yml` (SPEC section 5).
package enum StateSettings: Sendable, Equatable {
    /// `{type: file, path: .conduit_state.json}`, the default: the seed's state file.
    case file(path: String)
    /// A database that keeps the state in tables (`{type: postgresql, host, …, schema, table}`).
    case database(DatabaseStateSettings)

    /// The `type:` of the file backend.
    package static let fileTypeName = "file"
}

/// A state backend in a database: the connector's `type:` and the same connection keys as a
/// source of that type, and where its tables go.
package struct DatabaseStateSettings: Sendable, Equatable {
    /// The connector's ``ConnectionSchema/typeName``.
    package var type: String
    package var connection: ConnectionSettings
    /// The schema that holds the state's tables (created when missing).
    package var schema: String
    /// The values table; the others are named after it (`<table>_history`, …).
    package var table: String

    package static let defaultSchema = "conduit"
    package static let defaultTable = "conduit_state"

    package init(type: String, connection: ConnectionSettings, schema: String? = nil, table: String? = nil) {
        self.type = type
        self.connection = connection
        self.schema = schema ?? connection.schema ?? Self.defaultSchema
        self.table = table ?? Self.defaultTable
    }
}
