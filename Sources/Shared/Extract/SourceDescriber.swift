/// One result column of a resource's query, as its source describes it without running the query.
public struct SourceColumn: Sendable, Equatable {
    public var name: String
    /// The source's own name for the type: `format_type` on PostgreSQL (`numeric(12,2)`,
    /// `integer[]`), the declared type on SQLite (`""` for an expression column).
    public var sourceType: String
    /// The mapped kind; nil for a type outside the mapping (a PostgreSQL enum travels as text)
    /// or an undeclared SQLite column (its values decide).
    public var kind: ColumnKind?
    /// Whether `sourceType` names a built-in PostgreSQL type, which a PostgreSQL destination can use verbatim.
    public var isPostgresBuiltin: Bool
    /// A SQLite table column declared without a type (unlike an expression, whose values decide).
    public var isUntypedTableColumn: Bool

    public init(name: String, sourceType: String, kind: ColumnKind?, isPostgresBuiltin: Bool, isUntypedTableColumn: Bool = false) {
        self.name = name
        self.sourceType = sourceType
        self.kind = kind
        self.isPostgresBuiltin = isPostgresBuiltin
        self.isUntypedTableColumn = isUntypedTableColumn
    }

    /// The type a PostgreSQL destination creates for this column, nil when the values must decide.
    public var postgresType: String? {
        if isPostgresBuiltin { return sourceType }
        if let kind { return kind.postgresName }
        // A PostgreSQL type the destination may not have (an enum, a domain): its text.
        return sourceType.isEmpty ? nil : (sourceType.hasSuffix("[]") ? "text[]" : "text")
    }

    /// The declared type a SQLite destination creates for this column (`""`: none, like the
    /// source's), nil when the values must decide.
    public func sqliteType(fromSQLite: Bool) -> String? {
        if fromSQLite { return sourceType.isEmpty && !isUntypedTableColumn ? nil : sourceType }
        if let kind { return kind.sqliteName }
        return sourceType.isEmpty ? nil : "TEXT"
    }

    /// One line of `conduit-extract --describe`.
    public var jsonValue: JSONValue {
        .object([
            JSONMember(key: "name", value: .string(name)),
            JSONMember(key: "source_type", value: .string(sourceType)),
            JSONMember(key: "kind", value: kind.map { .string($0.description) } ?? .null),
        ])
    }
}

/// Learns a resource's result columns and their types from its source — PostgreSQL prepares and
/// describes the query, SQLite compiles it — without running it. `conduit-load` uses this to give
/// the tables it creates the source's types; the stream itself stays plain NDJSON.
public enum SourceDescriber {
    /// The first PostgreSQL object id for user-defined objects: below it, every type is built in.
    static let firstUserObjectID: UInt32 = 16_384

    public static func describe(resource: ResourceConfig, in configuration: Configuration) throws(ConduitError) -> [SourceColumn] {
        let source = configuration.source(of: resource)
        switch source.type {
        case .postgresql: return try describePostgres(resource: resource, source: source)
        case .sqlite: return try describeSQLite(resource: resource, source: source)
        }
    }

    private static func describePostgres(resource: ResourceConfig, source: SourceConfig) throws(ConduitError) -> [SourceColumn] {
        let sql = QueryTemplate(resource.query, dialect: .postgresql).rendered(placeholderReplacement: "$1")
        do {
            let connection = try PostgresConnection(settings: source.connection, applicationName: "conduit-describe")
            let context = "describing the query of \(resource.name) on \(connection.label)"
            if let schema = source.connection.schema {
                try connection.execute("SET search_path = \(try connection.escapeLiteral(schema))", context: context)
            }
            let described = try connection.describe(sql, context: context)
            let count = described.columnCount
            guard count > 0 else { return [] }
            let oids = (0..<count).map { String(described.columnType($0).rawValue) }
            let modifiers = (0..<count).map { String(described.columnTypeModifier($0)) }
            let names = try connection.query(
                "SELECT format_type(t.oid, t.modifier) FROM unnest($1::oid[], $2::int4[]) WITH ORDINALITY AS t(oid, modifier, n) ORDER BY t.n",
                parameters: ["{" + oids.joined(separator: ",") + "}", "{" + modifiers.joined(separator: ",") + "}"],
                context: context)
            return (0..<count).map { column in
                let type = described.columnType(column)
                return SourceColumn(
                    name: described.columnName(column), sourceType: names.string(row: column, column: 0) ?? type.description,
                    kind: ColumnKind(postgres: type), isPostgresBuiltin: type.rawValue < firstUserObjectID)
            }
        } catch {
            throw error.conduitError
        }
    }

    private static func describeSQLite(resource: ResourceConfig, source: SourceConfig) throws(ConduitError) -> [SourceColumn] {
        let sql = QueryTemplate(resource.query, dialect: .sqlite).rendered(placeholderReplacement: "?1")
        let path = source.connection.path ?? ""
        do {
            let database = try SQLiteDatabase(path: path, readOnly: true)
            let statement = try database.prepare(sql, context: "describing the query of \(resource.name) on \(path)")
            return (0..<statement.columnCount).map { column in
                let declared = statement.declaredType(column)
                return SourceColumn(
                    name: statement.columnName(column), sourceType: declared,
                    kind: ColumnKind(sqliteDeclaredType: declared), isPostgresBuiltin: false,
                    isUntypedTableColumn: declared.isEmpty && statement.isTableColumn(column))
            }
        } catch {
            throw error.conduitError
        }
    }
}
