import Foundation
import TestSupport
import Testing

/// Staged batches on a real account's stage kinds, without an account: an answering server
/// stands in for Snowflake's query service and answers each `PUT` as Snowflake does, naming an
/// S3 bucket (moto, PyPI's S3 emulator, in server mode on loopback, checking every request's
/// Signature Version 4 and session token), an Azure container or a GCS bucket (the answering
/// server itself, which checks what the connectors send). At `COPY` it fetches the file that
/// landed and decrypts it with snowflake-connector-python's own `decrypt_stream`, checks its
/// `sfc-digest` with the connector's digest function, and counts its rows for the batch-table
/// check; the test compares the rows with the input.
@Suite(.serialized) struct SnowflakeStageUploadTests {
    static let server = #"""
        import base64, csv, datetime, gzip, hashlib, io, json, os, sys, urllib.parse
        import answering
        from snowflake.connector.constants import EncryptionMetadata
        from snowflake.connector.encryption_util import SnowflakeEncryptionUtil
        from snowflake.connector.file_util import SnowflakeFileUtil
        from snowflake.connector.storage_client import SnowflakeFileEncryptionMaterial

        mode = sys.argv[1]
        threshold = int(sys.argv[2]) if len(sys.argv) > 2 else 65280
        KEYS = {"s3": 32, "s3-expired": 32, "s3-always-expired": 32, "azure": 16, "azure-expired": 16, "gcs": 32, "gcs-token": 16, "plain": 0}
        key_bytes = KEYS.get(mode, 16)
        MASTER = base64.b64encode(os.urandom(key_bytes)).decode() if key_bytes else None
        QUERY_ID, SMK = "01b9c0de-0000-4a11-0000-00000000c0de", 9217
        BUCKET, REGION = "sfc-conduit-stage", "us-west-2"

        def log(name, line):
            with open(name, "a") as f:
                f.write(line + "\n")

