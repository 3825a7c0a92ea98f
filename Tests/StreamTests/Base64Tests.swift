import Stream
import Testing

/// `Base64`: padded standard base64 both ways; the decoder also reads Snowflake's `rowsetBase64`.
@Suite struct Base64Tests {
    static func decode(_ text: String) -> [UInt8]? {
        Array(text.utf8).withUnsafeBufferPointer { Base64.decode($0) }
    }

    static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        Base64.appendQuoted(bytes, to: &output)
        return String(decoding: output.dropFirst().dropLast(), as: UTF8.self)
    }

    /// Guards the RFC 4648 test vectors, in both directions.
    @Test(arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ])
    func rfc4648Vectors(plain: String, encoded: String) {
        #expect(Self.decode(encoded) == Array(plain.utf8))
        #expect(Self.encode(Array(plain.utf8)) == encoded)
    }

    /// Guards that every byte value survives encoding and decoding, `+` and `/` included.
    @Test func everyByteRoundTrips() {
        let bytes = (0...255).map { UInt8($0) } + (0...255).reversed().map { UInt8($0) }
        for length in 0...bytes.count {
            #expect(Self.decode(Self.encode(Array(bytes[..<length]))) == Array(bytes[..<length]))
        }
    }

    /// Guards that anything but canonical padded base64 is refused rather than half-decoded.
    @Test(arguments: ["Zg", "Zg=", "Zm9v\n", "Zm9v Zm9v", "Z===", "=Zg=", "Zg==Zg==", "Zh==", "Zm9=", "Zm-v", "Zm_v", "Zm9vYmF*"])
    func refusesNonCanonical(text: String) {
        #expect(Self.decode(text) == nil)
    }
}
