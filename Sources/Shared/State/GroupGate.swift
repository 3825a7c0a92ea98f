import Core
import Stream

/// Stands between the stream and the loader in `conduit-state commit`: passes value groups on
/// only once they are complete. Rows sharing the open group's value are held back (in a
/// ``SpillBuffer``: memory, then a temporary file) until a greater value arrives, or until the end
/// of the stream is known to be the extract's real end (``release()``); an end that is not
/// confirmed drops them (``drop()``), and the next run reads the group again, whole.
///
/// Without groups to keep whole (a resource that is not incremental, or `ordered: false`),
/// everything passes at once.
final class GroupGate {
    private let holdsGroups: Bool
    private let loader: ChildProcess
    private let held: SpillBuffer
    /// Where the last group that began in the current chunk begins.
    private var lastGroupStart: Int?
    /// The loader stopped reading (EPIPE): it has ended or is ending.
    private(set) var loaderStoppedReading = false
    /// Bytes passed to the loader.
    private(set) var bytesPassed = 0

    init(holdsGroups: Bool, loader: ChildProcess, memoryLimit: Int = SpillBuffer.defaultMemoryLimit) {
        self.holdsGroups = holdsGroups
        self.loader = loader
        held = SpillBuffer(memoryLimit: memoryLimit)
    }

    /// Bytes held back: the open group.
    var heldBytes: Int { held.count }

    /// A line at `offset` in the current chunk begins a new value group.
    func groupBegins(at offset: Int) {
        lastGroupStart = offset
    }

    /// At the end of a chunk of complete lines: passes on what is complete and holds the rest.
    /// Returns how much of the chunk it has taken (all of it).
    func chunkEnded(_ chunk: UnsafeBufferPointer<UInt8>) throws(ConduitError) -> Int {
        defer { lastGroupStart = nil }
        let raw = UnsafeRawBufferPointer(chunk)
        guard holdsGroups else {
            try pass(raw)
            return chunk.count
        }
        if let start = lastGroupStart {
            try release()
            try pass(UnsafeRawBufferPointer(rebasing: raw[0..<start]))
            try held.append(UnsafeRawBufferPointer(rebasing: raw[start...]))
        } else {
            try held.append(raw)
        }
        return chunk.count
    }

    /// The open group is complete: pass it on.
    func release() throws(ConduitError) {
        guard !held.isEmpty else { return }
        try held.drain { (piece) throws(ConduitError) in try pass(piece) }
    }

    /// The open group may be partial: forget it.
    func drop() {
        held.discard()
    }

    /// The first line of the held group (its first line is line `firstLine` of the stream) that
    /// is not a valid JSON object, or holds `uniqueKey` twice, as a refusal naming it; nil when
    /// every one is fine. For a group the loader will never see (``drop()``), when the commit
    /// relied on the loader to validate.
    func firstInvalidHeldLine(firstLine: Int, uniqueKey: [UInt8]? = nil) throws(ConduitError) -> String? {
        var partial: [UInt8] = []
        var lineNumber = firstLine
        var problem: String?
        try held.drain { (piece) throws(ConduitError) in
            guard problem == nil else { return }
            var start = 0
            let bytes = piece.bindMemory(to: UInt8.self)
            for index in 0..<bytes.count where bytes[index] == 0x0A {
                let line: [UInt8]
                if partial.isEmpty {
                    line = Array(bytes[start..<index])
                } else {
                    partial.append(contentsOf: bytes[start..<index])
                    line = partial
                    partial.removeAll(keepingCapacity: true)
                }
                start = index + 1
                problem = Self.refusal(of: line, lineNumber: lineNumber, uniqueKey: uniqueKey)
                if problem != nil { return }
                lineNumber += 1
            }
            partial.append(contentsOf: bytes[start...])
        }
        return problem
    }

    /// "line N: not a JSON object: …" when `line` (not blank) is not a valid JSON object, and
    /// the loader's refusal when it holds `uniqueKey` twice.
    private static func refusal(of line: [UInt8], lineNumber: Int, uniqueKey: [UInt8]?) -> String? {
        line.withUnsafeBufferPointer { buffer in
            if LineReader.isBlank(buffer) { return nil }
            return IncrementalTracker.fault(of: buffer, lineNumber: lineNumber, heldTwice: uniqueKey)
        }
    }

    private func pass(_ bytes: UnsafeRawBufferPointer) throws(ConduitError) {
        guard !bytes.isEmpty, !loaderStoppedReading else { return }
        if try loader.write(bytes) {
            bytesPassed += bytes.count
        } else {
            loaderStoppedReading = true
        }
    }
}

@available(*, unavailable)
extension GroupGate: Sendable {}
