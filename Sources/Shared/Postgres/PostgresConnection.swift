internal import CLibPQ
package import Config
package import Core
import Extract
import Glibc
import Load
import Stream

/// One libpq connection. The `final class` owns the `PGconn` and frees it in `deinit`, also when
/// connecting failed (a failed `PQconnectdbParams` still needs `PQfinish`).
package final class PostgresConnection {
    private let handle: OpaquePointer
    /// Where libpq's notice receiver hands the server's notices; libpq holds it unretained, so it
    /// lives as long as the handle (released after `PQfinish` in `deinit`). Nil: libpq's default,
    /// `NOTICE:  …` straight to stderr.
    private let notices: NoticeReceiver?
    /// "appdb at 127.0.0.1:5432": names the server in messages, never the password.
    package let label: String

    /// Connects with libpq keywords and values (never a concatenated conninfo string). A `url`
    /// goes in as `dbname` with `expand_dbname`, libpq's own URI parsing.
    /// The server's notices and warnings go to `notices` (see ``NoticeReceiver``).
    /// The corresponding libpq calls are `PQconnectdbParams` and `PQsetNoticeReceiver`.
    package init(settings: ConnectionSettings, applicationName: String, notices: ServerNoticeHandler? = nil) throws(PostgresError)
    {
        var pairs: [(String, String)] = []
        if let url = settings.url { pairs.append(("dbname", url)) }
        pairs += settings.parameters.map { ($0.keyword, $0.value) }
        if !pairs.contains(where: { $0.0 == "application_name" }) { pairs.append(("application_name", applicationName)) }
        if !pairs.contains(where: { $0.0 == "connect_timeout" }) { pairs.append(("connect_timeout", "10")) }
        label = Self.label(for: settings)

        let keywords = pairs.map { strdup($0.0) } + [nil]
        let values = pairs.map { strdup($0.1) } + [nil]
        defer {
            for pointer in keywords { free(pointer) }
            for pointer in values { free(pointer) }
        }
        let connection = keywords.withUnsafeBufferPointer { keywordBuffer in
            values.withUnsafeBufferPointer { valueBuffer in
                keywordBuffer.withMemoryRebound(to: UnsafePointer<CChar>?.self) { k in
                    valueBuffer.withMemoryRebound(to: UnsafePointer<CChar>?.self) { v in
                        PQconnectdbParams(k.baseAddress, v.baseAddress, settings.url == nil ? 0 : 1)
                    }
                }
            }
        }
        guard let connection else {
            throw PostgresError(context: "connecting to \(label)", message: "out of memory", isConnectionFailure: true)
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = PQerrorMessage(connection).map { String(cString: $0) } ?? "connection failed"
            PQfinish(connection)
            throw PostgresError(
                context: "connecting to \(label)", message: Self.redact(message.trimmingCharacters(), settings: settings),
                sqlState: Self.connectionSQLState(message), isConnectionFailure: true)
        }
        handle = connection
        self.notices = notices.map(NoticeReceiver.init)
        if let receiver = self.notices {
            _ = PQsetNoticeReceiver(connection, receiveNotice, Unmanaged.passUnretained(receiver).toOpaque())
        }
    }

    deinit { PQfinish(handle) }

    /// Runs `body` with the server's notices dropped: for the housekeeping statements whose
    /// notices say nothing to the user (`CREATE TABLE IF NOT EXISTS …` "already exists, skipping").
    func silencingNotices<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        notices?.silenced += 1
        defer { notices?.silenced -= 1 }
        return try body()
    }

    /// Runs statements that return no rows (session settings). The corresponding libpq call is `PQexec`.
    package func execute(_ sql: String, context: String) throws(PostgresError) {
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        let status = result.map { PQresultStatus($0) } ?? PGRES_FATAL_ERROR
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            throw PostgresError.from(result: result, connection: handle, context: context)
        }
    }

    /// Runs one statement with text parameters (never spliced into the SQL) and returns its
    /// result. The corresponding libpq call is `PQexecParams`.
    /// `types` gives the parameters' type OIDs (empty: the server infers them).
    func query(
        _ sql: String, parameters: [String?] = [], types: [UInt32] = [], context: String
    ) throws(PostgresError) -> PostgresResult {
        let copies = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { for pointer in copies { free(pointer) } }
        let values: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
        let result =
            types.count == values.count && !types.isEmpty
            ? PQexecParams(handle, sql, Int32(values.count), types, values, nil, nil, 0)
            : PQexecParams(handle, sql, Int32(values.count), nil, values, nil, nil, 0)
        let status = result.map { PQresultStatus($0) } ?? PGRES_FATAL_ERROR
        guard let result, status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let error = PostgresError.from(result: result, connection: handle, context: context)
            PQclear(result)
            throw error
        }
        return PostgresResult(result)
    }

    /// Prepares `sql` as the unnamed statement and describes it — parameter and result column
    /// types — without running it. The corresponding libpq calls are `PQprepare` and `PQdescribePrepared`.
    func describe(_ sql: String, context: String) throws(PostgresError) -> PostgresResult {
        let prepared = PQprepare(handle, "", sql, 0, nil)
        defer { PQclear(prepared) }
        guard let prepared, PQresultStatus(prepared) == PGRES_COMMAND_OK else {
            throw PostgresError.from(result: prepared, connection: handle, context: context)
        }
        let described = PQdescribePrepared(handle, "")
        guard let described, PQresultStatus(described) == PGRES_COMMAND_OK else {
            let error = PostgresError.from(result: described, connection: handle, context: context)
            PQclear(described)
            throw error
        }
        return PostgresResult(described)
    }

    /// Runs several statements in one round trip and returns the rows of the first one that
    /// returns rows; the others must succeed. The corresponding libpq calls are `PQsendQuery`
    /// and `PQgetResult`.
    func queryFirst(_ sql: String, context: String) throws(PostgresError) -> PostgresResult {
        try send(sql, context: context)
        var rows: PostgresResult?
        var failure: PostgresError?
        while let result = PQgetResult(handle) {
            let status = PQresultStatus(result)
            if status == PGRES_TUPLES_OK && rows == nil && failure == nil {
                rows = PostgresResult(result)
            } else {
                if status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && failure == nil {
                    failure = PostgresError.from(result: result, connection: handle, context: context)
                }
                PQclear(result)
            }
        }
        if let failure { throw failure }
        guard let rows else {
            throw PostgresError(context: context, message: "the server returned no rows", isConnectionFailure: false)
        }
        return rows
    }

    /// Sends one statement without waiting for its result, so the server works while the client
    /// does something else. The corresponding libpq call is `PQsendQuery`.
    func send(_ sql: String, context: String) throws(PostgresError) {
        guard PQsendQuery(handle, sql) == 1 else {
            throw PostgresError(context: context, message: lastErrorMessage, isConnectionFailure: false)
        }
    }

    /// Waits for the rows of the statement ``send(_:context:)`` sent, and for the end of that
    /// statement. The corresponding libpq call is `PQgetResult`.
    func receiveRows(context: String) throws(PostgresError) -> PostgresResult {
        var rows: PostgresResult?
        var failure: PostgresError?
        while let result = PQgetResult(handle) {
            if PQresultStatus(result) == PGRES_TUPLES_OK && rows == nil && failure == nil {
                rows = PostgresResult(result)
            } else {
                if failure == nil { failure = PostgresError.from(result: result, connection: handle, context: context) }
                PQclear(result)
            }
        }
        if let failure { throw failure }
        guard let rows else {
            throw PostgresError(context: context, message: "the server returned no rows", isConnectionFailure: false)
        }
        return rows
    }

    // MARK: - Cursors

    /// Declares `cursor` as a `NO SCROLL` cursor for `sql` in the open transaction, `$1` bound to
    /// `parameter` (text, typed as `type`; nil: the server infers it). In a `REPEATABLE READ`
    /// transaction whose first statement this is, it takes the snapshot every fetch reads.
    /// The corresponding libpq call is `PQexecParams`.
    func declareCursor(
        _ cursor: String, for sql: String, parameter: String?, type: PostgresDataType?, context: String
    ) throws(PostgresError) {
        _ = try query(
            "DECLARE \(cursor) NO SCROLL CURSOR FOR " + sql, parameters: parameter.map { [$0] } ?? [],
            types: type.map { [$0.rawValue] } ?? [], context: context)
    }

    /// Asks for the cursor's next `count` rows without waiting for them (`FETCH FORWARD`), so the
    /// server produces them while the client encodes the rows before; ``receiveRows(context:)``
    /// collects them. The corresponding libpq call is `PQsendQuery`.
    func requestRows(_ count: Int, from cursor: String, context: String) throws(PostgresError) {
        try send("FETCH FORWARD \(count) FROM \(cursor)", context: context)
    }

    /// Moves the cursor past its remaining rows without sending them (`MOVE FORWARD ALL`) and
    /// returns how many there were. The corresponding libpq call is `PQexecParams`.
    func skipRemainingRows(of cursor: String, context: String) throws(PostgresError) -> Int {
        try query("MOVE FORWARD ALL FROM \(cursor)", context: context).commandTuples
    }

    /// Closes the cursor and commits the transaction it read in, in one round trip.
    /// The corresponding libpq call is `PQexec`.
    func closeCursorAndCommit(_ cursor: String, context: String) throws(PostgresError) {
        try execute("CLOSE \(cursor); COMMIT", context: context)
    }

    // MARK: - COPY

    /// Starts `COPY … FROM STDIN`. The corresponding libpq call is `PQexec` (expecting `PGRES_COPY_IN`).
    func startCopy(_ sql: String, context: String) throws(PostgresError) {
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        guard let result, PQresultStatus(result) == PGRES_COPY_IN else {
            throw PostgresError.from(result: result, connection: handle, context: context)
        }
    }

    /// Sends COPY data; false when the server has already failed the COPY (``endCopy(context:)``
    /// then reports why). The corresponding libpq call is `PQputCopyData`.
    func putCopyData(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return true }
        return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
            PQputCopyData(handle, $0, Int32(bytes.count)) == 1
        }
    }

    /// Ends the COPY and returns the server's verdict on all of it. The corresponding libpq
    /// calls are `PQputCopyEnd` and `PQgetResult`.
    func endCopy(context: String) throws(PostgresError) {
        _ = PQputCopyEnd(handle, nil)
        var failure: PostgresError?
        while let result = PQgetResult(handle) {
            let status = PQresultStatus(result)
            if status != PGRES_COMMAND_OK && failure == nil {
                failure = PostgresError.from(result: result, connection: handle, context: context)
            }
            PQclear(result)
            // A server that still waits for data after an error would loop forever: end it again.
            if status == PGRES_COPY_IN { _ = PQputCopyEnd(handle, "abandoned") }
        }
        if let failure { throw failure }
    }

    /// Abandons a COPY in progress: the server fails it, and the results are drained.
    /// The corresponding libpq call is `PQputCopyEnd` with an error message.
    func abortCopy() throws(PostgresError) {
        _ = PQputCopyEnd(handle, "conduit-load stopped")
        while let result = PQgetResult(handle) {
            let status = PQresultStatus(result)
            PQclear(result)
            if status == PGRES_COPY_IN { _ = PQputCopyEnd(handle, "conduit-load stopped") }
        }
    }

    /// Quotes `text` as an SQL literal with the server's own escaping rules.
    /// The corresponding libpq call is `PQescapeLiteral`.
    package func escapeLiteral(_ text: String) throws(PostgresError) -> String {
        let bytes = Array(text.utf8)
        guard let escaped = PQescapeLiteral(handle, text, bytes.count) else {
            throw PostgresError(context: "escaping a value", message: lastErrorMessage, isConnectionFailure: false)
        }
        defer { PQfreemem(escaped) }
        return String(cString: escaped)
    }

    // MARK: - A session that outlives a step

    /// Lets child processes started afterwards inherit the session's socket, so the server keeps
    /// the session (and the session-level locks it holds) while any of them runs. They never use
    /// it. The corresponding libpq call is `PQsocket`.
    package func shareSocketWithChildProcesses() {
        let socket = PQsocket(handle)
        if socket >= 0 { _ = fcntl(socket, F_SETFD, 0) }
    }

    /// Whether the session has ended without this process ending it (the server terminated it,
    /// the network dropped it): checked without waiting, by reading whatever the server sent.
    /// The corresponding libpq calls are `PQconsumeInput` and `PQstatus`.
    package var isLost: Bool {
        guard PQstatus(handle) == CONNECTION_OK else { return true }
        let socket = PQsocket(handle)
        guard socket >= 0 else { return true }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) > 0 else { return false }
        return PQconsumeInput(handle) == 0 || PQstatus(handle) != CONNECTION_OK
    }

    var lastErrorMessage: String {
        PQerrorMessage(handle).map { String(cString: $0).trimmingCharacters() } ?? "unknown error"
    }

    static func label(for settings: ConnectionSettings) -> String {
        func value(_ key: String) -> String? { settings.parameters.first { $0.keyword == key }?.value }
        let database = value("dbname") ?? "the default database"
        let host = value("host") ?? value("hostaddr") ?? "the local socket"
        if settings.url != nil { return "the server in url" }
        return "\(database) at \(host)" + (value("port").map { ":\($0)" } ?? "")
    }

    /// libpq does not put passwords in messages, but a message may quote a URL; remove any secret.
    /// libpq quotes the whole URI, or the token it could not read from it (the password among
    /// them), when it cannot parse it; so the URI goes as ``ConnectionSettings`` shows it, then
    /// its password, raw and percent-decoded. A password of a few characters is replaced only
    /// where quoted (replacing `x` everywhere would spell `e***pired`).
    static func redact(_ message: String, settings: ConnectionSettings) -> String {
        var text = message
        var secrets = settings.parameters.filter { $0.keyword.contains("password") && !$0.value.isEmpty }.map(\.value)
        if let url = settings.url {
            text = text.replacingAll(url, with: ConnectionSettings.redactedURL(url))
            secrets += ConnectionSettings.urlSecrets(url)
        }
        for secret in secrets where !secret.isEmpty {
            if secret.count >= 4 {
                text = text.replacingAll(secret, with: "***")
            } else {
                text = text.replacingAll("\"\(secret)\"", with: "\"***\"")
            }
        }
        return text
    }

    /// libpq gives no SQLSTATE for connection failures; recognise authentication and a missing database.
    static func connectionSQLState(_ message: String) -> String? {
        if message.contains("password authentication failed") || message.contains("no pg_hba.conf entry") { return "28P01" }
        if message.contains("does not exist") && message.contains("database") { return "3D000" }
        return nil
    }
}

