package import Core

/// Writes rows to a file descriptor (stdout) in large chunks: callers fill a local buffer up to
/// `flushThreshold` and hand it over, since a write per line is many times slower.
///
/// For an ordered incremental resource the stream must never carry part of a group of rows
/// sharing one incremental value: a reader that took the part for the whole would commit the
/// group's value, and the next run, starting after it, would skip the rest. So the open group is
/// held back — in memory up to ``SpillBuffer/defaultMemoryLimit``, beyond it in a temporary file —
/// and written only once the next value has appended (``flush(_:groups:)``) or the query has
/// ended (``finish(_:groups:)``). After a failure (``abandon(_:groups:)``) the complete groups are
/// written and the open one is dropped; the next run reads it again, whole.
///
/// On a pipe every write is at most `PIPE_BUF` bytes — which the kernel delivers whole or not at
/// all — and ends right after a newline only at the end of what may be read as complete, so a
/// killed writer leaves either a cut line (an error downstream) or the end of a complete group.
@usableFromInline
package final class GroupSafeOutput {
    package static let flushThreshold = 256 * 1024
    /// POSIX guarantees atomic pipe writes up to PIPE_BUF (4096 on Linux).
    static let atomicPipeWrite = 4096
    let fd: Int32
    /// Whether value groups are held back (an ordered incremental resource).
    package let holdsValueGroups: Bool
    /// Whether `fd` is a pipe, so group-safe writes go out in atomic pieces.
    package let isPipe: Bool
    /// The open group's bytes that no longer fit in the caller's buffer.
    private let held: SpillBuffer
    /// A byte a non-final group-safe write kept back, so that no piece ends after a newline.
    private var carried: UInt8?
    package private(set) var bytesWritten = 0
    /// A running hash of every byte written, kept on a pipe only: what `conduit-extract` confirms
    /// to `conduit-state commit`, which compares it with the bytes it received.
    package private(set) var digest = StreamDigest()
    /// A value at or above every incremental value written so far (nil before the first flush):
    /// what a failed extract records, so that the commit never moves the state above what it read.
    package private(set) var valueBound: StateValue?
    /// Called once, just before the first byte is written: where `conduit-extract` records the
    /// start of its stream, so the record exists before any reader can see a row.
    package var beforeFirstWrite: (() throws(ConduitError) -> Void)?
    /// Called after each ``flush(_:groups:)`` with the rows the caller has handed over so far:
    /// how `conduit-extract` shows live progress. Nil (the default) counts nothing; set, a flush
    /// counts the newlines of the bytes it had not seen yet — once per 256 KB, not per row.
    package var progress: ((_ rows: Int) -> Void)?
    /// Rows counted for ``progress``, and how much of the caller's buffer was counted (the open
    /// group a flush leaves in it).
    private var rowsCounted = 0
    private var bytesCounted = 0

    package init(fd: Int32 = 1, holdsValueGroups: Bool, memoryLimit: Int = SpillBuffer.defaultMemoryLimit) {
        self.fd = fd
        self.holdsValueGroups = holdsValueGroups
        held = SpillBuffer(memoryLimit: memoryLimit)
        isPipe = PipeWriteEnd.isPipe(fd)
    }

    /// The most the open group may take in memory (the caller's buffer and this stream's together).
    package var memoryLimit: Int { held.memoryLimit }

    /// The extractors' flush, when their buffer is full: everything when groups are not held,
    /// else every complete value group, keeping the open one (in the buffer, or spilled).
    package func flush(_ bytes: inout ByteBuffer, groups: inout ValueGroupTracker?) throws(ConduitError) {
        if let bound = groups?.upperBound { valueBound = bound }
        if let progress {
            let start = min(bytesCounted, bytes.count)
            rowsCounted += bytes.withUnsafeBufferPointer { buffer in
                var newlines = 0
                for byte in buffer[start...] where byte == 0x0A { newlines += 1 }
                return newlines
            }
            progress(rowsCounted)
        }
        defer { bytesCounted = bytes.count }
        guard holdsValueGroups, var tracker = groups else {
            try writeAll(&bytes)
            groups?.removedPrefix(Int.max)
            return
        }
        if tracker.groupChanged {
            try writeHeldThenPrefix(&bytes, upTo: tracker.groupStart, final: true)
            tracker.completedGroupsWritten()
        }
        if bytes.count > held.memoryLimit / 2 || !held.isEmpty {
            // The open group alone fills the buffer: hold it aside so memory stays bounded.
            try bytes.withUnsafeBytes { (raw) throws(ConduitError) in try held.append(raw) }
            bytes.removeAll()
            tracker.removedPrefix(Int.max)
        }
        groups = tracker
    }

    /// At the end of the query's rows: the open group is complete, so everything is written.
    package func finish(_ bytes: inout ByteBuffer, groups: inout ValueGroupTracker?) throws(ConduitError) {
        if let bound = groups?.upperBound { valueBound = bound }
        try writeHeldThenPrefix(&bytes, upTo: bytes.count, final: true)
        groups?.completedGroupsWritten()
    }

    /// A failed write to stdout as the user sees it: a reader that went away (EPIPE) cut the stream.
    static func writeError(_ error: SystemCallError) -> ConduitError {
        if error.isBrokenPipe {
            return .io("writing rows to stdout: the reader closed the pipe before the end of the rows, so the stream was cut")
        }
        return .io("writing rows to stdout: \(error)")
    }

    /// On a pipe, waits until the reader has taken every byte written: a reader that closes the
    /// pipe with bytes unread (`head -n K` whose cut fell short of the end) has cut the stream,
    /// and this end must not pass for the real one. An I/O error then.
    package func awaitReaderDrained() throws(ConduitError) {
        guard isPipe else { return }
        while true {
            guard let unread = PipeWriteEnd.unreadBytes(fd) else { return }
            if unread == 0 { return }
            if PipeWriteEnd.readersGone(fd, within: 0.01) {
                throw .io(
                    "writing rows to stdout: the reader closed the pipe with the last \(unread) bytes unread, so the stream was cut"
                )
            }
        }
    }

    /// After a failure: writes the complete groups and drops the open one, which may be partial.
    /// Errors writing are ignored: the run has failed already, and a reader that sees less
    /// reads it again next time.
    package func abandon(_ bytes: inout ByteBuffer, groups: ValueGroupTracker?) {
        if let bound = groups?.upperBound { valueBound = bound }
        if !holdsValueGroups || groups == nil {
            try? writeAll(&bytes)
        } else if let groups, groups.groupChanged {
            try? writeHeldThenPrefix(&bytes, upTo: groups.groupStart, final: true)
        }
        held.discard()
        bytes.removeAll()
    }

    /// Writes `bytes` and empties it (keeping its capacity); a closed reader (EPIPE) or a full
    /// disk is an I/O error.
    private func writeAll(_ bytes: inout ByteBuffer) throws(ConduitError) {
        guard !bytes.isEmpty else { return }
        try announceFirstWrite()
        if isPipe { bytes.withUnsafeBytes { digest.update($0) } }
        do throws(SystemCallError) {
            try bytes.withUnsafeBytes { (raw) throws(SystemCallError) in try FileIO.writeAll(raw, to: fd) }
        } catch {
            throw Self.writeError(error)
        }
        bytesWritten += bytes.count
        bytes.removeAll()
    }

    /// Writes the held bytes, then `bytes[..<end]`, group-safely; removes them from `bytes`.
    private func writeHeldThenPrefix(_ bytes: inout ByteBuffer, upTo end: Int, final: Bool) throws(ConduitError) {
        if !held.isEmpty {
            try held.drain { (piece) throws(ConduitError) in try writeGroupSafe(piece, final: false) }
        }
        guard end > 0 || carried != nil else { return }
        try bytes.withUnsafeBytes { (raw) throws(ConduitError) in
            try writeGroupSafe(UnsafeRawBufferPointer(rebasing: raw[0..<end]), final: final)
        }
        bytes.removePrefix(end)
    }

    /// Runs ``beforeFirstWrite`` the first time, and never again.
    private func announceFirstWrite() throws(ConduitError) {
        guard let announce = beforeFirstWrite else { return }
        beforeFirstWrite = nil
        try announce()
    }

    /// Writes `buffer` after any carried byte. A final write may end after a newline; a
    /// non-final one keeps its last byte back when it is one, for the next write.
    private func writeGroupSafe(_ buffer: UnsafeRawBufferPointer, final: Bool) throws(ConduitError) {
        if let byte = carried {
            // Only after a spilled group was read back: rare enough for a copy.
            carried = nil
            var joined = [byte]
            joined.append(contentsOf: buffer)
            try joined.withBytes { (raw) throws(ConduitError) in try writeGroupSafe(raw, final: final) }
            return
        }
        try announceFirstWrite()
        do throws(SystemCallError) {
            try writePieces(buffer, final: final)
        } catch {
            throw Self.writeError(error)
        }
    }

    /// Writes in atomic pieces on a pipe; a piece ends right after a newline only at the end of
    /// a final write. Returns nothing; a kept-back last byte goes to `carried`.
    private func writePieces(_ buffer: UnsafeRawBufferPointer, final: Bool) throws(SystemCallError) {
        var end = buffer.count
        if !final, end > 0, buffer[end - 1] == 0x0A {
            carried = 0x0A
            end -= 1
        }
        guard isPipe else {
            try FileIO.writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<end]), to: fd)
            bytesWritten += end
            return
        }
        digest.update(UnsafeRawBufferPointer(rebasing: buffer[0..<end]))
        var offset = 0
        while offset < end {
            var pieceEnd = min(offset + Self.atomicPipeWrite, end)
            // Inside what may be read as complete, end a piece mid-line: one byte before a newline.
            if pieceEnd < end && buffer[pieceEnd - 1] == 0x0A { pieceEnd -= 1 }
            try FileIO.writeAll(UnsafeRawBufferPointer(rebasing: buffer[offset..<pieceEnd]), to: fd)
            offset = pieceEnd
        }
        bytesWritten += end
    }
}

