import Foundation
import TestSupport
import Testing

/// Snowflake sign-in and the protocol's faults, where fakesnow cannot judge (it accepts any
/// login and never fails a request): an answering server in Python checks what `conduit-load`
/// sends with Snowflake's own Python connector and PyJWT from the fakesnow virtualenv — the
/// key pair's token against the connector's `AuthByKeyPair.calculate_public_key_fingerprint`
/// and `parse_account` — and fails requests the way a real service and network do.
@Suite struct SnowflakeSignInTests {
    /// Records every request in `requests.jsonl` (path, query parameters, whether the body came
    /// gzip-compressed, its size, the login's fields and the token check) and answers as
    /// Snowflake would, statements by `requestId`: a repeat of a statement that ran gets the
    /// first run's answer without running it again, as the service does. `faults` (a JSON
    /// object from argv) makes it fail: `{"INSERT INTO CONDUIT_BATCH": "503"}` fails the first
    /// such statement after running it; "reset" closes the connection unanswered; "login503"
    /// fails the first login; "always503" fails every statement; "max_body" answers 413 to a
    /// statement whose body is larger; "login" answers the login with that JSON instead;
    /// "heartbeat" refuses heartbeats; "lost" runs the statement and then answers it, and every
    /// repeat, with 503; "redirect" answers a statement with a 307 elsewhere; "hang" runs it and
    /// never answers.
    static let server = #"""
        import base64, gzip, http.server, json, sys, time, urllib.parse
        import jwt
        from cryptography.hazmat.primitives import serialization
        from snowflake.connector.auth.keypair import AuthByKeyPair
        from snowflake.connector.util_text import parse_account
        import answering

        faults = json.loads(sys.argv[1])
        expect = json.loads(sys.argv[2])
        answers = {}
        done = set()
        batch_rows = [0]
        created = [False]

        def record(entry):
            with open("requests.jsonl", "a") as log:
                log.write(json.dumps(entry) + "\n")

        def check_token(data):
            """The key-pair token as Snowflake checks it: signed by the user's registered key."""
            with open(expect["key"], "rb") as f:
                passphrase = expect.get("passphrase")
                key = serialization.load_pem_private_key(f.read(), password=passphrase.encode() if passphrase else None)
            fingerprint = AuthByKeyPair.calculate_public_key_fingerprint(key)
            account = parse_account(expect["account"]).upper()
            user = expect["user"].upper()
            claims = jwt.decode(data["TOKEN"], key.public_key(), algorithms=["RS256"])
            header = jwt.get_unverified_header(data["TOKEN"])
            problems = []
            if claims["iss"] != f"{account}.{user}.{fingerprint}": problems.append(f"iss {claims['iss']} != {account}.{user}.{fingerprint}")
            if claims["sub"] != f"{account}.{user}": problems.append(f"sub {claims['sub']}")
            if claims["exp"] - claims["iat"] != 60: problems.append("lifetime")
            if header != {"alg": "RS256", "typ": "JWT"}: problems.append(f"header {header}")
            return problems or "ok"