        s3 = None
        if mode.startswith("s3"):
            import datetime as dt, boto3
            from moto import settings
            from moto.core.authorization import ActionAuthenticatorMixin
            from moto.iam import access_control
            from moto.s3.exceptions import S3ClientError
            from moto.server import ThreadedMotoServer
            from moto.sts.models import sts_backends
            # moto does not expire AssumeRole credentials; S3 answers expired ones with 400
            # ExpiredToken, which is what the loader must recognise.
            class ExpiredToken(S3ClientError):
                def __init__(self):
                    super().__init__("ExpiredToken", "The provided token has expired.")
            original = access_control.AssumedRoleAccessKey.__init__
            def expiring(self, account_id, partition, access_key_id, headers):
                original(self, account_id, partition, access_key_id, headers)
                for role in sts_backends[account_id][partition].assumed_roles:
                    if role.access_key_id == access_key_id and role.expiration <= dt.datetime.now(dt.timezone.utc).replace(tzinfo=None):
                        raise ExpiredToken()
            access_control.AssumedRoleAccessKey.__init__ = expiring
            moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            moto.start()
            moto_port = moto.get_host_and_port()[1]
            boot = dict(endpoint_url=f"http://127.0.0.1:{moto_port}", region_name=REGION, aws_access_key_id="AKIASETUP", aws_secret_access_key="setup")
            boto3.client("s3", **boot).create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
            iam = boto3.client("iam", **boot)
            iam.create_role(RoleName="stage", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}))
            iam.put_role_policy(RoleName="stage", PolicyName="stage", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]}]}))
            sts = boto3.client("sts", **boot)
            def assume(name):
                c = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/stage", RoleSessionName=name, DurationSeconds=3600)["Credentials"]
                return {"AWS_KEY_ID": c["AccessKeyId"], "AWS_SECRET_KEY": c["SecretAccessKey"], "AWS_TOKEN": c["SessionToken"]}
            good, expired = assume("conduit"), assume("conduit-expired")
            with open("secrets.txt", "w") as f:
                f.write("\n".join([good["AWS_SECRET_KEY"], good["AWS_TOKEN"], expired["AWS_SECRET_KEY"], expired["AWS_TOKEN"]]))
            for role in sts_backends["123456789012"]["aws"].assumed_roles:
                if role.access_key_id == expired["AWS_KEY_ID"]:
                    role.expiration = dt.datetime(2000, 1, 1)
            # From here on moto checks every request's signature, key and token.
            settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
            ActionAuthenticatorMixin.request_count = 0
            s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{moto_port}", region_name=REGION, aws_access_key_id=good["AWS_KEY_ID"], aws_secret_access_key=good["AWS_SECRET_KEY"], aws_session_token=good["AWS_TOKEN"])

        class Handler(answering.Handler):
            created = False
            puts = 0
            held = 0
            stored = {}
            def do_PUT(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                url = urllib.parse.urlsplit(self.path)
                host = self.headers.get("Host", "")
                log("uploads.log", f"{host.split(':')[0]} {url.path} {url.query}")
                if mode.startswith("azure"):
                    if mode == "azure-refused":
                        return self.answer(403, "<?xml version=\"1.0\"?><Error><Code>AuthorizationPermissionMismatch</Code><Message>This request is not authorized to perform this operation using this permission.</Message><AuthenticationErrorDetail>sig=first was refused</AuthenticationErrorDetail></Error>", "application/xml")
                    if mode == "azure-expired" and "sig=first" in url.query:
                        return self.answer(403, "<?xml version=\"1.0\"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.</Message></Error>", "application/xml")
                    problems = [] if host.startswith("conduitacct.blob.localhost:") and "sv=2022-11-02" in url.query and self.headers.get("x-ms-blob-type") == "BlockBlob" else ["host, SAS or blob type"]
                    meta = json.loads(self.headers.get("x-ms-meta-encryptiondata") or "{}")
                    key, iv, digest = meta.get("WrappedContentKey", {}).get("EncryptedKey"), meta.get("ContentEncryptionIV"), self.headers.get("x-ms-meta-sfcdigest")
                    matdesc = self.headers.get("x-ms-meta-matdesc")
                else:
                    if mode == "gcs-token":
                        problems = [] if self.headers.get("Authorization") == "Bearer ya29.conduit" else ["bearer token"]
                    else:
                        problems = [] if url.path.startswith("/presigned/") and "X-Goog-Signature=" in url.query else ["presigned URL"]
                    meta = json.loads(self.headers.get("x-goog-meta-encryptiondata") or "{}")
                    key, iv, digest = meta.get("WrappedContentKey", {}).get("EncryptedKey"), meta.get("ContentEncryptionIV"), self.headers.get("x-goog-meta-sfc-digest")
                    matdesc = self.headers.get("x-goog-meta-matdesc")
                if problems:
                    log("problems.log", "upload: " + ", ".join(problems))
                    return self.answer(403, "refused")
                Handler.stored[url.path.rsplit("/", 1)[-1]] = (body, key, iv, matdesc, digest)
                self.answer(201, "")
            def stage_answer(self, name):
                Handler.puts += 1
                material = {"queryStageMasterKey": MASTER, "queryId": QUERY_ID, "smkId": SMK} if MASTER else None
                info = {"locationType": "S3", "location": f"{BUCKET}/tables/4711/conduit/", "path": "tables/4711/conduit/", "region": REGION, "storageAccount": None, "isClientSideEncrypted": MASTER is not None, "presignedUrl": None, "endPoint": None}
                if mode.startswith("s3"):
                    info.update(endPoint=f"localhost:{moto_port}", creds=expired if (mode == "s3-expired" and Handler.puts == 1) or mode == "s3-always-expired" else good)
                elif mode.startswith("azure"):
                    sig = "first" if Handler.puts == 1 else "second"
                    info.update(locationType="AZURE", location="stage-container/tables/4711/conduit/", region="westeurope", storageAccount="conduitacct", endPoint=f"blob.localhost:{self.server.server_address[1]}", creds={"AZURE_SAS_TOKEN": f"?sv=2022-11-02&ss=b&sp=rw&sig={sig}"})
                elif mode == "gcs-token":
                    info.update(locationType="GCS", location="gcs-stage/tables/4711/conduit", region="US-CENTRAL1", endPoint=f"localhost:{self.server.server_address[1]}", creds={"GCS_ACCESS_TOKEN": "ya29.conduit"})
                elif mode in ("gcs", "plain"):
                    info.update(locationType="GCS", location="gcs-stage/tables/4711/conduit/", creds={}, presignedUrl=f"http://127.0.0.1:{self.server.server_address[1]}/presigned/{name}?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Signature=abc")
                else:
                    info.update(locationType=mode.upper(), location="/somewhere/", creds={})
                return {"command": "UPLOAD", "src_locations": [name], "parallel": 4, "threshold": 209715200, "autoCompress": False, "overwrite": True, "sourceCompression": "gzip", "clientShowEncryptionParameter": False, "stageInfo": info, "encryptionMaterial": material, "rowtype": [], "rowset": []}
            def landed(self, name):
                if mode.startswith("s3"):
                    got = s3.get_object(Bucket=BUCKET, Key=f"tables/4711/conduit/{name}")
                    m = got["Metadata"]
                    return got["Body"].read(), m.get("x-amz-key"), m.get("x-amz-iv"), m.get("x-amz-matdesc"), m.get("sfc-digest")
                return Handler.stored[name]
            def copy(self, name):
                body, key, iv, matdesc, digest = self.landed(name)
                plain = body
                if MASTER:
                    material = SnowflakeFileEncryptionMaterial(query_stage_master_key=MASTER, query_id=QUERY_ID, smk_id=SMK)
                    out = io.BytesIO()
                    SnowflakeEncryptionUtil.decrypt_stream(EncryptionMetadata(key=key, iv=iv, matdesc=matdesc), material, io.BytesIO(body), out)
                    plain = out.getvalue()
                    if json.loads(matdesc) != {"queryId": QUERY_ID, "smkId": str(SMK), "keySize": str(key_bytes * 8)}:
                        log("problems.log", f"matdesc {matdesc}")
                if SnowflakeFileUtil.get_digest_and_size_for_stream(io.BytesIO(plain))[0] != digest:
                    log("problems.log", f"digest {digest}")
                rows = list(csv.reader(io.StringIO(gzip.decompress(plain).decode())))
                with open("landed.jsonl", "a") as f:
                    for row in rows:
                        f.write(json.dumps(row) + "\n")
                Handler.held = len(rows)
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path.startswith("/session/v1/login-request"):
                    return self.answer(200, json.dumps({"data": {"token": "T0KEN", "masterToken": "M4STER", "parameters": [{"name": "CLIENT_STAGE_ARRAY_BINDING_THRESHOLD", "value": threshold}]}, "success": True}))
                if self.path.startswith("/session"):
                    return self.answer(200, json.dumps({"data": None, "success": True}))
                request = json.loads(body)
                sql = request["sqlText"]
                log("statements.log", " ".join(sql.split(" ")[:3]))
                empty = {"data": {"rowtype": [], "rowset": []}, "success": True}
                try:
                    if sql.startswith("PUT "):
                        return self.answer(200, json.dumps({"data": self.stage_answer(sql.split("'")[1].rsplit("/", 1)[-1]), "success": True}))
                    if sql.startswith("COPY INTO"):
                        self.copy(sql.split(" FROM ")[1].split(" ")[0].rsplit("/", 1)[-1])
                    elif sql.startswith("DELETE FROM CONDUIT_BATCH"):
                        Handler.held = 0
                    elif sql.startswith("INSERT INTO CONDUIT_BATCH"):
                        columns = request.get("bindings") or {}
                        Handler.held += len(next(iter(columns.values()))["value"]) if columns else 0
                    elif sql.startswith("CREATE TABLE") and "RAW_USERS" in sql:
                        Handler.created = True
                    elif "information_schema.columns" in sql and Handler.created:
                        columns = [{"name": name, "type": "text"} for name in ["COLUMN_NAME", "DATA_TYPE", "NUMERIC_PRECISION", "NUMERIC_SCALE"]]
                        return self.answer(200, json.dumps({"data": {"rowtype": columns, "rowset": [["ID", "NUMBER", "38", "0"], ["NAME", "TEXT", None, None]]}, "success": True}))
                    elif "COUNT(*)" in sql:
                        return self.answer(200, json.dumps({"data": {"rowtype": [{"name": "COUNT(*)", "type": "fixed"}], "rowset": [[str(Handler.held)]]}, "success": True}))
                except Exception as error:
                    log("problems.log", f"{sql.split(' ')[0]}: {type(error).__name__}: {error}")
                    return self.answer(200, json.dumps({"data": None, "code": "100038", "message": f"stub: {error}", "success": False}))
                self.answer(200, json.dumps(empty))
        answering.serve(Handler)
        """#

    /// 250 rows, in batches of 100, every batch through the stage; names with quotes, commas,
    /// newlines and non-ASCII text.
    static func load(_ mode: String, bindingThreshold: Int? = nil) throws -> (Sandbox, Sandbox.Result, [String]) {
        var environment = try SnowflakeFixture.environment()
        let python = environment["CONDUIT_TEST_SNOWFLAKE_PYTHON"] ?? "python3"
        let box = try Sandbox()
        try box.write(
            """
            sources:
              - name: app
                type: sqlite
                path: app.db
            destinations:
            \(SnowflakeFixture.entry("warehouse", database: "STAGE_DB", extra: ["table: raw_users", "batch_size: 100"]))
            resources:
              - name: sync_new_users
                source: app
                destination: warehouse
                incremental_column: id
                query: "SELECT id, name FROM users WHERE id > :last_value ORDER BY id"
            """, to: "ingest.yml")
        let rows = (1...250).map { #"{"id":\#($0),"name":"n\"a,me \#($0)\nü ☃"}"# }
        try box.write(rows.joined(separator: "\n") + "\n", to: "rows.ndjson")
        if bindingThreshold == nil { environment["CONDUIT_SNOWFLAKE_STAGE_ABOVE_BYTES"] = "0" }
        let result = try AnsweringServer.run(
            Self.server, python: SnowflakeFixture.shellQuoted(python),
            arguments: [mode] + (bindingThreshold.map { [String($0)] } ?? []),
            then: "CONDUIT_TEST_SNOWFLAKE_PORT=$STUB_PORT conduit-load --infer-types sync_new_users < rows.ndjson", in: box,
            environment)
        return (box, result, rows)
    }

    /// The rows that landed in the stage, as (id, name), from the decrypted CSV files.
    static func landed(_ box: Sandbox) throws -> [[String]] {
        guard box.exists("landed.jsonl") else { return [] }
        return try box.read("landed.jsonl").split(separator: "\n").map { line in
            let cells = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String] ?? []
            // Each value behind the CSV file's `=` mark; the batch line number last.
            return cells.dropLast().map { String($0.dropFirst()) }
        }
    }

    static func expected(_ rows: [String]) -> [[String]] {
        (1...rows.count).map { ["\($0)", "n\"a,me \($0)\nü ☃"] }
    }

    /// Every batch goes to its stage, encrypted, and lands whole: for S3 (moto checks the
    /// signature and the session token), Azure (SAS token, BlockBlob, encryptiondata), GCS by
    /// a presigned URL and by a bearer token, and an unencrypted stage.
    @Test(arguments: ["s3", "azure", "gcs", "gcs-token", "plain"]) func batchesLandDecryptableInEveryStageKind(
        mode: String
    ) throws {
        let (box, result, rows) = try Self.load(mode)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!box.exists("problems.log"), "\((try? box.read("problems.log")) ?? "")")
        #expect(try Self.landed(box) == Self.expected(rows))
        let statements = try box.read("statements.log").split(separator: "\n")
        #expect(statements.filter { $0.hasPrefix("PUT ") }.count == 3, "\(statements)")
        #expect(statements.filter { $0.hasPrefix("COPY INTO") }.count == 3, "\(statements)")
        #expect(!statements.contains { $0.hasPrefix("INSERT INTO CONDUIT_BATCH") }, "no batch went by binds")
        #expect(!result.stderr.contains("warning"), "\(result.stderr)")
    }

    /// Credentials that expire between the PUT and the upload (S3's 400 ExpiredToken, Azure's
    /// 403 AuthenticationFailed) are renewed by one new PUT, and the batch lands once.
    @Test(arguments: ["s3-expired", "azure-expired"]) func expiredCredentialsAreRenewedByOneNewPut(mode: String) throws {
        let (box, result, rows) = try Self.load(mode)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!box.exists("problems.log"), "\((try? box.read("problems.log")) ?? "")")
        #expect(try Self.landed(box) == Self.expected(rows))
        let statements = try box.read("statements.log").split(separator: "\n")
        // Three batches, the first one's PUT twice.
        #expect(statements.filter { $0.hasPrefix("PUT ") }.count == 4, "\(statements)")
        #expect(statements.filter { $0.hasPrefix("COPY INTO") }.count == 3, "\(statements)")
    }

    /// A stage location type Conduit does not know sends every batch by binds, with one warning.
    @Test func unknownLocationTypeFallsBackToBindsWithOneWarning() throws {
        let (box, result, _) = try Self.load("local_fs")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!box.exists("landed.jsonl"))
        let warnings = result.stderr.split(separator: "\n").filter {
            $0.contains(#"location type "LOCAL_FS" is not one Conduit uploads to"#)
        }
        #expect(warnings.count == 1, "\(result.stderr)")
        let statements = try box.read("statements.log").split(separator: "\n")
        #expect(statements.filter { $0.hasPrefix("PUT ") }.count == 1, "asked once, then binds: \(statements)")
        #expect(statements.filter { $0.hasPrefix("INSERT INTO CONDUIT_BATCH") }.count == 3, "\(statements)")
    }

    /// By default a batch goes through the stage when its binds would not fit one statement:
    /// more values than the account's CLIENT_STAGE_ARRAY_BINDING_THRESHOLD (here 200, sent at
    /// login; a batch at the threshold stages, as in the connectors). Batches of 100 rows × 3
    /// values (two columns and the line) stage; the last, of 50, is bound.
    @Test func defaultFollowsTheAccountsArrayBindingThreshold() throws {
        let (box, result, rows) = try Self.load("gcs", bindingThreshold: 200)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!box.exists("problems.log"), "\((try? box.read("problems.log")) ?? "")")
        #expect(try Self.landed(box) == Array(Self.expected(rows).prefix(200)))
        let statements = try box.read("statements.log").split(separator: "\n")
        #expect(statements.filter { $0.hasPrefix("PUT ") }.count == 2, "\(statements)")
        #expect(statements.filter { $0.hasPrefix("INSERT INTO CONDUIT_BATCH") }.count == 1, "\(statements)")

        // A threshold of 0 turns the switch off, as in the connectors: every batch is bound.
        let (off, offResult, _) = try Self.load("gcs", bindingThreshold: 0)
        #expect(offResult.status == 0, "\(offResult.stderr)")
        let offStatements = try off.read("statements.log").split(separator: "\n")
        #expect(!offStatements.contains { $0.hasPrefix("PUT ") }, "\(offStatements)")
        #expect(offStatements.filter { $0.hasPrefix("INSERT INTO CONDUIT_BATCH") }.count == 3, "\(offStatements)")
    }

    /// A storage that keeps refusing is a clear 74 with nothing committed, and no secret (AWS
    /// secret key or session token, the SAS signature) in the message: credentials that stay
    /// expired after two renewals, and an Azure refusal that is not about expiry.
    @Test(arguments: ["s3-always-expired", "azure-refused"]) func refusedUploadsCommitNothingAndLeakNoSecret(mode: String) throws
    {
        let (box, result, _) = try Self.load(mode)
        #expect(result.status == 74, "\(result.stderr)")
        let statements = try box.read("statements.log").split(separator: "\n")
        #expect(!statements.contains { $0.hasPrefix("COPY") || $0.hasPrefix("BEGIN") || $0.hasPrefix("COMMIT") }, "\(statements)")
        #expect(!box.exists("landed.jsonl"))
        if mode == "s3-always-expired" {
            #expect(statements.filter { $0.hasPrefix("PUT ") }.count == 3, "\(statements)")
            #expect(
                result.stderr.contains(
                    "the S3 stage refused the file (after renewing its credentials 2 times): HTTP 400 ExpiredToken: The provided token has expired."
                ), "\(result.stderr)")
            for secret in try box.read("secrets.txt").split(separator: "\n") {
                #expect(!result.stderr.contains(secret), "a secret in: \(result.stderr)")
            }
        } else {
            #expect(
                result.stderr.contains(
                    "the Azure stage refused the file: HTTP 403 AuthorizationPermissionMismatch: This request is not authorized to perform this operation using this permission."
                ), "\(result.stderr)")
            #expect(!result.stderr.contains("sig="), "\(result.stderr)")
        }
    }
}
