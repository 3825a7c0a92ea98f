import Yams

/// Walks the YAML tree, interpolating values and collecting every problem with its line and
/// key path, so one run of a tool reports them all.
struct ConfigurationReader {
    let path: String
    let environment: [String: String]
    private(set) var problems: [ConfigurationProblem] = []

    init(path: String, environment: [String: String]) {
        self.path = path
        self.environment = environment
    }

    static let libpqKeywords = [
        "host", "hostaddr", "port", "database", "dbname", "user", "password", "passfile", "connect_timeout",
        "client_encoding", "options", "application_name", "fallback_application_name", "keepalives",
        "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout", "sslmode",
        "sslcompression", "sslcert", "sslkey", "sslpassword", "sslrootcert", "sslcrl", "sslcrldir", "sslsni",
        "requirepeer", "ssl_min_protocol_version", "ssl_max_protocol_version", "gssencmode", "krbsrvname",
        "gsslib", "service", "target_session_attrs", "channel_binding",
    ]
    static let snowflakeKeys = [
        "account", "user", "password", "database", "schema", "warehouse", "role", "host", "port", "protocol", "authenticator",
    ]
    static let topLevelKeys = ["sources", "destinations", "resources", "state_file"]
    static let destinationCommonKeys = ["name", "type", "table", "schema", "mode", "primary_key", "batch_size"]
    static let resourceKeys = [
        "name", "source", "destination", "query", "incremental_column", "initial_value", "table", "mode",
        "primary_key", "batch_size", "ordered",
    ]

    static func sourceKeys(_ type: SourceType?) -> [String] {
        switch type {
        case .postgresql: ["name", "type", "url", "schema"] + libpqKeywords
        case .sqlite: ["name", "type", "path"]
        case nil: ["name", "type"]
        }
    }

    static func destinationKeys(_ type: DestinationType?) -> [String] {
        switch type {
        case .postgresql: destinationCommonKeys + ["url"] + libpqKeywords
        case .sqlite: destinationCommonKeys + ["path"]
        case .snowflake: destinationCommonKeys + snowflakeKeys
        case nil: destinationCommonKeys
        }
    }

    // MARK: - Problems

    mutating func problem(_ node: Node?, _ keyPath: String, _ reason: String) {
        problems.append(ConfigurationProblem(line: node?.mark?.line, keyPath: keyPath, reason: reason))
    }

    // MARK: - Reading

    mutating func read(_ root: Node?) -> Configuration {
        var configuration = Configuration(path: path, sources: [], destinations: [], resources: [], stateFile: nil)
        guard let root else {
            problem(nil, "", "the configuration is empty; it needs sources, destinations and resources")
            return configuration
        }
        guard case .mapping(let top) = root else {
            problem(root, "", "the top level must be a map with sources, destinations and resources")
            return configuration
        }
        var seen: Set<String> = []
        for (keyNode, value) in top {
            guard let key = keyNode.scalar?.string else { continue }
            seen.insert(key)
            switch key {
            case "sources": configuration.sources = entries(value, "sources").compactMap { readSource($0.0, $0.1) }
            case "destinations": configuration.destinations = entries(value, "destinations").compactMap { readDestination($0.0, $0.1) }
            case "resources": configuration.resources = entries(value, "resources").compactMap { readResource($0.0, $0.1) }
            case "state_file": configuration.stateFile = scalar(value, "state_file")
            default: unknownKey(keyNode, "", key, Self.topLevelKeys)
            }
        }
        for required in ["sources", "destinations", "resources"] where !seen.contains(required) {
            problem(root, required, "missing; the configuration needs a list of \(required)")
        }
        checkUniqueNames(configuration.sources.map(\.name), top: top, section: "sources")
        checkUniqueNames(configuration.destinations.map(\.name), top: top, section: "destinations")
        checkUniqueNames(configuration.resources.map(\.name), top: top, section: "resources")
        checkReferences(&configuration, top: top)
        return configuration
    }

    /// The maps of a section, each with its key path (`resources[0]`).
    private mutating func entries(_ node: Node, _ section: String) -> [(String, Node.Mapping)] {
        guard case .sequence(let items) = node else {
            problem(node, section, "must be a list (each entry starting with '- ')")
            return []
        }
        var result: [(String, Node.Mapping)] = []
        for (index, item) in items.enumerated() {
            let keyPath = "\(section)[\(index)]"
            guard case .mapping(let map) = item else {
                problem(item, keyPath, "must be a map of keys and values")
                continue
            }
            result.append((keyPath, map))
        }
        return result
    }

