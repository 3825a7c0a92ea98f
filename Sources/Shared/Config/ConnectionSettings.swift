import Core

/// The connection keys of a source or destination, secrets included. Its `description` shows
/// every password (`password`, `sslpassword`, the password in a `url`) as `***`.
package struct ConnectionSettings: Sendable, Equatable, CustomStringConvertible {
    /// The connection keywords in configuration order. For PostgreSQL these are libpq keywords,
    /// with `database` renamed to libpq's `dbname`: `[("host", "db"), ("dbname", "appdb"), …]`.
    /// For Snowflake they are the keys as written (`account`, `user`, `database`, …).
    package var parameters: [(keyword: String, value: String)]
    /// A libpq connection URI (`postgresql://…`), given instead of host, port, database, user and password.
    package var url: String?
    /// SQLite's database file.
    package var path: String?
    /// The schema tables are read from or written to.
    package var schema: String?

    package init(
        parameters: [(keyword: String, value: String)] = [], url: String? = nil, path: String? = nil,
        schema: String? = nil
    ) {
        self.parameters = parameters
        self.url = url
        self.path = path
        self.schema = schema
    }

    /// The value of one keyword (the last one given).
    package func value(of keyword: String) -> String? {
        parameters.last { $0.keyword == keyword }?.value
    }

    package static func == (left: ConnectionSettings, right: ConnectionSettings) -> Bool {
        left.parameters.count == right.parameters.count
            && zip(left.parameters, right.parameters).allSatisfy { $0.keyword == $1.keyword && $0.value == $1.value }
            && left.url == right.url && left.path == right.path && left.schema == right.schema
    }

    /// `host=db dbname=appdb user=readonly password=***`, in libpq's conninfo style (values with
    /// spaces or quotes are single-quoted), secrets shown as `***`.
    package var description: String {
        var parts: [String] = []
        if let url { parts.append("url=" + Self.conninfoQuoted(Self.redactedURL(url))) }
        for (keyword, value) in parameters {
            parts.append("\(keyword)=" + (Self.isSecret(keyword) ? "***" : Self.conninfoQuoted(value)))
        }
        if let path { parts.append("path=" + Self.conninfoQuoted(path)) }
        if let schema { parts.append("schema=" + Self.conninfoQuoted(schema)) }
        return parts.joined(separator: " ")
    }

    /// Whether a keyword's value is a secret: `password`, `sslpassword`, a key's passphrase, a token.
    static func isSecret(_ keyword: String) -> Bool {
        let keyword = keyword.lowercased()
        return keyword.contains("password") || keyword.contains("passphrase") || keyword == "token"
    }

    /// The URI with the password of its user info and any `password`-like query parameter
    /// replaced: `postgresql://u:secret@h/db?sslpassword=x` → `postgresql://u:***@h/db?sslpassword=***`.
    package static func redactedURL(_ url: String) -> String {
        var text = url
        if let scheme = text.firstRange(of: "://") {
            let rest = text[scheme.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") {
                text.replaceSubrange(text.index(after: colon)..<at, with: "***")
            }
        }
        guard let question = text.firstIndex(of: "?") else { return text }
        let pairs = text[text.index(after: question)...].split(separator: "&", omittingEmptySubsequences: false)
            .map { pair -> String in
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                if parts.count == 2, isSecret(String(parts[0])) { return "\(parts[0])=***" }
                return String(pair)
            }
        return text[...question] + pairs.joined(separator: "&")
    }

    /// The secrets a URI holds — its user info's password and `password`-like query values —
    /// raw and percent-decoded, for redacting messages that quote them.
    package static func urlSecrets(_ url: String) -> [String] {
        var raw: [String] = []
        if let scheme = url.firstRange(of: "://") {
            let rest = url[scheme.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") {
                raw.append(String(rest[rest.index(after: colon)..<at]))
            }
        }
        if let question = url.firstIndex(of: "?") {
            for pair in url[url.index(after: question)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                if parts.count == 2, isSecret(String(parts[0])) { raw.append(String(parts[1])) }
            }
        }
        return raw.flatMap { [$0, percentDecoded($0)] }.filter { !$0.isEmpty }
    }

    /// `%41` → `A`; a malformed escape is kept as written.
    static func percentDecoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        let source = Array(text.utf8)
        var index = 0
        while index < source.count {
            if source[index] == UInt8(ascii: "%"), index + 2 < source.count,
                let value = UInt8(String(decoding: source[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                index += 3
            } else {
                bytes.append(source[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A value as libpq's conninfo writes it: bare, or single-quoted with `\'` and `\\` escapes
    /// when it is empty or holds a space, a quote or a backslash.
    static func conninfoQuoted(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "'" || $0 == "\\" || $0.isNewline }
        guard needsQuotes else { return value }
        var quoted = "'"
        for character in value {
            if character == "'" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "'"
    }
}
