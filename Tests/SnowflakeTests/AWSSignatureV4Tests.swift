import Crypto
import Foundation
import TestSupport
import Testing

@testable import Snowflake

/// `AWSSignatureV4` against three references that do not share its code: AWS's published
/// Signature Version 4 test vectors, the worked examples in S3's documentation, and botocore (the
/// AWS SDK for Python) signing the same S3 uploads, fixed and randomized.
@Suite struct AWSSignatureV4Tests {
    /// One signed request and what signing it must give. `path` and `query` are as the signer
    /// takes them, before percent-encoding; `headers` are every header signed, values as they
    /// arrive (untrimmed); `body` is hashed for the payload line.
    struct Vector: Sendable, CustomTestStringConvertible {
        var name: String
        var source: String
        var method: String
        var path: String
        var query: [(name: String, value: String)]
        var headers: [(name: String, value: String)]
        var body: String
        var canonicalRequest: String
        var stringToSign: String
        var authorization: String

        var testDescription: String { name }

        func signed(by signer: AWSSignatureV4, at amzDate: String) -> AWSSignatureV4.Signature {
            signer.sign(
                AWSSignatureV4.Request(
                    method: method, path: path, query: query, headers: headers,
                    payloadHash: AWSSignatureV4.hexSHA256(Array(body.utf8))),
                amzDate: amzDate)
        }
    }

    // MARK: - AWS's test suite

    /// The suite's credentials, region, service and time (every case uses them).
    static let suiteSigner = AWSSignatureV4(
        accessKeyID: "AKIDEXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region: "us-east-1",
        service: "service")

    /// Every case of AWS's suite that applies to S3 (`vectors`, at the end of this file): the
    /// canonical request, the string to sign and the `Authorization` header, each as published.
    @Test(arguments: vectors)
    func awsTestSuite(_ vector: Vector) {
        let signature = vector.signed(by: Self.suiteSigner, at: "20150830T123600Z")
        #expect(signature.canonicalRequest == vector.canonicalRequest, "\(vector.source)")
        #expect(signature.stringToSign == vector.stringToSign, "\(vector.source)")
        #expect(signature.authorization == vector.authorization, "\(vector.source)")
    }

    // MARK: - S3's documentation

