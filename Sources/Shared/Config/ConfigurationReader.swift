import Core
import Yams

/// One problem in the configuration: `FILE:LINE: KEY.PATH: reason`.
struct ConfigurationProblem: Equatable {
    var line: Int
    /// `resources[0].incremental_colum`; empty for the document as a whole.
    var keyPath: String
    var reason: String

    func text(file: String) -> String {
        keyPath.isEmpty ? "\(file):\(line): \(reason)" : "\(file):\(line): \(keyPath): \(reason)"
    }
}

/// A key of a YAML map with its nodes.
struct ConfigurationEntry {
    var key: String
    var keyNode: Node
    var value: Node
}

/// A scalar value, interpolated.
struct ConfigurationScalar {
    /// The value after `${…}` interpolation.
    var text: String
    /// The value as written in the file.
    var raw: String
    /// A plain (unquoted, untagged) scalar, whose type its text decides.
    var isPlain: Bool
    /// `~`, `null` or nothing.
    var isNull: Bool
    var usedEnvironment: Bool
    /// Where `text` holds values from the environment.
    var environmentSpans: [EnvironmentSpan] = []
    var line: Int

    /// The value quoted for a message: as written when it came from the environment (`'${DB_TYPE}'`),
    /// so no environment value ever reaches a message.
    var quoted: String { "'\(usedEnvironment ? raw : text)'" }
}

/// Walks the YAML tree of `ingest.yml`: interpolates values, builds the configuration and collects
/// every problem with its line and key path, so one run reports them all. A class, so that a
/// connector's ``ConnectionSchema`` reads its keys through ``ConnectionFields`` into the same list.
final class ConfigurationReader {
    typealias Section = ConfigurationSchema.Section

    let file: String
    let environment: [String: String]
    let schema: ConfigurationSchema
    private(set) var problems: [ConfigurationProblem] = []
    /// Maps a merge key may still expand: YAML aliases let a few hundred bytes of `<<: [*a, *a, …]`
    /// nested a few levels deep stand for billions of entries, so expansion has a bound.
    private var mergeBudget = ConfigurationReader.mergeExpansionLimit
    static let mergeExpansionLimit = 100_000

    /// Names defined in each section, in file order, with the line of their first definition
    /// and how messages may show them.
    private var definedNames: [Section: [(name: String, line: Int, shown: String)]] = [:]
    /// Where each name stands in `definedNames`, so a file of thousands of entries reads in linear time.
    private var definedIndex: [Section: [String: Int]] = [:]
    /// Each source name's type (nil when the type is missing or unknown).
    private var sourceTypes: [String: ConnectionSchema?] = [:]

    init(file: String, environment: [String: String], connectors: ConnectorCatalog) {
        self.file = file
        self.environment = environment
        self.schema = ConfigurationSchema(catalog: connectors)
    }

