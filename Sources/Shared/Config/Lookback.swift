import Core

/// `lookback` on a resource (SPEC 3, "Rows that commit late"): how far below the committed value
/// each run reads again, so that rows no safe horizon can see (an id allocated long before its
/// insert) are still loaded. The loader skips the re-read rows the destination already holds.
package enum Lookback: Sendable, Equatable {
    /// For a numeric incremental column: this many units below the value (exact decimal digits).
    case amount(String)
    /// For a timestamp or date column: this many seconds below the value, and the text as written.
    case duration(seconds: Int64, text: String)

    /// As ingest.yml says it: `100`, `10 minutes`.
    package var shown: String {
        switch self {
        case .amount(let text): text
        case .duration(_, let text): text
        }
    }
}

/// Durations in ingest.yml (`lookback`, `horizon_warning_after`): a whole number and a unit,
/// `90 seconds`, `10 minutes`, `2 hours`, `1 day` (also `s`, `sec`, `min`, `m`, `h`, `hr`, `d`,
/// `week`, `w`, and plurals).
package enum DurationText {
    static let units: [(names: [String], seconds: Int64)] = [
        (["s", "sec", "secs", "second", "seconds"], 1),
        (["m", "min", "mins", "minute", "minutes"], 60),
        (["h", "hr", "hrs", "hour", "hours"], 3600),
        (["d", "day", "days"], 86_400),
        (["w", "week", "weeks"], 604_800),
    ]

    /// Seconds, or nil when `text` is not a number followed by a unit.
    package static func seconds(_ text: String) -> Int64? {
        let trimmed = text.trimmingWhitespace
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 12, let amount = Int64(digits) else { return nil }
        let unit = trimmed.dropFirst(digits.count).trimmingWhitespace.lowercased()
        guard let factor = units.first(where: { $0.names.contains(unit) })?.seconds else { return nil }
        let (product, overflow) = amount.multipliedReportingOverflow(by: factor)
        return overflow ? nil : product
    }

    /// `600` → `10 minutes`, `90` → `90 seconds`: the largest unit that divides evenly.
    package static func format(seconds: Int64) -> String {
        for (names, factor) in units.reversed() where seconds >= factor && seconds % factor == 0 {
            let count = seconds / factor
            let name = names[names.count - 2]
            return "\(count) \(count == 1 ? name : names[names.count - 1])"
        }
        return "\(seconds) seconds"
    }
}

extension StringProtocol {
    fileprivate var trimmingWhitespace: String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
