package import Core

/// How a load writes its table (SPEC section 6).
package enum WriteMode: String, Sendable, CaseIterable { case append, replace, merge }

/// What a key the table lacks does (`schema_evolution`): `evolve` adds a column, `freeze` refuses the row.
package enum SchemaEvolution: String, Sendable, CaseIterable { case evolve, freeze }

/// One entry of `sources`: where rows are read from.
package struct SourceConfig: Sendable, Equatable {
    package var name: String
    /// The connector's `type:` (its ``ConnectionSchema/typeName``).
    package var type: String
    package var connection: ConnectionSettings

    package init(name: String, type: String, connection: ConnectionSettings) {
        self.name = name
        self.type = type
        self.connection = connection
    }
}

/// One entry of `destinations`: where rows are written, with defaults for the resources that use it.
package struct DestinationConfig: Sendable, Equatable {
    package var name: String
    /// The connector's `type:` (its ``ConnectionSchema/typeName``).
    package var type: String
    package var connection: ConnectionSettings
    package var table: String?
    package var mode: WriteMode?
    package var primaryKey: [String]?
    package var batchSize: Int?
    package var schemaEvolution: SchemaEvolution?

    package init(
        name: String, type: String, connection: ConnectionSettings, table: String? = nil,
        mode: WriteMode? = nil, primaryKey: [String]? = nil, batchSize: Int? = nil, schemaEvolution: SchemaEvolution? = nil
    ) {
        self.schemaEvolution = schemaEvolution
        self.name = name
        self.type = type
        self.connection = connection
        self.table = table
        self.mode = mode
        self.primaryKey = primaryKey
        self.batchSize = batchSize
    }
}

/// One entry of `resources`: a query on a source whose rows go to a destination.
package struct ResourceConfig: Sendable, Equatable {
    package var name: String
    package var source: String
    package var destination: String
    /// The query after `${…}` interpolation: what runs.
    package var query: String
    /// Where `query` holds values from the environment. What shows the query (`--dry-run`) shows
    /// these as written (`${NAME}`), never their text: see ``shownQuery(placeholderReplacement:dialect:)``.
    package var queryEnvironmentSpans: [EnvironmentSpan] = []
    /// The column whose maximum is committed as the resource's state.
    package var incrementalColumn: String?
    /// `:last_value` on the first run instead of 0. A plain YAML number keeps its exact digits as
    /// `.number`; anything else (a timestamp, quoted text) is `.string`.
    package var initialValue: StateValue?
    /// Where `initialValue`'s text holds values from the environment (see ``shownInitialValue``).
    package var initialValueEnvironmentSpans: [EnvironmentSpan] = []
    package var table: String?
    package var mode: WriteMode?
    package var primaryKey: [String]?
    package var batchSize: Int?
    package var schemaEvolution: SchemaEvolution?
    /// Whether the query returns rows in non-decreasing `incremental_column` order (key `ordered`,
    /// default true). Checkpoints are only safe when it does.
    package var ordered: Bool
    /// `safe_horizon` (default true): on a PostgreSQL source, the extract ends the stream before
    /// the first row that a transaction still in flight could precede (docs/INCREMENTAL.md).
    package var safeHorizon: Bool = true
    /// `lookback`: how far below the committed value each run reads again; nil when unset.
    package var lookback: Lookback?
    /// `horizon_warning_after` (default 10 minutes): a transaction that holds rows back and has
    /// been open longer than this is named in a warning.
    package var horizonWarningAfterSeconds: Int64 = ResourceConfig.defaultHorizonWarningAfterSeconds

    /// The default of `horizon_warning_after`.
    package static let defaultHorizonWarningAfterSeconds: Int64 = 600

    /// Incremental when `incremental_column` is set (the user's document).
    package var isIncremental: Bool { incrementalColumn != nil }

    /// The query as a message may show it: each `:last_value` replaced by `placeholderReplacement`
    /// (`$1`, `?1`) and each value from the environment shown as written (`${NAME}`). A default
    /// that `${NAME:-default}` fell back to is text of the file and shows as itself.
    package func shownQuery(placeholderReplacement: String, dialect: QueryTemplate.Dialect) -> String {
        QueryTemplate(query, dialect: dialect).rendered(
            placeholderReplacement: placeholderReplacement, showingAsWritten: queryEnvironmentSpans)
    }

    /// `initial_value` as a message may show it (JSON: a number, or a quoted string), values
    /// from the environment shown as written (`${START}`, `"${YEAR}-01-01"`); nil when unset.
    package var shownInitialValue: String? {
        guard let initialValue else { return nil }
        guard !initialValueEnvironmentSpans.isEmpty else { return initialValue.jsonValue.serialized() }
        let text = EnvironmentSpan.shown(initialValue.plainText, spans: initialValueEnvironmentSpans)
        switch initialValue {
        case .number: return text
        case .string: return JSONValue.string(text).serialized()
        }
    }

    package init(
        name: String, source: String, destination: String, query: String, incrementalColumn: String? = nil,
        initialValue: StateValue? = nil, table: String? = nil, mode: WriteMode? = nil, primaryKey: [String]? = nil,
        batchSize: Int? = nil, ordered: Bool = true
    ) {
        self.name = name
        self.source = source
        self.destination = destination
        self.query = query
        self.incrementalColumn = incrementalColumn
        self.initialValue = initialValue
        self.table = table
        self.mode = mode
        self.primaryKey = primaryKey
        self.batchSize = batchSize
        self.ordered = ordered
    }
}

