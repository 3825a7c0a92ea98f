/// Standard base64 (RFC 4648, with padding) on bytes, for bytea and blob values.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Appends `bytes` as a quoted base64 JSON string.
    static func appendQuoted<S: Sequence>(_ bytes: S, to output: inout [UInt8]) where S.Element == UInt8 {
        output.append(UInt8(ascii: "\""))
        var group: UInt32 = 0
        var count = 0
        for byte in bytes {
            group = group << 8 | UInt32(byte)
            count += 1
            if count == 3 {
                output.append(alphabet[Int(group >> 18 & 63)])
                output.append(alphabet[Int(group >> 12 & 63)])
                output.append(alphabet[Int(group >> 6 & 63)])
                output.append(alphabet[Int(group & 63)])
                group = 0
                count = 0
            }
        }
        if count == 1 {
            output.append(alphabet[Int(group >> 2 & 63)])
            output.append(alphabet[Int(group << 4 & 63)])
            output.append(contentsOf: "==".utf8)
        } else if count == 2 {
            output.append(alphabet[Int(group >> 10 & 63)])
            output.append(alphabet[Int(group >> 4 & 63)])
            output.append(alphabet[Int(group << 2 & 63)])
            output.append(UInt8(ascii: "="))
        }
        output.append(UInt8(ascii: "\""))
    }
}
