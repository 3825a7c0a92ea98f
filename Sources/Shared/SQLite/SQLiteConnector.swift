package import Config
package import Core
package import Extract
package import Load

/// SQLite as `ingest.yml` names it (`type: sqlite`), as a source and as a destination: a file.
package struct SQLiteConnector: SourceConnector, DestinationConnector {
    package static let typeName = "sqlite"

    package init() {}

    package var schema: ConnectionSchema { Self.schema }

    static let schema = ConnectionSchema(
        typeName: typeName, typeAliases: ["sqlite3"], keys: ["path"], queryDialect: .sqlite, read: readConnection)

    /// The database file, which the entry must name.
    @Sendable static func readConnection(_ fields: inout ConnectionFields) -> ConnectionSettings {
        var settings = ConnectionSettings()
        if !fields.has("path") {
            if !fields.isMisspelled("path") {
                fields.reportEntry("a sqlite \(fields.section) needs 'path' (the database file)")
            }
        } else {
            settings.path = fields.requiredText("path", what: "the database file")?.text
        }
        return settings
    }

    package var placeholderShown: String { "?1" }

    /// One writer at a time: no transaction in flight can commit rows below what a read saw.
    package var hasSafeHorizon: Bool { false }

    /// SQLite compares text with an INTEGER column without complaint, and finds nothing.
    package var comparesMismatchedValuesSilently: Bool { true }

    /// A declared type is the table's own; an expression (no declared type) lets its values decide.
    package func describedTypeIsPortable(sourceType: String, kind: ColumnKind?) -> Bool { !sourceType.isEmpty }

    package func open(_ config: SourceConfig, reporter: Reporter) throws(ConduitError) -> any Source {
        SQLiteSource(source: config)
    }

    package func open(
        _ config: DestinationConfig, table: String, reporter: Reporter, environment: [String: String]
    ) throws(ConduitError) -> any LoadDestination {
        try SQLiteDestination(config: config, table: table)
    }
}

extension QueryTemplate.Dialect {
    /// SQLite's SQL: `[…]` and `` `…` `` identifiers, non-nesting `/* */` comments.
    package static let sqlite = QueryTemplate.Dialect(bracketAndBacktickIdentifiers: true)
}
