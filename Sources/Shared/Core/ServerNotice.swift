/// A message a database server sent beside a statement's results instead of failing it:
/// `RAISE NOTICE` or `RAISE WARNING` in a function the query calls, a trigger's notice, a
/// server warning. The tools print it through their ``Reporter`` (``Reporter/serverNotice(_:)``).
package struct ServerNotice: Sendable, Equatable {
    /// The severity as the server names it, never translated: `WARNING`, `NOTICE`, `INFO`, `LOG` or `DEBUG`.
    package var severity: String
    /// The server's primary message.
    package var message: String
    /// Five-character SQLSTATE (`00000` for a plain `RAISE NOTICE`, `01000` for a warning).
    package var sqlState: String?
    package var detail: String?
    package var hint: String?

    package init(severity: String, message: String, sqlState: String? = nil, detail: String? = nil, hint: String? = nil) {
        self.severity = severity
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
    }

    /// Whether the server calls it a warning: printed even with `--quiet`, like the tools' own warnings.
    package var isWarning: Bool { severity == "WARNING" }
}

/// Where a connection hands the server's notices (a tool's ``Reporter``).
package typealias ServerNoticeHandler = (ServerNotice) -> Void