/// A validated `ingest.yml`: every resource names a source and a destination that exist.
package struct Configuration: Sendable, Equatable {
    /// The file it came from, as named (it prefixes every message about it).
    package var path: String
    package var sources: [SourceConfig]
    package var destinations: [DestinationConfig]
    package var resources: [ResourceConfig]
    /// The top-level `state_file`.
    package var stateFile: String?
    /// The top-level `state:` section (nil: not given).
    package var state: StateSettings?

    package init(
        path: String, sources: [SourceConfig] = [], destinations: [DestinationConfig] = [],
        resources: [ResourceConfig] = [], stateFile: String? = nil
    ) {
        self.path = path
        self.sources = sources
        self.destinations = destinations
        self.resources = resources
        self.stateFile = stateFile
    }

    /// The named resource, or a configuration error that suggests the closest name:
    /// `ingest.yml: no resource named 'sync_new_user' (did you mean 'sync_new_users'?)`.
    package func resource(named name: String) throws(ConduitError) -> ResourceConfig {
        if let found = resources.first(where: { $0.name == name }) { return found }
        let names = resources.map(\.name)
        let hint: String
        if let closest = KeySuggestion.closest(to: name, among: names) {
            hint = "did you mean '\(closest)'?"
        } else if names.isEmpty {
            hint = "it defines no resources"
        } else {
            let shown = names.prefix(10).joined(separator: ", ")
            hint = "it defines " + shown + (names.count > 10 ? ", …" : "")
        }
        throw .configuration("\(path): no resource named '\(name)' (\(hint))")
    }

    /// The resource's source; validation guarantees it exists.
    package func source(of resource: ResourceConfig) -> SourceConfig {
        guard let source = sources.first(where: { $0.name == resource.source }) else {
            preconditionFailure("resource \(resource.name) names source \(resource.source), which validation should have refused")
        }
        return source
    }

    /// The resource's destination; validation guarantees it exists.
    package func destination(of resource: ResourceConfig) -> DestinationConfig {
        guard let destination = destinations.first(where: { $0.name == resource.destination }) else {
            preconditionFailure(
                "resource \(resource.name) names destination \(resource.destination), which validation should have refused")
        }
        return destination
    }

    /// The resource's `table`, else the destination's, else the resource's name.
    package func effectiveTable(of resource: ResourceConfig) -> String {
        resource.table ?? destination(of: resource).table ?? resource.name
    }

    /// The resource's `mode`, else the destination's, else `append`.
    package func effectiveMode(of resource: ResourceConfig) -> WriteMode {
        resource.mode ?? destination(of: resource).mode ?? .append
    }

    /// The resource's `primary_key`, else the destination's; validation guarantees one for `merge`.
    package func effectivePrimaryKey(of resource: ResourceConfig) -> [String]? {
        resource.primaryKey ?? destination(of: resource).primaryKey
    }

    /// The resource's `schema_evolution`, else the destination's, else `evolve`.
    package func effectiveSchemaEvolution(of resource: ResourceConfig) -> SchemaEvolution {
        resource.schemaEvolution ?? destination(of: resource).schemaEvolution ?? .evolve
    }

    /// The resource's `batch_size`, else the destination's, else nil (the loader's default).
    package func effectiveBatchSize(of resource: ResourceConfig) -> Int? {
        resource.batchSize ?? destination(of: resource).batchSize
    }
}
