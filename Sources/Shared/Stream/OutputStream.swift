import Glibc

/// Writes rows to a file descriptor (stdout) in large chunks: callers fill a local buffer up to
/// `flushThreshold` and hand it over, since a write per line is many times slower.
///
/// For a checkpointed resource the stream must never *end cleanly* (after a newline) in the middle
/// of a group of rows sharing one incremental value, even when the writer is killed: a reader
/// would take the group as complete, and the next run, starting after that value, would skip the
/// rest. So ``write(_:keepingFrom:)`` holds back the open group, and on a pipe every write is at
/// most `PIPE_BUF` bytes — which the kernel delivers whole or not at all — and ends right after a
/// newline only at the end of what is written. A killed writer then leaves either a cut line (an
/// error downstream) or the end of a complete group.
public final class OutputStream {
    static let flushThreshold = 256 * 1024
    /// A value group larger than this is written before it ends, to keep memory bounded.
    static let largestHeldGroup = 64 << 20
    /// POSIX guarantees atomic pipe writes up to PIPE_BUF (4096 on Linux).
    static let atomicPipeWrite = 4096
    let fd: Int32
    /// Whether `fd` is a pipe, so group-safe writes go out in atomic pieces.
    private let isPipe: Bool
    public private(set) var bytesWritten = 0

    public init(fd: Int32 = 1) {
        self.fd = fd
        var status = stat()
        isPipe = fstat(fd, &status) == 0 && (status.st_mode & S_IFMT) == S_IFIFO
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

    /// Writes `bytes[..<groupStart]` — every complete value group — group-safely, and keeps the
    /// open group at the front of `bytes`. Returns how many bytes were written.
    @discardableResult
    public func write(_ bytes: inout [UInt8], keepingFrom groupStart: Int) throws(ConduitError) -> Int {
        var end = groupStart
        if end == 0 && bytes.count > Self.largestHeldGroup { end = bytes.count }
        guard end > 0 else { return 0 }
        let failure: SystemCallError? = bytes.withUnsafeBytes { raw in
            do throws(SystemCallError) {
                try writeGroupSafe(UnsafeRawBufferPointer(rebasing: raw[0..<end]))
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw .io("writing rows to stdout: \(failure)") }
        bytesWritten += end
        bytes.removeSubrange(0..<end)
        return end
    }

    /// The extractors' flush: everything when rows are not grouped (`groups` nil), else every
    /// complete value group, keeping the open one.
    public func flush(_ bytes: inout [UInt8], groups: inout ValueGroupTracker?) throws(ConduitError) {
        guard var tracker = groups else { return try write(&bytes) }
        tracker.removedPrefix(try write(&bytes, keepingFrom: tracker.groupStart))
        groups = tracker
    }

    private func writeGroupSafe(_ buffer: UnsafeRawBufferPointer) throws(SystemCallError) {
        guard isPipe else {
            try FileIO.writeAll(buffer, to: fd)
            return
        }
        var offset = 0
        while offset < buffer.count {
            var pieceEnd = min(offset + Self.atomicPipeWrite, buffer.count)
            // Inside the group-complete region, end a piece mid-line: one byte before a newline.
            if pieceEnd < buffer.count && buffer[pieceEnd - 1] == 0x0A { pieceEnd -= 1 }
            try FileIO.writeAll(UnsafeRawBufferPointer(rebasing: buffer[offset..<pieceEnd]), to: fd)
            offset = pieceEnd
        }
    }
}

/// Follows where the open group of rows sharing one incremental value starts in an output
/// buffer, from the JSON bytes of each row's value.
public struct ValueGroupTracker {
    private var value: [UInt8] = []
    private var hasValue = false
    /// Where the open group's first row starts in the buffer.
    public private(set) var groupStart = 0

    public init() {}

    /// After a row was appended at `rowStart` whose incremental value is `valueBytes` (its JSON text).
    @inline(__always)
    public mutating func rowAppended(at rowStart: Int, value valueBytes: UnsafeBufferPointer<UInt8>) {
        if hasValue && valueBytes.elementsEqual(value) { return }
        value.removeAll(keepingCapacity: true)
        value.append(contentsOf: valueBytes)
        hasValue = true
        groupStart = rowStart
    }

    /// After `count` bytes left the front of the buffer.
    public mutating func removedPrefix(_ count: Int) {
        groupStart = max(groupStart - count, 0)
    }
}

@available(*, unavailable)
extension OutputStream: Sendable {}
