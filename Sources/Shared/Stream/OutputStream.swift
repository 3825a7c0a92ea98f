import Glibc

/// Writes rows to a file descriptor (stdout) in large chunks: callers fill a local buffer up to
/// `flushThreshold` and hand it over, since a write per line is many times slower.
public final class OutputStream {
    static let flushThreshold = 256 * 1024
    let fd: Int32
    public private(set) var bytesWritten = 0

    public init(fd: Int32 = 1) {
        self.fd = fd
    }

    /// Writes `bytes` and empties it (keeping its capacity); a closed reader (EPIPE) or a full
    /// disk is an I/O error.
    public func write(_ bytes: inout [UInt8]) throws(ConduitError) {
        guard !bytes.isEmpty else { return }
        do {
            try FileIO.writeAll(bytes, to: fd)
        } catch {
            throw .io("writing rows to stdout: \(error)")
        }
        bytesWritten += bytes.count
        bytes.removeAll(keepingCapacity: true)
    }
}

@available(*, unavailable)
extension OutputStream: Sendable {}