    /// The problems as one message, one line each, sorted by line.
    package var message: String {
        problems.enumerated()
            .sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }
            .map { $0.element.text(file: file) }
            .joined(separator: "\n")
    }

    // MARK: - Problems

    func report(line: Int, _ keyPath: String, _ reason: String) {
        problems.append(ConfigurationProblem(line: line, keyPath: keyPath, reason: reason))
    }

    private func report(_ node: Node, _ keyPath: String, _ reason: String) {
        report(line: Self.line(of: node), keyPath, reason)
    }

    static func line(of node: Node) -> Int { node.mark?.line ?? 1 }

    // MARK: - The document

    /// The configuration the tree describes; complete only when `problems` is empty.
    func read(_ root: Node?) -> Configuration {
        var configuration = Configuration(path: file)
        guard let root else {
            report(line: 1, "", "the file is empty; it needs sources, destinations and resources")
            return configuration
        }
        guard case .mapping(let top) = root else {
            report(root, "", "the top level must be a map with sources, destinations and resources")
            return configuration
        }
        var sections: [Section: Node] = [:]
        var stateFileLine: Int?
        var stateLine: Int?
        for entry in entries(of: top, path: "") {
            if let section = Section(rawValue: entry.key) {
                sections[section] = entry.value
            } else if entry.key == "state_file" {
                configuration.stateFile = optionalText(entry, "state_file")?.text
                stateFileLine = Self.line(of: entry.keyNode)
            } else if entry.key == "state" {
                configuration.state = readState(entry)
                stateLine = Self.line(of: entry.keyNode)
            } else {
                let topLevel = ConfigurationSchema.topLevelKeys
                let hint =
                    KeySuggestion.closest(to: entry.key, among: topLevel).map { "did you mean '\($0)'?" }
                    ?? "expected " + KeySuggestion.alternatives(topLevel)
                report(entry.keyNode, entry.key, "unknown key (\(hint))")
            }
        }
        if let stateFileLine, let stateLine {
            report(
                line: max(stateFileLine, stateLine), max(stateFileLine, stateLine) == stateLine ? "state" : "state_file",
                "'state_file' (line \(stateFileLine)) and 'state' (line \(stateLine)) both say where the state lives; give one (state: {type: file, path: …})"
            )
        }
        configuration.sources = items(sections[.sources], .sources).compactMap { readSource($0.node, path: $0.path) }
        configuration.destinations = items(sections[.destinations], .destinations).compactMap {
            readDestination($0.node, path: $0.path)
        }
        let drafts = items(sections[.resources], .resources).compactMap { readResource($0.node, path: $0.path) }
        for draft in drafts {
            crossCheck(draft, destinations: configuration.destinations)
        }
        configuration.resources = drafts.map(\.config)
        return configuration
    }

    /// The entries of a section with their key paths (`resources[0]`); nothing for an empty section.
    private func items(_ node: Node?, _ section: Section) -> [(path: String, node: Node)] {
        guard let node else { return [] }
        switch node {
        case .sequence:
            return node.array().enumerated().map { ("\(section.rawValue)[\($0.offset)]", $0.element) }
        case .scalar(let scalar) where Self.isNull(scalar):
            return []
        default:
            report(node, section.rawValue, "must be a list of \(section.rawValue), each entry starting with '- name: …'")
            return []
        }
    }

    /// The keys of an entry, or nil (reported) when it is not a map.
    private func entryMap(_ node: Node, _ path: String) -> (entries: [ConfigurationEntry], line: Int)? {
        switch node {
        case .mapping(let mapping):
            return (entries(of: mapping, path: path), Self.line(of: node))
        case .sequence:
            report(node, path, "must be a map of keys and values (name: …), not a list")
        case .scalar(let scalar) where Self.isNull(scalar):
            report(node, path, "is empty; it needs keys and values (name: …)")
        case .scalar, .alias:
            report(node, path, "must be a map of keys and values (name: …), not a single value")
        }
        return nil
    }

    /// A map's keys in file order, with YAML merge keys (`<<: *defaults`) expanded in place; keys
    /// written in the map win over merged ones. (Yams already refuses a key written twice.)
    private func entries(of mapping: Node.Mapping, path: String) -> [ConfigurationEntry] {
        var written: Set<String> = []
        for (key, _) in mapping {
            if let scalar = key.scalar, !Self.isMergeKey(scalar) { written.insert(scalar.string) }
        }
        var result: [ConfigurationEntry] = []
        var seen: Set<String> = []
        for (keyNode, value) in mapping {
            guard let keyScalar = keyNode.scalar else {
                report(keyNode, path, "keys must be plain names, not lists or maps")
                continue
            }
            if Self.isMergeKey(keyScalar) {
                for merged in mergedEntries(value, path: path)
                where !written.contains(merged.key) && seen.insert(merged.key).inserted {
                    result.append(merged)
                }
            } else {
                seen.insert(keyScalar.string)
                result.append(ConfigurationEntry(key: keyScalar.string, keyNode: keyNode, value: value))
            }
        }
        return result
    }

    /// The entries a merge key brings: one map's, or a list of maps' (earlier maps win).
    private func mergedEntries(_ value: Node, path: String) -> [ConfigurationEntry] {
        let maps: [Node] = if case .sequence = value { value.array() } else { [value] }
        var result: [ConfigurationEntry] = []
        var seen: Set<String> = []
        for map in maps {
            guard case .mapping(let mapping) = map else {
                report(map, path.isEmpty ? "<<" : "\(path).<<", "a merge key ('<<') takes a map or a list of maps")
                continue
            }
            guard mergeBudget > 0 else { return result }
            mergeBudget -= 1
            if mergeBudget == 0 {
                report(
                    map, path.isEmpty ? "<<" : "\(path).<<",
                    "merge keys ('<<') expand to more than \(Self.mergeExpansionLimit) maps (aliases nested in aliases); write the entries out"
                )
                return result
            }
            for entry in entries(of: mapping, path: path) where seen.insert(entry.key).inserted {
                result.append(entry)
            }
        }
        return result
    }

    private static func isMergeKey(_ scalar: Node.Scalar) -> Bool {
        scalar.string == "<<" && scalar.style == .plain
    }

    /// The keys of one entry that apply to it.
    struct EntryFields {
        /// The accepted entries, in file order.
        var entries: [ConfigurationEntry]
        /// Keys that unknown keys were taken to be misspellings of: their absence is not
        /// reported again.
        var misspelled: Set<String>
        /// The line of the entry's map.
        var line: Int

        subscript(key: String) -> ConfigurationEntry? { entries.first { $0.key == key } }
    }

    /// Keeps the entries whose keys `allowed` has and reports the others, with the reason.
    private func accepted(
        _ entries: [ConfigurationEntry], line: Int, path: String, allowed: [String], section: Section, typeName: String?
    ) -> EntryFields {
        accepted(entries, line: line, path: path, allowed: allowed) { key, suggestion in
            unknownKeyReason(key, suggestion, section, typeName)
        }
    }

    /// Keeps the entries whose keys `allowed` has and reports the others with `reason(key, suggestion)`.
    private func accepted(
        _ entries: [ConfigurationEntry], line: Int, path: String, allowed: [String],
        reason: (String, String?) -> String
    ) -> EntryFields {
        var fields = EntryFields(entries: [], misspelled: [], line: line)
        for entry in entries {
            if allowed.contains(entry.key) {
                fields.entries.append(entry)
                continue
            }
            let suggestion = KeySuggestion.closest(to: entry.key, among: allowed, aliases: schema.keyAliases)
            if let suggestion { fields.misspelled.insert(suggestion) }
            report(entry.keyNode, "\(path).\(entry.key)", reason(entry.key, suggestion))
        }
        return fields
    }

    private func unknownKeyReason(_ key: String, _ suggestion: String?, _ section: Section, _ typeName: String?) -> String {
        if let typeName {
            let types = schema.types(section, accepting: key)
            if !types.isEmpty {
                return "not a key of \(typeName) \(section.rawValue) ('\(key)' applies to "
                    + "\(KeySuggestion.alternatives(types, conjunction: "and")) \(section.rawValue))"
            }
        }
        if let suggestion {
            return "unknown key (did you mean '\(suggestion)'?)"
        }
        let homes = Section.allCases.filter { $0 != section && schema.allKeys($0).contains(key) }.map(\.rawValue)
        if !homes.isEmpty {
            return "unknown key ('\(key)' belongs in \(KeySuggestion.alternatives(homes)))"
        }
        return "unknown key"
    }

    // MARK: - Values

    /// The interpolated value, or nil (reported) for a list, a map or a failed interpolation.
    private func scalar(_ node: Node, _ keyPath: String) -> ConfigurationScalar? {
        switch node {
        case .scalar(let scalar):
            let line = Self.line(of: node)
            if Self.isNull(scalar) {
                return ConfigurationScalar(
                    text: "", raw: scalar.string, isPlain: true, isNull: true, usedEnvironment: false, line: line)
            }
            do {
                let expanded = try EnvironmentInterpolation.expand(scalar.string, environment: environment)
                return ConfigurationScalar(
                    text: expanded.text, raw: scalar.string, isPlain: Self.isPlain(scalar), isNull: false,
                    usedEnvironment: expanded.usedEnvironment, environmentSpans: expanded.environmentSpans, line: line)
            } catch {
                report(line: line, keyPath, error.reason)
                return nil
            }
        case .mapping:
            report(node, keyPath, "must be a single value, not a map")
        case .sequence:
            report(node, keyPath, "must be a single value, not a list")
        case .alias:
            report(node, keyPath, "must be a single value")
        }
        return nil
    }

    /// Unquoted and without an explicit `!!str` tag: its text decides its type.
    private static func isPlain(_ scalar: Node.Scalar) -> Bool {
        scalar.style == .plain && scalar.tag.rawValue != Tag.Name.str.rawValue
    }

    private static func isNull(_ scalar: Node.Scalar) -> Bool {
        scalar.tag.rawValue == Tag.Name.null.rawValue
            || (isPlain(scalar) && ["", "~", "null", "Null", "NULL"].contains(scalar.string))
    }

    /// An optional value: nil when the key is absent or null (or reported: a list, a map, empty
    /// text unless `allowEmpty`).
    func optionalText(
        _ entry: ConfigurationEntry?, _ keyPath: String, allowEmpty: Bool = false
    ) -> ConfigurationScalar? {
        guard let entry, let value = scalar(entry.value, keyPath), !value.isNull else { return nil }
        if !allowEmpty, value.text.allSatisfy(\.isWhitespace) {
            report(line: value.line, keyPath, "must not be empty")
            return nil
        }
        return value
    }

    /// A value that must be present and not empty.
    func requiredText(
        _ fields: EntryFields, _ key: String, path: String, what: String
    ) -> ConfigurationScalar? {
        guard let entry = fields[key] else {
            if !fields.misspelled.contains(key) {
                report(line: fields.line, path, "missing required key '\(key)' (\(what))")
            }
            return nil
        }
        let keyPath = "\(path).\(key)"
        guard let value = scalar(entry.value, keyPath) else { return nil }
        if value.isNull || value.text.allSatisfy(\.isWhitespace) {
            report(line: value.line, keyPath, "must not be empty (\(what))")
            return nil
        }
        return value
    }

    /// The entry's `name`, registered in its section; a second entry with the same name is reported.
    private func readName(
        _ fields: EntryFields, path: String, section: Section
    ) -> (value: ConfigurationScalar, isFirst: Bool)? {
        guard let value = requiredText(fields, "name", path: path, what: "what the \(section.singular) is called")
        else { return nil }
        if let index = definedIndex[section]?[value.text], let first = definedNames[section]?[index] {
            report(
                line: value.line, "\(path).name",
                "another \(section.singular) is already named \(first.shown) (line \(first.line))")
            return (value, false)
        }
        definedIndex[section, default: [:]][value.text] = definedNames[section, default: []].count
        definedNames[section, default: []].append((value.text, value.line, value.quoted))
        return (value, true)
    }

    /// The entry's `type`, or nil (reported) when it is missing or unknown.
    private func readType(
        _ entries: [ConfigurationEntry], section: Section, path: String, line: Int
    ) -> ConnectionSchema? {
        let names = schema.schemas(section).map(\.typeName)
        let misspelled: Set<String> =
            entries.contains { $0.key != "type" && KeySuggestion.closest(to: $0.key, among: ["type"]) != nil } ? ["type"] : []
        let fields = EntryFields(entries: entries, misspelled: misspelled, line: line)
        guard let value = requiredText(fields, "type", path: path, what: KeySuggestion.alternatives(names))
        else { return nil }
        if let type = schema.schema(section, typeName: value.text) { return type }
        let hint =
            KeySuggestion.closest(to: value.text, among: names, aliases: schema.typeAliases(section))
            .map { "did you mean '\($0)'?" } ?? "expected \(KeySuggestion.alternatives(names))"
        report(line: value.line, "\(path).type", "unknown type \(value.quoted) (\(hint))")
        return nil
    }

    // MARK: - Sources and destinations

    private func readSource(_ node: Node, path: String) -> SourceConfig? {
        guard let (entries, line) = entryMap(node, path) else { return nil }
        let type = readType(entries, section: .sources, path: path, line: line)
        let allowed = type.map(ConfigurationSchema.sourceKeys) ?? schema.allKeys(.sources)
        let fields = accepted(entries, line: line, path: path, allowed: allowed, section: .sources, typeName: type?.typeName)
        let name = readName(fields, path: path, section: .sources)
        if let name, name.isFirst { sourceTypes[name.value.text] = type }
        guard let type else { return nil }
        let connection = readConnection(fields, type: type, path: path, section: .sources)
        guard let name else { return nil }
        return SourceConfig(name: name.value.text, type: type.typeName, connection: connection)
    }

    private func readDestination(_ node: Node, path: String) -> DestinationConfig? {
        guard let (entries, line) = entryMap(node, path) else { return nil }
        let type = readType(entries, section: .destinations, path: path, line: line)
        let allowed = type.map(ConfigurationSchema.destinationKeys) ?? schema.allKeys(.destinations)
        let fields = accepted(
            entries, line: line, path: path, allowed: allowed, section: .destinations, typeName: type?.typeName)
        let name = readName(fields, path: path, section: .destinations)
        let options = readLoadOptions(fields, path: path)
        guard let type else { return nil }
        let connection = readConnection(fields, type: type, path: path, section: .destinations)
        guard let name else { return nil }
        return DestinationConfig(
            name: name.value.text, type: type.typeName, connection: connection, table: options.table, mode: options.mode,
            primaryKey: options.primaryKey, batchSize: options.batchSize, schemaEvolution: options.schemaEvolution)
    }

    /// The entry's connection keys, as its type's schema reads them.
    private func readConnection(
        _ fields: EntryFields, type: ConnectionSchema, path: String, section: Section
    ) -> ConnectionSettings {
        var connection = ConnectionFields(
            reader: self, fields: fields, path: path, section: section.singular, schemaKeys: Set(type.keys))
        return type.read(&connection)
    }

    // MARK: - The state backend

    /// The top-level `state:` section: `{type: file, path}`, or a database that can keep the
    /// state (``ConnectorCatalog/stateBackends``) with the keys of a source of its type and `table`.
    private func readState(_ entry: ConfigurationEntry) -> StateSettings? {
        guard let (entries, line) = entryMap(entry.value, "state") else { return nil }
        let databases = schema.catalog.stateBackends
        let names = [StateSettings.fileTypeName] + databases.map(\.typeName)
        let typeFields = EntryFields(entries: entries, misspelled: [], line: line)
        guard let typeValue = requiredText(typeFields, "type", path: "state", what: KeySuggestion.alternatives(names)) else {
            return nil
        }
        if typeValue.text == StateSettings.fileTypeName {
            let fields = acceptedStateKeys(entries, line: line, allowed: ["type", "path"])
            return .file(path: optionalText(fields["path"], "state.path")?.text ?? Self.defaultStatePath)
        }
        guard
            let database = databases.first(where: { $0.typeName == typeValue.text || $0.typeAliases.contains(typeValue.text) })
        else {
            let hint =
                KeySuggestion.closest(to: typeValue.text, among: names).map { "did you mean '\($0)'?" }
                ?? "expected \(KeySuggestion.alternatives(names))"
            report(line: typeValue.line, "state.type", "unknown state type \(typeValue.quoted) (\(hint))")
            return nil
        }
        let fields = acceptedStateKeys(entries, line: line, allowed: ["type", "table"] + database.keys)
        var connection = ConnectionFields(
            reader: self, fields: fields, path: "state", section: "state backend", schemaKeys: Set(database.keys))
        let settings = database.read(&connection)
        let table = optionalText(fields["table"], "state.table")?.text
        return .database(DatabaseStateSettings(type: database.typeName, connection: settings, table: table))
    }

    /// The seed's state file, in the working directory.
    static let defaultStatePath = ".conduit_state.json"

    private func acceptedStateKeys(_ entries: [ConfigurationEntry], line: Int, allowed: [String]) -> EntryFields {
        accepted(entries, line: line, path: "state", allowed: allowed) { _, suggestion in
            "unknown key (" + (suggestion.map { "did you mean '\($0)'?" } ?? "expected \(KeySuggestion.alternatives(allowed))")
                + ")"
        }
    }

    // MARK: - Load options (destinations and resources)

    private struct LoadOptions {
        var table: String?
        var mode: WriteMode?
        var modeLine: Int?
        var primaryKey: [String]?
        var batchSize: Int?
        var schemaEvolution: SchemaEvolution?
    }

    private func readLoadOptions(_ fields: EntryFields, path: String) -> LoadOptions {
        var options = LoadOptions()
        options.table = optionalText(fields["table"], "\(path).table")?.text
        if let entry = fields["mode"] {
            options.mode = readMode(entry, "\(path).mode")
            options.modeLine = Self.line(of: entry.keyNode)
        }
        if let entry = fields["primary_key"] {
            options.primaryKey = readPrimaryKey(entry, "\(path).primary_key")
        }
        if let value = optionalText(fields["schema_evolution"], "\(path).schema_evolution") {
            if let evolution = SchemaEvolution(rawValue: value.text) {
                options.schemaEvolution = evolution
            } else {
                report(line: value.line, "\(path).schema_evolution", "must be evolve or freeze, not \(value.quoted)")
            }
        }
        if let value = optionalText(fields["batch_size"], "\(path).batch_size") {
            if value.text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                let size = Int(value.text), size > 0
            {
                options.batchSize = size
            } else {
                report(line: value.line, "\(path).batch_size", "must be a positive integer, not \(value.quoted)")
            }
        }
        return options
    }

    private static let modeAliases = [
        "upsert": "merge", "insert": "append", "incremental": "append", "overwrite": "replace", "truncate": "replace",
        "full": "replace",
    ]

    private func readMode(_ entry: ConfigurationEntry, _ keyPath: String) -> WriteMode? {
        guard let value = optionalText(entry, keyPath) else { return nil }
        if let mode = WriteMode(rawValue: value.text) { return mode }
        let names = WriteMode.allCases.map(\.rawValue)
        let hint =
            KeySuggestion.closest(to: value.text, among: names, aliases: Self.modeAliases)
            .map { "did you mean '\($0)'?" } ?? "expected \(KeySuggestion.alternatives(names))"
        report(line: value.line, keyPath, "unknown mode \(value.quoted) (\(hint))")
        return nil
    }

    /// One column, or a list of columns.
    private func readPrimaryKey(_ entry: ConfigurationEntry, _ keyPath: String) -> [String]? {
        guard case .sequence = entry.value else {
            return optionalText(entry, keyPath).map { [$0.text] }
        }
        let items = entry.value.array()
        if items.isEmpty {
            report(entry.value, keyPath, "must name at least one column")
            return nil
        }
        var columns: [String] = []
        var valid = true
        for (index, item) in items.enumerated() {
            let itemPath = "\(keyPath)[\(index)]"
            guard let value = scalar(item, itemPath) else {
                valid = false
                continue
            }
            if value.isNull || value.text.allSatisfy(\.isWhitespace) {
                report(line: value.line, itemPath, "must be a column name, not empty")
                valid = false
            } else if columns.contains(value.text) {
                report(line: value.line, itemPath, "names \(value.quoted) a second time")
                valid = false
            } else {
                columns.append(value.text)
            }
        }
        return valid ? columns : nil
    }

    // MARK: - Resources

    /// A resource as read, with where its values are, for the checks that need the other sections.
    private struct ResourceDraft {
        var config: ResourceConfig
        var path: String
        var source: ConfigurationScalar?
        var destination: ConfigurationScalar?
        var query: ConfigurationScalar?
        var incrementalColumn: ConfigurationScalar?
        var hasIncrementalKey: Bool
        var modeLine: Int?
        /// The line of `lookback`, for the checks that need the destination's mode and key.
        var lookbackLine: Int?
    }

    private func readResource(_ node: Node, path: String) -> ResourceDraft? {
        guard let (entries, line) = entryMap(node, path) else { return nil }
        let fields = accepted(
            entries, line: line, path: path, allowed: ConfigurationSchema.resourceKeys, section: .resources, typeName: nil)
        let name = readName(fields, path: path, section: .resources)
        let source = requiredText(fields, "source", path: path, what: "the name of the source to read from")
        let destination = requiredText(fields, "destination", path: path, what: "the name of the destination to write to")
        let query = requiredText(fields, "query", path: path, what: "the SQL that selects the rows")
        let incrementalColumn = optionalText(fields["incremental_column"], "\(path).incremental_column")
        // A misspelt incremental_column is reported once, as the unknown key.
        let hasIncrementalKey = fields["incremental_column"] != nil || fields.misspelled.contains("incremental_column")
        var config = ResourceConfig(
            name: name?.value.text ?? "", source: source?.text ?? "", destination: destination?.text ?? "",
            query: query?.text ?? "", incrementalColumn: incrementalColumn?.text)
        config.queryEnvironmentSpans = query?.environmentSpans ?? []

        if let entry = fields["initial_value"], let value = scalar(entry.value, "\(path).initial_value"), !value.isNull {
            config.initialValue =
                value.isPlain && DecimalText.isJSONNumber(value.text) ? .number(value.text) : .string(value.text)
            config.initialValueEnvironmentSpans = value.environmentSpans
            if !hasIncrementalKey {
                report(
                    line: value.line, "\(path).initial_value",
                    "only applies to an incremental resource (one with incremental_column)")
            }
        }
        if let value = optionalText(fields["ordered"], "\(path).ordered") {
            switch value.text {
            case "true", "True", "TRUE": config.ordered = true
            case "false", "False", "FALSE": config.ordered = false
            default: report(line: value.line, "\(path).ordered", "must be true or false, not \(value.quoted)")
            }
        }
        if let value = optionalText(fields["safe_horizon"], "\(path).safe_horizon") {
            switch value.text {
            case "true", "True", "TRUE": config.safeHorizon = true
            case "false", "False", "FALSE": config.safeHorizon = false
            default: report(line: value.line, "\(path).safe_horizon", "must be true or false, not \(value.quoted)")
            }
        }
        var lookbackLine: Int?
        if let value = optionalText(fields["lookback"], "\(path).lookback") {
            lookbackLine = value.line
            config.lookback = readLookback(value, "\(path).lookback")
            if !hasIncrementalKey {
                report(
                    line: value.line, "\(path).lookback", "only applies to an incremental resource (one with incremental_column)")
            }
        }
        if let value = optionalText(fields["horizon_warning_after"], "\(path).horizon_warning_after") {
            if let seconds = DurationText.seconds(value.text), seconds > 0 {
                config.horizonWarningAfterSeconds = seconds
            } else {
                report(
                    line: value.line, "\(path).horizon_warning_after",
                    "must be a duration such as 10 minutes or 1 hour, not \(value.quoted)")
            }
        }
        let options = readLoadOptions(fields, path: path)
        config.table = options.table
        config.mode = options.mode
        config.primaryKey = options.primaryKey
        config.batchSize = options.batchSize
        config.schemaEvolution = options.schemaEvolution
        return ResourceDraft(
            config: config, path: path, source: source, destination: destination, query: query,
            incrementalColumn: incrementalColumn, hasIncrementalKey: hasIncrementalKey, modeLine: options.modeLine,
            lookbackLine: lookbackLine)
    }

    /// `lookback`: a plain non-negative number (for a numeric column) or a duration (for a
    /// timestamp or date column); which one the column needs is checked when the run sees its type.
    private func readLookback(_ value: ConfigurationScalar, _ keyPath: String) -> Lookback? {
        if DecimalText.isJSONNumber(value.text) {
            guard !value.text.hasPrefix("-") else {
                report(line: value.line, keyPath, "must not be negative, not \(value.quoted)")
                return nil
            }
            return .amount(value.text)
        }
        if let seconds = DurationText.seconds(value.text) {
            return .duration(seconds: seconds, text: value.text)
        }
        report(
            line: value.line, keyPath,
            "must be a number (for a numeric incremental_column) or a duration such as 10 minutes (for a timestamp), not \(value.quoted)"
        )
        return nil
    }

    /// The checks that need the other sections: the source and destination exist, the query's
    /// `:last_value` matches `incremental_column`, `merge` has a primary key, and so does
    /// `lookback` in append mode (it skips re-read rows by key).
    private func crossCheck(_ draft: ResourceDraft, destinations: [DestinationConfig]) {
        let path = draft.path
        // A source that is missing or of an unknown type is reported; the query is still checked,
        // lexed as the first source type's SQL.
        var dialect = schema.catalog.sources.first?.queryDialect ?? QueryTemplate.Dialect()
        if let source = draft.source {
            if let type = sourceTypes[source.text] {
                dialect = type?.queryDialect ?? dialect
            } else {
                report(
                    line: source.line, "\(path).source", "no source named \(source.quoted) (\(nameHint(source.text, .sources)))")
            }
        }
        var destination: DestinationConfig?
        if let named = draft.destination {
            if definedIndex[.destinations]?[named.text] != nil {
                destination = destinations.first { $0.name == named.text }
            } else {
                report(
                    line: named.line, "\(path).destination",
                    "no destination named \(named.quoted) (\(nameHint(named.text, .destinations)))")
            }
        }
        if let query = draft.query {
            let template = QueryTemplate(query.text, dialect: dialect)
            if let column = draft.incrementalColumn, !template.containsPlaceholder {
                let example = column.usedEnvironment ? "id" : column.text
                report(
                    line: query.line, "\(path).query",
                    "has no :last_value placeholder, which an incremental resource needs (e.g. WHERE \(example) > :last_value)")
            } else if !draft.hasIncrementalKey, template.containsPlaceholder {
                report(line: query.line, "\(path).query", "uses :last_value but the resource has no incremental_column")
            }
        }
        let mode = draft.config.mode ?? destination?.mode
        if mode == .merge, (draft.config.primaryKey ?? destination?.primaryKey) == nil {
            if draft.config.mode != nil {
                report(line: draft.modeLine ?? 1, "\(path).mode", "merge needs primary_key (the columns that identify a row)")
            } else if let named = draft.destination {
                report(
                    line: named.line, "\(path).destination",
                    "destination \(named.quoted) has mode merge, which needs primary_key (set it here or on the destination)")
            }
        }
        if let line = draft.lookbackLine, draft.config.lookback != nil {
            switch mode ?? .append {
            case .append where (draft.config.primaryKey ?? destination?.primaryKey) == nil:
                report(
                    line: line, "\(path).lookback",
                    "needs primary_key in append mode (re-read rows the destination already holds are skipped by key); set primary_key, or use mode: merge"
                )
            case .replace:
                report(line: line, "\(path).lookback", "has no use with mode replace (every run replaces the table's rows)")
            default:
                break
            }
        }
    }

    /// After "no source named 'x'": the closest name, or the names there are.
    private func nameHint(_ name: String, _ section: Section) -> String {
        let defined = definedNames[section, default: []]
        if let closest = KeySuggestion.closest(to: name, among: defined.map(\.name)),
            let shown = defined.first(where: { $0.name == closest })?.shown
        {
            return "did you mean \(shown)?"
        }
        if defined.isEmpty { return "no \(section.rawValue) are defined" }
        return "the \(section.rawValue) are \(KeySuggestion.alternatives(defined.map(\.shown), conjunction: "and"))"
    }
}
