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
}
