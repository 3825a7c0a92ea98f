extension DecimalText {
    /// `left - right` with exact digits, for plain decimals (`-12`, `3.50`; no exponent); nil
    /// when either is not one. Used by `lookback`, so a bigint or numeric cursor never passes
    /// through a binary float.
    package static func subtract(_ left: String, _ right: String) -> String? {
        guard let a = PlainDecimal(left), let b = PlainDecimal(right) else { return nil }
        let scale = max(a.fraction.count, b.fraction.count)
        let x = a.scaled(to: scale)
        let y = b.scaled(to: scale)
        // a - b = a + (-b): add magnitudes when the signs differ, else subtract the smaller.
        var negative: Bool
        var digits: [UInt8]
        if a.negative != b.negative {
            negative = a.negative
            digits = addMagnitudes(x, y)
        } else if compareMagnitudes(x, y) >= 0 {
            negative = a.negative
            digits = subtractMagnitudes(x, y)
        } else {
            negative = !a.negative
            digits = subtractMagnitudes(y, x)
        }
        // Back to text: integer part, point, fraction; no leading zeros, no "-0".
        while digits.count <= scale { digits.insert(0, at: 0) }
        let integer = digits.dropLast(scale).drop { $0 == 0 }
        let fraction = digits.suffix(scale)
        var text = integer.isEmpty ? "0" : String(integer.map { Character(String($0)) })
        if scale > 0 { text += "." + String(fraction.map { Character(String($0)) }) }
        if digits.allSatisfy({ $0 == 0 }) { negative = false }
        return negative ? "-" + text : text
    }

    private struct PlainDecimal {
        var negative: Bool
        var integer: [UInt8]
        var fraction: [UInt8]

        init?(_ text: String) {
            var bytes = Substring(text).utf8[...]
            negative = bytes.first == UInt8(ascii: "-")
            if negative { bytes = bytes.dropFirst() }
            let parts = bytes.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
            guard let first = parts.first, !first.isEmpty, parts.count <= 2 else { return nil }
            func digits(_ part: Substring.UTF8View.SubSequence) -> [UInt8]? {
                var result: [UInt8] = []
                for byte in part {
                    guard byte >= 0x30 && byte <= 0x39 else { return nil }
                    result.append(byte - 0x30)
                }
                return result
            }
            guard let integer = digits(first) else { return nil }
            self.integer = integer
            if parts.count == 2 {
                guard let fraction = digits(parts[1]), !fraction.isEmpty else { return nil }
                self.fraction = fraction
            } else {
                fraction = []
            }
        }

        /// All digits, with `scale` fraction digits (zeros appended).
        func scaled(to scale: Int) -> [UInt8] {
            integer + fraction + Array(repeating: 0, count: scale - fraction.count)
        }
    }

    private static func compareMagnitudes(_ x: [UInt8], _ y: [UInt8]) -> Int {
        let a = Array(x.drop { $0 == 0 })
        let b = Array(y.drop { $0 == 0 })
        if a.count != b.count { return a.count < b.count ? -1 : 1 }
        for (p, q) in zip(a, b) where p != q { return p < q ? -1 : 1 }
        return 0
    }

    private static func addMagnitudes(_ x: [UInt8], _ y: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        var carry: UInt8 = 0
        var i = x.count - 1
        var j = y.count - 1
        while i >= 0 || j >= 0 || carry > 0 {
            let sum = (i >= 0 ? x[i] : 0) + (j >= 0 ? y[j] : 0) + carry
            result.append(sum % 10)
            carry = sum / 10
            i -= 1
            j -= 1
        }
        return result.reversed()
    }

    /// `x - y` for `x >= y`.
    private static func subtractMagnitudes(_ x: [UInt8], _ y: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        var borrow = 0
        var j = y.count - 1
        for i in stride(from: x.count - 1, through: 0, by: -1) {
            var difference = Int(x[i]) - borrow - (j >= 0 ? Int(y[j]) : 0)
            borrow = difference < 0 ? 1 : 0
            if difference < 0 { difference += 10 }
            result.append(UInt8(difference))
            j -= 1
        }
        return result.reversed()
    }
}

extension TimestampText {
    /// `text` moved `seconds` earlier, written the way it was: an RFC 3339 value with an offset
    /// comes back in UTC (`…Z`), one without an offset (a `timestamp` column) stays without,
    /// and a date stays a date (the day that holds the earlier instant). Infinities stay;
    /// nil when `text` is not a timestamp or a date.
    package static func subtracting(seconds: Int64, from text: String) -> String? {
        guard let parsed = parse(text) else { return nil }
        guard case .finite(let instant, let fraction) = parsed.instant else { return text }
        let bytes = Array(text.utf8)
        let timeStart = bytes.firstIndex { $0 == UInt8(ascii: "T") || $0 == UInt8(ascii: "t") || $0 == UInt8(ascii: " ") }
        let (moved, overflow) = instant.subtractingReportingOverflow(seconds)
        guard !overflow else { return nil }
        var days = moved / 86_400
        var secondsOfDay = moved % 86_400
        if secondsOfDay < 0 {
            secondsOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = civil(days: days)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = year < 0 ? String(year) : String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
        var result = "\(yearText)-\(two(month))-\(two(day))"
        guard let timeStart else { return result }
        let separator = bytes[timeStart] == UInt8(ascii: " ") ? " " : "T"
        result += separator + "\(two(secondsOfDay / 3600)):\(two(secondsOfDay / 60 % 60)):\(two(secondsOfDay % 60))"
        if !fraction.isEmpty { result += "." + String(decoding: fraction, as: UTF8.self) }
        // An offset after the time (Z, +hh:mm, -hh): the instant is exact, written in UTC.
        let hasOffset = bytes[(timeStart + 1)...].contains {
            $0 == UInt8(ascii: "Z") || $0 == UInt8(ascii: "z") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-")
        }
        if hasOffset { result += "Z" }
        return result
    }

    /// The civil date of a day count from 1970-01-01 (Howard Hinnant's civil_from_days).
    static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension StateValue {
    /// A number moved `amount` lower, exactly; nil for a string or a number with an exponent.
    package func subtracting(amount: String) -> StateValue? {
        guard case .number(let text) = self, let lowered = DecimalText.subtract(text, amount) else { return nil }
        return .number(lowered)
    }

    /// A timestamp or date moved `seconds` earlier (see `TimestampText.subtracting`); nil for a
    /// number or a string that is neither.
    package func subtracting(seconds: Int64) -> StateValue? {
        guard case .string(let text) = self, let lowered = TimestampText.subtracting(seconds: seconds, from: text) else {
            return nil
        }
        return .string(lowered)
    }
}
