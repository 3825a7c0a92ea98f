package import Core
import Foundation
package import HTTP
import Stream

/// A logged-in session of Snowflake's HTTP query protocol, the one its own connectors speak:
/// `POST /session/v1/login-request` for a token, `POST /queries/v1/query-request` per statement
/// (with `Authorization: Snowflake Token="…"`), `POST /session?delete=true` to log out, which
/// `close()` and `deinit` do.
///
/// Statements run one at a time and in order, in the session's transaction state. A request
/// whose answer is lost may have run (an array-bound INSERT may have written rows), so it is
/// sent again only as the connectors do, with its original `requestId` (``SnowflakeRetry``):
/// Snowflake answers such a repeat with the first run's result. A failure that outlasts the
/// retry budget ends the batch, whose transaction then rolls back.
package final class SnowflakeSession {
    package let settings: SnowflakeSettings
    private let http: HTTPClient
    private let retry: HTTPRetry
    /// Where a retry is announced, so a run that waits on a failing service says why.
    private let warnings: (String) -> Void
    /// The key of a key-pair sign-in, read once.
    private let keyPair: SnowflakeKeyPair?
    private var token: String?
    /// The login's longer-lived token, which renews an expired session token
    /// (`/session/token-request`) without losing the session's temporary tables.
    private var masterToken: String?
    private var sequence = 0
    /// When the service last answered: a session idle for hours is kept alive (``keepAlive()``).
    private var lastAnswer = MonotonicClock.now
    /// Whether the last request's final attempt got no answer at all (the connection failed, or
    /// timed out) or only a 5xx, 408 or 429: it may or may not have been carried out.
    package private(set) var lastRequestUnanswered = false
    private var retriesSuspended = false
    /// The account's `CLIENT_STAGE_ARRAY_BINDING_THRESHOLD` as the login gave it.
    package private(set) var arrayBindingThreshold: Int?

    /// Logs in. 69 when the service cannot be reached, 78 when it refuses the login or asks
    /// for a step a loader cannot take (a second factor, a new password).
    /// - Parameter timeout: seconds of silence after which a request fails (and is retried
    ///   within the settings' `retryTimeout`). Snowflake answers a statement that runs longer
    ///   within about 45 s with "still running" and is polled, so a long silence means the
    ///   service or the network is in trouble.
    package init(
        settings: SnowflakeSettings, timeout: Double = 120, warnings: @escaping (String) -> Void = { _ in }
    ) throws(ConduitError) {
        self.settings = settings
        self.warnings = warnings
        http = try HTTPClient(timeout: timeout)
        retry = SnowflakeRetry.policy(budget: settings.retryTimeout)
        if case .keyPair(let path, let passphrase) = settings.authenticator {
            keyPair = try SnowflakeKeyPair(path: path, passphrase: passphrase)
        } else {
            keyPair = nil
        }
        try login()
    }

    deinit {
        close()
    }

    private func login() throws(ConduitError) {
        var query: [(String, String)] = [("requestId", UUID().uuidString.lowercased())]
        if let database = settings.database { query.append(("databaseName", database)) }
        if let schema = settings.schema { query.append(("schemaName", schema)) }
        if let warehouse = settings.warehouse { query.append(("warehouse", warehouse)) }
        if let role = settings.role { query.append(("roleName", role)) }
        let who = settings.user.isEmpty ? "with an OAuth token" : "as \(settings.user)"
        let context = "logging in to Snowflake \(settings.label) \(who)"
        // Built again for every attempt: a key pair's token lives a minute, retries take longer.
        let body = { () throws(ConduitError) -> [UInt8] in try self.loginBody() }
        let answer = try exchange(
            method: "POST", path: "/session/v1/login-request", query: query, body: body, context: context,
            rejected: ConduitError.configuration)
        guard case .data(let data) = answer, case .string(let token)? = data?["token"] else {
            if case .data(let data) = answer, let step = data?["nextAction"]?.text {
                throw .configuration("\(context): \(Self.describe(nextAction: step, authenticator: settings.authenticator))")
            }
            throw .unavailable("\(context): the answer holds no session token")
        }
        self.token = token
        masterToken = data?["masterToken"]?.text
        arrayBindingThreshold = Self.arrayBindingThreshold(data?["parameters"])
    }

    /// `CLIENT_STAGE_ARRAY_BINDING_THRESHOLD` from the login answer's `parameters` (a list of
    /// `{"name", "value"}`): at this many bound values a statement's binds go through a stage in
    /// Snowflake's connectors (0: never); nil when the answer does not say.
    static func arrayBindingThreshold(_ parameters: JSONValue?) -> Int? {
        guard case .array(let items)? = parameters else { return nil }
        for item in items where item["name"]?.text == "CLIENT_STAGE_ARRAY_BINDING_THRESHOLD" {
            if let text = item["value"]?.text, let value = Int(text), value >= 0 { return value }
        }
        return nil
    }

    /// The login request's body: who, with what, and the session's parameters. The secret goes
    /// only here, never into a message.
    private func loginBody() throws(ConduitError) -> [UInt8] {
        var fields: [(String, String)] = [("ACCOUNT_NAME", settings.accountName)]
        if !settings.user.isEmpty { fields.append(("LOGIN_NAME", settings.user)) }
        switch settings.authenticator {
        case .password(let password):
            fields.append(("PASSWORD", password))
        case .keyPair:
            guard let keyPair else { throw .internalError("the key pair was not read") }
            let token = try keyPair.token(
                account: settings.accountName, user: settings.user, now: Int(Date().timeIntervalSince1970))
            fields += [("AUTHENTICATOR", "SNOWFLAKE_JWT"), ("TOKEN", token)]
        case .programmaticAccessToken(let token):
            fields += [("AUTHENTICATOR", "PROGRAMMATIC_ACCESS_TOKEN"), ("TOKEN", token)]
        case .oauth(let token):
            fields += [("AUTHENTICATOR", "OAUTH"), ("TOKEN", token)]
        }
        var body: [UInt8] = []
        body.append(contentsOf: #"{"data":{"CLIENT_APP_ID":"Conduit","CLIENT_APP_VERSION":"#.utf8)
        JSONEscaping.appendQuoted(ConduitVersion.current, to: &body)
        for (key, value) in fields {
            body.append(contentsOf: ",\"\(key)\":".utf8)
            JSONEscaping.appendQuoted(value, to: &body)
        }
        body.append(contentsOf: #","SESSION_PARAMETERS":"#.utf8)
        body.append(contentsOf: Self.sessionParameters.utf8)
        body.append(contentsOf: "}}".utf8)
        return body
    }

    /// What to tell a user whose login Snowflake answered with a further step instead of a
    /// session: a loader has no one to approve a push, type a passcode or choose a password.
    static func describe(nextAction step: String, authenticator: SnowflakeSettings.Authenticator) -> String {
        let instead =
            "sign in with a key pair (authenticator: snowflake_jwt) or a programmatic access token (authenticator: programmatic_access_token); docs/SNOWFLAKE.md shows how"
        switch step {
        case "EXT_AUTHN_DUO_ALL", "EXT_AUTHN_DUO_PUSH_N_PASSCODE", "EXT_AUTHN_DUO_PUSH", "EXT_AUTHN_DUO_PASSCODE":
            return
                "Snowflake asks for a second factor (multi-factor authentication, nextAction \(step)), which a loader cannot give; \(instead)"
        case "PWD_CHANGE":
            return
                "Snowflake asks for the user's password to be changed before it signs in (nextAction PWD_CHANGE); change it in Snowflake, or \(instead)"
        default:
            return
                "Snowflake asks for a further sign-in step (nextAction \(step)) that a loader cannot take with authenticator \(authenticator.name); \(instead)"
        }
    }

    /// What the loader's statements rely on, pinned for its session whatever the account or user
    /// sets: autocommit on (each DDL and each lone statement commits by itself; batches open their
    /// own transaction with BEGIN); quoted names case-sensitive, as ``SnowflakeName`` writes them;
    /// the session in UTC, so a timestamp without an offset means the same on every account; and
    /// the input formats that read the ISO 8601 text the extract writes.
    static let sessionParameters = """
        {"AUTOCOMMIT":true,"QUOTED_IDENTIFIERS_IGNORE_CASE":false,"TIMEZONE":"UTC",\
        "DATE_INPUT_FORMAT":"AUTO","TIME_INPUT_FORMAT":"AUTO","TIMESTAMP_INPUT_FORMAT":"AUTO"}
        """

    /// Trades the expired session token for a new one with the master token. The session stays
    /// the same (its temporary tables and open transaction with it). 69 when the master token
    /// has expired too: a new run logs in afresh.
    private func renewSession(doing context: String) throws(ConduitError) {
        let context = "\(context): renewing the expired Snowflake session"
        guard let token, let masterToken else {
            throw .unavailable("\(context): the login gave no master token to renew it with; run again")
        }
        var body: [UInt8] = Array(#"{"oldSessionToken":"#.utf8)
        JSONEscaping.appendQuoted(token, to: &body)
        body.append(contentsOf: #","requestType":"RENEW"}"#.utf8)
        let answer = try exchange(
            method: "POST", path: "/session/token-request", query: [("requestId", UUID().uuidString.lowercased())],
            body: { body },
            context: context, token: masterToken, rejected: ConduitError.unavailable)
        guard case .data(let data) = answer, case .string(let renewed)? = data?["sessionToken"] else {
            throw .unavailable("\(context): the answer holds no session token")
        }
        self.token = renewed
        if let master = data?["masterToken"]?.text { self.masterToken = master }
    }

    /// Logs out, once; errors are ignored (the session expires on its own).
    package func close() {
        guard let token else { return }
        self.token = nil
        let body = Array("{}".utf8)
        let compressed = Gzip.compress(body)
        _ = http.send(
            method: "POST", url: settings.baseURL + "/session?delete=true",
            headers: Self.headers(token: token) + (compressed == nil ? [] : [("Content-Encoding", "gzip")]),
            body: compressed ?? body)
    }

    /// Keeps a session that has been idle for the settings' `heartbeatInterval` alive, as the
    /// connectors' `CLIENT_SESSION_KEEP_ALIVE` does: `POST /session/heartbeat`. Snowflake ends a
    /// session idle for four hours; a slow upstream that trickles rows would otherwise find it
    /// gone at the next batch. Does nothing when the session answered more recently. A failed
    /// heartbeat is a warning, not the end of the run (as in the connectors): nothing of the
    /// open batch has been sent, and the next batch's first statement says whether the session
    /// lives (69 if not; the rerun resumes from the checkpoint).
    package func keepAlive() {
        guard token != nil, MonotonicClock.now - lastAnswer >= settings.heartbeatInterval else { return }
        let context = "keeping the idle Snowflake session alive"
        do {
            _ = try request(
                method: "POST", path: "/session/heartbeat", query: [("requestId", UUID().uuidString.lowercased())], body: nil,
                doing: context)
        } catch {
            warnings("\(error.message); carrying on (the next batch finds out whether the session still lives)")
        }
        // Success or not, the next heartbeat is an interval away.
        lastAnswer = MonotonicClock.now
    }

    /// Runs one statement. `bindings` is the JSON object of the request's `bindings` member
    /// (`{"1":{"type":"TEXT","value":[…]}}`), already encoded. Errors carry Snowflake's code,
    /// SQL state and message: 78 for a statement the service rejects, 65 for a value it cannot
    /// convert (codes 100xxx), 69 when it cannot be reached.
    /// - Parameter retrying: false sends the statement once, whatever happens (a rollback on the
    ///   way out of a failure).
    @discardableResult
    package func run(
        _ sql: String, bindings: [UInt8]? = nil, doing context: String, retrying: Bool = true
    ) throws(ConduitError) -> SnowflakeResult {
        retriesSuspended = !retrying
        defer { retriesSuspended = false }
        switch try execute(sql, bindings: bindings, doing: context) {
        case .result(let result):
            return result
        case .tooLarge(let bytes):
            throw .configuration(
                "\(context): Snowflake refused the statement as too large (HTTP 413, a request of \(bytes) bytes)")
        }
    }

    /// What a statement came back with: its result, or Snowflake's refusal of the request as
    /// too large (HTTP 413, `bytes` sent uncompressed), before anything ran.
    package enum Executed {
        case result(SnowflakeResult)
        case tooLarge(bytes: Int)
    }

    /// ``run(_:bindings:doing:)``, with a request too large for the service handed back rather
    /// than thrown, so the caller can send the rows in smaller statements.
    package func execute(_ sql: String, bindings: [UInt8]?, doing context: String) throws(ConduitError) -> Executed {
        sequence += 1
        var body: [UInt8] = []
        body.reserveCapacity(sql.utf8.count + (bindings?.count ?? 0) + 128)
        body.append(contentsOf: #"{"sqlText":"#.utf8)
        JSONEscaping.appendQuoted(sql, to: &body)
        body.append(
            contentsOf: ",\"asyncExec\":false,\"sequenceId\":\(sequence),\"querySubmissionTime\":\(Self.milliseconds())".utf8)
        if let bindings {
            body.append(contentsOf: #","bindings":"#.utf8)
            body.append(contentsOf: bindings)
        }
        body.append(UInt8(ascii: "}"))
        let answer = try request(
            method: "POST", path: "/queries/v1/query-request", query: [("requestId", UUID().uuidString.lowercased())], body: body,
            doing: context)
        guard case .data(var data) = answer else { return .tooLarge(bytes: body.count) }
        // A statement still running after the service's wait (about 45 s) answers "in progress"
        // with a URL to ask again; asking for the result never runs the statement twice.
        while let poll = data?["getResultUrl"], case .string(let path) = poll,
            Self.inProgress.contains(data?["__code"]?.text ?? "")
        {
            guard case .data(let next) = try request(method: "GET", path: path, query: [], body: nil, doing: context) else {
                throw .unavailable("\(context): Snowflake refused to report the statement's result (HTTP 413)")
            }
            data = next
        }
        guard let data else { return .result(SnowflakeResult(columns: [], rows: [], data: .null)) }
        do {
            return .result(try SnowflakeResult(data: data))
        } catch {
            throw .internalError("\(context): reading Snowflake's answer: \(error)")
        }
    }

    /// One request of the session. A session token expires (by default an hour after it was
    /// issued): the service refuses the request before running anything, so the same request
    /// goes again once, after the token is renewed.
    private func request(
        method: String, path: String, query: [(String, String)], body: [UInt8]?, doing context: String
    ) throws(ConduitError) -> Answer {
        guard let token else { throw .internalError("\(context): the Snowflake session is closed") }
        let send: (() throws(ConduitError) -> [UInt8])? = body.map { bytes in { bytes } }
        let first = try exchange(
            method: method, path: path, query: query, body: send, context: context, token: token, rejected: Self.statementError)
        guard case .sessionExpired = first else { return first }
        try renewSession(doing: context)
        guard let renewed = self.token else { throw .internalError("\(context): the Snowflake session is closed") }
        let second = try exchange(
            method: method, path: path, query: query, body: send, context: context, token: renewed, rejected: Self.statementError)
        if case .sessionExpired = second {
            throw .unavailable(
                "\(context): Snowflake refused the renewed session token (code \(Self.sessionExpiredCode)); run again")
        }
        return second
    }

    /// PUTs a file's bytes to a stage's storage (``StageTarget/upload(_:scheme:amzDate:)``),
    /// outside the query protocol. An upload overwrites the same object, so a failed one is sent
    /// again within the retry budget like any request. 69 when the storage cannot be reached or
    /// answers 5xx or 429 after the retries; any other answer is returned for the caller to
    /// judge (expired credentials are renewed by a new PUT statement).
    /// `redacted` takes the credentials out of what the storage said.
    package func upload(
        _ bytes: [UInt8], to url: String, headers: [(String, String)], doing context: String,
        redacted: (String) -> String
    ) throws(ConduitError) -> HTTPResponse {
        let attempts = try sendRetrying(method: "PUT", url: { _ in url }, headers: headers, body: { bytes }, context: context)
        switch attempts.outcome {
        case .failure(let failure):
            let message = attempts.explain("\(context): \(redacted(failure.message))")
            throw failure.isUnreachable ? .unavailable(message) : .io(message)
        case .success(let reply) where reply.status >= 500 || reply.status == 429:
            throw .unavailable(attempts.explain("\(context): the stage answered \(redacted(Self.stageRefusal(reply)))"))
        case .success(let reply):
            return reply
        }
    }

    /// What a stage's storage said when it refused an upload, for a message: the error's
    /// `<Code>` and `<Message>` when it is S3's or Azure's XML (whose further elements can echo
    /// the request, credentials included), else the start of the body.
    package static func stageRefusal(_ reply: HTTPResponse) -> String {
        let text = String(decoding: reply.body.prefix(65_536), as: UTF8.self)
        func element(_ name: String) -> String? {
            guard let open = text.range(of: "<\(name)>"),
                let close = text.range(of: "</\(name)>", range: open.upperBound..<text.endIndex)
            else { return nil }
            return String(text[open.upperBound..<close.lowerBound].prefix(300))
        }
        guard let code = element("Code") else { return "HTTP \(reply.status): \(excerpt(reply.body))" }
        let message = element("Message").map { ": " + $0.split(whereSeparator: \.isNewline).joined(separator: " ") } ?? ""
        return "HTTP \(reply.status) \(code)\(message)"
    }

    private static let inProgress: Set<String> = ["333333", "333334"]
    /// "Session token expired": renewable with the master token.
    private static let sessionExpiredCode = "390112"

    /// What one request came back with: the answer's `data`; word that the session token has
    /// expired (only for requests made with a session token); or HTTP 413, the request too large.
    private enum Answer {
        case data(JSONValue?)
        case sessionExpired
        case tooLarge
    }

    /// Failures a later run may not meet, which are the service's trouble and not the
    /// statement's: exit 69 (a scheduler runs it again; the checkpoint makes that safe) rather
    /// than 78. By SQL state class — 08 connection exception, 40 transaction rollback (a
    /// deadlock), 57 operator intervention (a cancelled or timed-out statement), XX internal
    /// error — and Snowflake's 000603 ("SQL execution internal error", an incident on its side)
    /// and 390114 (the master token expired).
    static func isTransient(code: String?, sqlState: String?) -> Bool {
        if let code, ["000603", "390114"].contains(code) { return true }
        guard let sqlState, sqlState.count == 5 else { return false }
        return ["08", "40", "57", "XX"].contains(String(sqlState.prefix(2)))
    }

    private static func statementError(_ message: String) -> ConduitError { .configuration(message) }

    private static func headers(token: String?) -> [(String, String)] {
        var headers = [
            ("Content-Type", "application/json"), ("Accept", "application/snowflake"),
            ("User-Agent", "Conduit/\(ConduitVersion.current)"),
        ]
        if let token { headers.append(("Authorization", "Snowflake Token=\"\(token)\"")) }
        return headers
    }

    /// A request's last outcome, and when it was sent more than once and still failed, how
    /// often and how long (for the error message).
    private struct Attempts {
        var outcome: Result<HTTPResponse, HTTPError>
        var gaveUp: String?

        /// `message`, with the retries that came before it.
        func explain(_ message: String) -> String {
            gaveUp.map { "\(message); \($0)" } ?? message
        }
    }

    /// Sends a request, and sends it again while it fails in a way that says nothing was done
    /// or nothing was heard (``HTTPRetry/transientReason(_:)``), until the retry budget is
    /// spent. `url` gets the attempt (0 for the first); `body` is asked for each attempt.
    private func sendRetrying(
        method: String, url: (Int) -> String, headers: [(String, String)], body: () throws(ConduitError) -> [UInt8],
        context: String
    ) throws(ConduitError) -> Attempts {
        let started = MonotonicClock.now
        var attempt = 0
        while true {
            let outcome = http.send(method: method, url: url(attempt), headers: headers, body: try body())
            let reason = HTTPRetry.transientReason(outcome)
            lastRequestUnanswered = reason != nil
            if case .failure(let failure) = outcome, failure.stoppedBySignal != nil { lastRequestUnanswered = true }
            guard let reason, SignalForwarding.stopSignal == nil, !retriesSuspended else {
                return Attempts(outcome: outcome)
            }
            let elapsed = MonotonicClock.now - started
            let wait = retry.delay(beforeRetry: attempt + 1)
            guard elapsed + wait < retry.budget else {
                guard attempt > 0 else { return Attempts(outcome: outcome) }
                return Attempts(
                    outcome: outcome,
                    gaveUp:
                        "gave up after \(Plural.count(attempt + 1, "attempt")) in \(Int(elapsed.rounded())) s (retry_timeout \(Int(retry.budget)) s)"
                )
            }
            warnings(
                "\(context): \(reason); sending it again in \(String(format: "%.1f", wait)) s (attempt \(attempt + 2), within retry_timeout \(Int(retry.budget)) s)"
            )
            // In steps, so SIGINT or SIGTERM ends the wait rather than the retry budget.
            let resume = MonotonicClock.now + wait
            while MonotonicClock.now < resume, SignalForwarding.stopSignal == nil {
                usleep(UInt32(min(0.1, max(0, resume - MonotonicClock.now)) * 1_000_000))
            }
            if let signal = SignalForwarding.stopSignal {
                return Attempts(outcome: outcome, gaveUp: "stopped by signal \(signal) before attempt \(attempt + 2)")
            }
            attempt += 1
        }
    }

    /// One request and its answer's `data`, or the error the answer describes. `rejected` makes
    /// the error of an answer that says `"success": false` (login: 78; statement: 78, or 65 for
    /// a value Snowflake cannot convert); the service's own trouble is 69 (``isTransient``).
    /// Bodies go gzip-compressed, as the connectors send them.
    private func exchange(
        method: String, path: String, query: [(String, String)], body: (() throws(ConduitError) -> [UInt8])?, context: String,
        token: String? = nil, rejected: (String) -> ConduitError
    ) throws(ConduitError) -> Answer {
        let startMillis = Self.milliseconds()
        let isStatement = path.hasPrefix("/queries/v1/query-request")
        let url = { (attempt: Int) -> String in
            var parameters = query
            // The connectors mark a statement's repeats, so the service answers a repeat of one
            // that ran with its result instead of running it again.
            if isStatement, attempt > 0 {
                parameters += [("clientStartTime", String(startMillis)), ("retryCount", String(attempt))]
            }
            parameters.append(("request_guid", UUID().uuidString.lowercased()))
            return self.settings.baseURL + path + (path.contains("?") ? "&" : "?")
                + parameters.map { "\($0.0)=\(Self.percentEncoded($0.1))" }.joined(separator: "&")
        }
        var headers = Self.headers(token: token)
        var plainBytes = 0
        if body != nil { headers.append(("Content-Encoding", "gzip")) }
        let attempts = try sendRetrying(
            method: method, url: url, headers: headers,
            body: { () throws(ConduitError) -> [UInt8] in
                guard let plain = try body?() else { return [] }
                plainBytes = plain.count
                guard let compressed = Gzip.compress(plain) else {
                    throw .internalError("\(context): compressing the request failed")
                }
                return compressed
            }, context: context)
        let reply: HTTPResponse
        switch attempts.outcome {
        case .failure(let failure):
            let error = SnowflakeError(
                context: context, message: "\(settings.baseURL): \(failure.message)", isUnreachable: failure.isUnreachable)
            throw failure.isUnreachable
                ? .unavailable(attempts.explain(error.description)) : .io(attempts.explain(error.description))
        case .success(let answer):
            reply = answer
        }
        lastAnswer = MonotonicClock.now
        if reply.status == 413 {
            guard isStatement else {
                throw .configuration("\(context): Snowflake refused a request of \(plainBytes) bytes as too large (HTTP 413)")
            }
            return .tooLarge
        }
        let answer = try? JSONParser.parse(reply.body)
        guard let answer, case .object = answer else {
            // A proxy's or load balancer's error page, or an empty body: say what came back.
            let error = SnowflakeError(
                context: context,
                message: "HTTP \(reply.status) from \(settings.baseURL), not a Snowflake answer: \(Self.excerpt(reply.body))",
                isUnreachable: reply.status >= 500 || reply.status == 429)
            if error.isUnreachable { throw .unavailable(attempts.explain(error.description)) }
            if reply.status == 401 || reply.status == 403 { throw .configuration(error.description) }
            throw .io(error.description)
        }
        let code = answer["code"]?.text
        let success = answer["success"] == .bool(true)
        if success, (200..<300).contains(reply.status) {
            // The code travels with the data for the in-progress check above.
            if var data = answer["data"], case .object(var members) = data {
                if let code { members.append(JSONMember(key: "__code", value: .string(code))) }
                data = .object(members)
                return .data(data)
            }
            return .data(answer["data"])
        }
        if code == Self.sessionExpiredCode, token != nil, path != "/session/token-request" {
            return .sessionExpired
        }
        let isLogin = path.hasPrefix("/session/v1/login-request")
        if isLogin, let step = answer["data"]?["nextAction"]?.text, step != "RETRY_LOGIN" {
            throw .configuration(
                "\(context): \(Self.describe(nextAction: step, authenticator: settings.authenticator)) (code \(code ?? "none"))")
        }
        let message = answer["message"]?.text ?? "no message"
        let error = SnowflakeError(
            context: context, code: code ?? answer["data"]?["errorCode"]?.text, sqlState: answer["data"]?["sqlState"]?.text,
            message: message)
        if reply.status >= 500 || reply.status == 429 {
            throw .unavailable(attempts.explain(error.description + " (HTTP \(reply.status))"))
        }
        if Self.isTransient(code: error.code, sqlState: error.sqlState) {
            throw .unavailable(error.description)
        }
        if reply.status == 401 || reply.status == 403 || isLogin {
            throw .configuration(error.description)
        }
        if let code = error.code, code.hasPrefix("100") {
            throw .badInput(error.description)
        }
        throw rejected(error.description)
    }

    private static func milliseconds() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1000)
    }

    /// The first 200 characters of a body, on one line.
    private static func excerpt(_ body: [UInt8]) -> String {
        if body.isEmpty { return "(empty body)" }
        let text = String(decoding: body.prefix(200), as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).joined(separator: " ") + (body.count > 200 ? "…" : "")
    }

    private static func percentEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

@available(*, unavailable)
extension SnowflakeSession: Sendable {}

extension JSONValue {
    /// The member of an object by key (the last of duplicates).
    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.key == key }?.value
    }

    /// A string's text, a number's digits, a boolean's word; nil otherwise.
    var text: String? {
        switch self {
        case .string(let text), .number(let text): text
        case .bool(let flag): flag ? "true" : "false"
        default: nil
        }
    }
}
