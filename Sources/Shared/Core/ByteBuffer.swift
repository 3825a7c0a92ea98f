#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A growable run of bytes that owns its memory: the output buffer of the row encoders (NDJSON
/// rows in `conduit-extract`, COPY text in `conduit-load`), which append a few bytes at a time,
/// millions of times a run.
///
/// An `[UInt8]` pays on every append for a uniqueness check and a call into the generic
/// `append(contentsOf:)`; here an append is a capacity check and a copy, inlined. The type is
/// noncopyable, so the memory has one owner and is freed in `deinit`.
@frozen
public struct ByteBuffer: ~Copyable {
    @usableFromInline var base: UnsafeMutablePointer<UInt8>
    @usableFromInline var capacity: Int
    @usableFromInline var used = 0
    /// Bytes appended and not removed.
    public var count: Int { used }

    /// An empty buffer with room for `capacity` bytes before it first grows.
    package init(capacity: Int = 4096) {
        self.capacity = max(capacity, 16)
        base = UnsafeMutablePointer<UInt8>.allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    package var isEmpty: Bool { count == 0 }

    /// Appends one byte.
    @inlinable @inline(__always)
    public mutating func append(_ byte: UInt8) {
        if used == capacity { grow(toHold: used + 1) }
        base[used] = byte
        used += 1
    }

    /// Appends `bytes`.
    @inlinable @inline(__always)
    public mutating func append(contentsOf bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        let count = bytes.count
        if capacity - used < count { grow(toHold: used + count) }
        if count <= 16 {
            Self.copyShort(from: UnsafeRawPointer(source), to: UnsafeMutableRawPointer(base + used), count: count)
        } else {
            (base + used).update(from: source, count: count)
        }
        used += count
    }

    /// Copies 1 to 16 bytes with at most two loads and two stores, overlapping, each inside
    /// both buffers: most appends are a key, a number or a short string, and a call to
    /// `memmove` for each was a few percent of the loader.
    @inlinable @inline(__always)
    static func copyShort(from source: UnsafeRawPointer, to target: UnsafeMutableRawPointer, count: Int) {
        if count >= 8 {
            let head = source.loadUnaligned(as: UInt64.self)
            let tail = source.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            target.storeBytes(of: head, as: UInt64.self)
            target.storeBytes(of: tail, toByteOffset: count - 8, as: UInt64.self)
        } else if count >= 4 {
            let head = source.loadUnaligned(as: UInt32.self)
            let tail = source.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
            target.storeBytes(of: head, as: UInt32.self)
            target.storeBytes(of: tail, toByteOffset: count - 4, as: UInt32.self)
        } else if count >= 2 {
            let head = source.loadUnaligned(as: UInt16.self)
            let tail = source.loadUnaligned(fromByteOffset: count - 2, as: UInt16.self)
            target.storeBytes(of: head, as: UInt16.self)
            target.storeBytes(of: tail, toByteOffset: count - 2, as: UInt16.self)
        } else {
            target.storeBytes(of: source.load(as: UInt8.self), as: UInt8.self)
        }
    }

    /// Appends `bytes`.
    package mutating func append(contentsOf bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append(contentsOf: $0) }
    }

