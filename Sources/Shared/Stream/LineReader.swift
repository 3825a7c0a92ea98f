import Glibc

/// Reads NDJSON from a file descriptor in large chunks and hands out its lines, without the
/// newline, numbered from 1. Blank lines (only spaces, tabs, carriage returns) are skipped but
/// counted, so numbers match what `sed -n Np` shows. A last line without its newline means the
/// stream was cut: an error, never a row.
public struct LineReader {
    /// Why reading stopped without an error.
    public enum Outcome: Sendable, Equatable {
        case endOfStream
        /// SIGINT or SIGTERM arrived (``SignalForwarding`` must be installed).
        case stopped(signal: Int32)
    }

    static let chunkSize = 1 << 20
    private let descriptor: Int32
    /// Bytes read so far.
    public private(set) var bytesRead = 0
    public private(set) var lineNumber = 0

    public init(descriptor: Int32 = 0) {
        self.descriptor = descriptor
    }

    /// Calls `body` with each non-blank line and its number; the bytes are valid only during the call.
    public mutating func forEachLine(
        _ body: (UnsafeBufferPointer<UInt8>, Int) throws(ConduitError) -> Void
    ) throws(ConduitError) -> Outcome {
        var buffer = [UInt8](repeating: 0, count: Self.chunkSize)
        var filled = 0
        while true {
            if let signal = SignalForwarding.stopSignal { return .stopped(signal: signal) }
            if filled == buffer.count {
                // One line longer than the buffer: grow it.
                buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count))
            }
            let count = buffer.withUnsafeMutableBytes { raw in
                read(descriptor, raw.baseAddress.map { $0 + filled }, raw.count - filled)
            }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw .io("reading stdin: \(SystemCall.describe(errno))")
            }
            if count == 0 {
                if filled > 0 {
                    throw .badInput("line \(lineNumber + 1): the stream ended without a newline after the last line (it was cut short)")
                }
                return .endOfStream
            }
            let scanFrom = filled
            filled += count
            bytesRead += count
            var number = lineNumber
            let consumed: Int = try buffer.withUnsafeBufferPointer { (all) throws(ConduitError) -> Int in
                guard let base = all.baseAddress else { return 0 }
                var lineStart = 0
                var cursor = scanFrom
                while cursor < filled, let found = memchr(base + cursor, 0x0A, filled - cursor) {
                    let newline = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                    number += 1
                    let line = UnsafeBufferPointer(rebasing: all[lineStart..<newline])
                    if !Self.isBlank(line) { try body(line, number) }
                    lineStart = newline + 1
                    cursor = lineStart
                }
                return lineStart
            }
            lineNumber = number
            if consumed > 0 {
                let remaining = filled - consumed
                if remaining > 0 {
                    buffer.withUnsafeMutableBytes { raw in
                        guard let base = raw.baseAddress else { return }
                        memmove(base, base + consumed, remaining)
                    }
                }
                filled = remaining
            }
        }
    }

    /// Only spaces, tabs and carriage returns (or nothing).
    @inline(__always)
    public static func isBlank(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        line.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
    }
}
