import Core
import HTTP
import Stream
import Testing

@testable import Snowflake

@Suite struct SnowflakeStageTests {
    static func stageInfo(_ json: String) throws -> JSONValue {
        try JSONParser.parse(Array(json.utf8))
    }

    static func target(_ json: String, file: String = "batch-1.csv.gz", scheme: String = "https") throws -> StageTarget.Reading {
        StageTarget.read(try stageInfo(json), file: file, scheme: scheme)
    }

    static let key128 = "AAECAwQFBgcICQoLDA0ODw=="  // bytes 0…15

    /// Each location type as a real PUT answer names it, read as the connectors read it.
    @Test func readsEveryLocationTypeAsTheConnectorsDo() throws {
        let material = #""encryptionMaterial":{"queryStageMasterKey":"\#(Self.key128)","queryId":"01b2-q","smkId":8812}"#
        guard
            case .target(let s3) = try Self.target(
                #"{"stageInfo":{"locationType":"S3","location":"sfc-b/stages/t 1/conduit/","region":"us-west-2","endPoint":null,"creds":{"AWS_KEY_ID":"ASIA1","AWS_SECRET_KEY":"s3cr3t","AWS_TOKEN":"tok"},"isClientSideEncrypted":true},\#(material)}"#
            )
        else { throw Failure("S3 unread") }
        #expect(
            s3.storage
                == .s3(
                    bucket: "sfc-b", path: "stages/t 1/conduit/batch-1.csv.gz", host: "sfc-b.s3.us-west-2.amazonaws.com",
                    region: "us-west-2", keyID: "ASIA1", secretKey: "s3cr3t", token: "tok"))
        #expect(s3.material == StageEncryptionMaterial(masterKey: Array(0..<16), queryID: "01b2-q", smkID: "8812"))
        // endPoint (FIPS) when given; China's regions their own domain.
        guard
            case .target(let fips) = try Self.target(
                #"{"stageInfo":{"locationType":"S3","location":"b","region":"us-gov-west-1","endPoint":"s3-fips.us-gov-west-1.amazonaws.com","creds":{"AWS_KEY_ID":"k","AWS_SECRET_KEY":"s"}}}"#
            ), case .s3(_, let fipsPath, let fipsHost, _, _, _, let noToken) = fips.storage
        else { throw Failure("FIPS unread") }
        #expect(fipsHost == "b.s3-fips.us-gov-west-1.amazonaws.com" && fipsPath == "batch-1.csv.gz" && noToken == nil)
        guard
            case .target(let china) = try Self.target(
                #"{"stageInfo":{"locationType":"S3","location":"b/p","region":"cn-north-1","creds":{"AWS_KEY_ID":"k","AWS_SECRET_KEY":"s"}}}"#
            ), case .s3(_, let chinaPath, let chinaHost, _, _, _, _) = china.storage
        else { throw Failure("China unread") }
        #expect(chinaHost == "b.s3.cn-north-1.amazonaws.com.cn" && chinaPath == "p/batch-1.csv.gz")

