package import Core
import Crypto
import Foundation
import SwiftASN1
import _CryptoExtras

/// The RSA key of Snowflake's key-pair sign-in (`authenticator: snowflake_jwt`), read from a PEM
/// file: PKCS#8 (`BEGIN PRIVATE KEY`), PKCS#8 encrypted with a passphrase (`BEGIN ENCRYPTED
/// PRIVATE KEY`, PBES2: PBKDF2 and AES-CBC), or PKCS#1 (`BEGIN RSA PRIVATE KEY`).
///
/// It signs the short-lived JWT the login sends, built as Snowflake's own connectors build it
/// (the Python connector's `AuthByKeyPair.prepare`): RS256; `iss` =
/// `ACCOUNT.USER.SHA256:<base64 of the SHA-256 of the public key's DER>`, `sub` = `ACCOUNT.USER`,
/// account and user upper-cased; issued now, expiring a minute later. No message ever carries
/// the key, its passphrase or a token.
package struct SnowflakeKeyPair: Sendable {
    private let privateKey: _RSA.Signing.PrivateKey
    /// `SHA256:…`: what Snowflake shows as `RSA_PUBLIC_KEY_FP` for the user's registered key.
    package let fingerprint: String

    /// How long a signed token is valid: the connectors' default.
    static let lifetime = 60

    /// Reads the key file. Errors are 78 and name the file, never its contents.
    package init(path: String, passphrase: String?) throws(ConduitError) {
        // A FIFO or a device would block or never end: only a regular file of sane size is read.
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            throw .configuration("private_key_path \(path): cannot read the key file (no such file)")
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            throw .configuration("private_key_path \(path): not a regular file")
        }
        guard let size = attributes[.size] as? Int, size <= 1 << 20 else {
            throw .configuration("private_key_path \(path): too large for a key file (over 1 MiB)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .configuration("private_key_path \(path): cannot read the key file (permission denied?)")
        }
        // Bytes outside the PEM blocks need not be UTF-8 (a comment in Latin-1); the blocks are ASCII.
        try self.init(pem: String(decoding: data, as: UTF8.self), passphrase: passphrase, file: path)
    }

    package init(pem text: String, passphrase: String?, file: String) throws(ConduitError) {
        let blocks = PEMBlock.all(in: text)
        let labels = ["PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY"]
        guard let block = blocks.first(where: { labels.contains($0.label) }) else {
            if blocks.isEmpty {
                throw .configuration(
                    "private_key_path \(file): not a PEM key file (expected a block such as -----BEGIN PRIVATE KEY-----; make one with openssl genrsa 2048 | openssl pkcs8 -topk8 -nocrypt)"
                )
            }
            throw .configuration(
                "private_key_path \(file): holds no private key, only \(blocks.map(\.label).joined(separator: ", ")) (expected PRIVATE KEY, ENCRYPTED PRIVATE KEY or RSA PRIVATE KEY)"
            )
        }
        guard let blockDER = block.der else {
            throw .configuration("private_key_path \(file): the \(block.label) block is not valid base64")
        }
        let der: [UInt8]
        switch block.label {
        case "ENCRYPTED PRIVATE KEY":
            guard let passphrase, !passphrase.isEmpty else {
                throw .configuration(
                    "private_key_path \(file): the key is encrypted; give its passphrase as private_key_passphrase (write it as ${SNOWFLAKE_KEY_PASSPHRASE} to read it from the environment)"
                )
            }
            do {
                der = try EncryptedPrivateKeyInfo(der: blockDER).decrypt(passphrase: passphrase)
            } catch {
                throw .configuration("private_key_path \(file): \(error.message)")
            }
        default:
            if block.isLegacyEncrypted {
                throw .configuration(
                    "private_key_path \(file): the key is encrypted the traditional OpenSSL way (Proc-Type: 4,ENCRYPTED), which Conduit does not read; convert it to PKCS#8: openssl pkcs8 -topk8 -v2 aes256 -in old.pem -out rsa_key.p8"
                )
            }
            der = blockDER
        }
        do {
            privateKey = try _RSA.Signing.PrivateKey(derRepresentation: der)
        } catch {
            throw .configuration(
                "private_key_path \(file): not an RSA private key of at least 2048 bits (Snowflake's key-pair sign-in takes RSA keys; openssl genrsa 2048 makes one)"
            )
        }
        fingerprint = "SHA256:" + Data(SHA256.hash(data: privateKey.publicKey.derRepresentation)).base64EncodedString()
    }

    /// The public key as `ALTER USER … SET RSA_PUBLIC_KEY` takes it: the base64 of its DER.
    package var publicKeyBase64: String {
        privateKey.publicKey.derRepresentation.base64EncodedString()
    }

    /// The signed token for a login as `user` of `account` (the account name as the login
    /// request carries it, without region or cloud), issued at `now` (seconds since 1970).
    package func token(account: String, user: String, now: Int) throws(ConduitError) -> String {
        let subject = account.uppercased() + "." + user.uppercased()
        var claims: [UInt8] = Array(#"{"iss":"#.utf8)
        JSONEscaping.appendQuoted(subject + "." + fingerprint, to: &claims)
        claims.append(contentsOf: #","sub":"#.utf8)
        JSONEscaping.appendQuoted(subject, to: &claims)
        claims.append(contentsOf: ",\"iat\":\(now),\"exp\":\(now + Self.lifetime)}".utf8)
        let signingInput = Self.base64URL(Array(#"{"alg":"RS256","typ":"JWT"}"#.utf8)) + "." + Self.base64URL(claims)
        do {
            let signature = try privateKey.signature(for: Array(signingInput.utf8), padding: .insecurePKCS1v1_5)
            return signingInput + "." + Self.base64URL(Array(signature.rawRepresentation))
        } catch {
            throw .internalError("signing the Snowflake sign-in token: \(Self.reason(error))")
        }
    }

    /// Base64 with the URL alphabet and no padding (RFC 7515's base64url).
    static func base64URL(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return text.replacing("+", with: "-").replacing("/", with: "_")
    }

    private static func reason(_ error: any Error) -> String {
        (error as NSError).localizedDescription
    }
}

/// One `-----BEGIN LABEL-----` … `-----END LABEL-----` block of a PEM file (RFC 7468), read as
/// leniently as OpenSSL reads it: text around the blocks (a PKCS#12 dump's "Bag Attributes", a
/// certificate before or after the key), CRLF line ends and spaces at line ends are skipped.
struct PEMBlock {
    var label: String
    /// The decoded base64, nil when it is not valid base64.
    var der: [UInt8]?
    /// `Proc-Type: 4,ENCRYPTED` and its `DEK-Info`: a key encrypted the pre-PKCS#8 way.
    var isLegacyEncrypted: Bool

    static func all(in text: String) -> [PEMBlock] {
        var blocks: [PEMBlock] = []
        var label: String?
        var base64 = ""
        var encrypted = false
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if let open = label {
                if line == "-----END \(open)-----" {
                    blocks.append(
                        PEMBlock(label: open, der: Data(base64Encoded: base64).map { Array($0) }, isLegacyEncrypted: encrypted))
                    label = nil
                } else if line.contains(":") {
                    if line.hasPrefix("Proc-Type:"), line.contains("ENCRYPTED") { encrypted = true }
                } else {
                    base64 += line
                }
            } else if line.hasPrefix("-----BEGIN "), line.hasSuffix("-----"), line.count > 16 {
                label = String(line.dropFirst(11).dropLast(5))
                base64 = ""
                encrypted = false
            }
        }
        return blocks
    }
}

/// PKCS#8's `EncryptedPrivateKeyInfo` (RFC 5958) under PBES2 (RFC 8018): the scheme `openssl
/// pkcs8 -topk8` writes by default (PBKDF2 with HMAC-SHA-256, AES-256-CBC), with any of the
/// HMAC-SHA family and AES key sizes. Older schemes (PBES1, DES, scrypt) are refused by name.
struct EncryptedPrivateKeyInfo {
    struct Failure: Error {
        var message: String
    }

    private var salt: [UInt8] = []
    private var iterations = 0
    private var keyLength: Int?
    private var hash = KDF.Insecure.PBKDF2.HashFunction.insecureSHA1
    private var cipherKeyLength = 0
    private var iv: [UInt8] = []
    private var encrypted: [UInt8] = []

    private static let pbes2: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 5, 13]
    private static let pbkdf2: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 5, 12]
    private static let hashes: [ASN1ObjectIdentifier: KDF.Insecure.PBKDF2.HashFunction] = [
        [1, 2, 840, 113_549, 2, 7]: .insecureSHA1, [1, 2, 840, 113_549, 2, 8]: .insecureSHA224,
        [1, 2, 840, 113_549, 2, 9]: .sha256, [1, 2, 840, 113_549, 2, 10]: .sha384, [1, 2, 840, 113_549, 2, 11]: .sha512,
    ]
    private static let ciphers: [ASN1ObjectIdentifier: Int] = [
        [2, 16, 840, 1, 101, 3, 4, 1, 2]: 16, [2, 16, 840, 1, 101, 3, 4, 1, 22]: 24, [2, 16, 840, 1, 101, 3, 4, 1, 42]: 32,
    ]
    private static let names: [ASN1ObjectIdentifier: String] = [
        [1, 2, 840, 113_549, 3, 7]: "DES-EDE3-CBC", [1, 3, 14, 3, 2, 7]: "DES-CBC",
        [1, 3, 6, 1, 4, 1, 11_591, 4, 11]: "scrypt", [1, 2, 840, 113_549, 1, 5, 3]: "PBES1 (MD5, DES)",
        [1, 2, 840, 113_549, 1, 12, 1, 3]: "PKCS#12 (SHA-1, 3DES)",
    ]
    private static let reencrypt = "re-encrypt it with AES: openssl pkcs8 -topk8 -v2 aes256 -in old.p8 -out rsa_key.p8"

    init(der: [UInt8]) throws(Failure) {
        do {
            try read(DER.parse(der))
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(message: "the encrypted key is not valid PKCS#8 (\(error))")
        }
    }

    private mutating func read(_ root: ASN1Node) throws {
        var this = self
        try DER.sequence(root, identifier: .sequence) { nodes in
            guard let algorithm = nodes.next(), let data = nodes.next() else {
                throw Failure(message: "the encrypted key is not valid PKCS#8")
            }
            try DER.sequence(algorithm, identifier: .sequence) { parts in
                let scheme = try ASN1ObjectIdentifier(derEncoded: &parts)
                guard scheme == Self.pbes2 else { throw Self.unsupported(scheme) }
                guard let parameters = parts.next() else { throw Failure(message: "PBES2 without parameters") }
                try DER.sequence(parameters, identifier: .sequence) { pbes2 in
                    guard let kdf = pbes2.next(), let cipher = pbes2.next() else {
                        throw Failure(message: "PBES2 parameters are incomplete")
                    }
                    try this.readKeyDerivation(kdf)
                    try this.readCipher(cipher)
                }
            }
            this.encrypted = Array(try ASN1OctetString(derEncoded: data).bytes)
        }
        self = this
    }

    private mutating func readKeyDerivation(_ node: ASN1Node) throws {
        var this = self
        try DER.sequence(node, identifier: .sequence) { kdf in
            let function = try ASN1ObjectIdentifier(derEncoded: &kdf)
            guard function == Self.pbkdf2 else { throw Self.unsupported(function) }
            guard let parameters = kdf.next() else { throw Failure(message: "PBKDF2 without parameters") }
            try DER.sequence(parameters, identifier: .sequence) { fields in
                guard let salt = fields.next(), let count = fields.next() else {
                    throw Failure(message: "PBKDF2 parameters are incomplete")
                }
                this.salt = Array(try ASN1OctetString(derEncoded: salt).bytes)
                this.iterations = try Int(derEncoded: count)
                while let field = fields.next() {
                    if field.identifier == .integer {
                        this.keyLength = try Int(derEncoded: field)
                    } else {
                        try DER.sequence(field, identifier: .sequence) { prf in
                            let oid = try ASN1ObjectIdentifier(derEncoded: &prf)
                            guard let hash = Self.hashes[oid] else { throw Self.unsupported(oid) }
                            this.hash = hash
                            _ = prf.next()  // NULL parameters
                        }
                    }
                }
            }
        }
        self = this
    }

    private mutating func readCipher(_ node: ASN1Node) throws {
        var this = self
        try DER.sequence(node, identifier: .sequence) { cipher in
            let oid = try ASN1ObjectIdentifier(derEncoded: &cipher)
            guard let length = Self.ciphers[oid] else { throw Self.unsupported(oid) }
            guard let iv = cipher.next() else { throw Failure(message: "the cipher has no IV") }
            this.cipherKeyLength = length
            this.iv = Array(try ASN1OctetString(derEncoded: iv).bytes)
        }
        self = this
    }

    private static func unsupported(_ oid: ASN1ObjectIdentifier) -> Failure {
        let name = names[oid].map { "\($0) (\(oid))" } ?? "\(oid)"
        return Failure(message: "the key is encrypted with \(name), which Conduit does not read; \(reencrypt)")
    }

    /// The PKCS#8 DER inside. A wrong passphrase is a clear error (its padding or DER fails).
    func decrypt(passphrase: String) throws(Failure) -> [UInt8] {
        if let keyLength, keyLength != cipherKeyLength {
            throw Failure(message: "PBKDF2's key length \(keyLength) does not fit the cipher's \(cipherKeyLength) bytes")
        }
        guard iterations > 0, iterations <= 10_000_000, iv.count == 16 else {
            throw Failure(
                message: "the encrypted key's parameters are out of range (\(iterations) iterations, a \(iv.count)-byte IV)")
        }
        let wrong = Failure(message: "cannot decrypt the key: the passphrase is wrong (private_key_passphrase)")
        do {
            let key = try KDF.Insecure.PBKDF2.deriveKey(
                from: Array(passphrase.utf8), salt: salt, using: hash, outputByteCount: cipherKeyLength,
                unsafeUncheckedRounds: iterations)
            let plain = Array(try AES._CBC.decrypt(encrypted, using: key, iv: AES._CBC.IV(ivBytes: iv)))
            // One wrong passphrase in 256 still ends in valid padding: the DER must hold too.
            guard let root = try? DER.parse(plain), root.identifier == .sequence else { throw wrong }
            return plain
        } catch let failure as Failure {
            throw failure
        } catch {
            throw wrong
        }
    }
}
