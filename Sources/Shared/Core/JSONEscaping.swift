/// JSON string escaping on bytes, shared by every writer of JSON text (the stream, the state
/// file, `--log-format json`).
package enum JSONEscaping {
    /// Appends `text` as a quoted JSON string to `output`, escaping quotes, backslashes and every
    /// control character below U+0020 (RFC 8259 section 7).
    package static func appendQuoted<S: StringProtocol>(_ text: S, to output: inout [UInt8]) {
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { appendQuoted(bytes: $0, to: &output) }
        if done == nil {
            Array(text.utf8).withUnsafeBufferPointer { appendQuoted(bytes: $0, to: &output) }
        }
    }

    /// `text` as a quoted JSON string.
    package static func quoted<S: StringProtocol>(_ text: S) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 2)
        appendQuoted(text, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
