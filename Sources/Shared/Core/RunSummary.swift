/// The one line each tool prints on stderr at the end of a run, for every tool the same opening —
/// `R: 300 rows, 48213 bytes in 0.042s (7142 rows/s)` — followed by the tool's own words, and the
/// same figures as fields for `--log-format json` (`resource`, `rows`, `bytes`, `seconds`,
/// `rows_per_second`, then the tool's own).
package struct RunSummary {
    package var resource: String
    package var rows: Int
    package var bytes: Int
    package var seconds: Double
    /// Words right after the row count, before the bytes: ` (5 more already loaded …)`.
    package var rowsNote: String

    package init(resource: String, rows: Int, bytes: Int, seconds: Double, rowsNote: String = "") {
        self.resource = resource
        self.rows = rows
        self.bytes = bytes
        self.seconds = seconds
        self.rowsNote = rowsNote
    }

    /// Rows a second; the row count itself when no time was measured.
    package var rowsPerSecond: Int { seconds > 0 ? Int(Double(rows) / seconds) : rows }

    /// The line up to the rate: `R: 300 rows, 48213 bytes in 0.042s (7142 rows/s)`.
    package var opening: String {
        "\(resource): \(Plural.count(rows, "row"))\(rowsNote), \(bytes) bytes in \(Self.formatSeconds(seconds))s (\(rowsPerSecond) rows/s)"
    }

    /// The figures every summary carries, in this order.
    package var fields: [(String, JSONValue)] {
        [
            ("resource", .string(resource)),
            ("rows", .number(String(rows))),
            ("bytes", .number(String(bytes))),
            ("seconds", .number(Self.formatSeconds(seconds))),
            ("rows_per_second", .number(String(rowsPerSecond))),
        ]
    }

    /// Prints ``opening`` followed by `ending`, with `moreFields` after ``fields``: as the summary
    /// of a successful run (silenced by `--quiet`), or as a warning when the run's outcome is
    /// something the user must see (a commit whose end was not confirmed).
    package func report(_ ending: String, moreFields: [(String, JSONValue)], to reporter: Reporter, asWarning: Bool = false) {
        if asWarning {
            reporter.warning(opening + ending, fields: fields + moreFields)
        } else {
            reporter.summary(opening + ending, fields: fields + moreFields)
        }
    }

    /// Seconds as text with three decimals (`0.042`), as summaries and records give durations.
    package static func formatSeconds(_ seconds: Double) -> String {
        let milliseconds = Int((seconds * 1000).rounded())
        let fraction = String(milliseconds % 1000)
        let padded = fraction.count >= 3 ? fraction : String(repeating: "0", count: 3 - fraction.count) + fraction
        return "\(milliseconds / 1000).\(padded)"
    }
}
