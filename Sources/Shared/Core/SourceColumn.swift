/// One result column of a resource's query, as its source describes it without running the query.
package struct SourceColumn: Sendable, Equatable {
    package var name: String
    /// The source's own name for the type: `format_type` on PostgreSQL (`numeric(12,2)`,
    /// `integer[]`), the declared type on SQLite (`""` for an expression column).
    package var sourceType: String
    /// The mapped kind; nil for a type outside the mapping (a PostgreSQL enum travels as text)
    /// or an undeclared SQLite column (its values decide).
    package var kind: ColumnKind?
    /// The `type:` of the source that described the column (`postgresql`, `sqlite`).
    package var sourceKind: String
    /// Whether a destination of the source's own kind can create a column of `sourceType` as
    /// written: a built-in PostgreSQL type (not a user's enum or domain), a SQLite table column's
    /// declared type, even none (not an expression's, whose values decide).
    package var sourceTypeIsPortable: Bool

    package init(name: String, sourceType: String, kind: ColumnKind?, sourceKind: String, sourceTypeIsPortable: Bool) {
        self.name = name
        self.sourceType = sourceType
        self.kind = kind
        self.sourceKind = sourceKind
        self.sourceTypeIsPortable = sourceTypeIsPortable
    }

    /// The type a destination of kind `destinationKind` may create as the source wrote it, nil
    /// when the source is of another kind or its type is not portable.
    package func portableType(to destinationKind: String) -> String? {
        sourceKind == destinationKind && sourceTypeIsPortable ? sourceType : nil
    }
}
