package import Config
package import Core
package import Extract
package import Load

/// PostgreSQL as `ingest.yml` names it (`type: postgresql`), as a source and as a destination.
package struct PostgresConnector: SourceConnector, DestinationConnector {
    package static let typeName = "postgresql"

    package init() {}

    package var schema: ConnectionSchema { Self.schema }

    /// libpq's connection keywords (`database` is accepted as an alias of `dbname`).
    static let libpqKeywords = [
        "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "connect_timeout",
        "client_encoding", "options", "application_name", "fallback_application_name", "keepalives",
        "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout", "sslmode",
        "sslcompression", "sslcert", "sslkey", "sslpassword", "sslrootcert", "sslcrl", "sslcrldir", "sslsni",
        "requirepeer", "ssl_min_protocol_version", "ssl_max_protocol_version", "gssencmode", "krbsrvname",
        "gsslib", "service", "target_session_attrs", "channel_binding",
    ]

    /// Keys that a `url` already gives, so they may not appear beside it.
    static let urlExclusiveKeys: Set<String> = ["host", "hostaddr", "port", "database", "dbname", "user", "password"]

    static let schema = ConnectionSchema(
        typeName: typeName, typeAliases: ["postgres", "pg", "pgsql", "psql"],
        keys: ["url", "database"] + libpqKeywords + ["schema"], queryDialect: .postgresql, read: readConnection)

    /// A `url` (a libpq URI) or libpq keywords, not both; `database` and `dbname` are one setting.
    @Sendable static func readConnection(_ fields: inout ConnectionFields) -> ConnectionSettings {
        var settings = ConnectionSettings()
        var database: String?
        var targets: [String] = []
        for key in fields.keys {
            switch key {
            case "url":
                guard let value = fields.text(key) else { continue }
                if value.text.hasPrefix("postgresql://") || value.text.hasPrefix("postgres://") {
                    settings.url = value.text
                } else {
                    fields.report(
                        value: value, of: key, "must be a libpq connection URI (postgresql://user@host:port/database)")
                }
            case "schema":
                settings.schema = fields.text(key)?.text
            default:
                if key == "database" || key == "dbname" {
                    if let database {
                        fields.report(
                            key: key,
                            "'\(key)' and '\(database)' (line \(fields.line(of: database))) are the same setting; give one")
                        continue
                    }
                    database = key
                }
                if urlExclusiveKeys.contains(key) { targets.append(key) }
                if let value = fields.text(key, allowEmpty: true) {
                    settings.parameters.append((keyword: key == "database" ? "dbname" : key, value: value.text))
                }
            }
        }
        if settings.url != nil {
            for key in targets {
                fields.report(key: key, "cannot be combined with 'url' (give the connection either as a url or as separate keys)")
            }
        }
        return settings
    }

    package var placeholderShown: String { "$1" }

    package var hasSafeHorizon: Bool { true }

    /// PostgreSQL refuses a value of the wrong type when it binds it (`invalid input syntax for type bigint`, exit 65).
    package var comparesMismatchedValuesSilently: Bool { false }

    /// A type the mapping knows is built in; one it does not (an enum) travels as text.
    package func describedTypeIsPortable(sourceType: String, kind: ColumnKind?) -> Bool { kind != nil }

    package func open(_ config: SourceConfig, reporter: Reporter) throws(ConduitError) -> any Source {
        try PostgresSource(source: config, notices: { reporter.serverNotice($0) })
    }

    package func open(
        _ config: DestinationConfig, table: String, reporter: Reporter, environment: [String: String]
    ) throws(ConduitError) -> any LoadDestination {
        try PostgresDestination(config: config, table: table, notices: { reporter.serverNotice($0) })
    }
}

extension QueryTemplate.Dialect {
    /// PostgreSQL's SQL: `E'…'` strings, `$$…$$` and `$tag$…$tag$` strings, nesting `/* */` comments.
    package static let postgresql = QueryTemplate.Dialect(
        escapeStrings: true, dollarQuotedStrings: true, nestedBlockComments: true)
}

extension SourceColumn {
    /// A column a PostgreSQL source describes: its type is portable to a PostgreSQL destination
    /// when it is built in.
    init(name: String, sourceType: String, kind: ColumnKind?, isPostgresBuiltin: Bool) {
        self.init(
            name: name, sourceType: sourceType, kind: kind, sourceKind: PostgresConnector.typeName,
            sourceTypeIsPortable: isPostgresBuiltin)
    }
}
