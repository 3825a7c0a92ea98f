package import Core
import Foundation
package import HTTP

/// Where a `PUT` statement's answer says the file goes, and how: the stage's cloud storage (S3,
/// Azure Blob Storage or Google Cloud Storage), its credentials, and the key to encrypt with when
/// the stage wants files encrypted on the client. Read from the answer's `data` as Snowflake's
/// connectors read it (snowflake-connector-python's `s3_storage_client`, `azure_storage_client`,
/// `gcs_storage_client`).
package struct StageTarget: Sendable {
    package enum Storage: Sendable, Equatable {
        /// `location` is `bucket/path/`; the host is `bucket.` + `endPoint`, or the region's.
        case s3(bucket: String, path: String, host: String, region: String, keyID: String, secretKey: String, token: String?)
        /// `https://account.blob.endpoint/container/path` with a SAS token as its query.
        case azure(url: String, sasToken: String)
        /// A presigned URL, or the bucket's URL with a bearer token.
        case gcs(url: String, accessToken: String?)
    }

    package var storage: Storage
    /// nil: the stage takes the file as it is (it encrypts on the server, or not at all).
    package var material: StageEncryptionMaterial?

    /// The answer read, or why it cannot be used (a location type Conduit does not know, a key
    /// it cannot use): the batch then goes by binds.
    package enum Reading: Sendable {
        case target(StageTarget)
        case unusable(String)
    }

    /// The target for `file` (its name in the stage) from a PUT answer's `data`. `scheme` is the
    /// session's (`https`; `http` only against a local emulator, whose stage is local too).
    package static func read(_ data: JSONValue?, file: String, scheme: String) -> Reading {
        guard let data, let info = data["stageInfo"], case .object = info else {
            return .unusable("the PUT answer names no stage (no stageInfo)")
        }
        let type = info["locationType"]?.text ?? ""
        var material: StageEncryptionMaterial?
        switch readMaterial(data["encryptionMaterial"] ?? info["encryptionMaterial"]) {
        case .success(let read): material = read
        case .failure(let refusal): return .unusable(refusal.reason)
        }
        if material == nil, info["isClientSideEncrypted"] == .bool(true) {
            return .unusable("the stage wants files encrypted on the client but the PUT answer holds no key")
        }
        let location = info["location"]?.text ?? ""
        let (container, path) = split(location)
        let creds = info["creds"]
        let endPoint = info["endPoint"]?.text.flatMap { $0.isEmpty ? nil : $0 }
        let region = info["region"]?.text ?? ""
        switch type.uppercased() {
        case "S3":
            guard let keyID = creds?["AWS_KEY_ID"]?.text, let secret = creds?["AWS_SECRET_KEY"]?.text, !container.isEmpty else {
                return .unusable("the S3 stage's answer lacks its bucket or credentials")
            }
            guard !region.isEmpty else { return .unusable("the S3 stage's answer names no region") }
            // As the connectors choose, except that without an endPoint the region's own host
            // is used (the connectors' useS3RegionalUrl), never the global one that may redirect.
            let host: String
            if region.hasPrefix("cn-") {
                host = "\(container).s3.\(region).amazonaws.com.cn"
            } else if let endPoint {
                host = "\(container).\(endPoint)"
            } else {
                host = "\(container).s3.\(region).amazonaws.com"
            }
            let token = creds?["AWS_TOKEN"]?.text.flatMap { $0.isEmpty ? nil : $0 }
            return .target(
                StageTarget(
                    storage: .s3(
                        bucket: container, path: path + file, host: host, region: region, keyID: keyID, secretKey: secret,
                        token: token), material: material))
        case "AZURE":
            guard let account = info["storageAccount"]?.text, var endpoint = endPoint, !container.isEmpty else {
                return .unusable("the Azure stage's answer lacks its storage account, endpoint or container")
            }
            guard var sas = creds?["AZURE_SAS_TOKEN"]?.text else {
                return .unusable("the Azure stage's answer holds no SAS token")
            }
            if endpoint.hasPrefix("blob.") { endpoint.removeFirst(5) }
            if sas.hasPrefix("?") { sas.removeFirst() }
            let url =
                "\(scheme)://\(account).blob.\(endpoint)/\(AWSSignatureV4.uriEncoded(container, keepSlash: true))/\(AWSSignatureV4.uriEncoded(path + file, keepSlash: true))"
            return .target(StageTarget(storage: .azure(url: url, sasToken: sas), material: material))
        case "GCS":
            let token = creds?["GCS_ACCESS_TOKEN"]?.text.flatMap { $0.isEmpty ? nil : $0 }
            // The presigned URL when there is one (the connectors' order), else the bucket's.
            if let presigned = info["presignedUrl"]?.text, presigned.hasPrefix("https://") || presigned.hasPrefix("http://") {
                return .target(StageTarget(storage: .gcs(url: presigned, accessToken: nil), material: material))
            }
            guard let token, !container.isEmpty else {
                return .unusable("the GCS stage's answer holds neither a presigned URL nor an access token")
            }
            let object = AWSSignatureV4.uriEncoded(path + file, keepSlash: true)
            let virtual = info["useVirtualUrl"] == .bool(true)
            // A virtual host names the bucket itself; a path-style URL names it first.
            let url: String
            if var endPoint {
                if endPoint.hasSuffix("/") { endPoint.removeLast() }
                if !endPoint.hasPrefix("https://") && !endPoint.hasPrefix("http://") { endPoint = "\(scheme)://" + endPoint }
                url = virtual ? "\(endPoint)/\(object)" : "\(endPoint)/\(container)/\(object)"
            } else if virtual {
                url = "\(scheme)://\(container).storage.googleapis.com/\(object)"
            } else if info["useRegionalUrl"] == .bool(true) || region.lowercased() == "me-central2" {
                url = "\(scheme)://storage.\(region.lowercased()).rep.googleapis.com/\(container)/\(object)"
            } else {
                url = "\(scheme)://storage.googleapis.com/\(container)/\(object)"
            }
            return .target(StageTarget(storage: .gcs(url: url, accessToken: token), material: material))
        default:
            return .unusable(
                "the stage's location type \(JSONEscaping.quoted(type)) is not one Conduit uploads to (S3, AZURE, GCS)")
        }
    }

    /// `encryptionMaterial`: an object, or an array of them (one per file; a PUT of one file
    /// has one), or null.
    private static func readMaterial(_ value: JSONValue?) -> Result<StageEncryptionMaterial?, Refusal> {
        var value = value
        if case .array(let items)? = value { value = items.first }
        guard let value, value != .null else { return .success(nil) }
        guard let encoded = value["queryStageMasterKey"]?.text, let key = Data(base64Encoded: encoded),
            [16, 24, 32].contains(key.count)
        else {
            return .failure(
                Refusal("the stage's encryption key (queryStageMasterKey) is missing or not a 128-, 192- or 256-bit key"))
        }
        let smk: String
        switch value["smkId"] {
        case .number(let text)?: smk = text
        case .string(let text)?: smk = text
        default: return .failure(Refusal("the stage's encryption material has no smkId"))
        }
        return .success(
            StageEncryptionMaterial(masterKey: Array(key), queryID: value["queryId"]?.text ?? "", smkID: smk))
    }

    package struct Refusal: Error, Sendable {
        package var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// `bucket/path/to/` → (`bucket`, `path/to/`): the path ends with `/` when there is one.
    private static func split(_ location: String) -> (String, String) {
        guard let slash = location.firstIndex(of: "/") else { return (location, "") }
        var path = String(location[location.index(after: slash)...])
        if !path.isEmpty, !path.hasSuffix("/") { path += "/" }
        return (String(location[..<slash]), path)
    }

    /// The texts no message may show: the credentials, and a presigned URL's query (its
    /// signature).
    package var secrets: [String] {
        switch storage {
        case .s3(_, _, _, _, _, let secretKey, let token): [secretKey] + (token.map { [$0] } ?? [])
        case .azure(_, let sas): [sas] + sas.split(separator: "&").map(String.init)
        case .gcs(let url, let token):
            (token.map { [$0] } ?? []) + (url.split(separator: "?", maxSplits: 1).dropFirst().first.map { [String($0)] } ?? [])
        }
    }

    /// `text` with every one of ``secrets`` (of 8 characters or more, and each `name=value`
    /// part's value) replaced by `…`.
    package func redacted(_ text: String) -> String {
        var out = text
        var hidden = secrets
        for secret in secrets where secret.contains("=") {
            hidden += secret.split(separator: "&").compactMap {
                $0.split(separator: "=", maxSplits: 1).dropFirst().first.map(String.init)
            }
        }
        for secret in hidden.sorted(by: { $0.count > $1.count }) where secret.count >= 8 {
            out = out.replacingOccurrences(of: secret, with: "…")
        }
        return out
    }

    /// Which storage, for messages.
    package var name: String {
        switch storage {
        case .s3: "S3"
        case .azure: "Azure"
        case .gcs: "GCS"
        }
    }

    /// One upload: the method is PUT.
    package struct Upload: Sendable {
        package var url: String
        package var headers: [(String, String)]
        package var body: [UInt8]
    }

    /// The request that puts `file` (already gzip-compressed) into the stage: encrypted when
    /// the stage gave a key, with the metadata Snowflake reads back. `amzDate` is now
    /// (`YYYYMMDDTHHMMSSZ`), for S3's signature.
    package func upload(_ file: [UInt8], scheme: String, amzDate: String) throws(ConduitError) -> Upload {
        let digest = StageEncryption.digest(file)
        let encrypted = try material.map { material throws(ConduitError) in try StageEncryption.encrypt(file, with: material) }
        let body = encrypted?.bytes ?? file
        let octets = ("Content-Type", "application/octet-stream")
        switch storage {
        case .s3(_, let path, let host, let region, let keyID, let secretKey, let token):
            var signed: [(name: String, value: String)] = [("x-amz-meta-sfc-digest", digest)]
            if let encrypted {
                signed += [
                    ("x-amz-meta-x-amz-iv", encrypted.iv), ("x-amz-meta-x-amz-key", encrypted.wrappedKey),
                    ("x-amz-meta-x-amz-matdesc", encrypted.materialDescriptor),
                ]
            }
            let payloadHash = AWSSignatureV4.hexSHA256(body)
            signed += [("host", host), ("x-amz-content-sha256", payloadHash), ("x-amz-date", amzDate)]
            if let token { signed.append(("x-amz-security-token", token)) }
            let objectPath = "/" + path
            let signature = AWSSignatureV4(accessKeyID: keyID, secretKey: secretKey, region: region).sign(
                .init(method: "PUT", path: objectPath, headers: signed, payloadHash: payloadHash), amzDate: amzDate)
            // libcurl sends Host itself, from the URL.
            let headers =
                signed.filter { $0.name != "host" }.map { ($0.name, $0.value) } + [
                    octets, ("Authorization", signature.authorization),
                ]
            return Upload(url: "\(scheme)://\(host)\(AWSSignatureV4.encodedPath(objectPath))", headers: headers, body: body)
        case .azure(let url, let sas):
            var headers = [octets, ("x-ms-blob-type", "BlockBlob"), ("x-ms-meta-sfcdigest", digest)]
            if let encrypted {
                headers += [
                    ("x-ms-meta-encryptiondata", StageEncryption.encryptionData(encrypted, agentAlgorithm: "AES_CBC_128")),
                    ("x-ms-meta-matdesc", encrypted.materialDescriptor),
                ]
            }
            return Upload(url: url + (url.contains("?") ? "&" : "?") + sas, headers: headers, body: body)
        case .gcs(let url, let token):
            var headers = [octets, ("x-goog-meta-sfc-digest", digest)]
            if let encrypted {
                headers += [
                    ("x-goog-meta-encryptiondata", StageEncryption.encryptionData(encrypted, agentAlgorithm: "AES_CBC_256")),
                    ("x-goog-meta-matdesc", encrypted.materialDescriptor),
                ]
            }
            if let token { headers.append(("Authorization", "Bearer \(token)")) }
            return Upload(url: url, headers: headers, body: body)
        }
    }

    /// Whether the storage refused the upload because the stage's credentials (or presigned
    /// URL) have expired, as the connectors tell: S3 `400` with code `ExpiredToken`; Azure `403`
    /// "Signature not valid in the specified time frame" / "Server failed to authenticate the
    /// request"; GCS `401` with a token, `400` with a presigned URL. A new PUT gives fresh ones.
    package func credentialsExpired(_ reply: HTTPResponse) -> Bool {
        let text = String(decoding: reply.body.prefix(4096), as: UTF8.self)
        switch storage {
        case .s3:
            return reply.status == 400 && text.contains("<Code>ExpiredToken</Code>")
        case .azure:
            return reply.status == 403
                && (text.contains("Signature not valid in the specified time frame")
                    || text.contains("Server failed to authenticate the request"))
        case .gcs(_, let token):
            return token != nil ? reply.status == 401 : reply.status == 400
        }
    }
}