        class Handler(answering.Handler):
            # Keeps connections open, as Snowflake's front end does: a client that reused one
            # after a reset would lose its request's body (see HTTPClient).
            protocol_version = "HTTP/1.1"
            def do_GET(self): self.serve()
            def do_POST(self): self.serve()
            def serve(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                zipped = self.headers.get("Content-Encoding") == "gzip"
                body = gzip.decompress(raw) if zipped and raw else raw
                path, _, query = self.path.partition("?")
                params = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
                entry = {"method": self.command, "path": path, "params": params, "gzip": zipped, "bytes": len(body)}
                if path == "/session/v1/login-request":
                    data = json.loads(body)["data"]
                    entry["login"] = {k: data.get(k) for k in ["ACCOUNT_NAME", "LOGIN_NAME", "AUTHENTICATOR", "PASSWORD", "TOKEN"]}
                    if data.get("AUTHENTICATOR") == "SNOWFLAKE_JWT":
                        try:
                            entry["jwt"] = check_token(data)
                        except Exception as error:
                            entry["jwt"] = f"{type(error).__name__}: {error}"
                        entry["login"]["TOKEN"] = "(checked)"
                    record(entry)
                    if faults.get("login503") and "login" not in done:
                        done.add("login")
                        return self.answer(503, "<html>Service Unavailable</html>", "text/html")
                    if "login" in faults:
                        return self.answer(200, json.dumps(faults["login"]))
                    return self.answer(200, json.dumps({"data": {"token": "T0KEN", "masterToken": "M4STER"}, "success": True}))
                if path.startswith("/session"):
                    record(entry)
                    if path == "/session/heartbeat" and faults.get("heartbeat"):
                        return self.answer(200, json.dumps({"data": None, "code": "390111", "message": "Session no longer exists.", "success": False}))
                    return self.answer(200, json.dumps({"data": None, "success": True}))
                request_id = params.get("requestId")
                sql = json.loads(body)["sqlText"]
                entry["sql"] = sql[:60]
                if request_id in answers:
                    entry["repeat"] = True
                    record(entry)
                    if any(fault == "lost" and sql.startswith(prefix) for prefix, fault in faults.items()):
                        return self.answer(503, "<html>Service Unavailable</html>", "text/html")
                    return self.answer(200, answers[request_id])
                if "redirect" in faults and sql.startswith(faults["redirect"]):
                    record(entry)
                    self.send_response(307)
                    self.send_header("Location", "/elsewhere")
                    self.send_header("Content-Length", "0")
                    return self.end_headers()
                if "max_body" in faults and len(body) > faults["max_body"]:
                    entry["refused"] = 413
                    record(entry)
                    return self.answer(413, "<html>Request Entity Too Large</html>", "text/html")
                if faults.get("always503"):
                    record(entry)
                    return self.answer(503, "<html>Service Unavailable</html>", "text/html")
                entry["ran"] = True
                record(entry)
                answer = json.dumps(self.run_statement(sql, json.loads(body).get("bindings")))
                answers[request_id] = answer
                for prefix, fault in faults.items():
                    if isinstance(fault, str) and sql.startswith(prefix) and prefix not in done:
                        done.add(prefix)
                        if fault == "reset":
                            self.close_connection = True
                            return
                        if fault == "hang":
                            time.sleep(600)
                            return
                        return self.answer(503, "<html>Service Unavailable</html>", "text/html")
                self.answer(200, answer)
            def run_statement(self, sql, bindings):
                rows = lambda names, values: {"data": {"rowtype": [{"name": n, "type": "text"} for n in names], "rowset": values}, "success": True}
                if sql.startswith("CREATE TABLE") and "USERS" in sql:
                    created[0] = True
                elif "information_schema.columns" in sql and created[0]:
                    return rows(["COLUMN_NAME", "DATA_TYPE", "NUMERIC_PRECISION", "NUMERIC_SCALE"], [["ID", "NUMBER", "38", "0"], ["NAME", "TEXT", None, None]])
                elif sql.startswith("DELETE FROM CONDUIT_BATCH"):
                    batch_rows[0] = 0
                elif sql.startswith("INSERT INTO CONDUIT_BATCH") and bindings:
                    batch_rows[0] += len(bindings["1"]["value"])
                elif "COUNT(*)" in sql:
                    return rows(["COUNT(*)"], [[str(batch_rows[0])]])
                return rows([], [])
        answering.serve(Handler, http.server.ThreadingHTTPServer)
        """#

    /// One request as the server saw it.
    struct Request {
        var fields: [String: Any]
        var path: String { fields["path"] as? String ?? "" }
        var params: [String: String] { fields["params"] as? [String: String] ?? [:] }
        var sql: String? { fields["sql"] as? String }
        var login: [String: Any]? { fields["login"] as? [String: Any] }
        var ran: Bool { fields["ran"] as? Bool ?? false }
        var repeated: Bool { fields["repeat"] as? Bool ?? false }
        var gzip: Bool { fields["gzip"] as? Bool ?? false }
        var bytes: Int { fields["bytes"] as? Int ?? 0 }
    }

    /// A sandbox whose ingest.yml loads resource `users` into Snowflake at the answering server
    /// with `destination` keys (the connection besides host, port and protocol).
    static func sandbox(_ destination: [String]) throws -> (Sandbox, [String: String]) {
        let box = try Sandbox()
        let environment = [
            "CONDUIT_TEST_SNOWFLAKE_PYTHON": try SnowflakeFixture.environment()["CONDUIT_TEST_SNOWFLAKE_PYTHON"] ?? ""
        ]
        try box.write(
            """
            sources:
              - name: app
                type: sqlite
                path: app.db
            destinations:
              - name: warehouse
                type: snowflake
            \(destination.map { "    " + $0 }.joined(separator: "\n"))
                database: analytics
                schema: raw
                host: 127.0.0.1
                port: ${STUB_PORT}
                protocol: http
            resources:
              - name: users
                source: app
                destination: warehouse
                incremental_column: id
                query: "SELECT id, name FROM users WHERE id > :last_value ORDER BY id"
            """, to: "ingest.yml")
        return (box, environment)
    }

    /// Runs `script` in the sandbox with the answering server up (its port in `$STUB_PORT`),
    /// started with `faults` and `expect`, and killed at the end.
    static func withServer(
        _ script: String, in box: Sandbox, _ environment: [String: String], faults: String = "{}", expect: String = "{}"
    ) throws -> Sandbox.Result {
        // The server appends to requests.jsonl only when a request comes, after it started.
        try AnsweringServer.run(
            server, python: #""$CONDUIT_TEST_SNOWFLAKE_PYTHON""#,
            arguments: [SnowflakeFixture.shellQuoted(faults), SnowflakeFixture.shellQuoted(expect)],
            then: "rm -f requests.jsonl\n" + script, in: box, environment)
    }

    /// Runs `input | conduit-load --infer-types users` against the answering server.
    static func load(
        _ input: String, in box: Sandbox, _ environment: [String: String], faults: String = "{}", expect: String = "{}",
        extra: [String: String] = [:]
    ) throws -> (Sandbox.Result, [Request]) {
        try box.write(input, to: "input.ndjson")
        var env = environment
        for (key, value) in extra { env[key] = value }
        let result = try withServer(
            "conduit-load --infer-types users < input.ndjson", in: box, env, faults: faults, expect: expect)
        let log = box.exists("requests.jsonl") ? try box.read("requests.jsonl") : ""
        let requests = try log.split(separator: "\n").map { line in
            Request(fields: try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:])
        }
        return (result, requests)
    }

    /// Makes an RSA key as Snowflake's documentation does (`openssl genrsa 2048 | openssl pkcs8
    /// -topk8`), unencrypted or encrypted with `passphrase` under `cipher`.
    static func makeKey(
        in box: Sandbox, passphrase: String? = nil, cipher: String = "aes256", prf: String? = nil
    ) throws -> String {
        let encryption =
            passphrase.map {
                "-v2 \(cipher)\(prf.map { " -v2prf \($0)" } ?? "") -passout \(SnowflakeFixture.shellQuoted("pass:" + $0))"
            } ?? "-nocrypt"
        let result = try box.run(
            "openssl genrsa 2048 2>/dev/null | openssl pkcs8 -topk8 -inform PEM -out rsa_key.p8 \(encryption)")
        try #require(result.status == 0, "\(result.stderr)")
        return box.path("rsa_key.p8")
    }

    static let rows = "{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"name\":\"b\"}\n"

    /// The key-pair token is the one Snowflake accepts: signed with the user's key, with the
    /// fingerprint the official connector computes, account (without region, or a `.global`
    /// identifier's suffix) and user upper-cased; the login names SNOWFLAKE_JWT; the load runs.
    @Test(arguments: [
        ("xy12345.us-east-1", nil as String?, "aes256", nil as String?),
        ("myorg-myaccount", "correct horse", "aes256", nil),
        ("xy12345-ab12.global", "s3cret-pass", "aes128", "hmacWithSHA1"),
        ("xy12345", "pass", "aes192", "hmacWithSHA512"),
    ])
    func keyPairTokenIsTheOneSnowflakeChecks(account: String, passphrase: String?, cipher: String, prf: String?) throws {
        let (box, environment) = try Self.sandbox(
            ["account: \(account)", "user: loader", "authenticator: snowflake_jwt", "private_key_path: rsa_key.p8"]
                + (passphrase == nil ? [] : ["private_key_passphrase: ${KEY_PASSPHRASE}"]))
        let key = try Self.makeKey(in: box, passphrase: passphrase, cipher: cipher, prf: prf)
        var expect: [String: String] = ["key": key, "account": account, "user": "loader"]
        if let passphrase { expect["passphrase"] = passphrase }
        let expectation = String(decoding: try JSONSerialization.data(withJSONObject: expect), as: UTF8.self)
        let (result, requests) = try Self.load(
            Self.rows, in: box, environment, expect: expectation, extra: ["KEY_PASSPHRASE": passphrase ?? ""])
        #expect(result.status == 0, "\(result.stderr)")
        let login = try #require(requests.first { $0.path == "/session/v1/login-request" })
        #expect(login.fields["jwt"] as? String == "ok", "\(login.fields)")
        #expect(login.login?["AUTHENTICATOR"] as? String == "SNOWFLAKE_JWT")
        #expect(login.login?["PASSWORD"] is NSNull)
        #expect(login.login?["LOGIN_NAME"] as? String == "loader")
        #expect(requests.filter(\.ran).count >= 4, "\(requests.map(\.fields))")
        if let passphrase { #expect(!result.stderr.contains(passphrase)) }
    }

    /// A key that cannot sign says why and where, never what it holds: 78.
    @Test func badKeysAreConfigurationErrors() throws {
        let (box, environment) = try Self.sandbox(
            [
                "account: xy12345", "user: loader", "authenticator: snowflake_jwt", "private_key_path: rsa_key.p8",
                "private_key_passphrase: ${KEY_PASSPHRASE}",
            ])
        _ = try Self.makeKey(in: box, passphrase: "right-one")
        let wrong = try Self.load(Self.rows, in: box, environment, extra: ["KEY_PASSPHRASE": "wrong-one"]).0
        #expect(wrong.status == 78, "\(wrong.stderr)")
        #expect(
            wrong.stderr.contains(
                "private_key_path rsa_key.p8: cannot decrypt the key: the passphrase is wrong (private_key_passphrase)"),
            "\(wrong.stderr)")
        #expect(!wrong.stderr.contains("wrong-one") && !wrong.stderr.contains("right-one"))

        // Snowflake's documentation once showed -v2 des3: named, with the command that fixes it.
        _ = try Self.makeKey(in: box, passphrase: "right-one", cipher: "des3")
        let des = try Self.load(Self.rows, in: box, environment, extra: ["KEY_PASSPHRASE": "right-one"]).0
        #expect(des.status == 78, "\(des.stderr)")
        #expect(
            des.stderr.contains(
                "the key is encrypted with DES-EDE3-CBC (1.2.840.113549.3.7), which Conduit does not read; re-encrypt it with AES: openssl pkcs8 -topk8 -v2 aes256"
            ), "\(des.stderr)")

        try box.write("not a key\n", to: "rsa_key.p8")
        let garbage = try Self.load(Self.rows, in: box, environment, extra: ["KEY_PASSPHRASE": "x"]).0
        #expect(garbage.status == 78, "\(garbage.stderr)")
        #expect(garbage.stderr.contains("private_key_path rsa_key.p8: not a PEM key file"), "\(garbage.stderr)")

        let missing = try box.run(
            "rm rsa_key.p8; conduit-load --infer-types users < /dev/null", environment: ["STUB_PORT": "1", "KEY_PASSPHRASE": "x"])
        #expect(missing.status == 78, "\(missing.stderr)")
        #expect(missing.stderr.contains("private_key_path rsa_key.p8: cannot read the key file"), "\(missing.stderr)")

        // A FIFO would block the read forever: refused before it is opened.
        let fifo = try box.run(
            "mkfifo rsa_key.p8; conduit-load --infer-types users < /dev/null",
            environment: ["STUB_PORT": "1", "KEY_PASSPHRASE": "x"])
        #expect(fifo.status == 78, "\(fifo.stderr)")
        #expect(fifo.stderr.contains("private_key_path rsa_key.p8: not a regular file"), "\(fifo.stderr)")
    }

    /// Tokens go as the connectors send them, from the environment or a file, and never into
    /// a message.
    @Test(arguments: ["programmatic_access_token", "oauth"]) func tokensSignIn(authenticator: String) throws {
        let fromFile = authenticator == "oauth"
        let (box, environment) = try Self.sandbox(
            [
                "account: xy12345", authenticator == "oauth" ? "" : "user: loader", "authenticator: \(authenticator)",
                fromFile ? "token_file_path: token.txt" : "token: ${SNOWFLAKE_TOKEN}",
            ].filter { !$0.isEmpty })
        try box.write("tok-3n-secret\n", to: "token.txt")
        let (result, requests) = try Self.load(Self.rows, in: box, environment, extra: ["SNOWFLAKE_TOKEN": "tok-3n-secret"])
        #expect(result.status == 0, "\(result.stderr)")
        let login = try #require(requests.first?.login)
        #expect(login["AUTHENTICATOR"] as? String == (authenticator == "oauth" ? "OAUTH" : "PROGRAMMATIC_ACCESS_TOKEN"))
        #expect(login["TOKEN"] as? String == "tok-3n-secret")
        #expect(login["PASSWORD"] is NSNull)
        #expect((login["LOGIN_NAME"] is NSNull) == (authenticator == "oauth"))

        let refused = try Self.load(
            Self.rows, in: box, environment,
            faults:
                #"{"login": {"data": {"nextAction": "RETRY_LOGIN"}, "code": "394400", "message": "Programmatic access token is invalid.", "success": false}}"#,
            extra: ["SNOWFLAKE_TOKEN": "tok-3n-secret"]
        ).0
        #expect(refused.status == 78, "\(refused.stderr)")
        #expect(refused.stderr.contains("Programmatic access token is invalid. (code 394400)"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("tok-3n-secret"))
    }

    /// A login that asks for a second factor or a new password cannot be answered by a loader:
    /// 78 (a scheduler does not retry it), naming what Snowflake asked and what to use instead.
    @Test(arguments: [
        (
            #"{"data": {"nextAction": "EXT_AUTHN_DUO_ALL", "inFlightCtx": "ctx"}, "success": true}"#,
            "Snowflake asks for a second factor (multi-factor authentication, nextAction EXT_AUTHN_DUO_ALL), which a loader cannot give; sign in with a key pair (authenticator: snowflake_jwt)"
        ),
        (
            #"{"data": {"nextAction": "PWD_CHANGE", "inFlightCtx": "ctx"}, "code": "390120", "message": "Password change required", "success": false}"#,
            "Snowflake asks for the user's password to be changed before it signs in (nextAction PWD_CHANGE)"
        ),
    ])
    func loginsThatAskForAnotherStepAre78(answer: String, message: String) throws {
        let (box, environment) = try Self.sandbox(["account: xy12345", "user: loader", "password: ${SNOWFLAKE_PASSWORD}"])
        let (result, requests) = try Self.load(
            Self.rows, in: box, environment, faults: #"{"login": \#(answer)}"#, extra: ["SNOWFLAKE_PASSWORD": "pw-n0t-shown"])
        #expect(result.status == 78, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(!result.stderr.contains("pw-n0t-shown"))
        #expect(requests.count == 1, "\(requests.map(\.fields))")
    }

    /// A statement whose answer is lost (503 after it ran, or the connection reset) is sent
    /// again with its requestId, retryCount 1 and a new request_guid; the service answers the
    /// repeat from the first run, so the statement ran once and the load completes. A login
    /// that meets a 503 is sent again too.
    @Test(arguments: [
        #"{"INSERT INTO CONDUIT_BATCH": "503"}"#, #"{"COMMIT": "reset"}"#, #"{"BEGIN": "reset", "login503": true}"#,
    ])
    func transientFailuresAreRetriedWithTheSameRequestId(faults: String) throws {
        let (box, environment) = try Self.sandbox(["account: xy12345", "user: loader", "password: pw"])
        let (result, requests) = try Self.load(Self.rows, in: box, environment, faults: faults)
        #expect(result.status == 0, "\(result.stderr)")
        let repeats = requests.filter(\.repeated)
        #expect(repeats.count == 1, "\(requests.map(\.fields))")
        for repeat_ in repeats {
            let first = try #require(requests.first { $0.params["requestId"] == repeat_.params["requestId"] && !$0.repeated })
            #expect(first.ran && first.params["retryCount"] == nil)
            if faults.contains(#": "503""#) {
                // Conduit's retry: marked as a repeat, with a request_guid of its own.
                #expect(repeat_.params["retryCount"] == "1")
                #expect(repeat_.params["clientStartTime"] != nil)
                #expect(repeat_.params["request_guid"] != nil && repeat_.params["request_guid"] != first.params["request_guid"])
            } else {
                // A kept-alive connection closed unanswered: libcurl sends the same request
                // again on a new connection by itself, unchanged (its requestId with it).
                #expect(repeat_.params == first.params)
            }
            // Ran once: the repeat was answered from the first run.
            #expect(requests.filter { $0.params["requestId"] == repeat_.params["requestId"] && $0.ran }.count == 1)
        }
        if faults.contains("login503") {
            let logins = requests.filter { $0.path == "/session/v1/login-request" }
            #expect(
                logins.count == 2 && logins[0].params["requestId"] == logins[1].params["requestId"], "\(logins.map(\.fields))")
        }
        let inserts = requests.filter { $0.sql?.hasPrefix("INSERT INTO CONDUIT_BATCH") == true && $0.ran }
        #expect(inserts.count == 1)
        // Each of Conduit's retries is announced, saying why and when.
        if faults.contains("503") {
            #expect(result.stderr.contains("conduit-load: warning: "), "\(result.stderr)")
            #expect(result.stderr.contains(": HTTP 503; sending it again in "), "\(result.stderr)")
            #expect(result.stderr.contains(" s (attempt 2, within retry_timeout 300 s)"), "\(result.stderr)")
        }
        #expect(requests.allSatisfy { $0.bytes == 0 || $0.gzip }, "every body goes gzip-compressed")
    }

    /// A COMMIT that ran but whose answer never comes, through every retry, leaves the batch's
    /// fate unknown: 69, and the message says so instead of "nothing was written".
    @Test func aCommitWithoutAnAnswerSaysItsOutcomeIsUnknown() throws {
        let (box, environment) = try Self.sandbox(["account: xy12345", "user: loader", "password: pw", "retry_timeout: 2"])
        let (result, requests) = try Self.load(Self.rows, in: box, environment, faults: #"{"COMMIT": "lost"}"#)
        #expect(result.status == 69, "\(result.stderr)")
        #expect(
            result.stderr.contains(
                "; the open batch's COMMIT was sent but no answer came, so whether it committed is unknown: this run keeps no checkpoint, so look at the table before loading these rows again"
            ), "\(result.stderr)")
        #expect(!result.stderr.contains("nothing was written"), "\(result.stderr)")
        #expect(requests.filter { $0.sql == "COMMIT" && $0.ran }.count == 1)
        // No ROLLBACK spends a second retry budget on a service that is not answering.
        #expect(!requests.contains { $0.sql == "ROLLBACK" }, "\(requests.map(\.fields))")
    }

    /// A COMMIT that is answered — refused with a redirect — did not commit: the message says
    /// the batch was rolled back, not that its outcome is unknown.
    @Test func aCommitRefusedIsNotAnUnknownOutcome() throws {
        let (box, environment) = try Self.sandbox(["account: xy12345", "user: loader", "password: pw"])
        let (result, _) = try Self.load(Self.rows, in: box, environment, faults: #"{"redirect": "COMMIT"}"#)
        #expect(result.status == 74, "\(result.stderr)")
        #expect(result.stderr.contains("; the open batch was rolled back, nothing was written"), "\(result.stderr)")
        #expect(!result.stderr.contains("unknown"), "\(result.stderr)")
    }

    /// SIGTERM while a request waits for an answer that does not come stops it at once (not
    /// after the 120 s timeout, beyond the harness's limit): 143, nothing committed.
    @Test func aSignalStopsARequestInFlight() throws {
        let (box, environment) = try Self.sandbox(["account: xy12345", "user: loader", "password: pw"])
        let result = try Self.withServer(
            """
            echo '{"id":1,"name":"a"}' > input.ndjson
            conduit-load --infer-types users < input.ndjson & load=$!
            until grep -q '"sql": "BEGIN"' requests.jsonl 2>/dev/null; do sleep 0.1; done
            sleep 0.5
            kill -TERM $load
            wait $load
            """, in: box, environment, faults: #"{"BEGIN": "hang"}"#)
        #expect(result.status == 143, "\(result.stderr)")
        #expect(result.stderr.contains("conduit-load: warning: stopped by signal 15: "), "\(result.stderr)")
        #expect(!(try box.read("requests.jsonl")).contains(#""sql": "COMMIT""#))
    }

    /// A redirect is not followed (it would carry the session token elsewhere and drop the
    /// statement): the 307 is the answer, an error naming it.
    @Test func redirectsAreNotFollowed() throws {
        let (box, environment) = try Self.sandbox(["account: xy12345", "user: loader", "password: pw"])
        let (result, requests) = try Self.load(
            Self.rows, in: box, environment, faults: #"{"redirect": "DELETE FROM CONDUIT_BATCH"}"#)
        #expect(result.status == 74, "\(result.stderr)")
        #expect(result.stderr.contains(": HTTP 307 from http://127.0.0.1:"), "\(result.stderr)")
        #expect(!requests.contains { $0.path == "/elsewhere" }, "\(requests.map(\.fields))")
    }

    /// A service that keeps failing is given up on within `retry_timeout`: 69, saying how often
    /// and how long it tried; nothing committed.
    @Test func retriesStopAtTheirBudget() throws {
        let (box, environment) = try Self.sandbox(["account: xy12345", "user: loader", "password: pw", "retry_timeout: 3"])
        let (result, requests) = try Self.load(Self.rows, in: box, environment, faults: #"{"always503": true}"#)
        #expect(result.status == 69, "\(result.stderr)")
        #expect(result.stderr.contains("HTTP 503 from http://127.0.0.1:"), "\(result.stderr)")
        #expect(
            result.stderr.contains(", not a Snowflake answer: <html>Service Unavailable</html>; gave up after "),
            "\(result.stderr)")
        #expect(
            result.stderr.contains(" s (retry_timeout 3 s); the open batch was rolled back, nothing was written"),
            "\(result.stderr)")
        let attempts = requests.filter { $0.path == "/queries/v1/query-request" }
        #expect(attempts.count >= 2 && Set(attempts.map { $0.params["requestId"] }).count == 1, "\(attempts.map(\.fields))")
        #expect(!requests.contains { $0.sql == "COMMIT" })
    }

    /// A service that cannot be reached is tried again too, then 69 with what went wrong.
    @Test func unreachableServiceIsRetriedThen69() throws {
        let (box, environment) = try Self.sandbox(["account: xy12345", "user: loader", "password: pw", "retry_timeout: 2"])
        let result = try box.run(
            "conduit-load --infer-types users < /dev/null", environment: environment.merging(["STUB_PORT": "1"]) { $1 })
        #expect(result.status == 69, "\(result.stderr)")
        #expect(
            result.stderr.contains("http://127.0.0.1:1: could not connect (connection refused); gave up after "),
            "\(result.stderr)")
        #expect(result.stderr.contains(" attempts in "), "\(result.stderr)")
    }

    /// Bound INSERTs stay under the byte cap; a service whose limit is lower answers 413 and
    /// the rows go again in halves (nothing of a refused request ran), all loaded once; a single
    /// row above the limit is 65 naming its line, with nothing committed.
    @Test func requestsTooLargeAreSplitAndASingleRowIsNamed() throws {
        let (box, environment) = try Self.sandbox(["account: xy12345", "user: loader", "password: pw"])
        let wide = String(repeating: "x", count: 3000)
        let input = (1...40).map { "{\"id\":\($0),\"name\":\"\(wide)\"}\n" }.joined()
        let (result, requests) = try Self.load(input, in: box, environment, faults: #"{"max_body": 40000}"#)
        #expect(result.status == 0, "\(result.stderr)")
        let refused = requests.filter { $0.fields["refused"] != nil }
        let bound = requests.filter { $0.sql?.hasPrefix("INSERT INTO CONDUIT_BATCH") == true && $0.ran }
        #expect(!refused.isEmpty && bound.count > 2, "\(requests.map(\.fields))")
        #expect(bound.allSatisfy { $0.bytes <= 40000 })

        let tooWide = "{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"name\":\"\(String(repeating: "y", count: 50000))\"}\n"
        let (single, singleRequests) = try Self.load(tooWide, in: box, environment, faults: #"{"max_body": 40000}"#)
        #expect(single.status == 65, "\(single.stderr)")
        #expect(single.stderr.contains("line 2: the row is too large for one Snowflake request"), "\(single.stderr)")
        #expect(
            single.stderr.contains(
                "refused (HTTP 413, Request Entity Too Large), and a row cannot be split (Conduit's own limit is 1000000 bytes of values per statement, a row above it going alone); nothing of the batch was committed"
            ), "\(single.stderr)")
        #expect(!singleRequests.contains { $0.sql == "COMMIT" })
    }

    /// A session idle past `heartbeat_interval` while rows trickle in sends the connectors'
    /// heartbeat, and the load goes on; a refused heartbeat is a warning, and the load still
    /// goes on (the next batch's statements find the session alive here).
    @Test(arguments: [false, true]) func idleSessionsSendAHeartbeat(refused: Bool) throws {
        let (box, environment) = try Self.sandbox(["account: xy12345", "user: loader", "password: pw", "heartbeat_interval: 1"])
        let result = try Self.withServer(
            #"{ echo '{"id":1,"name":"a"}'; sleep 3; echo '{"id":2,"name":"b"}'; } | conduit-load --infer-types users"#,
            in: box, environment, faults: refused ? #"{"heartbeat": true}"# : "{}")
        #expect(result.status == 0, "\(result.stderr)")
        let log = try box.read("requests.jsonl")
        #expect(log.contains(#""path": "/session/heartbeat""#), "\(log)")
        #expect(log.contains(#""sql": "COMMIT""#), "\(log)")
        #expect(
            result.stderr.contains(
                "conduit-load: warning: keeping the idle Snowflake session alive: Session no longer exists. (code 390111); carrying on"
            ) == refused, "\(result.stderr)")
    }

    /// SIGINT while a failing request waits to be sent again ends the wait, not the retry
    /// budget (300 s here, beyond the harness's limit): the run stops, saying so, with 128+2.
    @Test func aSignalEndsTheRetries() throws {
        let (box, environment) = try Self.sandbox(["account: xy12345", "user: loader", "password: pw"])
        let result = try Self.withServer(
            """
            echo '{"id":1,"name":"a"}' > input.ndjson
            conduit-load --infer-types users < input.ndjson & load=$!
            until grep -q query-request requests.jsonl 2>/dev/null; do sleep 0.1; done
            sleep 0.5
            kill -INT $load
            wait $load
            """, in: box, environment, faults: #"{"always503": true}"#)
        #expect(result.status == 130, "\(result.stderr)")
        #expect(result.stderr.contains("conduit-load: warning: stopped by signal 2: "), "\(result.stderr)")
    }
}