    /// The example credentials of S3's documentation, at its example time.
    static let documentationSigner = AWSSignatureV4(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1")

    /// The worked examples of "Signature Calculations for the Authorization Header: Transferring
    /// Payload in a Single Chunk (AWS Signature Version 4)",
    /// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html (bucket
    /// examplebucket, 20130524T000000Z). Each canonical request, string to sign and signature was
    /// checked against botocore's S3SigV4Auth (1.44.18) signing the same request. The page prints
    /// the `Authorization` header without a space after each comma; the header below has the
    /// spaces, as the test suite's `.authz` files and botocore write it (S3 accepts both).
    static let documentationExamples: [Vector] = [
        Vector(
            name: "Example: PUT Object", source: "sig-v4-header-based-auth.html", method: "PUT", path: "/test$file.text",
            query: [],
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                ("x-amz-date", "20130524T000000Z"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ("x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"),
            ],
            body: "Welcome to Amazon S3.",
            canonicalRequest: """
                PUT
                /test%24file.text

                date:Fri, 24 May 2013 00:00:00 GMT
                host:examplebucket.s3.amazonaws.com
                x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
                x-amz-date:20130524T000000Z
                x-amz-storage-class:REDUCED_REDUNDANCY

                date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class
                44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20130524T000000Z
                20130524/us-east-1/s3/aws4_request
                9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
        ),
        Vector(
            name: "Example: GET Object", source: "sig-v4-header-based-auth.html", method: "GET", path: "/test.txt", query: [],
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"),
                ("x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
                ("x-amz-date", "20130524T000000Z"),
            ],
            body: "",
            canonicalRequest: """
                GET
                /test.txt

                host:examplebucket.s3.amazonaws.com
                range:bytes=0-9
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                x-amz-date:20130524T000000Z

                host;range;x-amz-content-sha256;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20130524T000000Z
                20130524/us-east-1/s3/aws4_request
                7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        ),
        Vector(
            name: "Example: GET Bucket Lifecycle", source: "sig-v4-header-based-auth.html", method: "GET", path: "/",
            query: [("lifecycle", "")],
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"),
                ("x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
                ("x-amz-date", "20130524T000000Z"),
            ],
            body: "",
            canonicalRequest: """
                GET
                /
                lifecycle=
                host:examplebucket.s3.amazonaws.com
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                x-amz-date:20130524T000000Z

                host;x-amz-content-sha256;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20130524T000000Z
                20130524/us-east-1/s3/aws4_request
                9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
        ),
        Vector(
            name: "Example: Get Bucket (List Objects)", source: "sig-v4-header-based-auth.html", method: "GET", path: "/",
            query: [("prefix", "J"), ("max-keys", "2")],
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"),
                ("x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
                ("x-amz-date", "20130524T000000Z"),
            ],
            body: "",
            canonicalRequest: """
                GET
                /
                max-keys=2&prefix=J
                host:examplebucket.s3.amazonaws.com
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                x-amz-date:20130524T000000Z

                host;x-amz-content-sha256;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20130524T000000Z
                20130524/us-east-1/s3/aws4_request
                df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
        ),
    ]

    @Test(arguments: documentationExamples)
    func s3Documentation(_ example: Vector) {
        let signature = example.signed(by: Self.documentationSigner, at: "20130524T000000Z")
        #expect(signature.canonicalRequest == example.canonicalRequest)
        #expect(signature.stringToSign == example.stringToSign)
        #expect(signature.authorization == example.authorization)
    }

    /// The path goes on the wire as it is signed: `$` of the PUT example's key is `%24` in both.
    @Test func encodedPathIsTheSignedPath() {
        #expect(AWSSignatureV4.encodedPath("/test$file.text") == "/test%24file.text")
        #expect(AWSSignatureV4.encodedPath("/a b/+=/\u{1234}/./..//~") == "/a%20b/%2B%3D/%E1%88%B4/./..//~")
        #expect(AWSSignatureV4.encodedPath("") == "/")
    }

    // MARK: - botocore

    /// An S3 upload of a batch file to a stage's bucket, as Conduit sends it with the stage's
    /// temporary credentials: `x-amz-meta-*` are the client-side encryption metadata Snowflake
    /// reads back (the file key and IV wrapped, the material description, the digest).
    struct Upload {
        var accessKeyID: String
        var secretKey: String
        var sessionToken: String
        var region: String
        var host: String
        var amzDate: String
        var method = "PUT"
        var path: String
        var query: [(name: String, value: String)] = []
        var metadata: [(name: String, value: String)]
        var body: [UInt8]
        /// Where `host`, `x-amz-date`, `x-amz-content-sha256` and `x-amz-security-token` go among
        /// the metadata headers (the signer sorts them).
        var headerOrder: [Int]? = nil

        var payloadHash: String { AWSSignatureV4.hexSHA256(body) }

        /// Every header signed: the four S3 wants signed, then the metadata.
        var headers: [(name: String, value: String)] {
            let all =
                [
                    ("host", host), ("x-amz-date", amzDate), ("x-amz-content-sha256", payloadHash),
                    ("x-amz-security-token", sessionToken),
                ] + metadata
            return headerOrder.map { $0.map { all[$0] } } ?? all
        }

        func signed() -> AWSSignatureV4.Signature {
            AWSSignatureV4(accessKeyID: accessKeyID, secretKey: secretKey, region: region).sign(
                AWSSignatureV4.Request(method: method, path: path, query: query, headers: headers, payloadHash: payloadHash),
                amzDate: amzDate)
        }

        /// What botocore is given: the credentials (with the token), the raw path and query, the
        /// metadata headers and the body; it derives host, date, token and payload headers itself.
        var botocoreInput: [String: Any] {
            [
                "accessKeyID": accessKeyID, "secretKey": secretKey, "sessionToken": sessionToken, "region": region,
                "host": host, "amzDate": amzDate, "method": method, "path": path,
                "query": query.map { [$0.name, $0.value] }, "metadata": metadata.map { [$0.name, $0.value] },
                "body": body.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined(),
            ]
        }
    }

    /// A realistic upload: host and path as a stage's `location` gives them, the metadata of an
    /// encrypted stage.
    static let realisticUpload: Upload = {
        let body = Array("ID,NAME,UPDATED_AT\n1,Ada Lovelace,2024-03-15 10:15:02\n2,Grace Hopper,2024-03-15 10:15:02\n".utf8)
        return Upload(
            accessKeyID: "ASIAQSFCSTAGEEXAMPLE", secretKey: "d0Z3aRgkEXAMPLEsecretKEY/stage+creds7Q8r",
            sessionToken: "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLXdlc3QtMiJHMEUCIQDsessionTOKEN+for/the/stage==",
            region: "us-west-2", host: "sfc-bucket.s3.us-west-2.amazonaws.com", amzDate: "20240315T101502Z",
            path: "/stage/path/batch-1.csv.gz",
            metadata: [
                ("x-amz-meta-x-amz-key", "q8Fz0nX1yVt4m2LkR9sP3aWcE6dHbJ7uN5oG1iT0yZk="),
                ("x-amz-meta-x-amz-iv", "AAECAwQFBgcICQoLDA0ODw=="),
                ("x-amz-meta-x-amz-matdesc", #"{"queryId":"01b2","smkId":"123","keySize":"256"}"#),
                ("x-amz-meta-sfc-digest", Data(SHA256.hash(data: body)).base64EncodedString()),
            ],
            body: body)
    }()

    /// The realistic upload's header as botocore 1.44.18 signed it (recorded with the script of
    /// `signedByBotocore`), so the upload's signature is pinned where no Python is at hand too.
    @Test func realisticUploadAsBotocoreRecordedIt() {
        let signature = Self.realisticUpload.signed()
        #expect(
            signature.authorization
                == "AWS4-HMAC-SHA256 Credential=ASIAQSFCSTAGEEXAMPLE/20240315/us-west-2/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-meta-sfc-digest;x-amz-meta-x-amz-iv;x-amz-meta-x-amz-key;x-amz-meta-x-amz-matdesc;x-amz-security-token, Signature=e4a4fb64143719d263f3817b0a6875cfeaf422e3fee6fa14bdf064f7e018048c"
        )
        #expect(Self.realisticUpload.payloadHash == "c5bbeb07a7424d2350b69552593f3fd9bd879584bfaaf4bc287801e1b21623ff")
    }

    /// The realistic upload, signed by botocore now: the same `Authorization`, byte for byte.
    @Test func realisticUploadMatchesBotocore() throws {
        let upload = Self.realisticUpload
        let botocore = try Self.signedByBotocore([upload])
        try #require(botocore.count == 1)
        Self.expectSame(upload, botocore[0], label: "the realistic upload")
    }

    /// Randomized uploads through botocore and through `AWSSignatureV4`: paths with spaces,
    /// `+`, `=`, reserved and non-ASCII characters, `.`/`..` segments and doubled slashes (S3
    /// does not normalise); query items (repeated names too); metadata values with runs of
    /// spaces and tabs, leading and trailing; header names in any case and order; empty and
    /// binary bodies. Each case's generator is seeded from `seed` and its index, so a failure
    /// names what replays it.
    @Test func randomizedUploadsMatchBotocore() throws {
        let seed: UInt64 = 0x5197_4A55_0001_CAFE
        let uploads = (0..<60).map { index in
            var random = SplitMix64(seed: SplitMix64.mix(seed &+ UInt64(index)))
            return Self.randomUpload(&random)
        }
        let botocore = try Self.signedByBotocore(uploads)
        try #require(botocore.count == uploads.count)
        for (index, upload) in uploads.enumerated() {
            Self.expectSame(upload, botocore[index], label: "case \(index) of seed 0x\(String(seed, radix: 16))")
        }
    }

    static func expectSame(_ upload: Upload, _ botocore: [String: String], label: String) {
        let ours = upload.signed()
        #expect(AWSSignatureV4.encodedPath(upload.path) == botocore["path"], "\(label): path \(upload.path)")
        #expect(upload.payloadHash == botocore["payloadHash"], "\(label)")
        #expect(ours.canonicalRequest == botocore["canonicalRequest"], "\(label)")
        #expect(ours.stringToSign == botocore["stringToSign"], "\(label)")
        #expect(ours.authorization == botocore["authorization"], "\(label)")
    }

    struct MissingPython: Error, CustomStringConvertible {
        var description: String {
            "CONDUIT_TEST_SNOWFLAKE_PYTHON is not set: run the tests with scripts/test.sh, which sets it to the Python of "
                + "fakesnow's virtualenv (botocore comes with Snowflake's connector there)"
        }
    }

    struct PythonFailed: Error, CustomStringConvertible {
        var result: Sandbox.Result
        var description: String { "botocore's signing script failed (\(result.status)):\n\(result.stderr)" }
    }

    /// Each upload signed by botocore's `S3SigV4Auth`, run by $CONDUIT_TEST_SNOWFLAKE_PYTHON:
    /// the wire path, payload hash, canonical request, string to sign and `Authorization`.
    static func signedByBotocore(_ uploads: [Upload]) throws -> [[String: String]] {
        guard let python = ProcessInfo.processInfo.environment["CONDUIT_TEST_SNOWFLAKE_PYTHON"], !python.isEmpty else {
            throw MissingPython()
        }
        let box = try Sandbox()
        try box.write(botocoreScript, to: "sign.py")
        try box.write([UInt8](try JSONSerialization.data(withJSONObject: uploads.map(\.botocoreInput))), to: "uploads.json")
        let result = try box.run(#""$CONDUIT_TEST_SNOWFLAKE_PYTHON" sign.py uploads.json"#)
        guard result.status == 0 else { throw PythonFailed(result: result) }
        let parsed = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: String]]
        return try #require(parsed, "botocore's script printed no list of signatures: \(result.stdout)")
    }

