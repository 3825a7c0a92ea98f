/// An Arrow IPC stream this reader cannot decode: what was wrong, and at which byte of the stream.
///
/// Thrown for a truncated or malformed stream (a Snowflake response cut short or corrupted) and
/// for a well-formed one that uses a feature the reader leaves out on purpose (compression,
/// dictionary encoding, types Snowflake does not send); `isUnsupported` tells the two apart.
package struct ArrowError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What was wrong: `the record batch names 3 buffers, the schema needs 4`.
    package var reason: String
    /// The byte offset in the decoded stream the problem was found at, when there is one.
    package var offset: Int?
    /// Whether the stream looks well-formed but uses something this reader does not implement.
    package var isUnsupported: Bool

    package init(_ reason: String, at offset: Int? = nil, isUnsupported: Bool = false) {
        self.reason = reason
        self.offset = offset
        self.isUnsupported = isUnsupported
    }

    package var description: String {
        let what = isUnsupported ? "unsupported Arrow result" : "malformed Arrow result"
        if let offset { return "\(what) at byte \(offset): \(reason)" }
        return "\(what): \(reason)"
    }
}
