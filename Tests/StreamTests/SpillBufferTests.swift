import Core
import Stream
import Testing

/// `SpillBuffer`: bytes held in memory up to a limit, beyond it in an unlinked temporary file,
/// handed back in order.
@Suite struct SpillBufferTests {
    /// `count` distinct-looking bytes starting from `seed`, so order mistakes show.
    static func pattern(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 31) &+ seed &+ ($0 >> 8)) }
    }

    static func append(_ bytes: [UInt8], to buffer: SpillBuffer) throws {
        // Through Result: converting a typed-throws closure for withUnsafeBytes crashes Swift 6.3's IRGen.
        try bytes.withUnsafeBytes { raw in Result { () throws(ConduitError) in try buffer.append(raw) } }.get()
    }

    /// Drains `buffer`, returning the bytes and the size of each piece handed over.
    static func drain(_ buffer: SpillBuffer) throws -> (bytes: [UInt8], pieces: [Int]) {
        var bytes: [UInt8] = []
        var pieces: [Int] = []
        try buffer.drain { (piece) throws(ConduitError) in
            bytes.append(contentsOf: piece)
            pieces.append(piece.count)
        }
        return (bytes, pieces)
    }

    /// Guards that appends under the limit stay in memory and drain in order, leaving the buffer empty.
    @Test func inMemoryAppendsDrainInOrder() throws {
        let buffer = SpillBuffer(memoryLimit: 1024)
        let parts = [Self.pattern(100, seed: 1), Self.pattern(1, seed: 2), Self.pattern(923, seed: 3)]
        for part in parts { try Self.append(part, to: buffer) }
        #expect(buffer.count == 1024)
        #expect(buffer.spilledBytes == 0)
        #expect(try Self.drain(buffer).bytes == parts.flatMap { $0 })
        #expect(buffer.isEmpty && buffer.count == 0)
        #expect(try Self.drain(buffer).bytes.isEmpty)
    }

    /// Guards that passing the limit moves the held bytes to the temporary file, and that memory
    /// and file drain as one sequence in append order.
    @Test(arguments: [1, 7, 100, 1024, 1025, 5000])
    func spilledAppendsDrainInOrder(partSize: Int) throws {
        let buffer = SpillBuffer(memoryLimit: 1024)
        var expected: [UInt8] = []
        // Enough parts to pass the limit at least twice, whatever their size.
        let parts = max(12, 2100 / partSize + 1)
        for seed in 0..<parts {
            let part = Self.pattern(partSize + seed % 3, seed: seed)
            try Self.append(part, to: buffer)
            expected += part
            #expect(buffer.count == expected.count)
        }
        #expect(buffer.spilledBytes > 0, "\(expected.count) bytes through a 1 KB limit must spill")
        #expect(buffer.count - buffer.spilledBytes <= 1024, "memory stays within the limit")
        let drained = try Self.drain(buffer)
        #expect(drained.bytes == expected)
        #expect(buffer.isEmpty && buffer.spilledBytes == 0)
    }

    /// Guards read-back of more than one temporary-file piece: megabytes come back whole, in pieces of at most 1 MB.
    @Test func largeSpillDrainsInBoundedPieces() throws {
        let buffer = SpillBuffer(memoryLimit: 4096)
        var expected: [UInt8] = []
        for seed in 0..<40 {
            let part = Self.pattern(70_000 + seed, seed: seed)
            try Self.append(part, to: buffer)
            expected += part
        }
        let drained = try Self.drain(buffer)
        #expect(drained.bytes.count == expected.count)
        #expect(drained.bytes == expected)
        #expect(drained.pieces.allSatisfy { $0 > 0 && $0 <= 1 << 20 }, "\(drained.pieces)")
        #expect(drained.pieces.count >= 3)
    }

    /// Guards `discard`: every held byte (memory and file) is forgotten, and what is appended after comes back alone.
    @Test(arguments: [10, 3000])
    func discardForgetsEverything(heldBeforeDiscard: Int) throws {
        let buffer = SpillBuffer(memoryLimit: 1024)
        try Self.append(Self.pattern(heldBeforeDiscard, seed: 9), to: buffer)
        try Self.append(Self.pattern(50, seed: 10), to: buffer)
        buffer.discard()
        #expect(buffer.isEmpty && buffer.count == 0 && buffer.spilledBytes == 0)
        #expect(try Self.drain(buffer).bytes.isEmpty)
        // Reused: a smaller amount, then enough to spill again; nothing of the old bytes comes back.
        let small = Self.pattern(20, seed: 11)
        try Self.append(small, to: buffer)
        #expect(try Self.drain(buffer).bytes == small)
        let large = Self.pattern(1500, seed: 12)
        let tail = Self.pattern(30, seed: 13)
        try Self.append(large, to: buffer)
        try Self.append(tail, to: buffer)
        #expect(try Self.drain(buffer).bytes == large + tail)
    }

    /// Guards reuse after a drain: the temporary file starts over, so a shorter second spill does not bring back the first's tail.
    @Test func reuseAfterDrain() throws {
        let buffer = SpillBuffer(memoryLimit: 512)
        let first = Self.pattern(5000, seed: 1)
        try Self.append(first, to: buffer)
        #expect(try Self.drain(buffer).bytes == first)
        let second = Self.pattern(700, seed: 2)
        try Self.append(second, to: buffer)
        #expect(buffer.spilledBytes > 0)
        #expect(try Self.drain(buffer).bytes == second)
        let third = Self.pattern(100, seed: 3)
        try Self.append(third, to: buffer)
        #expect(try Self.drain(buffer).bytes == third)
    }

    /// Guards that an error from the writer stops the drain and reaches the caller.
    @Test func drainPassesOnWriteErrors() throws {
        let buffer = SpillBuffer(memoryLimit: 16)
        try Self.append(Self.pattern(100, seed: 4), to: buffer)
        let error = try #require(throws: ConduitError.self) {
            try buffer.drain { (_) throws(ConduitError) in throw .io("disk full") }
        }
        #expect(error == .io("disk full"))
    }

    /// Guards that empty appends hold nothing and a non-positive limit still holds (at least one byte in memory).
    @Test func edgeCases() throws {
        let buffer = SpillBuffer(memoryLimit: 0)
        #expect(buffer.memoryLimit == 1)
        try Self.append([], to: buffer)
        #expect(buffer.isEmpty)
        try Self.append([1, 2, 3], to: buffer)
        #expect(try Self.drain(buffer).bytes == [1, 2, 3])
    }
}
