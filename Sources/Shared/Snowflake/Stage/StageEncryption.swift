package import Core
import Crypto
import Foundation
import _CryptoExtras

/// The key a stage's answer gives for encrypting files on the client (`encryptionMaterial`):
/// the query stage master key, and the two names the file's material descriptor carries.
package struct StageEncryptionMaterial: Sendable, Equatable {
    /// `queryStageMasterKey`, decoded from base64: 16 or 32 bytes.
    package var masterKey: [UInt8]
    package var queryID: String
    /// `smkId`, as the number's text.
    package var smkID: String

    package init(masterKey: [UInt8], queryID: String, smkID: String) {
        self.masterKey = masterKey
        self.queryID = queryID
        self.smkID = smkID
    }
}

/// A file encrypted for a stage, and what the stage keeps beside it so Snowflake can read it.
package struct EncryptedStageFile: Sendable {
    package var bytes: [UInt8]
    /// The file key, wrapped under the master key, base64 (`x-amz-key`, `EncryptedKey`).
    package var wrappedKey: String
    /// The file's IV, base64 (`x-amz-iv`, `ContentEncryptionIV`).
    package var iv: String
    /// `{"queryId":…,"smkId":…,"keySize":…}` (`x-amz-matdesc`, `matdesc`).
    package var materialDescriptor: String
}

/// Client-side encryption of a stage file exactly as Snowflake's connectors do it
/// (snowflake-connector-python's `SnowflakeEncryptionUtil.encrypt_stream`, the JDBC driver's
/// `EncryptionProvider`): a random file key as long as the master key and a random 16-byte IV;
/// the file AES-CBC with PKCS#5 padding; the file key PKCS#5-padded and AES-ECB-encrypted under
/// the master key. `StageEncryptionTests` has the official connector decrypt what this writes.
package enum StageEncryption {
    private static let blockSize = 16

    package static func encrypt(
        _ plain: [UInt8], with material: StageEncryptionMaterial
    ) throws(ConduitError) -> EncryptedStageFile {
        guard [16, 24, 32].contains(material.masterKey.count) else {
            throw .io(
                "the stage's master key is \(material.masterKey.count) bytes long; AES takes 16, 24 or 32 (queryId \(material.queryID))"
            )
        }
        var generator = SystemRandomNumberGenerator()
        let fileKey = (0..<material.masterKey.count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let iv = (0..<blockSize).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return try encrypt(plain, with: material, fileKey: fileKey, iv: iv)
    }

    /// With the file key and IV given (tests pin them; ``encrypt(_:with:)`` draws them).
    static func encrypt(
        _ plain: [UInt8], with material: StageEncryptionMaterial, fileKey: [UInt8], iv: [UInt8]
    ) throws(ConduitError) -> EncryptedStageFile {
        do {
            let body = try cbc(padded(plain), key: SymmetricKey(data: fileKey), iv: iv)
            var wrapped = padded(fileKey)
            let masterKey = SymmetricKey(data: material.masterKey)
            for start in stride(from: 0, to: wrapped.count, by: blockSize) {
                try AES.permute(&wrapped[start..<start + blockSize], key: masterKey)
            }
            return EncryptedStageFile(
                bytes: body, wrappedKey: Data(wrapped).base64EncodedString(), iv: Data(iv).base64EncodedString(),
                materialDescriptor: materialDescriptor(material, keyBits: fileKey.count * 8))
        } catch {
            throw .internalError("encrypting a stage file failed: \(error)")
        }
    }

    /// AES-CBC over whole blocks, in place. swift-crypto's `AES._CBC.encrypt` gives the same
    /// bytes but copies each block through generic collections: about 7 MB/s here, a third of a
    /// staged batch's client CPU (scripts/bench.sh STAGE_ROWS). This hands each block to the
    /// block function as contiguous storage.
    static func cbc(_ blocks: [UInt8], key: SymmetricKey, iv: [UInt8]) throws -> [UInt8] {
        var out = blocks
        try out.withUnsafeMutableBufferPointer { buffer in
            for start in stride(from: 0, to: buffer.count, by: blockSize) {
                for offset in 0..<blockSize {
                    buffer[start + offset] ^= start == 0 ? iv[offset] : buffer[start - blockSize + offset]
                }
                var block = UnsafeMutableBufferPointer(rebasing: buffer[start..<start + blockSize])
                try AES.permute(&block, key: key)
            }
        }
        return out
    }

    /// PKCS#5: 1 to 16 bytes, each the count; a whole block when the input fills its last.
    static func padded(_ bytes: [UInt8]) -> [UInt8] {
        let count = blockSize - bytes.count % blockSize
        return bytes + [UInt8](repeating: UInt8(count), count: count)
    }

    /// The connectors' `matdesc_to_unicode`: compact JSON, every value a string.
    static func materialDescriptor(_ material: StageEncryptionMaterial, keyBits: Int) -> String {
        var out: [UInt8] = Array(#"{"queryId":"#.utf8)
        JSONEscaping.appendQuoted(material.queryID, to: &out)
        out += Array(#","smkId":"#.utf8)
        JSONEscaping.appendQuoted(material.smkID, to: &out)
        out += Array(#","keySize":"\#(keyBits)"}"#.utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// The `sfc-digest` every stage file carries: base64 of the SHA-256 of the file as uploaded
    /// before encryption (here the gzip file), which Snowflake compares.
    package static func digest(_ plain: [UInt8]) -> String {
        Data(SHA256.hash(data: plain)).base64EncodedString()
    }

    /// The `encryptiondata` JSON that Azure and GCS stages keep (the connectors write it with
    /// Python's default separators; the algorithm names are theirs, Azure's says 128 for the
    /// same AES-CBC).
    static func encryptionData(_ file: EncryptedStageFile, agentAlgorithm: String) -> String {
        #"{"EncryptionMode": "FullBlob", "WrappedContentKey": {"KeyId": "symmKey1", "EncryptedKey": "\#(file.wrappedKey)", "Algorithm": "AES_CBC_256"}, "EncryptionAgent": {"Protocol": "1.0", "EncryptionAlgorithm": "\#(agentAlgorithm)"}, "ContentEncryptionIV": "\#(file.iv)", "KeyWrappingMetadata": {"EncryptionLibrary": "Java 5.3.0"}}"#
    }
}
