import Testing

@testable import Stream

/// The running hash that confirms a stream's bytes (SPEC section 5: confirm only identical
/// bytes): XXH64 with seed 0, checked against the reference implementation's values (Python's
/// `xxhash` package, `xxhash.xxh64(data).hexdigest()`), fed whole and in pieces.
@Suite struct StreamDigestTests {
    /// Inputs of every tail length the algorithm branches on, with the reference's hash.
    static let vectors: [(String, [UInt8])] = [
        ("ef46db3751d8e999", []),
        ("d24ec4f1a98c6e5b", Array("a".utf8)),
        ("44bc2cf5ad770999", Array("abc".utf8)),
        ("642a94958e71e6c5", Array("0123456789abcdef0123456789abcdef".utf8)),
        ("e921a1b45bd779f8", Array((0..<768).map { UInt8($0 % 256) }) + Array("xyz".utf8)),
        ("aba5c2db83bdd907", Array(String(repeating: "{\"id\":1}\n", count: 1000).utf8)),
    ]

    /// Guards the hash of whole inputs against the reference.
    @Test func matchesTheReference() {
        for (expected, bytes) in Self.vectors {
            var digest = StreamDigest()
            digest.update(bytes)
            #expect(digest.hexValue == expected, "\(bytes.count) bytes")
            #expect(digest.byteCount == bytes.count)
        }
    }

    /// Guards that where the pieces are cut never changes the hash (the extract writes in
    /// pipe-sized pieces, the commit reads in 1 MB chunks).
    @Test(arguments: [1, 3, 7, 8, 31, 32, 33, 100, 4096])
    func piecesDoNotMatter(pieceSize: Int) {
        for (expected, bytes) in Self.vectors {
            var digest = StreamDigest()
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + pieceSize, bytes.count)
                bytes[offset..<end].withUnsafeBytes { digest.update($0) }
                offset = end
            }
            #expect(digest.hexValue == expected, "\(bytes.count) bytes in pieces of \(pieceSize)")
        }
    }

    /// Guards that one changed, added or removed byte changes the hash.
    @Test func anyChangeShows() {
        let base = Array(String(repeating: "{\"id\":1}\n", count: 100).utf8)
        var original = StreamDigest()
        original.update(base)
        for index in stride(from: 0, to: base.count, by: 37) {
            var changed = base
            changed[index] ^= 0x01
            var digest = StreamDigest()
            digest.update(changed)
            #expect(digest.value != original.value)
        }
        var longer = StreamDigest()
        longer.update(base + [0x0A])
        #expect(longer.value != original.value)
        var shorter = StreamDigest()
        shorter.update(Array(base.dropLast()))
        #expect(shorter.value != original.value)
    }
}
