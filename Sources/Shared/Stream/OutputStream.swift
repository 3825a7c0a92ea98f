import Glibc

/// Buffered writes to a file descriptor (stdout): rows are appended to `buffer` and written in
/// large chunks, since a write per line is many times slower.
public final class OutputStream {
    static let flushThreshold = 256 * 1024
    let fd: Int32
    var buffer: [UInt8] = []
    public private(set) var bytesWritten = 0

    public init(fd: Int32 = 1) {
        self.fd = fd
        buffer.reserveCapacity(Self.flushThreshold + 64 * 1024)
    }

    /// Writes `bytes` and empties it (keeping its capacity), for callers that fill a local buffer.
    public func write(_ bytes: inout [UInt8]) throws(ConduitError) {
        try flush()
        guard !bytes.isEmpty else { return }
        do {
            try FileIO.writeAll(bytes, to: fd)
        } catch {
            throw .io("writing rows to stdout: \(error)")
        }
        bytesWritten += bytes.count
        bytes.removeAll(keepingCapacity: true)
    }

    /// Writes what is buffered; a closed reader (EPIPE) or full disk is an I/O error.
    public func flush() throws(ConduitError) {
        guard !buffer.isEmpty else { return }
        do {
            try FileIO.writeAll(buffer, to: fd)
        } catch {
            throw .io("writing rows to stdout: \(error)")
        }
        bytesWritten += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }
}

@available(*, unavailable)
extension OutputStream: Sendable {}
