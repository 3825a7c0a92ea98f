import Core
import Extract
import Load
import Stream

/// What `pg_type` says about the result-column types Conduit does not know by OID: enums,
/// domains, arrays of those, and built-in types outside the mapping such as `inet[]`. Learned
/// once per query with one catalog query (none when every column's type is known), so the values
/// of an array of any element type become JSON arrays of mapped elements (SPEC section 4).
struct PostgresTypeCatalog: Sendable, Equatable {
    /// One type, as far as the mapping cares.
    enum Entry: Sendable, Equatable {
        /// A domain: its values look like its base type's (`typbasetype`). Met as an array's
        /// element: a column of a domain reaches the client typed as the domain's base type.
        case domain(base: PostgresDataType)
        /// A true array type: `typcategory = 'A'` and its element's `typarray` is this type
        /// (which leaves out `int2vector` and `oidvector`, written space-separated), with the
        /// element type (`typelem`) and the delimiter `array_out` writes between elements (the
        /// element's `typdelim`: `;` for `box`).
        case array(element: PostgresDataType, delimiter: UInt8)
        /// Anything else (an enum, `inet`, a composite, a range): travels as its text.
        case other
    }

    var entries: [PostgresDataType: Entry]

    init(entries: [PostgresDataType: Entry] = [:]) { self.entries = entries }

    /// Domains and arrays nest (a domain over an array of a domain…); PostgreSQL allows no cycles,
    /// and this bounds the walk whatever the catalog says.
    static let maximumDepth = 32

    /// Whether Conduit needs the catalog to map `type`: it is not one of the types it names.
    static func needsLookup(_ type: PostgresDataType) -> Bool { type.sqlName == nil }

    /// From the given types, through domains' base types and arrays' element types, every type
    /// reached, with what the mapping needs of it. `$1` is the types as an `oid[]` literal.
    static let query = """
        WITH RECURSIVE reached(oid) AS (
            SELECT unnest($1::oid[])
          UNION
            SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.typelem END
            FROM reached JOIN pg_type t ON t.oid = reached.oid
            WHERE t.typtype = 'd' OR (t.typcategory = 'A' AND t.typelem <> 0)
        )
        SELECT t.oid, t.typtype, t.typbasetype, t.typelem, coalesce(e.typdelim, ','),
          t.typcategory = 'A' AND t.typelem <> 0 AND e.typarray = t.oid
        FROM reached JOIN pg_type t ON t.oid = reached.oid LEFT JOIN pg_type e ON e.oid = t.typelem
        """

    /// Asks the server about the types among `types` that need it; no query when none does.
    static func load(
        _ types: [PostgresDataType], connection: PostgresConnection, context: String
    ) throws(PostgresError) -> PostgresTypeCatalog {
        var unknown: [PostgresDataType] = []
        for type in types where needsLookup(type) && !unknown.contains(type) { unknown.append(type) }
        guard !unknown.isEmpty else { return PostgresTypeCatalog() }
        let list = "{" + unknown.map { String($0.rawValue) }.joined(separator: ",") + "}"
        let result = try connection.query(query, parameters: [list], context: context)
        return PostgresTypeCatalog(rows: (0..<result.rowCount).map { row in (0..<6).map { result.string(row: row, column: $0) } })
    }

    /// The catalog from the text rows of ``query``: oid, typtype, typbasetype, typelem, delimiter, is-array.
    init(rows: [[String?]]) {
        var entries: [PostgresDataType: Entry] = [:]
        for row in rows {
            guard row.count >= 6, let oid = row[0].flatMap({ UInt32($0) }) else { continue }
            let base = row[2].flatMap { UInt32($0) } ?? 0
            let element = row[3].flatMap { UInt32($0) } ?? 0
            if row[1] == "d", base != 0 {
                entries[PostgresDataType(oid)] = .domain(base: PostgresDataType(base))
            } else if row[5] == "t", element != 0 {
                let delimiter = row[4]?.utf8.first ?? UInt8(ascii: ",")
                entries[PostgresDataType(oid)] = .array(element: PostgresDataType(element), delimiter: delimiter)
            } else {
                entries[PostgresDataType(oid)] = .other
            }
        }
        self.entries = entries
    }

    /// How values of `type` are written: a domain like its base type, an array as a JSON array
    /// of its elements' style, anything else Conduit does not know as a string.
    func style(for type: PostgresDataType) -> PostgresTextEncoder.Style {
        style(for: type, depth: 0)
    }

    private func style(for type: PostgresDataType, depth: Int) -> PostgresTextEncoder.Style {
        if !Self.needsLookup(type) { return PostgresTextEncoder.Style(type) }
        guard depth < Self.maximumDepth else { return .string }
        switch entries[type] {
        case .domain(let base)?: return style(for: base, depth: depth + 1)
        case .array(let element, let delimiter)?: return .array(style(for: element, depth: depth + 1), delimiter: delimiter)
        case .other?, nil: return .string
        }
    }

    /// The kind `--describe` reports for `type`: a domain's base type's; an array of the
    /// element's kind, `text` for an element outside the mapping (an enum, `inet`), whose values
    /// travel as strings and which a destination without that type holds as text; nil for
    /// anything else outside the mapping.
    func kind(for type: PostgresDataType) -> ColumnKind? {
        kind(for: type, depth: 0)
    }

    private func kind(for type: PostgresDataType, depth: Int) -> ColumnKind? {
        if !Self.needsLookup(type) { return ColumnKind(postgres: type) }
        guard depth < Self.maximumDepth else { return nil }
        switch entries[type] {
        case .domain(let base)?: return kind(for: base, depth: depth + 1)
        case .array(let element, _)?: return .array(kind(for: element, depth: depth + 1) ?? .text)
        case .other?, nil: return nil
        }
    }
}