@available(*, unavailable)
extension PostgresConnection: Sendable {}

/// Turns the notice results libpq receives into ``ServerNotice`` values for a handler; one per
/// connection, called on the thread that runs the connection's statements.
private final class NoticeReceiver {
    let handler: ServerNoticeHandler
    /// While above zero, notices are dropped (``PostgresConnection/silencingNotices(_:)``).
    var silenced = 0

    init(handler: @escaping ServerNoticeHandler) {
        self.handler = handler
    }

    /// Reads a notice's fields. The corresponding libpq call is `PQresultErrorField`.
    func receive(_ result: OpaquePointer) {
        guard silenced == 0 else { return }
        func field(_ code: Character) -> String? {
            guard let ascii = code.asciiValue, let value = PQresultErrorField(result, Int32(ascii)) else { return nil }
            let text = String(cString: value)
            return text.isEmpty ? nil : text
        }
        // V: the severity never translated (PostgreSQL 9.6 and later); S: as the server's locale says it.
        handler(
            ServerNotice(
                severity: field("V") ?? field("S") ?? "NOTICE", message: field("M")?.trimmingCharacters() ?? "",
                sqlState: field("C"), detail: field("D"), hint: field("H")))
    }
}

/// libpq's notice receiver (a C function pointer: it captures nothing, and finds its
/// ``NoticeReceiver`` through the argument it was installed with).
private func receiveNotice(_ argument: UnsafeMutableRawPointer?, _ result: OpaquePointer?) {
    guard let argument, let result else { return }
    Unmanaged<NoticeReceiver>.fromOpaque(argument).takeUnretainedValue().receive(result)
}
