import Core
import Crypto
import Foundation
import Testing
import _CryptoExtras

@testable import Snowflake

/// The key pair's file formats and token, against keys openssl made (Captured/keys/README.md):
/// every format of the one key gives the fingerprint openssl computes; the token verifies under
/// the public key and carries the claims Snowflake checks. (The token is also checked by the
/// official Python connector's own code, end to end, in SnowflakeSignInTests.)
@Suite struct SnowflakeKeyPairTests {
    static func key(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: "Captured/keys/\(name)", withExtension: nil))
        return try String(contentsOf: url, encoding: .utf8)
    }

    @Test(arguments: [("rsa_key.p8", nil as String?), ("rsa_key_aes256.p8", "conduit test"), ("rsa_key_pkcs1.pem", nil)])
    func everyFormatGivesOpensslsFingerprint(file: String, passphrase: String?) throws {
        let keyPair = try SnowflakeKeyPair(pem: try Self.key(file), passphrase: passphrase, file: file)
        let expected = try Self.key("fingerprint.txt").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(keyPair.fingerprint == expected)
    }

    /// RS256 over `header.claims`, verifiable with the public key; iss and sub upper-cased;
    /// a minute's lifetime.
    @Test func tokenIsASignedJWTWithSnowflakesClaims() throws {
        let keyPair = try SnowflakeKeyPair(pem: try Self.key("rsa_key.p8"), passphrase: nil, file: "rsa_key.p8")
        let token = try keyPair.token(account: "xy12345", user: "Loader", now: 1_700_000_000)
        let parts = token.split(separator: ".").map(String.init)
        try #require(parts.count == 3)
        #expect(try Self.decoded(parts[0]) == #"{"alg":"RS256","typ":"JWT"}"#)
        #expect(
            try Self.decoded(parts[1])
                == #"{"iss":"XY12345.LOADER.\#(keyPair.fingerprint)","sub":"XY12345.LOADER","iat":1700000000,"exp":1700000060}"#)
        let publicKey = try _RSA.Signing.PublicKey(derRepresentation: try #require(Data(base64Encoded: keyPair.publicKeyBase64)))
        let signature = _RSA.Signing.RSASignature(rawRepresentation: try Self.bytes(parts[2]))
        #expect(publicKey.isValidSignature(signature, for: Array("\(parts[0]).\(parts[1])".utf8), padding: .insecurePKCS1v1_5))
        #expect(!publicKey.isValidSignature(signature, for: Array("\(parts[0]).\(parts[1])x".utf8), padding: .insecurePKCS1v1_5))
        #expect(!token.contains("=") && !token.contains("+") && !token.contains("/"))
    }

    /// What cannot be read says why and names the file, never the key or the passphrase.
    @Test(arguments: [
        (
            "rsa_key_aes256.p8", "wrong",
            "private_key_path k.p8: cannot decrypt the key: the passphrase is wrong (private_key_passphrase)"
        ),
        (
            "rsa_key_aes256.p8", nil,
            "private_key_path k.p8: the key is encrypted; give its passphrase as private_key_passphrase (write it as ${SNOWFLAKE_KEY_PASSPHRASE} to read it from the environment)"
        ),
        (
            "rsa_key_des3.p8", "conduit test",
            "private_key_path k.p8: the key is encrypted with DES-EDE3-CBC (1.2.840.113549.3.7), which Conduit does not read; re-encrypt it with AES: openssl pkcs8 -topk8 -v2 aes256 -in old.p8 -out rsa_key.p8"
        ),
        (
            "fingerprint.txt", nil,
            "private_key_path k.p8: not a PEM key file (expected a block such as -----BEGIN PRIVATE KEY-----; make one with openssl genrsa 2048 | openssl pkcs8 -topk8 -nocrypt)"
        ),
    ])
    func unreadableKeysSayWhy(file: String, passphrase: String?, message: String) throws {
        let pem = try Self.key(file)
        #expect(throws: ConduitError.configuration(message)) {
            try SnowflakeKeyPair(pem: pem, passphrase: passphrase, file: "k.p8")
        }
    }

    /// A public key, or a key of another kind, is not a signing key.
    @Test func publicKeysAndOtherKindsAreRefused() throws {
        let keyPair = try SnowflakeKeyPair(pem: try Self.key("rsa_key.p8"), passphrase: nil, file: "k")
        var base64 = Substring(keyPair.publicKeyBase64)
        var lines: [Substring] = []
        while !base64.isEmpty {
            lines.append(base64.prefix(64))
            base64 = base64.dropFirst(64)
        }
        let publicPEM = "-----BEGIN PUBLIC KEY-----\n\(lines.joined(separator: "\n"))\n-----END PUBLIC KEY-----\n"
        #expect(
            throws: ConduitError.configuration(
                "private_key_path k: holds no private key, only PUBLIC KEY (expected PRIVATE KEY, ENCRYPTED PRIVATE KEY or RSA PRIVATE KEY)"
            )
        ) {
            try SnowflakeKeyPair(pem: publicPEM, passphrase: nil, file: "k")
        }
        let ecPEM = P256.Signing.PrivateKey().pemRepresentation
        #expect(
            throws: ConduitError.configuration(
                "private_key_path k: not an RSA private key of at least 2048 bits (Snowflake's key-pair sign-in takes RSA keys; openssl genrsa 2048 makes one)"
            )
        ) {
            try SnowflakeKeyPair(pem: ecPEM, passphrase: nil, file: "k")
        }
    }

    /// Files as OpenSSL and the Python connector read them: CRLF and trailing spaces, a PKCS#12
    /// dump's attributes, a certificate (here a public key) before or after the key.
    @Test func keyFilesAreReadAsLenientlyAsOpenSSLReadsThem() throws {
        let pem = try Self.key("rsa_key.p8")
        let expected = try Self.key("fingerprint.txt").trimmingCharacters(in: .whitespacesAndNewlines)
        let publicBlock = try Self.publicPEM()
        let variants = [
            pem.replacing("\n", with: "  \r\n"),
            "Bag Attributes\n    localKeyID: 01 00 00 00\nKey Attributes: <No Attributes>\n" + pem,
            publicBlock + pem,
            pem + publicBlock,
        ]
        for variant in variants {
            #expect(try SnowflakeKeyPair(pem: variant, passphrase: nil, file: "k").fingerprint == expected, "\(variant)")
        }
    }

    /// A key encrypted the traditional OpenSSL way (Proc-Type: 4,ENCRYPTED) says how to convert it.
    @Test func traditionallyEncryptedKeysSayHowToConvert() throws {
        let pem = try Self.key("rsa_key_pkcs1_aes.pem")
        #expect(
            throws: ConduitError.configuration(
                "private_key_path k: the key is encrypted the traditional OpenSSL way (Proc-Type: 4,ENCRYPTED), which Conduit does not read; convert it to PKCS#8: openssl pkcs8 -topk8 -v2 aes256 -in old.pem -out rsa_key.p8"
            )
        ) {
            try SnowflakeKeyPair(pem: pem, passphrase: "conduit test", file: "k")
        }
    }

    static func publicPEM() throws -> String {
        let keyPair = try SnowflakeKeyPair(pem: try key("rsa_key.p8"), passphrase: nil, file: "k")
        var base64 = Substring(keyPair.publicKeyBase64)
        var lines: [Substring] = []
        while !base64.isEmpty {
            lines.append(base64.prefix(64))
            base64 = base64.dropFirst(64)
        }
        return "-----BEGIN PUBLIC KEY-----\n\(lines.joined(separator: "\n"))\n-----END PUBLIC KEY-----\n"
    }

    static func bytes(_ base64URL: String) throws -> [UInt8] {
        var text = base64URL.replacing("-", with: "+").replacing("_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return Array(try #require(Data(base64Encoded: text)))
    }

    static func decoded(_ base64URL: String) throws -> String {
        String(decoding: try bytes(base64URL), as: UTF8.self)
    }
}
