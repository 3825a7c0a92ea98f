package import Core

/// Reads NDJSON from a file descriptor in large chunks and hands out its lines, without the
/// newline, numbered from 1. Blank lines (only spaces, tabs, carriage returns) are skipped but
/// counted, so numbers match what `sed -n Np` shows. A last line without its newline means the
/// stream was cut: an error, never a row.
///
/// Waiting for input, it also wakes for signals (when ``SignalForwarding`` is installed) and asks
/// ``interruption`` whether to stop, so a caller that also watches a child process never blocks
/// past the child's end.
package struct LineReader {
    /// Why reading stopped without an error.
    package enum Outcome: Sendable, Equatable {
        case endOfStream
        /// SIGINT or SIGTERM arrived (``SignalForwarding`` must be installed).
        case stopped(signal: Int32)
        /// ``interruption`` asked to stop.
        case interrupted
    }

    static let chunkSize = 1 << 20
    private let descriptor: Int32
    /// Asked before every wait for input; true stops reading with ``Outcome/interrupted``.
    package var interruption: (() -> Bool)?
    /// Called at least every `interval` seconds while reading, also while no input comes (a
    /// destination keeping an idle session alive); its error stops reading.
    package var tick: (interval: Double, action: () throws(ConduitError) -> Void)?
    private var lastTick = MonotonicClock.now
    /// Bytes read so far.
    package private(set) var bytesRead = 0
    package private(set) var lineNumber = 0

    package init(descriptor: Int32 = 0) {
        self.descriptor = descriptor
    }

    /// Calls `body` with each non-blank line and its number; the bytes are valid only during the call.
    package mutating func forEachLine(
        _ body: (UnsafeBufferPointer<UInt8>, Int) throws(ConduitError) -> Void
    ) throws(ConduitError) -> Outcome {
        try forEachLine(line: { (line, number, _) throws(ConduitError) in try body(line, number) }, chunkEnd: { $0.count })
    }

    /// The general form, for a caller that passes the bytes on. `line` gets each non-blank line,
    /// its number and its offset in the current chunk. After a chunk's lines, `chunkEnd` gets
    /// the chunk — every complete line read so far that it has not let go of — and returns the
    /// offset to keep from: those bytes start the next chunk (their lines are not handed out
    /// again). Returning the chunk's count lets go of everything.
    package mutating func forEachLine(
        line body: (UnsafeBufferPointer<UInt8>, Int, Int) throws(ConduitError) -> Void,
        chunkEnd: (UnsafeBufferPointer<UInt8>) throws(ConduitError) -> Int
    ) throws(ConduitError) -> Outcome {
        var buffer = [UInt8](repeating: 0, count: Self.chunkSize)
        var filled = 0
        // Where the first line not yet handed out starts: kept bytes lie before it.
        var partialStart = 0
        while true {
            if let signal = SignalForwarding.stopSignal { return .stopped(signal: signal) }
            if let interruption, interruption() { return .interrupted }
            if let tick, MonotonicClock.now - lastTick >= tick.interval {
                lastTick = MonotonicClock.now
                try tick.action()
            }
            switch try waitForInput() {
            case .ready: break
            case .wokenUp: continue
            }
            if filled == buffer.count {
                // One line (or one kept run of lines) longer than the buffer: grow it.
                buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count))
            }
            let outcome = buffer.withUnsafeMutableBytes { raw in
                SystemCall.read(descriptor, into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))
            }
            let count: Int
            switch outcome {
            case .bytes(let read): count = read
            case .interrupted, .wouldBlock: continue
            case .failed(let error): throw .io("reading stdin: \(error)")
            case .end: count = 0
            }
            if count == 0 {
                if filled > partialStart {
                    throw .badInput(
                        "line \(lineNumber + 1): the stream ended without a newline after the last line (it was cut short)")
                }
                return .endOfStream
            }
            let scanFrom = filled
            filled += count
            bytesRead += count
            var number = lineNumber
            let keepFrom: Int = try buffer.withUnsafeBufferPointer { (all) throws(ConduitError) -> Int in
                guard all.baseAddress != nil else { return 0 }
                var lineStart = partialStart
                var cursor = scanFrom
                while cursor < filled, let newline = SystemCall.firstNewline(in: all, from: cursor, to: filled) {
                    number += 1
                    let line = UnsafeBufferPointer(rebasing: all[lineStart..<newline])
                    if !Self.isBlank(line) { try body(line, number, lineStart) }
                    lineStart = newline + 1
                    cursor = lineStart
                }
                partialStart = lineStart
                guard lineStart > 0 else { return 0 }
                return min(try chunkEnd(UnsafeBufferPointer(rebasing: all[0..<lineStart])), lineStart)
            }
            lineNumber = number
            if keepFrom > 0 {
                let remaining = filled - keepFrom
                if remaining > 0 {
                    buffer.withUnsafeMutableBytes { raw in
                        SystemCall.moveBytes(in: raw, from: keepFrom, to: 0, count: remaining)
                    }
                }
                filled = remaining
                partialStart -= keepFrom
            }
        }
    }

    /// Waits until the descriptor is readable, a signal wakes the process up, or the ``tick``
    /// is due. Without ``SignalForwarding`` installed or a tick the read itself waits.
    private func waitForInput() throws(ConduitError) -> SystemCall.InputReadiness {
        let wakeUp = SignalForwarding.wakeUpFD
        guard wakeUp >= 0 || tick != nil else { return .ready }
        switch SystemCall.waitForInput(descriptor, wakeUp: wakeUp, timeout: tick?.interval) {
        case .failure(let error):
            throw .io("waiting for input: \(error)")
        case .success(let (readiness, wakeUpFired)):
            if wakeUpFired { SignalForwarding.drainWakeUps() }
            return readiness
        }
    }

    /// Only spaces, tabs and carriage returns (or nothing).
    @inline(__always)
    package static func isBlank(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        line.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
    }
}
