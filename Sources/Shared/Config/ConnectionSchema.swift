import Core

/// How `ingest.yml` describes one kind of source or destination: the `type:` that names it, the
/// connection keys an entry of it takes, and how they become ``ConnectionSettings``. Each
/// connector's target declares its own; `CLI/Connectors` lists them in a ``ConnectorCatalog``,
/// and the configuration reader asks the catalog, so Config itself knows no database
/// (docs/ARCHITECTURE.md, "Adding a destination").
package struct ConnectionSchema: Sendable {
    /// The `type:` value (`postgresql`).
    package var typeName: String
    /// Other words people write for the type (`pg`, `postgres`): the did-you-mean hint offers `typeName`.
    package var typeAliases: [String]
    /// The connection keys an entry of this type takes, besides `name` and `type` (and a
    /// destination's load defaults, `table`, `mode`, …).
    package var keys: [String]
    /// Other words people write for one of `keys` (`private_key_file` for `private_key_path`).
    package var keyAliases: [String: String]
    /// How a source of this type lexes its SQL to find `:last_value`; unused for a destination.
    package var queryDialect: QueryTemplate.Dialect
    /// Reads the entry's connection keys (only those of `keys` reach it), reporting problems
    /// through the fields with their lines.
    package var read: @Sendable (inout ConnectionFields) -> ConnectionSettings

    package init(
        typeName: String, typeAliases: [String] = [], keys: [String], keyAliases: [String: String] = [:],
        queryDialect: QueryTemplate.Dialect = QueryTemplate.Dialect(),
        read: @escaping @Sendable (inout ConnectionFields) -> ConnectionSettings
    ) {
        self.typeName = typeName
        self.typeAliases = typeAliases
        self.keys = keys
        self.keyAliases = keyAliases
        self.queryDialect = queryDialect
        self.read = read
    }

    /// A schema whose keys are stored as they are written: `schema` as the settings' schema,
    /// every other key as a parameter (an empty value allowed).
    package static func keywords(
        typeName: String, typeAliases: [String] = [], keys: [String], keyAliases: [String: String] = [:]
    ) -> ConnectionSchema {
        ConnectionSchema(typeName: typeName, typeAliases: typeAliases, keys: keys, keyAliases: keyAliases) { fields in
            var settings = ConnectionSettings()
            for key in fields.keys {
                if key == "schema" {
                    settings.schema = fields.text(key)?.text
                } else if let value = fields.text(key, allowEmpty: true) {
                    settings.parameters.append((keyword: key, value: value.text))
                }
            }
            return settings
        }
    }
}

/// The kinds of source and destination a build of Conduit knows, in the order messages list them.
package struct ConnectorCatalog: Sendable {
    package var sources: [ConnectionSchema]
    package var destinations: [ConnectionSchema]
    /// The databases that can keep the state (`state: {type: …}`), with the keys of their entries.
    package var stateBackends: [ConnectionSchema]

    package init(sources: [ConnectionSchema], destinations: [ConnectionSchema], stateBackends: [ConnectionSchema] = []) {
        self.sources = sources
        self.destinations = destinations
        self.stateBackends = stateBackends
    }
}

/// The connection keys of one source or destination entry, as its ``ConnectionSchema`` reads
/// them: values `${…}`-interpolated, problems reported with their line and key path in the
/// configuration's one message.
package struct ConnectionFields {
    let reader: ConfigurationReader
    let fields: ConfigurationReader.EntryFields
    /// The entry's key path (`sources[0]`).
    package let path: String
    /// `source` or `destination`.
    package let section: String

    /// The entry's connection keys, in file order.
    package var keys: [String] {
        fields.entries.compactMap { schemaKeys.contains($0.key) ? $0.key : nil }
    }

    let schemaKeys: Set<String>

    /// The value of `key`: nil when it is absent or null, or reported (a list, a map, empty text
    /// unless `allowEmpty`).
    package mutating func text(_ key: String, allowEmpty: Bool = false) -> ConfigurationValue? {
        reader.optionalText(fields[key], "\(path).\(key)", allowEmpty: allowEmpty).map(ConfigurationValue.init)
    }

    /// The value of a key the entry must have, not empty; `what` says what it is for the message.
    package mutating func requiredText(_ key: String, what: String) -> ConfigurationValue? {
        reader.requiredText(fields, key, path: path, what: what).map(ConfigurationValue.init)
    }

    /// Whether the entry has `key`.
    package func has(_ key: String) -> Bool { fields[key] != nil }

    /// Whether an unknown key was taken for a misspelling of `key`, so its absence is already reported.
    package func isMisspelled(_ key: String) -> Bool { fields.misspelled.contains(key) }

    /// The line of `key` (the entry's line when it is absent).
    package func line(of key: String) -> Int {
        fields[key].map { ConfigurationReader.line(of: $0.keyNode) } ?? fields.line
    }

    /// Reports a problem at `key`'s line: `FILE:LINE: PATH.KEY: reason`.
    package mutating func report(key: String, _ reason: String) {
        reader.report(line: line(of: key), "\(path).\(key)", reason)
    }

    /// Reports a problem with a key's value, at the value's line.
    package mutating func report(value: ConfigurationValue, of key: String, _ reason: String) {
        reader.report(line: value.line, "\(path).\(key)", reason)
    }

    /// Reports a problem with the entry as a whole, at its line: `FILE:LINE: PATH: reason`.
    package mutating func reportEntry(_ reason: String) {
        reader.report(line: fields.line, path, reason)
    }
}

/// One interpolated value of a connection key.
package struct ConfigurationValue {
    /// The value after `${…}` interpolation.
    package var text: String
    /// Where the value stands in the file.
    package var line: Int

    init(_ scalar: ConfigurationScalar) {
        text = scalar.text
        line = scalar.line
    }
}