/// Follows the incremental value through an output buffer, from the JSON bytes of each row's
/// value: where the open group of rows sharing one value starts, whether a group ended since the
/// last flush, and the last value (what `conduit-extract` confirms at its end).
@usableFromInline
package struct ValueGroupTracker {
    private var value: [UInt8] = []
    private var hasValue = false
    /// Whether to keep the greatest value too: in a stream without order the last is not it.
    private let tracksMaximum: Bool
    /// The greatest value seen, when ``tracksMaximum``.
    private var maximum: StateValue?
    /// Where the open group's first row starts in the buffer (0 when it started before it).
    package private(set) var groupStart = 0
    /// Whether a group ended since complete groups were last written.
    package private(set) var groupChanged = false

    /// `tracksMaximum`: keep the greatest value as well as the last (a stream with `ordered: false`).
    package init(tracksMaximum: Bool = false) {
        self.tracksMaximum = tracksMaximum
    }

    /// After a row was appended at `rowStart` whose incremental value is `valueBytes` (its JSON text).
    @inline(__always)
    @usableFromInline
    package mutating func rowAppended(at rowStart: Int, value valueBytes: UnsafeBufferPointer<UInt8>) {
        if hasValue && value.withUnsafeBufferPointer({ SystemCall.sameBytes($0, valueBytes) }) { return }
        value.removeAll(keepingCapacity: true)
        value.append(contentsOf: valueBytes)
        if tracksMaximum, let current = lastValue, maximum.map({ current.compare(to: $0) == .descending }) ?? true {
            maximum = current
        }
        if hasValue { groupChanged = true }
        hasValue = true
        groupStart = rowStart
    }

    /// After `count` bytes left the front of the buffer.
    package mutating func removedPrefix(_ count: Int) {
        groupStart = max(groupStart - count, 0)
    }

    /// After everything before the open group was written.
    package mutating func completedGroupsWritten() {
        groupStart = 0
        groupChanged = false
    }

    /// The greatest value appended: the last in an ordered stream, else the tracked maximum.
    /// At or above every value written so far.
    package var upperBound: StateValue? {
        tracksMaximum ? maximum : lastValue
    }

    /// The last row's value as a state value (a number's digits, or a string's text).
    package var lastValue: StateValue? {
        guard hasValue else { return nil }
        switch try? JSONParser.parse(value) {
        case .number(let text)?: return .number(text)
        case .string(let text)?: return .string(text)
        default: return nil
        }
    }
}

@available(*, unavailable)
extension GroupSafeOutput: Sendable {}
