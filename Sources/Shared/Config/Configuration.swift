/// Kinds of source.
public enum SourceType: String, Sendable, CaseIterable { case postgresql, sqlite }
/// Kinds of destination.
public enum DestinationType: String, Sendable, CaseIterable { case postgresql, sqlite, snowflake }
/// How a load writes its table (SPEC section 6).
public enum WriteMode: String, Sendable, CaseIterable { case append, replace, merge }

/// The connection keys of a source or destination, secrets included. Its `description`
/// shows every password as `***`.
public struct ConnectionSettings: Sendable, Equatable, CustomStringConvertible {
    /// libpq keywords in configuration order, with `database` renamed to libpq's `dbname`.
    public var parameters: [(keyword: String, value: String)]
    /// A libpq connection URI (`postgresql://…`), instead of the separate keywords.
    public var url: String?
    /// SQLite's database file.
    public var path: String?
    public var schema: String?

    public init(parameters: [(keyword: String, value: String)] = [], url: String? = nil, path: String? = nil, schema: String? = nil) {
        self.parameters = parameters
        self.url = url
        self.path = path
        self.schema = schema
    }

    /// The value of one keyword.
    public func value(of keyword: String) -> String? {
        parameters.last { $0.keyword == keyword }?.value
    }

    public static func == (left: ConnectionSettings, right: ConnectionSettings) -> Bool {
        left.parameters.map { "\($0.keyword)=\($0.value)" } == right.parameters.map { "\($0.keyword)=\($0.value)" }
            && left.url == right.url && left.path == right.path && left.schema == right.schema
    }

    static func isSecret(_ keyword: String) -> Bool { keyword.contains("password") }

    public var description: String {
        var parts = parameters.map { "\($0.keyword)=\(Self.isSecret($0.keyword) ? "***" : $0.value)" }
        if let url { parts.append("url=\(Self.redactedURL(url))") }
        if let path { parts.append("path=\(path)") }
        if let schema { parts.append("schema=\(schema)") }
        return parts.joined(separator: " ")
    }

    /// `postgresql://user:secret@host/db?password=x` → `postgresql://user:***@host/db?password=***`.
    static func redactedURL(_ url: String) -> String {
        var text = url
        if let scheme = text.firstRange(of: "://") {
            let rest = text[scheme.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") {
                text.replaceSubrange(rest.index(after: colon)..<at, with: "***")
            }
        }
        guard let query = text.firstIndex(of: "?") else { return text }
        let pairs = text[text.index(after: query)...].split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count == 2, isSecret(String(parts[0])) { return "\(parts[0])=***" }
            return String(pair)
        }
        return text[...query] + pairs.joined(separator: "&")
    }
}

public struct SourceConfig: Sendable, Equatable {
    public var name: String
    public var type: SourceType
    public var connection: ConnectionSettings
}

public struct DestinationConfig: Sendable, Equatable {
    public var name: String
    public var type: DestinationType
    public var connection: ConnectionSettings
    public var table: String?
    public var mode: WriteMode?
    public var primaryKey: [String]?
    public var batchSize: Int?
}

public struct ResourceConfig: Sendable, Equatable {
    public var name: String
    public var source: String
    public var destination: String
    public var query: String
    public var incrementalColumn: String?
    /// `:last_value` on the first run, instead of 0.
    public var initialValue: StateValue?
    public var table: String?
    public var mode: WriteMode?
    public var primaryKey: [String]?
    public var batchSize: Int?
    /// Whether the query returns rows in non-decreasing incremental_column order (default true).
    public var ordered: Bool

    public var isIncremental: Bool { incrementalColumn != nil }
}

/// A validated `ingest.yml`.
public struct Configuration: Sendable, Equatable {
    /// The file it came from, as named.
    public var path: String
    public var sources: [SourceConfig]
    public var destinations: [DestinationConfig]
    public var resources: [ResourceConfig]
    public var stateFile: String?

    /// The named resource, or a configuration error suggesting the closest name.
    public func resource(named name: String) throws(ConduitError) -> ResourceConfig {
        if let found = resources.first(where: { $0.name == name }) { return found }
        let names = resources.map(\.name)
        let suggestion = KeySuggestion.closest(to: name, among: names).map { " (did you mean '\($0)'?)" } ?? ""
        let known = names.isEmpty ? "it defines none" : "it defines " + names.joined(separator: ", ")
        throw .configuration("\(path): no resource named '\(name)'\(suggestion); \(known)")
    }

    public func source(of resource: ResourceConfig) -> SourceConfig {
        guard let source = sources.first(where: { $0.name == resource.source }) else {
            preconditionFailure("validation guarantees source \(resource.source) exists")
        }
        return source
    }

    public func destination(of resource: ResourceConfig) -> DestinationConfig {
        guard let destination = destinations.first(where: { $0.name == resource.destination }) else {
            preconditionFailure("validation guarantees destination \(resource.destination) exists")
        }
        return destination
    }

    /// The resource's table, else the destination's, else the resource's name.
    public func effectiveTable(of resource: ResourceConfig) -> String {
        resource.table ?? destination(of: resource).table ?? resource.name
    }

    public func effectiveMode(of resource: ResourceConfig) -> WriteMode {
        resource.mode ?? destination(of: resource).mode ?? .append
    }

    public func effectivePrimaryKey(of resource: ResourceConfig) -> [String]? {
        resource.primaryKey ?? destination(of: resource).primaryKey
    }

    public func effectiveBatchSize(of resource: ResourceConfig) -> Int? {
        resource.batchSize ?? destination(of: resource).batchSize
    }
}

/// Suggests the closest known word to a misspelt one.
enum KeySuggestion {
    /// The closest candidate within a small edit distance, or nil.
    static func closest(to word: String, among candidates: [String]) -> String? {
        let limit = max(2, word.count / 3)
        var best: (String, Int)?
        for candidate in candidates {
            let distance = editDistance(word.lowercased(), candidate.lowercased())
            if distance <= limit, distance < (best?.1 ?? Int.max) { best = (candidate, distance) }
        }
        if best == nil, let prefixMatch = candidates.first(where: { $0.hasPrefix(word) && word.count >= 4 }) {
            return prefixMatch
        }
        return best?.0
    }

    /// Damerau–Levenshtein (optimal string alignment) distance.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}
