import Crypto

/// AWS Signature Version 4, as S3 checks it: the request's canonical form, the string to sign
/// and the `Authorization` header, for an upload to a stage's bucket with the temporary
/// credentials Snowflake hands out (`stageInfo.creds`).
///
/// S3's flavour: the path is encoded once (not twice, as other services want) and not
/// normalised (`/a/./b` stays); the payload's SHA-256 goes into `x-amz-content-sha256`, which is
/// signed. Checked against AWS's published test vectors and against botocore signing the same
/// request (`AWSSignatureV4Tests`).
package struct AWSSignatureV4: Sendable {
    package var accessKeyID: String
    package var secretKey: String
    package var region: String
    package var service: String

    package init(accessKeyID: String, secretKey: String, region: String, service: String = "s3") {
        self.accessKeyID = accessKeyID
        self.secretKey = secretKey
        self.region = region
        self.service = service
    }

    /// One request as it is signed: `path` and `query` as they are before percent-encoding (the
    /// signer encodes them, ``encodedPath(_:)`` gives the path to send).
    package struct Request: Sendable {
        package var method: String
        package var path: String
        package var query: [(name: String, value: String)]
        /// Every header that is signed, `host` and `x-amz-date` among them.
        package var headers: [(name: String, value: String)]
        /// Lower-case hex SHA-256 of the body (or `UNSIGNED-PAYLOAD`).
        package var payloadHash: String

        package init(
            method: String, path: String, query: [(name: String, value: String)] = [], headers: [(name: String, value: String)],
            payloadHash: String
        ) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// What signing produced; the first two are for tests and error reports.
    package struct Signature: Sendable {
        package var canonicalRequest: String
        package var stringToSign: String
        package var authorization: String
    }

    /// Signs `request` at `amzDate` (`YYYYMMDDTHHMMSSZ`, UTC; the same text as its `x-amz-date`
    /// header).
    package func sign(_ request: Request, amzDate: String) -> Signature {
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(request.headers)
        let canonicalRequest = [
            request.method, Self.encodedPath(request.path), Self.canonicalQuery(request.query), canonicalHeaders, signedHeaders,
            request.payloadHash,
        ].joined(separator: "\n")
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, Self.hexSHA256(Array(canonicalRequest.utf8))]
            .joined(separator: "\n")
        var key = SymmetricKey(data: Array("AWS4\(secretKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = Self.hex(Array(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key)))
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Signature(canonicalRequest: canonicalRequest, stringToSign: stringToSign, authorization: authorization)
    }

    /// The canonical header block (each `name:value` line, names lower-cased and sorted, values
    /// trimmed with runs of whitespace made one space, repeated names joined by commas) and the
    /// signed header list.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (block: String, signed: String) {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            merged[trimmedAll(name.lowercased()), default: []].append(trimmedAll(value))
        }
        let names = merged.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let block = names.map { "\($0):\(merged[$0, default: []].joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    /// SigV4's Trimall: no whitespace before or after, every run of it inside made one space.
    /// Whitespace is every ASCII one (space, tab, line feed, vertical tab, form feed, carriage
    /// return), as aws-c-auth and botocore have it: a tab between words is a space to them, and
    /// AWS's test vector get-header-value-multiline folds its lines into spaces.
    static func trimmedAll(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var spaceBefore = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), 0x0B, 0x0C, UInt8(ascii: "\r"):
                spaceBefore = !out.isEmpty
            default:
                if spaceBefore { out.append(UInt8(ascii: " ")) }
                spaceBefore = false
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Name and value each encoded, sorted by name and then value (byte order), `name=value`
    /// joined by `&`.
    static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        query.map { (uriEncoded($0.name, keepSlash: false), uriEncoded($0.value, keepSlash: false)) }
            .sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) || ($0.0 == $1.0 && $0.1 < $1.1) }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// The path as it goes on the wire and into the signature: every byte but the unreserved
    /// ones and `/` percent-encoded (upper-case hex), `/` when empty.
    package static func encodedPath(_ path: String) -> String {
        path.isEmpty ? "/" : uriEncoded(path, keepSlash: true)
    }

    /// RFC 3986 encoding as AWS specifies it: `A–Z a–z 0–9 - _ . ~` stay, every other byte of
    /// the UTF-8 is `%XY`.
    package static func uriEncoded(_ text: String, keepSlash: Bool) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepSlash:
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    package static func hexSHA256(_ bytes: [UInt8]) -> String {
        hex(Array(SHA256.hash(data: bytes)))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes { out += [digits[Int(byte >> 4)], digits[Int(byte & 15)]] }
        return String(decoding: out, as: UTF8.self)
    }
}
