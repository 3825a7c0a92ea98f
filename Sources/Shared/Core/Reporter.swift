import Glibc

/// How messages on stderr are formatted.
package enum LogFormat: String, Sendable, CaseIterable {
    /// `conduit-state: error: …`, one line per message.
    case text
    /// One JSON object per message: `{"tool":…,"level":…,"message":…}`.
    case json
}

/// Writes every message a tool prints to stderr (stdout carries data only), honouring
/// `--quiet` and `--log-format`.
package struct Reporter: Sendable {
    package var tool: String
    package var quiet: Bool
    package var format: LogFormat

    package init(tool: String, quiet: Bool = false, format: LogFormat = .text) {
        self.tool = tool
        self.quiet = quiet
        self.format = format
    }

    /// An error; printed even with `--quiet`.
    package func error(_ error: ConduitError) {
        emit(level: "error", message: error.message, fields: [("exit_code", .number(String(error.exitStatus.rawValue)))])
    }

    /// Something the user should know that does not fail the run; printed even with `--quiet`.
    /// `fields`, when given, are figures for `--log-format json` (a run's summary that is a warning).
    package func warning(_ message: String, fields: [(String, JSONValue)] = []) {
        emit(level: "warning", message: message, fields: fields.isEmpty ? [] : [("event", .string("summary"))] + fields)
    }

    /// An informational note; silenced by `--quiet`.
    package func note(_ message: String) {
        guard !quiet else { return }
        emit(level: "info", message: message, fields: [])
    }

    /// The one summary line of a successful run; silenced by `--quiet`. `fields` are the
    /// figures as JSON values for `--log-format json`.
    package func summary(_ message: String, fields: [(String, JSONValue)]) {
        guard !quiet else { return }
        emit(level: "info", message: message, fields: [("event", .string("summary"))] + fields)
    }

    /// A notice or warning from the database server (``ServerNotice``). Text:
    /// `conduit-extract: notice: <message>` (`warning:` for a WARNING), with `; detail: …` and
    /// `; hint: …` when the server gave them. JSON: level `notice` or `warning`, `event`
    /// `server_notice`, the server's `severity`, and `sqlstate`, `detail`, `hint` when given.
    /// `--quiet` silences every severity but WARNING.
    package func serverNotice(_ notice: ServerNotice) {
        guard !quiet || notice.isWarning else { return }
        let level = notice.isWarning ? "warning" : "notice"
        switch format {
        case .text:
            var text = notice.message
            if let detail = notice.detail { text += "; detail: \(detail)" }
            if let hint = notice.hint { text += "; hint: \(hint)" }
            emit(level: level, message: text, fields: [])
        case .json:
            var fields: [(String, JSONValue)] = [("event", .string("server_notice")), ("severity", .string(notice.severity))]
            if let sqlState = notice.sqlState { fields.append(("sqlstate", .string(sqlState))) }
            if let detail = notice.detail { fields.append(("detail", .string(detail))) }
            if let hint = notice.hint { fields.append(("hint", .string(hint))) }
            emit(level: level, message: notice.message, fields: fields)
        }
    }

    private func emit(level: String, message: String, fields: [(String, JSONValue)]) {
        var line: [UInt8] = []
        switch format {
        case .text:
            line.append(contentsOf: "\(tool): ".utf8)
            if level != "info" { line.append(contentsOf: "\(level): ".utf8) }
            line.append(contentsOf: message.utf8)
        case .json:
            var members = [
                JSONMember(key: "tool", value: .string(tool)),
                JSONMember(key: "level", value: .string(level)),
                JSONMember(key: "message", value: .string(message)),
            ]
            members += fields.map { JSONMember(key: $0.0, value: $0.1) }
            JSONValue.object(members).appendSerialized(to: &line)
        }
        line.append(0x0A)
        try? FileIO.writeAll(line, to: STDERR_FILENO)
    }
}
