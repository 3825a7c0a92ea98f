package import Core

/// Standard base64 (RFC 4648, with padding) on bytes, for bytea and blob values.
package enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Appends `bytes` as a quoted base64 JSON string.
    package static func appendQuoted<S: Sequence, Output: ByteSink & ~Copyable>(_ bytes: S, to output: inout Output)
    where S.Element == UInt8 {
        output.appendByte(UInt8(ascii: "\""))
        var group: UInt32 = 0
        var count = 0
        for byte in bytes {
            group = group << 8 | UInt32(byte)
            count += 1
            if count == 3 {
                output.appendByte(alphabet[Int(group >> 18 & 63)])
                output.appendByte(alphabet[Int(group >> 12 & 63)])
                output.appendByte(alphabet[Int(group >> 6 & 63)])
                output.appendByte(alphabet[Int(group & 63)])
                group = 0
                count = 0
            }
        }
        if count == 1 {
            output.appendByte(alphabet[Int(group >> 2 & 63)])
            output.appendByte(alphabet[Int(group << 4 & 63)])
            output.appendLiteral("==")
        } else if count == 2 {
            output.appendByte(alphabet[Int(group >> 10 & 63)])
            output.appendByte(alphabet[Int(group >> 4 & 63)])
            output.appendByte(alphabet[Int(group << 2 & 63)])
            output.appendByte(UInt8(ascii: "="))
        }
        output.appendByte(UInt8(ascii: "\""))
    }

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// Decodes padded standard base64; nil for anything else (wrong length, stray characters,
    /// bits left over in the padding).
    package static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(text.count / 4 * 3)
        var index = 0
        while index < text.count {
            let isLast = index + 4 == text.count
            var group: UInt32 = 0
            var padding = 0
            for offset in 0..<4 {
                let byte = text[index + offset]
                if byte == UInt8(ascii: "=") && isLast && offset >= 2 {
                    padding += 1
                    group <<= 6
                    continue
                }
                let value = decodeTable[Int(byte)]
                guard value != 0xFF, padding == 0 else { return nil }
                group = group << 6 | UInt32(value)
            }
            output.append(UInt8(group >> 16 & 0xFF))
            if padding < 2 { output.append(UInt8(group >> 8 & 0xFF)) }
            if padding < 1 { output.append(UInt8(group & 0xFF)) }
            // Canonical form only: the bits under the padding must be zero.
            if padding == 1 && group & 0xFF != 0 { return nil }
            if padding == 2 && group & 0xFFFF != 0 { return nil }
            index += 4
        }
        return output
    }
}