    /// An interpolated scalar, or nil with a problem recorded when it is a list or map.
    private mutating func scalar(_ node: Node, _ keyPath: String) -> String? {
        guard let scalar = node.scalar else {
            problem(node, keyPath, "must be a single value, not a list or map")
            return nil
        }
        if scalar.tag.description == Tag.Name.null.rawValue || (scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)) {
            return nil
        }
        do {
            return try EnvironmentInterpolation.interpolate(scalar.string, environment: environment)
        } catch {
            problem(node, keyPath, error.reason)
            return nil
        }
    }

    private mutating func unknownKey(_ keyNode: Node, _ parent: String, _ key: String, _ valid: [String], note: String = "") {
        let keyPath = parent.isEmpty ? key : "\(parent).\(key)"
        let suggestion = KeySuggestion.closest(to: key, among: valid).map { " (did you mean '\($0)'?)" } ?? ""
        problem(keyNode, keyPath, "unknown key\(suggestion)\(note)")
    }

    /// Reads a map's keys into a dictionary of nodes, reporting keys not in `valid`.
    private mutating func fields(_ map: Node.Mapping, _ keyPath: String, valid: [String], typeNote: String) -> [String: (key: Node, value: Node)] {
        var result: [String: (key: Node, value: Node)] = [:]
        for (keyNode, value) in map {
            guard let key = keyNode.scalar?.string else {
                problem(keyNode, keyPath, "keys must be plain names")
                continue
            }
            if !valid.contains(key) {
                unknownKey(keyNode, keyPath, key, valid, note: typeNote)
                continue
            }
            result[key] = (keyNode, value)
        }
        return result
    }

    private mutating func name(_ fields: [String: (key: Node, value: Node)], _ keyPath: String, _ map: Node.Mapping) -> String? {
        guard let node = fields["name"]?.value else {
            problem(map.first?.key, "\(keyPath).name", "missing; every entry needs a name")
            return nil
        }
        guard let name = scalar(node, "\(keyPath).name"), !name.isEmpty else {
            problem(node, "\(keyPath).name", "must not be empty")
            return nil
        }
        return name
    }

    private mutating func enumValue<T: RawRepresentable & CaseIterable>(
        _ node: Node?, _ keyPath: String, _ kind: String
    ) -> T? where T.RawValue == String {
        guard let node else { return nil }
        guard let text = scalar(node, keyPath) else { return nil }
        if let value = T(rawValue: text) { return value }
        let names = T.allCases.map(\.rawValue)
        let suggestion = KeySuggestion.closest(to: text, among: names).map { " (did you mean '\($0)'?)" } ?? ""
        problem(node, keyPath, "unknown \(kind) '\(text)'\(suggestion); expected one of \(names.joined(separator: ", "))")
        return nil
    }

    private mutating func typeOf<T: RawRepresentable & CaseIterable>(
        _ map: Node.Mapping, _ keyPath: String
    ) -> (T?, Bool) where T.RawValue == String {
        guard let node = map["type"] else {
            problem(map.first?.key, "\(keyPath).type", "missing; expected one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            return (nil, false)
        }
        let value: T? = enumValue(node, "\(keyPath).type", "type")
        return (value, value != nil)
    }

    private mutating func connection(_ fields: [String: (key: Node, value: Node)], _ keyPath: String, keywords: [String]) -> ConnectionSettings {
        var settings = ConnectionSettings()
        // Keep the file's order: sort by line.
        let ordered = fields.sorted { ($0.value.key.mark?.line ?? 0, $0.key) < ($1.value.key.mark?.line ?? 0, $1.key) }
        for (key, entry) in ordered {
            guard keywords.contains(key) else { continue }
            guard let value = scalar(entry.value, "\(keyPath).\(key)") else { continue }
            settings.parameters.append((keyword: key == "database" ? "dbname" : key, value: value))
        }
        if let node = fields["url"]?.value { settings.url = scalar(node, "\(keyPath).url") }
        if let node = fields["path"]?.value { settings.path = scalar(node, "\(keyPath).path") }
        if let node = fields["schema"]?.value { settings.schema = scalar(node, "\(keyPath).schema") }
        if settings.url != nil {
            let clashing = settings.parameters.map(\.keyword).filter { ["host", "hostaddr", "port", "dbname", "user", "password"].contains($0) }
            if !clashing.isEmpty, let node = fields["url"]?.key {
                problem(node, "\(keyPath).url", "give either url or \(clashing.joined(separator: ", ")), not both")
            }
        }
        return settings
    }

    private mutating func readSource(_ keyPath: String, _ map: Node.Mapping) -> SourceConfig? {
        let (type, known): (SourceType?, Bool) = typeOf(map, keyPath)
        let note = type.map { " for a \($0.rawValue) source" } ?? ""
        let fields = fields(map, keyPath, valid: known ? Self.sourceKeys(type) : Self.sourceKeys(.postgresql) + ["path"], typeNote: note)
        guard let name = name(fields, keyPath, map), let type else { return nil }
        var settings = connection(fields, keyPath, keywords: Self.libpqKeywords)
        if type == .sqlite, settings.path == nil {
            problem(map.first?.key, "\(keyPath).path", "missing; a sqlite source needs the database file's path")
        }
        if type == .postgresql { settings.path = nil }
        return SourceConfig(name: name, type: type, connection: settings)
    }

    private mutating func readDestination(_ keyPath: String, _ map: Node.Mapping) -> DestinationConfig? {
        let (type, known): (DestinationType?, Bool) = typeOf(map, keyPath)
        let note = type.map { " for a \($0.rawValue) destination" } ?? ""
        let allKeys = Self.destinationKeys(.postgresql) + ["path"] + Self.snowflakeKeys
        let fields = fields(map, keyPath, valid: known ? Self.destinationKeys(type) : allKeys, typeNote: note)
        guard let name = name(fields, keyPath, map), let type else { return nil }
        let keywords = type == .snowflake ? Self.snowflakeKeys.filter { $0 != "schema" } : Self.libpqKeywords
        let settings = connection(fields, keyPath, keywords: keywords)
        if type == .sqlite, settings.path == nil {
            problem(map.first?.key, "\(keyPath).path", "missing; a sqlite destination needs the database file's path")
        }
        var destination = DestinationConfig(name: name, type: type, connection: settings)
        readLoadOptions(fields, keyPath, table: &destination.table, mode: &destination.mode,
                        primaryKey: &destination.primaryKey, batchSize: &destination.batchSize)
        return destination
    }

    private mutating func readLoadOptions(
        _ fields: [String: (key: Node, value: Node)], _ keyPath: String,
        table: inout String?, mode: inout WriteMode?, primaryKey: inout [String]?, batchSize: inout Int?
    ) {
        if let node = fields["table"]?.value { table = scalar(node, "\(keyPath).table") }
        mode = enumValue(fields["mode"]?.value, "\(keyPath).mode", "mode")
        if let node = fields["primary_key"]?.value {
            if case .sequence(let items) = node {
                primaryKey = items.enumerated().compactMap { scalar($0.element, "\(keyPath).primary_key[\($0.offset)]") }
            } else if let single = scalar(node, "\(keyPath).primary_key") {
                primaryKey = [single]
            }
            if primaryKey?.isEmpty == true { problem(node, "\(keyPath).primary_key", "must name at least one column") }
        }
        if let node = fields["batch_size"]?.value, let text = scalar(node, "\(keyPath).batch_size") {
            if let size = Int(text), size > 0 {
                batchSize = size
            } else {
                problem(node, "\(keyPath).batch_size", "must be a positive whole number, not '\(text)'")
            }
        }
    }

    private mutating func readResource(_ keyPath: String, _ map: Node.Mapping) -> ResourceConfig? {
        let fields = fields(map, keyPath, valid: Self.resourceKeys, typeNote: "")
        guard let name = name(fields, keyPath, map) else { return nil }
        func required(_ key: String, _ reason: String) -> String? {
            guard let node = fields[key]?.value else {
                problem(map.first?.key, "\(keyPath).\(key)", "missing; \(reason)")
                return nil
            }
            guard let value = scalar(node, "\(keyPath).\(key)"), !value.isEmpty else {
                problem(node, "\(keyPath).\(key)", "must not be empty; \(reason)")
                return nil
            }
            return value
        }
        let source = required("source", "name the source to read from")
        let destination = required("destination", "name the destination to write to")
        let query = required("query", "give the SQL that selects the rows")
        var resource = ResourceConfig(
            name: name, source: source ?? "", destination: destination ?? "", query: query ?? "",
            incrementalColumn: nil, initialValue: nil, ordered: true)
        if let node = fields["incremental_column"]?.value {
            resource.incrementalColumn = scalar(node, "\(keyPath).incremental_column")
            if resource.incrementalColumn?.isEmpty == true {
                problem(node, "\(keyPath).incremental_column", "must not be empty")
                resource.incrementalColumn = nil
            }
        }
        if let node = fields["initial_value"]?.value, let scalarNode = node.scalar {
            if let text = scalar(node, "\(keyPath).initial_value") {
                let isNumber = scalarNode.style == .plain && DecimalText.isJSONNumber(text)
                resource.initialValue = isNumber ? .number(text) : .string(text)
            }
        } else if let node = fields["initial_value"]?.value {
            problem(node, "\(keyPath).initial_value", "must be a single value, not a list or map")
        }
        if let node = fields["ordered"]?.value {
            switch scalar(node, "\(keyPath).ordered") {
            case "true", "True", "TRUE", "yes": resource.ordered = true
            case "false", "False", "FALSE", "no": resource.ordered = false
            case let other: problem(node, "\(keyPath).ordered", "must be true or false, not '\(other ?? "")'")
            }
        }
        readLoadOptions(fields, keyPath, table: &resource.table, mode: &resource.mode,
                        primaryKey: &resource.primaryKey, batchSize: &resource.batchSize)
        return resource
    }

    // MARK: - Cross-references

    private func line(of section: String, index: Int, key: String?, in top: Node.Mapping) -> Node? {
        guard case .sequence(let items)? = top[section], index < items.count else { return nil }
        guard let key else { return items[index] }
        guard case .mapping(let map) = items[index] else { return items[index] }
        return map[key] ?? items[index]
    }

    private mutating func checkUniqueNames(_ names: [String], top: Node.Mapping, section: String) {
        var seen: Set<String> = []
        for (index, name) in names.enumerated() where !seen.insert(name).inserted {
            problem(line(of: section, index: index, key: "name", in: top), "\(section)[\(index)].name",
                    "'\(name)' is already the name of another entry in \(section)")
        }
    }

    private mutating func checkReferences(_ configuration: inout Configuration, top: Node.Mapping) {
        let sourceNames = configuration.sources.map(\.name)
        let destinationNames = configuration.destinations.map(\.name)
        for (index, resource) in configuration.resources.enumerated() {
            let keyPath = "resources[\(index)]"
            if !resource.source.isEmpty, !sourceNames.contains(resource.source) {
                let suggestion = KeySuggestion.closest(to: resource.source, among: sourceNames).map { " (did you mean '\($0)'?)" } ?? ""
                problem(line(of: "resources", index: index, key: "source", in: top), "\(keyPath).source",
                        "no source named '\(resource.source)'\(suggestion)")
            }
            if !resource.destination.isEmpty, !destinationNames.contains(resource.destination) {
                let suggestion = KeySuggestion.closest(to: resource.destination, among: destinationNames).map { " (did you mean '\($0)'?)" } ?? ""
                problem(line(of: "resources", index: index, key: "destination", in: top), "\(keyPath).destination",
                        "no destination named '\(resource.destination)'\(suggestion)")
            }
            let dialect: QueryTemplate.Dialect = configuration.sources.first { $0.name == resource.source }?.type == .sqlite ? .sqlite : .postgresql
            if !resource.query.isEmpty {
                let template = QueryTemplate(resource.query, dialect: dialect)
                let queryNode = line(of: "resources", index: index, key: "query", in: top)
                if resource.isIncremental && !template.containsPlaceholder {
                    problem(queryNode, "\(keyPath).query",
                            "has no :last_value placeholder, but the resource is incremental (incremental_column: \(resource.incrementalColumn ?? "")); add e.g. WHERE \(resource.incrementalColumn ?? "") > :last_value")
                }
                if !resource.isIncremental && template.containsPlaceholder {
                    problem(queryNode, "\(keyPath).query", "uses :last_value but the resource has no incremental_column to track")
                }
            }
            if let destination = configuration.destinations.first(where: { $0.name == resource.destination }) {
                let mode = resource.mode ?? destination.mode ?? .append
                if mode == .merge, (resource.primaryKey ?? destination.primaryKey) == nil {
                    problem(line(of: "resources", index: index, key: resource.mode == nil ? "destination" : "mode", in: top),
                            "\(keyPath).mode", "merge needs primary_key (the columns that identify a row)")
                }
            }
        }
    }
}