    /// Signs each upload of the JSON file named by its argument as botocore's S3 client does:
    /// the key percent-encoded by `botocore.utils.percent_encode` (safe `/~`, as botocore's REST
    /// serializer encodes a `{Key+}` label), `host` from the URL, `X-Amz-Date` from the
    /// timestamp, `X-Amz-Security-Token` from the credentials, `X-Amz-Content-SHA256` from the
    /// body. The steps are `add_auth`'s with its clock replaced by the upload's timestamp.
    static let botocoreScript = #"""
        import json
        import sys

        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        from botocore.utils import percent_encode

        with open(sys.argv[1], encoding="utf-8") as file:
            uploads = json.load(file)
        signed = []
        for upload in uploads:
            credentials = Credentials(upload["accessKeyID"], upload["secretKey"], upload["sessionToken"])
            auth = S3SigV4Auth(credentials, "s3", upload["region"])
            path = percent_encode(upload["path"], safe="/~")
            request = AWSRequest(
                method=upload["method"], url="https://" + upload["host"] + path, data=bytes.fromhex(upload["body"]),
                params=[(name, value) for name, value in upload["query"]])
            for name, value in upload["metadata"]:
                request.headers[name] = value
            request.context["timestamp"] = upload["amzDate"]
            auth._modify_request_before_signing(request)
            canonical_request = auth.canonical_request(request)
            string_to_sign = auth.string_to_sign(request, canonical_request)
            auth._inject_signature_to_request(request, auth.signature(string_to_sign, request))
            signed.append({
                "path": path,
                "payloadHash": request.headers["X-Amz-Content-SHA256"],
                "canonicalRequest": canonical_request,
                "stringToSign": string_to_sign,
                "authorization": request.headers["Authorization"],
            })
        json.dump(signed, sys.stdout)
        """#

    // MARK: - Random uploads

    static func randomUpload(_ random: inout SplitMix64) -> Upload {
        let regions = ["us-west-2", "us-east-1", "eu-central-1", "ap-northeast-1", "sa-east-1"]
        let region = random.pick(regions) ?? "us-west-2"
        let bucketLength = random.int(in: 3...20)
        let bucket = "sfc-" + randomText(&random, from: "abcdefghijklmnopqrstuvwxyz0123456789-", count: bucketLength)
        let anyLength = random.int(in: 0...5000)
        let bodyLength = random.pick([0, 1, 100, anyLength])!
        let body = (0..<bodyLength).map { _ in UInt8.random(in: 0...255, using: &random) }
        let digest = Data(SHA256.hash(data: body)).base64EncodedString()
        var metadata: [(name: String, value: String)] = [
            (randomCase("x-amz-meta-x-amz-key", &random), spaced(randomBase64(&random, bytes: 32), &random)),
            (randomCase("x-amz-meta-x-amz-iv", &random), spaced(randomBase64(&random, bytes: 16), &random)),
            (randomCase("x-amz-meta-x-amz-matdesc", &random), spaced(randomMaterialDescription(&random), &random)),
            (randomCase("x-amz-meta-sfc-digest", &random), spaced(digest, &random)),
        ]
        if random.oneIn(2) {
            let printable = (32...126).map { String(UnicodeScalar(UInt8($0))) }.joined() + "\t"
            let length = random.int(in: 0...60)
            let note = randomText(&random, from: printable, count: length)
            metadata.append((randomCase("x-amz-meta-note", &random), spaced(note, &random)))
        }
        let tokenLength = random.int(in: 100...400)
        var upload = Upload(
            accessKeyID: "ASIA" + randomText(&random, from: "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", count: 16),
            secretKey: randomText(&random, from: base64Alphabet, count: 40),
            sessionToken: randomBase64(&random, bytes: tokenLength), region: region,
            host: "\(bucket).s3.\(region).amazonaws.com", amzDate: randomAmzDate(&random), path: randomPath(&random),
            metadata: metadata, body: body)
        if random.oneIn(3) { upload.method = "POST" }
        for _ in 0..<random.pick([0, 0, 1, 2, 4])! {
            upload.query.append((randomPathPiece(&random, count: 1...3), randomPathPiece(&random, count: 0...3)))
        }
        if upload.query.count > 1, random.oneIn(3) {
            upload.query.append((upload.query[0].name, randomPathPiece(&random, count: 0...3)))
        }
        upload.headerOrder = Array(0..<(4 + metadata.count)).shuffled(using: &random)
        return upload
    }

    static let base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    static func randomText(_ random: inout SplitMix64, from alphabet: String, count: Int) -> String {
        let characters = Array(alphabet)
        return String((0..<count).map { _ in characters[random.int(in: 0..<characters.count)] })
    }

    static func randomBase64(_ random: inout SplitMix64, bytes: Int) -> String {
        Data((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &random) }).base64EncodedString()
    }

    /// `x-amz-meta-…` as written, in lower case, Title-Case or upper case.
    static func randomCase(_ name: String, _ random: inout SplitMix64) -> String {
        switch random.int(in: 0..<3) {
        case 0: return name
        case 1: return name.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: "-")
        default: return name.uppercased()
        }
    }

    /// Snowflake's material description, compact or with spaces after the separators.
    static func randomMaterialDescription(_ random: inout SplitMix64) -> String {
        let queryID =
            randomText(&random, from: "0123456789abcdef", count: 8) + "-0000-" + randomText(&random, from: "0123456789", count: 4)
        let fields = [
            ("queryId", queryID), ("smkId", String(random.int(in: 0...999_999))), ("keySize", random.pick(["128", "256"])!),
        ]
        let separator = random.pick([",", ", ", ",  "])!
        let colon = random.pick([":", ": "])!
        return "{" + fields.map { "\"\($0.0)\"\(colon)\"\($0.1)\"" }.joined(separator: separator) + "}"
    }

    /// `value` with, at random, spaces or tabs before and after it and runs of them inside.
    static func spaced(_ value: String, _ random: inout SplitMix64) -> String {
        let blanks = [" ", "  ", "\t", " \t ", "   "]
        var text = value
        if random.oneIn(3) {
            text = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
                .joined(separator: random.pick(blanks)!)
        }
        if random.oneIn(4), text.count > 2 {
            let cut = text.index(text.startIndex, offsetBy: random.int(in: 1..<text.count))
            text = String(text[..<cut]) + random.pick(blanks)! + String(text[cut...])
        }
        if random.oneIn(3) { text = random.pick(blanks)! + text }
        if random.oneIn(3) { text += random.pick(blanks)! }
        return text
    }

    static func randomAmzDate(_ random: inout SplitMix64) -> String {
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(random.int(in: 2015...2035))\(two(random.int(in: 1...12)))\(two(random.int(in: 1...28)))T"
            + "\(two(random.int(in: 0...23)))\(two(random.int(in: 0...59)))\(two(random.int(in: 0...59)))Z"
    }

    /// Pieces of object keys: unreserved and reserved ASCII, spaces, `+`, `=`, `%`, non-ASCII.
    static let pathPieces = [
        "a", "Z", "0", "batch", "csv.gz", "-", "_", ".", "~", " ", "  ", "+", "=", "$", "&", "%", "%20", "?", "#", "!", "'",
        "(", ")", "*", ",", ";", ":", "@", "[", "]", "\"", "é", "ü", "ß", "\u{1234}", "日本", "😀", "e\u{301}",
    ]

    static func randomPathPiece(_ random: inout SplitMix64, count: ClosedRange<Int>) -> String {
        (0..<random.int(in: count)).map { _ in random.pick(pathPieces)! }.joined()
    }

    /// `/stage/…/file`: one to five segments, now and then `.`, `..` or empty (a doubled slash).
    static func randomPath(_ random: inout SplitMix64) -> String {
        let segments = (0..<random.int(in: 1...5)).map { _ in
            random.oneIn(8) ? random.pick([".", "..", ""])! : randomPathPiece(&random, count: 1...4)
        }
        return "/" + segments.joined(separator: "/")
    }
}

// MARK: - The vectors

extension AWSSignatureV4Tests {
    /// AWS's Signature Version 4 test suite ("aws-sig-v4-test-suite", AWS's copyright, Apache 2.0),
    /// every case that applies to S3's header-signed requests. `source` names the folder the case
    /// comes from:
    ///
    /// - "botocore …": the suite as distributed with botocore, github.com/boto/botocore,
    ///   tests/unit/auth/aws4_testsuite/ (commit 0e6e2404b85dc336dd2889814e089bde7d1a4c55): the
    ///   `.req`, `.creq`, `.sts` and `.authz` files.
    /// - "aws-c-auth …": the suite as distributed with github.com/awslabs/aws-c-auth,
    ///   tests/aws-signing-test-suite/v4/ (commit 495329c2433034bd8fd53fc6ba9e0202d3fac876):
    ///   `request.txt`, `header-canonical-request.txt`, `header-string-to-sign.txt` and the
    ///   `Authorization` line of `header-signed-request.txt`. Used for what botocore's copy lacks:
    ///   the "-unnormalized" variants of the path cases (S3 does not normalise paths), and the
    ///   form posts with `sign_body` (`x-amz-content-sha256` and `content-length` signed, as S3
    ///   signs its payload), named "-signed-body" here.
    ///
    /// Left out: botocore's normalize-path/ cases (get-relative, get-relative-relative, get-slash,
    /// get-slash-dot-slash, get-slash-pointless-dot, get-slashes, get-space) and aws-c-auth's
    /// "-normalized" ones, which expect the path normalised (`/./` to `/`), as S3 must not — their
    /// "-unnormalized" twins are here instead; post-sts-header-after, whose token header is added
    /// after signing (S3 wants every `x-amz-*` header signed; the signed part is post-vanilla, here);
    /// aws-c-auth's `query-*` files (presigned URLs: this signer signs headers only) and its v4a
    /// suite (another algorithm). aws-c-auth's other cases are botocore's (its canonical requests
    /// are the same files, byte for byte).
    ///
    /// How the requests are written down: the signer takes the path and the query before
    /// percent-encoding and encodes them itself, so a percent-escape in a `.req` request line is
    /// decoded here — only get-vanilla-query-order-encoded has any (`%E1%88%B4` is U+1234, the raw
    /// UTF-8 that get-vanilla-utf8-query sends). Raw text stays raw: get-utf8's and
    /// get-vanilla-utf8-query's UTF-8 (written `\u{1234}`), get-space-unnormalized's space,
    /// get-special-character's `$`. Header values are everything after the first colon, untrimmed
    /// (get-header-value-trim's leading spaces, get-header-value-multiline's folded lines with
    /// their newlines), so the signer's trimming is what is tested. The signer signs only the
    /// headers it is given: where the suite's signer adds a header, it is given here —
    /// get-vanilla-with-session-token's `X-Amz-Security-Token` (its value from the `.creq`), and
    /// aws-c-auth's `X-Amz-Date` (and, for the signed-body posts, `x-amz-content-sha256`).
    static let vectors: [Vector] = [
        Vector(
            name: "get-header-key-duplicate", source: "botocore tests/unit/auth/aws4_testsuite/get-header-key-duplicate/",
            method: "GET", path: "/",
            query: [],
            headers: [
                ("Host", "example.amazonaws.com"), ("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1"),
                ("X-Amz-Date", "20150830T123600Z"),
            ],
            body: "",
            canonicalRequest: """
                GET
                /