    /// Appends a literal's bytes.
    @inlinable @inline(__always)
    public mutating func append(_ literal: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// At least doubles the capacity, to hold `needed` bytes.
    @usableFromInline
    mutating func grow(toHold needed: Int) {
        let newCapacity = max(needed, capacity * 2)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Forgets every byte from `offset` on (`offset` ≤ ``count``).
    package mutating func removeSuffix(from offset: Int) {
        precondition(offset >= 0 && offset <= count, "ByteBuffer.removeSuffix beyond the bytes")
        used = offset
    }

    /// Removes the first `prefix` bytes, moving the rest to the start.
    package mutating func removePrefix(_ prefix: Int) {
        precondition(prefix >= 0 && prefix <= count, "ByteBuffer.removePrefix beyond the bytes")
        if prefix < count { base.update(from: base + prefix, count: count - prefix) }
        used -= prefix
    }

    /// Forgets every byte, keeping the memory.
    package mutating func removeAll() {
        used = 0
    }

    /// Calls `body` with the bytes; they are valid only during the call.
    @inlinable
    public func withUnsafeBufferPointer<Result, Failure: Error>(
        _ body: (UnsafeBufferPointer<UInt8>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    /// Calls `body` with the bytes; they are valid only during the call.
    @inlinable
    public func withUnsafeBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// A copy of the bytes (tests, messages).
    package var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

}

@available(*, unavailable)
extension ByteBuffer: Sendable {}

/// Eight bytes at a time: the word tests behind the scanners and escapers, which look for the
/// first byte of interest in a word read little-endian and jump to it. Each test sets the high
/// bit of every byte it flags; the lowest flag is exact, flags above it may be false alarms (a
/// borrow), so a caller takes `flags.trailingZeroBitCount >> 3` as the position and re-checks
/// that byte. Zero means no byte of the word matched.
public enum ByteWord {
    @usableFromInline static let ones: UInt64 = 0x0101_0101_0101_0101
    /// The high bit of each byte.
    public static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Flags the bytes equal to `byte`.
    @inlinable @inline(__always)
    public static func equal(_ word: UInt64, _ byte: UInt8) -> UInt64 {
        let xored = word ^ (ones &* UInt64(byte))
        return (xored &- ones) & ~xored & highBits
    }

    /// Flags the bytes below `limit` (≤ 0x80).
    @inlinable @inline(__always)
    public static func below(_ word: UInt64, _ limit: UInt8) -> UInt64 {
        (word &- ones &* UInt64(limit)) & ~word & highBits
    }

    /// Flags the bytes at or above 0x80.
    @inlinable @inline(__always)
    public static func nonASCII(_ word: UInt64) -> UInt64 { word & highBits }

    /// The word of eight bytes at `pointer`, read little-endian.
    @inlinable @inline(__always)
    public static func load(_ pointer: UnsafePointer<UInt8>) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(pointer).loadUnaligned(as: UInt64.self))
    }
}

/// Where the byte encoders write: a ``ByteBuffer`` on the hot paths, an `[UInt8]` elsewhere.
/// Encoders generic over it are specialized for each, so neither pays for the other.
public protocol ByteSink: ~Copyable {
    mutating func appendByte(_ byte: UInt8)
    mutating func appendBytes(_ bytes: UnsafeBufferPointer<UInt8>)
    /// Appends UTF-8 `bytes` as a quoted JSON string (``JSONEscaping``).
    mutating func appendJSONString(_ bytes: UnsafeBufferPointer<UInt8>)
}

extension ByteSink where Self: ~Copyable {
    /// Appends a literal's bytes in one copy.
    @inlinable @inline(__always)
    public mutating func appendLiteral(_ literal: StaticString) {
        appendBytes(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }
}

extension ByteSink where Self: ~Copyable {
    /// Appends an integer's decimal digits, without a String.
    package mutating func appendDecimal(_ value: Int64) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { raw in
            var magnitude = value.magnitude
            var start = raw.count
            repeat {
                start -= 1
                raw[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                start -= 1
                raw[start] = UInt8(ascii: "-")
            }
            appendBytes(UnsafeBufferPointer(rebasing: raw.assumingMemoryBound(to: UInt8.self)[start...]))
        }
    }
}

extension ByteBuffer: ByteSink {
    @inlinable @inline(__always)
    public mutating func appendByte(_ byte: UInt8) { append(byte) }

    @inlinable @inline(__always)
    public mutating func appendBytes(_ bytes: UnsafeBufferPointer<UInt8>) { append(contentsOf: bytes) }

    public mutating func appendJSONString(_ bytes: UnsafeBufferPointer<UInt8>) {
        JSONEscaping.appendQuoted(bytes: bytes, to: &self)
    }
}

extension Array: ByteSink where Element == UInt8 {
    @inlinable @inline(__always)
    public mutating func appendByte(_ byte: UInt8) { append(byte) }

    @inlinable @inline(__always)
    public mutating func appendBytes(_ bytes: UnsafeBufferPointer<UInt8>) { append(contentsOf: bytes) }

    public mutating func appendJSONString(_ bytes: UnsafeBufferPointer<UInt8>) {
        JSONEscaping.appendQuoted(bytes: bytes, to: &self)
    }
}

extension Array where Element == UInt8 {
    /// Makes the array hold exactly `bytes`, in its own storage: a row's incremental value kept
    /// once a line. Values of one length (ids of as many digits, timestamps) are copied over the
    /// old ones, without the generic `removeAll` and `append(contentsOf:)` calls.
    @inlinable
    package mutating func overwrite(with bytes: UnsafeBufferPointer<UInt8>) {
        if count == bytes.count, let source = bytes.baseAddress {
            withUnsafeMutableBufferPointer { target in target.baseAddress?.update(from: source, count: bytes.count) }
            return
        }
        removeAll(keepingCapacity: true)
        append(contentsOf: bytes)
    }
}
