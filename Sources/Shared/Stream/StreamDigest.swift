/// A running 64-bit hash of a byte stream (XXH64, seed 0), fed in pieces of any size: the value
/// depends only on the bytes, never on where the pieces were cut.
///
/// `conduit-extract` hashes every byte it writes to stdout and `conduit-state commit` every byte
/// it reads; the commit confirms the end of a stream only when the two agree
/// (``EndConfirmation``). XXH64 runs at several GB/s here, so it costs milliseconds where a
/// byte-at-a-time hash (FNV) would cost a third of a second per 200 MB. It guards against
/// accidents between the stages (a filter that rewrote, dropped or doubled a row), not against
/// an adversary who chose bytes to collide.
package struct StreamDigest: Sendable {
    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    private var lane1: UInt64 = prime1 &+ prime2
    private var lane2: UInt64 = prime2
    private var lane3: UInt64 = 0
    private var lane4: UInt64 = 0 &- prime1
    /// Bytes of an unfinished 32-byte stripe, carried to the next ``update(_:)``.
    private var pending: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var pendingCount = 0
    /// Every byte fed so far.
    package private(set) var byteCount = 0

    package init() {}

    @inline(__always)
    private static func round(_ accumulator: UInt64, _ input: UInt64) -> UInt64 {
        var value = accumulator &+ input &* prime2
        value = (value << 31) | (value >> 33)
        return value &* prime1
    }

    @inline(__always)
    private static func merge(_ hash: UInt64, _ lane: UInt64) -> UInt64 {
        (hash ^ round(0, lane)) &* prime1 &+ prime4
    }

    @inline(__always)
    private mutating func consumeStripe(_ base: UnsafeRawPointer) {
        lane1 = Self.round(lane1, UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 0, as: UInt64.self)))
        lane2 = Self.round(lane2, UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        lane3 = Self.round(lane3, UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
        lane4 = Self.round(lane4, UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
    }

    /// Feeds `bytes`.
    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let start = bytes.baseAddress, !bytes.isEmpty else { return }
        byteCount += bytes.count
        var offset = 0
        if pendingCount > 0 {
            let take = min(32 - pendingCount, bytes.count)
            let at = pendingCount
            withUnsafeMutableBytes(of: &pending) { stripe in
                stripe.baseAddress.map { ($0 + at).copyMemory(from: start, byteCount: take) }
            }
            pendingCount += take
            offset = take
            guard pendingCount == 32 else { return }
            let stripe = pending
            withUnsafeBytes(of: stripe) { raw in raw.baseAddress.map { consumeStripe($0) } }
            pendingCount = 0
        }
        while bytes.count - offset >= 32 {
            consumeStripe(start + offset)
            offset += 32
        }
        let rest = bytes.count - offset
        if rest > 0 {
            withUnsafeMutableBytes(of: &pending) { stripe in
                stripe.baseAddress.map { $0.copyMemory(from: start + offset, byteCount: rest) }
            }
            pendingCount = rest
        }
    }

    /// Feeds `bytes`.
    package mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The hash of every byte fed so far (feeding may go on afterwards).
    package var value: UInt64 {
        var hash: UInt64
        if byteCount >= 32 {
            hash =
                ((lane1 << 1) | (lane1 >> 63)) &+ ((lane2 << 7) | (lane2 >> 57))
                &+ ((lane3 << 12) | (lane3 >> 52)) &+ ((lane4 << 18) | (lane4 >> 46))
            hash = Self.merge(hash, lane1)
            hash = Self.merge(hash, lane2)
            hash = Self.merge(hash, lane3)
            hash = Self.merge(hash, lane4)
        } else {
            hash = lane3 &+ Self.prime5
        }
        hash = hash &+ UInt64(byteCount)
        let count = pendingCount
        withUnsafeBytes(of: pending) { raw in
            var offset = 0
            while count - offset >= 8 {
                hash ^= Self.round(0, UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                hash = ((hash << 27) | (hash >> 37)) &* Self.prime1 &+ Self.prime4
                offset += 8
            }
            if count - offset >= 4 {
                hash ^= UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))) &* Self.prime1
                hash = ((hash << 23) | (hash >> 41)) &* Self.prime2 &+ Self.prime3
                offset += 4
            }
            while offset < count {
                hash ^= UInt64(raw[offset]) &* Self.prime5
                hash = ((hash << 11) | (hash >> 53)) &* Self.prime1
                offset += 1
            }
        }
        hash ^= hash >> 33
        hash = hash &* Self.prime2
        hash ^= hash >> 29
        hash = hash &* Self.prime3
        hash ^= hash >> 32
        return hash
    }

    /// ``value`` as 16 lowercase hex digits, as the end-of-stream records carry it.
    package var hexValue: String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }
}