                host:example.amazonaws.com
                my-header1:value2,value2,value1
                x-amz-date:20150830T123600Z

                host;my-header1;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"
        ),
        Vector(
            name: "get-header-value-multiline", source: "botocore tests/unit/auth/aws4_testsuite/get-header-value-multiline/",
            method: "GET", path: "/",
            query: [],
            headers: [
                ("Host", "example.amazonaws.com"), ("My-Header1", "value1\n  value2\n     value3"),
                ("X-Amz-Date", "20150830T123600Z"),
            ],
            body: "",
            canonicalRequest: """
                GET
                /

                host:example.amazonaws.com
                my-header1:value1 value2 value3
                x-amz-date:20150830T123600Z

                host;my-header1;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                e99419459a677bc11de234014be3c4e72c1ea5b454ceb58b613061f5d7a162e8
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=cfd34249e4b1c8d6b91ef74165d41a32e5fab3306300901bb65a51a73575eefd"
        ),
        Vector(
            name: "get-header-value-order", source: "botocore tests/unit/auth/aws4_testsuite/get-header-value-order/",
            method: "GET", path: "/",
            query: [],
            headers: [
                ("Host", "example.amazonaws.com"), ("My-Header1", "value4"), ("My-Header1", "value1"), ("My-Header1", "value3"),
                ("My-Header1", "value2"), ("X-Amz-Date", "20150830T123600Z"),
            ],
            body: "",
            canonicalRequest: """
                GET
                /

                host:example.amazonaws.com
                my-header1:value4,value1,value3,value2
                x-amz-date:20150830T123600Z

                host;my-header1;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"
        ),
        Vector(
            name: "get-header-value-trim", source: "botocore tests/unit/auth/aws4_testsuite/get-header-value-trim/",
            method: "GET", path: "/",
            query: [],
            headers: [
                ("Host", "example.amazonaws.com"), ("My-Header1", " value1"), ("My-Header2", " \"a   b   c\""),
                ("X-Amz-Date", "20150830T123600Z"),
            ],
            body: "",
            canonicalRequest: """
                GET
                /

                host:example.amazonaws.com
                my-header1:value1
                my-header2:"a b c"
                x-amz-date:20150830T123600Z

                host;my-header1;my-header2;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"
        ),
        Vector(
            name: "get-unreserved", source: "botocore tests/unit/auth/aws4_testsuite/get-unreserved/", method: "GET",
            path: "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            query: [],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                GET
                /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"
        ),
        Vector(
            name: "get-utf8", source: "botocore tests/unit/auth/aws4_testsuite/get-utf8/", method: "GET", path: "/\u{1234}",
            query: [],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                GET
                /%E1%88%B4

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"
        ),
        Vector(
            name: "get-vanilla", source: "botocore tests/unit/auth/aws4_testsuite/get-vanilla/", method: "GET", path: "/",
            query: [],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                GET
                /

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        ),
        Vector(
            name: "get-vanilla-empty-query-key", source: "botocore tests/unit/auth/aws4_testsuite/get-vanilla-empty-query-key/",
            method: "GET", path: "/",
            query: [("Param1", "value1")],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                GET
                /
                Param1=value1
                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                1e24db194ed7d0eec2de28d7369675a243488e08526e8c1c73571282f7c517ab
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"
        ),
        Vector(
            name: "get-vanilla-query", source: "botocore tests/unit/auth/aws4_testsuite/get-vanilla-query/", method: "GET",
            path: "/",
            query: [],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                GET
                /

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        ),
        // The .req sends U+1234 percent-encoded (%E1%88%B4): decoded here, the signer encodes it.
        Vector(
            name: "get-vanilla-query-order-encoded",
            source: "botocore tests/unit/auth/aws4_testsuite/get-vanilla-query-order-encoded/", method: "GET", path: "/",
            query: [("Param-3", "Value3"), ("Param", "Value2"), ("\u{1234}", "Value1")],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                GET
                /
                %E1%88%B4=Value1&Param=Value2&Param-3=Value3
                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                868294f5c38bd141c4972a373a76654f1418a8e4fc18b2e7903ae45e8ae0ec71
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"
        ),
        Vector(
            name: "get-vanilla-query-order-key", source: "botocore tests/unit/auth/aws4_testsuite/get-vanilla-query-order-key/",
            method: "GET", path: "/",
            query: [("Param1", "value2"), ("Param1", "Value1")],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                GET
                /
                Param1=Value1&Param1=value2
                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"
        ),
        Vector(
            name: "get-vanilla-query-order-key-case",
            source: "botocore tests/unit/auth/aws4_testsuite/get-vanilla-query-order-key-case/", method: "GET", path: "/",
            query: [("Param2", "value2"), ("Param1", "value1")],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                GET
                /
                Param1=value1&Param2=value2
                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        ),
        Vector(
            name: "get-vanilla-query-order-value",
            source: "botocore tests/unit/auth/aws4_testsuite/get-vanilla-query-order-value/", method: "GET", path: "/",
            query: [("Param1", "value2"), ("Param1", "value1")],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                GET
                /
                Param1=value1&Param1=value2
                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                c968629d70850097a2d8781c9bf7edcb988b04cac14cca9be4acc3595f884606
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"
        ),
        Vector(
            name: "get-vanilla-query-unreserved", source: "botocore tests/unit/auth/aws4_testsuite/get-vanilla-query-unreserved/",
            method: "GET", path: "/",
            query: [
                (
                    "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                    "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                )
            ],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                GET
                /
                -._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz
                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"
        ),
        Vector(
            name: "get-vanilla-utf8-query", source: "botocore tests/unit/auth/aws4_testsuite/get-vanilla-utf8-query/",
            method: "GET", path: "/",
            query: [("\u{1234}", "bar")],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                GET
                /
                %E1%88%B4=bar
                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"
        ),
        // The .req leaves out the token header (botocore adds it from the credentials); its value is the .creq's.
        Vector(
            name: "get-vanilla-with-session-token",
            source: "botocore tests/unit/auth/aws4_testsuite/get-vanilla-with-session-token/", method: "GET", path: "/",
            query: [],
            headers: [
                ("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z"),
                ("X-Amz-Security-Token", "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"),
            ],
            body: "",
            canonicalRequest: """
                GET
                /

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z
                x-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267

                host;x-amz-date;x-amz-security-token
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"
        ),
        Vector(
            name: "get-special-character",
            source: "botocore tests/unit/auth/aws4_testsuite/normalize-path/get-special-character/", method: "GET",
            path: "/example/$delete",
            query: [],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                GET
                /example/%24delete

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                4053e45b5cef7cec5e17f736b1c12b3faf0388fd4c0bd24326386f132039ce5c
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=a853c9b21b528b19643d00910d35b83a10c366a10833ceefb45edd6c80e40f27"
        ),
        Vector(
            name: "post-header-key-case", source: "botocore tests/unit/auth/aws4_testsuite/post-header-key-case/", method: "POST",
            path: "/",
            query: [],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                POST
                /

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        ),
        Vector(
            name: "post-header-key-sort", source: "botocore tests/unit/auth/aws4_testsuite/post-header-key-sort/", method: "POST",
            path: "/",
            query: [],
            headers: [("Host", "example.amazonaws.com"), ("My-Header1", "value1"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                POST
                /

                host:example.amazonaws.com
                my-header1:value1
                x-amz-date:20150830T123600Z

                host;my-header1;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"
        ),
        Vector(
            name: "post-header-value-case", source: "botocore tests/unit/auth/aws4_testsuite/post-header-value-case/",
            method: "POST", path: "/",
            query: [],
            headers: [("Host", "example.amazonaws.com"), ("My-Header1", "VALUE1"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                POST
                /

                host:example.amazonaws.com
                my-header1:VALUE1
                x-amz-date:20150830T123600Z

                host;my-header1;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                d51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"
        ),
        Vector(
            name: "post-sts-header-before",
            source: "botocore tests/unit/auth/aws4_testsuite/post-sts-token/post-sts-header-before/", method: "POST", path: "/",
            query: [],
            headers: [
                ("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z"),
                (
                    "X-Amz-Security-Token",
                    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
                ),
            ],
            body: "",
            canonicalRequest: """
                POST
                /

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z
                x-amz-security-token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==

                host;x-amz-date;x-amz-security-token
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"
        ),
        Vector(
            name: "post-vanilla", source: "botocore tests/unit/auth/aws4_testsuite/post-vanilla/", method: "POST", path: "/",
            query: [],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                POST
                /

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        ),
        Vector(
            name: "post-vanilla-empty-query-value",
            source: "botocore tests/unit/auth/aws4_testsuite/post-vanilla-empty-query-value/", method: "POST", path: "/",
            query: [("Param1", "value1")],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                POST
                /
                Param1=value1
                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"
        ),
        Vector(
            name: "post-vanilla-query", source: "botocore tests/unit/auth/aws4_testsuite/post-vanilla-query/", method: "POST",
            path: "/",
            query: [("Param1", "value1")],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                POST
                /
                Param1=value1
                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"
        ),
        Vector(
            name: "post-x-www-form-urlencoded", source: "botocore tests/unit/auth/aws4_testsuite/post-x-www-form-urlencoded/",
            method: "POST", path: "/",
            query: [],
            headers: [
                ("Content-Type", "application/x-www-form-urlencoded"), ("Host", "example.amazonaws.com"),
                ("X-Amz-Date", "20150830T123600Z"),
            ],
            body: "Param1=value1",
            canonicalRequest: """
                POST
                /

                content-type:application/x-www-form-urlencoded
                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                content-type;host;x-amz-date
                9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        ),
        Vector(
            name: "post-x-www-form-urlencoded-parameters",
            source: "botocore tests/unit/auth/aws4_testsuite/post-x-www-form-urlencoded-parameters/", method: "POST", path: "/",
            query: [],
            headers: [
                ("Content-Type", "application/x-www-form-urlencoded; charset=utf8"), ("Host", "example.amazonaws.com"),
                ("X-Amz-Date", "20150830T123600Z"),
            ],
            body: "Param1=value1",
            canonicalRequest: """
                POST
                /

                content-type:application/x-www-form-urlencoded; charset=utf8
                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                content-type;host;x-amz-date
                9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                2e1cf7ed91881a30569e46552437e4156c823447bf1781b921b5d486c568dd1c
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"
        ),
        Vector(
            name: "get-relative-unnormalized", source: "aws-c-auth tests/aws-signing-test-suite/v4/get-relative-unnormalized/",
            method: "GET", path: "/example/..",
            query: [],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                GET
                /example/..

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                0511f456aa502b456d135fcb9d749374a55228f9dbeedda1eacf659e05b0615b
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=eca7ead57bb5aa5c8e28007acd4ff04e1ff9a0ff3b237ec1554a184887ff9282"
        ),
        Vector(
            name: "get-relative-relative-unnormalized",
            source: "aws-c-auth tests/aws-signing-test-suite/v4/get-relative-relative-unnormalized/", method: "GET",
            path: "/example1/example2/../..",
            query: [],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                GET
                /example1/example2/../..

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                76115030c0f3ff06c20fdff5ceb6d5e0b835a1743e00b94fea7c7f381269437b
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=dc33e0856fd4baca4d7aa2146c38958283844764f38c74252a333df5e613003b"
        ),
        Vector(
            name: "get-slash-unnormalized", source: "aws-c-auth tests/aws-signing-test-suite/v4/get-slash-unnormalized/",
            method: "GET", path: "//",
            query: [],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                GET
                //

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                80cb39203d058af815de2b79250ff56e1b73eb9b4718c86556cdc6f150c5d209
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=c88bcd3d312d75078c0cd961d6deae3f4c754924b01669efcfcb439fd5e5b76e"
        ),
        Vector(
            name: "get-slash-dot-slash-unnormalized",
            source: "aws-c-auth tests/aws-signing-test-suite/v4/get-slash-dot-slash-unnormalized/", method: "GET", path: "/./",
            query: [],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                GET
                /./

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                d67825e2268bd77a97c7688b8d72c31a3c1855b309808505ba0a9747d2465aa7
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=68714168e6557f8f2de0ef956fc24dc2593a4bd2961f8df51898d8a134695145"
        ),
        Vector(
            name: "get-slash-pointless-dot-unnormalized",
            source: "aws-c-auth tests/aws-signing-test-suite/v4/get-slash-pointless-dot-unnormalized/", method: "GET",
            path: "/./example",
            query: [],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                GET
                /./example

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                73895e0e829507e28e39fd24669aedc2434a8e179e547e3c075b42921f952cdb
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=beb03f223f7deae4146464f06e29eebbee9c8afbe15c290cf07aa8b119e14cff"
        ),
        Vector(
            name: "get-slashes-unnormalized", source: "aws-c-auth tests/aws-signing-test-suite/v4/get-slashes-unnormalized/",
            method: "GET", path: "//example//",
            query: [],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                GET
                //example//

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                528ec3105ee1f34ab014bb0a1a45da0ed2742a4fea3555149e5b4d5d201eb240
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5"
        ),
        Vector(
            name: "get-space-unnormalized", source: "aws-c-auth tests/aws-signing-test-suite/v4/get-space-unnormalized/",
            method: "GET", path: "/example space/",
            query: [],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            body: "",
            canonicalRequest: """
                GET
                /example%20space/

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"
        ),
        Vector(
            name: "post-x-www-form-urlencoded-signed-body",
            source: "aws-c-auth tests/aws-signing-test-suite/v4/post-x-www-form-urlencoded/", method: "POST", path: "/",
            query: [],
            headers: [
                ("Content-Type", "application/x-www-form-urlencoded"), ("Host", "example.amazonaws.com"),
                ("Content-Length", "13"), ("X-Amz-Date", "20150830T123600Z"),
                ("x-amz-content-sha256", "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"),
            ],
            body: "Param1=value1",
            canonicalRequest: """
                POST
                /

                content-length:13
                content-type:application/x-www-form-urlencoded
                host:example.amazonaws.com
                x-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
                x-amz-date:20150830T123600Z

                content-length;content-type;host;x-amz-content-sha256;x-amz-date
                9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                b1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"
        ),
        Vector(
            name: "post-x-www-form-urlencoded-parameters-signed-body",
            source: "aws-c-auth tests/aws-signing-test-suite/v4/post-x-www-form-urlencoded-parameters/", method: "POST",
            path: "/",
            query: [],
            headers: [
                ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"), ("Host", "example.amazonaws.com"),
                ("Content-Length", "13"), ("X-Amz-Date", "20150830T123600Z"),
                ("x-amz-content-sha256", "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"),
            ],
            body: "Param1=value1",
            canonicalRequest: """
                POST
                /

                content-length:13
                content-type:application/x-www-form-urlencoded; charset=utf-8
                host:example.amazonaws.com
                x-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
                x-amz-date:20150830T123600Z

                content-length;content-type;host;x-amz-content-sha256;x-amz-date
                9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
                """,
            stringToSign: """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                a89f1a5b53e37702ee6363ce1da3ce8f54386f3c8f352ae652153c2982a0bc4d
                """,
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, Signature=328d1b9eaadca9f5818ef05e8392801e091653bafec24fcab71e7344e7f51422"
        ),
    ]
}
