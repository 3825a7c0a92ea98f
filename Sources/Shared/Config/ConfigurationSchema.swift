import Core

/// Which keys `ingest.yml` accepts where (SPEC section 2).
struct ConfigurationSchema {
    static let topLevelKeys = ["sources", "destinations", "resources", "state", "state_file"]

    /// A destination's defaults for the resources that write to it.
    static let loadKeys = ["table", "mode", "primary_key", "batch_size", "schema_evolution"]

    static let resourceKeys = [
        "name", "source", "destination", "query", "incremental_column", "initial_value", "table", "mode",
        "primary_key", "batch_size", "schema_evolution", "ordered", "safe_horizon", "lookback",
        "horizon_warning_after",
    ]

    /// The kinds of source and destination this build knows.
    let catalog: ConnectorCatalog

    /// Every key an entry of a source of this type may have.
    static func sourceKeys(_ schema: ConnectionSchema) -> [String] { ["name", "type"] + schema.keys }

    /// Every key an entry of a destination of this type may have.
    static func destinationKeys(_ schema: ConnectionSchema) -> [String] { ["name", "type"] + schema.keys + loadKeys }

    /// The schemas of a section's types (none for resources).
    func schemas(_ section: Section) -> [ConnectionSchema] {
        switch section {
        case .sources: catalog.sources
        case .destinations: catalog.destinations
        case .resources: []
        }
    }

    /// The type of a section's entry named `typeName`, nil when there is none.
    func schema(_ section: Section, typeName: String) -> ConnectionSchema? {
        schemas(section).first { $0.typeName == typeName }
    }

    /// Every key an entry of one type may have.
    static func keys(_ schema: ConnectionSchema, _ section: Section) -> [String] {
        section == .destinations ? destinationKeys(schema) : sourceKeys(schema)
    }

    /// Every key an entry of this section may have, whatever its type.
    func allKeys(_ section: Section) -> [String] {
        section == .resources ? Self.resourceKeys : unique(schemas(section).flatMap { Self.keys($0, section) })
    }

    /// The types of this section whose entries accept `key` (none for resources).
    func types(_ section: Section, accepting key: String) -> [String] {
        schemas(section).filter { Self.keys($0, section).contains(key) }.map(\.typeName)
    }

    /// The words people write for a key, the connectors' own included, and the key they mean.
    var keyAliases: [String: String] {
        (catalog.sources + catalog.destinations).reduce(into: Self.commonKeyAliases) { aliases, schema in
            aliases.merge(schema.keyAliases) { first, _ in first }
        }
    }

    /// The words people write for a type of this section, and the type they mean.
    func typeAliases(_ section: Section) -> [String: String] {
        var aliases: [String: String] = [:]
        for schema in schemas(section) {
            for alias in schema.typeAliases { aliases[alias] = schema.typeName }
        }
        return aliases
    }

    /// Words people write for a key, and the key they mean.
    static let commonKeyAliases = [
        "username": "user", "pass": "password", "passwd": "password", "pwd": "password", "db": "database",
        "hostname": "host", "server": "host", "file": "path", "filename": "path", "uri": "url", "dsn": "url",
        "sql": "query", "cursor": "incremental_column", "cursor_column": "incremental_column",
        "incremental_key": "incremental_column", "primary_keys": "primary_key", "key": "primary_key",
        "write_mode": "mode", "target": "destination", "dest": "destination", "from": "source", "to": "destination",
        "start_value": "initial_value", "default_value": "initial_value", "batch": "batch_size",
        "horizon": "safe_horizon", "look_back": "lookback", "overlap": "lookback",
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

    }

    private func unique(_ keys: [String]) -> [String] {
        var seen: Set<String> = []
        return keys.filter { seen.insert($0).inserted }
    }
}
