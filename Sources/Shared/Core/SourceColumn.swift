/// One result column of a resource's query, as its source describes it without running the query.
public struct SourceColumn: Sendable, Equatable {
    public var name: String
    /// The source's own name for the type: `format_type` on PostgreSQL (`numeric(12,2)`,
    /// `integer[]`), the declared type on SQLite (`""` for an expression column).
    public var sourceType: String
    /// The mapped kind; nil for a type outside the mapping (a PostgreSQL enum travels as text)
    /// or an undeclared SQLite column (its values decide).
    public var kind: ColumnKind?
    /// The `type:` of the source that described the column (`postgresql`, `sqlite`).
    public var sourceKind: String
    /// Whether a destination of the source's own kind can create a column of `sourceType` as
    /// written: a built-in PostgreSQL type (not a user's enum or domain), a SQLite table column's
    /// declared type, even none (not an expression's, whose values decide).
    public var sourceTypeIsPortable: Bool

    public init(name: String, sourceType: String, kind: ColumnKind?, sourceKind: String, sourceTypeIsPortable: Bool) {
        self.name = name
        self.sourceType = sourceType
        self.kind = kind
        self.sourceKind = sourceKind
        self.sourceTypeIsPortable = sourceTypeIsPortable
    }

    /// The type a destination of kind `destinationKind` may create as the source wrote it, nil
    /// when the source is of another kind or its type is not portable.
    public func portableType(to destinationKind: String) -> String? {
        sourceKind == destinationKind && sourceTypeIsPortable ? sourceType : nil
    }
}