        guard
            case .target(let azure) = try Self.target(
                #"{"stageInfo":{"locationType":"AZURE","location":"stage-container/tables/9/","storageAccount":"sfcacct","endPoint":"blob.core.windows.net","creds":{"AZURE_SAS_TOKEN":"?sv=2020&sig=a%2Bb"}},\#(material)}"#
            )
        else { throw Failure("Azure unread") }
        #expect(
            azure.storage
                == .azure(
                    url: "https://sfcacct.blob.core.windows.net/stage-container/tables/9/batch-1.csv.gz",
                    sasToken: "sv=2020&sig=a%2Bb"))

        guard
            case .target(let presigned) = try Self.target(
                #"{"stageInfo":{"locationType":"GCS","location":"b/p/","presignedUrl":"https://storage.googleapis.com/b/p/batch-1.csv.gz?X-Goog-Signature=1","creds":{}},"encryptionMaterial":null}"#
            )
        else { throw Failure("GCS unread") }
        #expect(
            presigned.storage
                == .gcs(url: "https://storage.googleapis.com/b/p/batch-1.csv.gz?X-Goog-Signature=1", accessToken: nil))
        #expect(presigned.material == nil)
        guard
            case .target(let bearer) = try Self.target(
                #"{"stageInfo":{"locationType":"GCS","location":"gcs-bucket/path","presignedUrl":null,"region":"us-central1","creds":{"GCS_ACCESS_TOKEN":"ya29"}},"encryptionMaterial":[{"queryStageMasterKey":"\#(Self.key128)","queryId":"q","smkId":"7"}]}"#
            )
        else { throw Failure("GCS token unread") }
        #expect(bearer.storage == .gcs(url: "https://storage.googleapis.com/gcs-bucket/path/batch-1.csv.gz", accessToken: "ya29"))
        #expect(bearer.material?.smkID == "7")
        // A virtual host names the bucket: the URL's path is the object's alone (the connectors'
        // generate_file_url), with an endPoint or without.
        guard
            case .target(let virtualEndPoint) = try Self.target(
                #"{"stageInfo":{"locationType":"GCS","location":"gcs-bucket/p","endPoint":"gcs.example.com/","useVirtualUrl":true,"creds":{"GCS_ACCESS_TOKEN":"t"}}}"#
            ),
            case .target(let virtualHost) = try Self.target(
                #"{"stageInfo":{"locationType":"GCS","location":"gcs-bucket/p","useVirtualUrl":true,"creds":{"GCS_ACCESS_TOKEN":"t"}}}"#
            ),
            case .target(let both) = try Self.target(
                #"{"stageInfo":{"locationType":"GCS","location":"b","presignedUrl":"https://signed/x?sig=1","creds":{"GCS_ACCESS_TOKEN":"t"}}}"#
            )
        else { throw Failure("GCS variants unread") }
        #expect(virtualEndPoint.storage == .gcs(url: "https://gcs.example.com/p/batch-1.csv.gz", accessToken: "t"))
        #expect(virtualHost.storage == .gcs(url: "https://gcs-bucket.storage.googleapis.com/p/batch-1.csv.gz", accessToken: "t"))
        // Both given: the presigned URL, as the connectors choose.
        #expect(both.storage == .gcs(url: "https://signed/x?sig=1", accessToken: nil))
    }

    /// What cannot be used is said, and the batch goes by binds: a location type Conduit does
    /// not know, a stage that wants encryption without a key, a key that is not an AES key.
    @Test func refusesWhatItCannotUpload() throws {
        let cases: [(String, String)] = [
            (#"{"stageInfo":{"locationType":"LOCAL_FS","location":"/tmp/x"}}"#, #"location type "LOCAL_FS" is not one"#),
            (#"{"stageInfo":{"locationType":"GCS","presignedUrl":"https://x","isClientSideEncrypted":true}}"#, "holds no key"),
            (
                #"{"stageInfo":{"locationType":"GCS","presignedUrl":"https://x"},"encryptionMaterial":{"queryStageMasterKey":"a2V5","queryId":"q","smkId":1}}"#,
                "not a 128-, 192- or 256-bit key"
            ),
            (#"{"stageInfo":{"locationType":"S3","location":"b","region":"r","creds":{}}}"#, "lacks its bucket or credentials"),
            (
                #"{"stageInfo":{"locationType":"GCS","location":"b","presignedUrl":""}}"#,
                "neither a presigned URL nor an access token"
            ),
            (#"{"command":"UPLOAD"}"#, "no stageInfo"),
        ]
        for (json, reason) in cases {
            guard case .unusable(let said) = try Self.target(json) else {
                Issue.record("\(json) was taken")
                continue
            }
            #expect(said.contains(reason), "\(said)")
        }
    }

    /// The upload carries what the connectors put beside the file: S3's signed `x-amz-meta-*`,
    /// Azure's `encryptiondata` JSON, GCS's bearer token; the digest is of the file as given.
    @Test func uploadsCarryTheConnectorsMetadata() throws {
        let file = Array("id,name\n1,a\n".utf8)
        let material = #""encryptionMaterial":{"queryStageMasterKey":"\#(Self.key128)","queryId":"q1","smkId":42}"#
        guard
            case .target(let s3) = try Self.target(
                #"{"stageInfo":{"locationType":"S3","location":"b/p/","region":"us-east-1","creds":{"AWS_KEY_ID":"AK","AWS_SECRET_KEY":"SK","AWS_TOKEN":"TK"}},\#(material)}"#
            )
        else { throw Failure("S3 unread") }
        let upload = try s3.upload(file, scheme: "https", amzDate: "20261205T010203Z")
        #expect(upload.url == "https://b.s3.us-east-1.amazonaws.com/p/batch-1.csv.gz")
        let headers = Dictionary(upload.headers, uniquingKeysWith: { first, _ in first })
        #expect(headers["x-amz-meta-sfc-digest"] == StageEncryption.digest(file))
        #expect(headers["x-amz-meta-x-amz-matdesc"] == #"{"queryId":"q1","smkId":"42","keySize":"128"}"#)
        #expect(headers["x-amz-security-token"] == "TK")
        #expect(headers["x-amz-date"] == "20261205T010203Z")
        #expect(headers["x-amz-content-sha256"] == AWSSignatureV4.hexSHA256(upload.body))
        #expect(
            headers["Authorization"]?.hasPrefix(
                "AWS4-HMAC-SHA256 Credential=AK/20261205/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-meta-sfc-digest;x-amz-meta-x-amz-iv;x-amz-meta-x-amz-key;x-amz-meta-x-amz-matdesc;x-amz-security-token, Signature="
            ) == true, "\(headers["Authorization"] ?? "")")
        // Encrypted: one more block than the file's whole blocks (PKCS#5), never the plain text.
        #expect(upload.body.count == (file.count / 16 + 1) * 16 && upload.body != file)

        guard
            case .target(let azure) = try Self.target(
                #"{"stageInfo":{"locationType":"AZURE","location":"c/","storageAccount":"a","endPoint":"core.windows.net","creds":{"AZURE_SAS_TOKEN":"sv=1&sig=2"}},\#(material)}"#
            )
        else { throw Failure("Azure unread") }
        let blob = try azure.upload(file, scheme: "https", amzDate: "")
        #expect(blob.url == "https://a.blob.core.windows.net/c/batch-1.csv.gz?sv=1&sig=2")
        let blobHeaders = Dictionary(blob.headers, uniquingKeysWith: { first, _ in first })
        #expect(blobHeaders["x-ms-blob-type"] == "BlockBlob")
        let data = try JSONParser.parse(Array((blobHeaders["x-ms-meta-encryptiondata"] ?? "").utf8))
        #expect(data["EncryptionMode"] == .string("FullBlob"))
        #expect(data["WrappedContentKey"]?["Algorithm"] == .string("AES_CBC_256"))
        #expect(data["ContentEncryptionIV"]?.text?.count == 24)
        #expect(blobHeaders["x-ms-meta-matdesc"] == #"{"queryId":"q1","smkId":"42","keySize":"128"}"#)

        guard
            case .target(let gcs) = try Self.target(
                #"{"stageInfo":{"locationType":"GCS","location":"g/p","creds":{"GCS_ACCESS_TOKEN":"ya29"}}}"#, scheme: "http")
        else { throw Failure("GCS unread") }
        let object = try gcs.upload(file, scheme: "http", amzDate: "")
        let objectHeaders = Dictionary(object.headers, uniquingKeysWith: { first, _ in first })
        #expect(object.url == "http://storage.googleapis.com/g/p/batch-1.csv.gz")
        #expect(objectHeaders["Authorization"] == "Bearer ya29")
        #expect(object.body == file, "no key: sent as it is")
        #expect(objectHeaders["x-goog-meta-encryptiondata"] == nil)
    }

    /// Expired credentials are told apart from other refusals as the connectors tell them.
    @Test func tellsExpiredCredentialsApart() throws {
        func reply(_ status: Int, _ body: String) -> HTTPResponse { HTTPResponse(status: status, body: Array(body.utf8)) }
        guard
            case .target(let s3) = try Self.target(
                #"{"stageInfo":{"locationType":"S3","location":"b","region":"r","creds":{"AWS_KEY_ID":"k","AWS_SECRET_KEY":"s"}}}"#
            ),
            case .target(let azure) = try Self.target(
                #"{"stageInfo":{"locationType":"AZURE","location":"c","storageAccount":"a","endPoint":"e","creds":{"AZURE_SAS_TOKEN":"s"}}}"#
            ),
            case .target(let presigned) = try Self.target(#"{"stageInfo":{"locationType":"GCS","presignedUrl":"https://x"}}"#),
            case .target(let bearer) = try Self.target(
                #"{"stageInfo":{"locationType":"GCS","location":"g","creds":{"GCS_ACCESS_TOKEN":"t"}}}"#)
        else { throw Failure("unread") }
        #expect(
            s3.credentialsExpired(
                reply(400, "<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>")))
        #expect(!s3.credentialsExpired(reply(403, "<Error><Code>SignatureDoesNotMatch</Code></Error>")))
        #expect(!s3.credentialsExpired(reply(400, "<Error><Code>InvalidArgument</Code></Error>")))
        #expect(
            azure.credentialsExpired(
                reply(
                    403,
                    "<Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request. Make sure…</Message></Error>"
                )))
        #expect(!azure.credentialsExpired(reply(403, "<Error><Code>AuthorizationPermissionMismatch</Code></Error>")))
        #expect(presigned.credentialsExpired(reply(400, "")) && !presigned.credentialsExpired(reply(401, "")))
        #expect(bearer.credentialsExpired(reply(401, "")) && !bearer.credentialsExpired(reply(400, "")))
    }

    /// A storage's XML refusal is quoted by its code and message only: S3 echoes the canonical
    /// request, with the session token, further on.
    @Test func refusalsQuoteCodeAndMessageOnly() {
        let s3 = HTTPResponse(
            status: 403,
            body: Array(
                #"<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message><AWSAccessKeyId>ASIAKEY</AWSAccessKeyId><CanonicalRequest>PUT /x host:b x-amz-security-token:SECRETTOKEN</CanonicalRequest></Error>"#
                    .utf8))
        let said = SnowflakeSession.stageRefusal(s3)
        #expect(
            said
                == "HTTP 403 SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided."
        )
        #expect(SnowflakeSession.stageRefusal(HTTPResponse(status: 404, body: Array("not here".utf8))) == "HTTP 404: not here")
    }

    /// Whatever a storage or libcurl says is shown without the stage's credentials: the AWS
    /// secret and token, the SAS token and each of its values, the bearer token, a presigned
    /// URL's signature.
    @Test func messagesAreRedactedOfCredentials() throws {
        guard
            case .target(let s3) = try Self.target(
                #"{"stageInfo":{"locationType":"S3","location":"b","region":"r","creds":{"AWS_KEY_ID":"ASIAKEY","AWS_SECRET_KEY":"wJalrXUtnFEMIsecret","AWS_TOKEN":"FwoGZXIvYXdzEToken"}}}"#
            ),
            case .target(let azure) = try Self.target(
                #"{"stageInfo":{"locationType":"AZURE","location":"c","storageAccount":"a","endPoint":"e","creds":{"AZURE_SAS_TOKEN":"?sv=2022-11-02&sig=SECRETSIG%2Babc%3D"}}}"#
            ),
            case .target(let presigned) = try Self.target(
                #"{"stageInfo":{"locationType":"GCS","presignedUrl":"https://storage.googleapis.com/b/x?X-Goog-Signature=0123456789abcdef"}}"#
            ),
            case .target(let bearer) = try Self.target(
                #"{"stageInfo":{"locationType":"GCS","location":"g","creds":{"GCS_ACCESS_TOKEN":"ya29.a0AfH6SMB"}}}"#)
        else { throw Failure("unread") }
        let echoed = s3.redacted("<Token>FwoGZXIvYXdzEToken</Token> key wJalrXUtnFEMIsecret")
        #expect(!echoed.contains("FwoGZXIvYXdzEToken") && !echoed.contains("wJalrXUtnFEMIsecret"), "\(echoed)")
        let sas = azure.redacted("<html>GET /c/x?sv=2022-11-02&sig=SECRETSIG%2Babc%3D refused; sig=SECRETSIG%2Babc%3D</html>")
        #expect(!sas.contains("SECRETSIG"), "\(sas)")
        #expect(!presigned.redacted("bad URL ?X-Goog-Signature=0123456789abcdef").contains("0123456789abcdef"))
        #expect(!bearer.redacted("Bearer ya29.a0AfH6SMB").contains("ya29.a0AfH6SMB"))
    }

    /// The account's array-binding threshold is read from the login answer's parameters.
    @Test func readsTheArrayBindingThreshold() throws {
        let parameters = try Self.stageInfo(
            #"[{"name":"TIMEZONE","value":"UTC"},{"name":"CLIENT_STAGE_ARRAY_BINDING_THRESHOLD","value":1000}]"#)
        #expect(SnowflakeSession.arrayBindingThreshold(parameters) == 1000)
        #expect(SnowflakeSession.arrayBindingThreshold(try Self.stageInfo(#"[{"name":"TIMEZONE","value":"UTC"}]"#)) == nil)
        #expect(SnowflakeSession.arrayBindingThreshold(nil) == nil)
        // 0 turns the connectors' switch to a stage off; it is kept, not read as unset.
        #expect(
            SnowflakeSession.arrayBindingThreshold(
                try Self.stageInfo(#"[{"name":"CLIENT_STAGE_ARRAY_BINDING_THRESHOLD","value":0}]"#)) == 0)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// The session parameters sent at login are one JSON object that pins what the loader's
    /// statements rely on.
    @Test func sessionParametersPinCaseZoneAndFormats() throws {
        let parameters = try JSONParser.parse(Array(SnowflakeSession.sessionParameters.utf8))
        #expect(parameters["AUTOCOMMIT"] == .bool(true))
        #expect(parameters["QUOTED_IDENTIFIERS_IGNORE_CASE"] == .bool(false))
        #expect(parameters["TIMEZONE"] == .string("UTC"))
        #expect(parameters["TIMESTAMP_INPUT_FORMAT"] == .string("AUTO"))
    }
}
