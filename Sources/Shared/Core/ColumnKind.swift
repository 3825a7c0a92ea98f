/// What a column holds, in the terms of the stream's type mapping (SPEC section 4). The bridge
/// between a source's types and the types of a table `conduit-load` creates: each source maps
/// its types to a kind, each destination maps kinds to its own type names. `description` is the
/// mapping's name for the kind (`--describe` prints it).
package indirect enum ColumnKind: Sendable, Equatable, CustomStringConvertible {
    case smallint, integer, bigint, numeric, real, double, boolean
    case text, uuid, json, jsonb
    case timestamptz, timestamp, date, time, timetz, interval
    case bytea
    case array(ColumnKind)

    package var isArray: Bool {
        if case .array = self { return true }
        return false
    }

    package var description: String {
        switch self {
        case .array(let element): "\(element)[]"
        case .smallint: "smallint"
        case .integer: "integer"
        case .bigint: "bigint"
        case .numeric: "numeric"
        case .real: "real"
        case .double: "double precision"
        case .boolean: "boolean"
        case .text: "text"
        case .uuid: "uuid"
        case .json: "json"
        case .jsonb: "jsonb"
        case .timestamptz: "timestamp with time zone"
        case .timestamp: "timestamp without time zone"
        case .date: "date"
        case .time: "time without time zone"
        case .timetz: "time with time zone"
        case .interval: "interval"
        case .bytea: "bytea"
        }
    }

    /// The kind a name of the mapping stands for (the inverse of `description`): `bigint`,
    /// `double precision`, `integer[]`; nil for a name outside it.
    package init?(name: String) {
        if name.hasSuffix("[]") {
            guard let element = ColumnKind(name: String(name.dropLast(2))) else { return nil }
            self = .array(element)
            return
        }
        let all: [ColumnKind] = [
            .smallint, .integer, .bigint, .numeric, .real, .double, .boolean, .text, .uuid, .json, .jsonb,
            .timestamptz, .timestamp, .date, .time, .timetz, .interval, .bytea,
        ]
        guard let kind = all.first(where: { $0.description == name }) else { return nil }
        self = kind
    }
}
