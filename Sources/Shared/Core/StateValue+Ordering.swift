/// Ordering of incremental values (SPEC section 5): numbers numerically at any size and
/// precision, RFC 3339 timestamps by instant whatever their offsets, other strings by code point.
/// A number and a string do not compare (`nil`).
extension StateValue {
    /// How `self` orders against `other`, or nil when one is a number and the other a string.
    package func compare(to other: StateValue) -> Ordering? {
        switch (self, other) {
        case (.number(let left), .number(let right)):
            return DecimalText.compare(left, right)
        case (.string(let left), .string(let right)):
            if let leftInstant = TimestampText.parse(left), let rightInstant = TimestampText.parse(right) {
                return leftInstant.compare(to: rightInstant)
            }
            return Ordering.of(codePointsOf: left, right)
        default:
            return nil
        }
    }

    /// The greater of two values (self when equal); nil when they do not compare.
    package func maximum(with other: StateValue) -> StateValue? {
        guard let order = compare(to: other) else { return nil }
        return order == .ascending ? other : self
    }

    /// The value as the user writes it on a command line: digits for numbers, bare text for strings.
    package var plainText: String {
        switch self {
        case .number(let text), .string(let text): text
        }
    }

    /// The value as JSON text, for the state file and `--log-format json`.
    package var jsonValue: JSONValue {
        switch self {
        case .number(let text): .number(text)
        case .string(let text): .string(text)
        }
    }

    /// "number" or "string", for messages.
    package var typeName: String {
        switch self {
        case .number: "number"
        case .string: "string"
        }
    }

}

/// The result of comparing two values.
package enum Ordering: Sendable, Equatable {
    case ascending, equal, descending

    static func of<T: Comparable>(_ left: T, _ right: T) -> Ordering {
        left < right ? .ascending : (left == right ? .equal : .descending)
    }

    /// Code-point order, which is UTF-8 byte order.
    static func of(codePointsOf left: String, _ right: String) -> Ordering {
        // Not `==`: Swift's String equality is canonical equivalence, not code points.
        if left.utf8.elementsEqual(right.utf8) { return .equal }
        return left.utf8.lexicographicallyPrecedes(right.utf8) ? .ascending : .descending
    }

    var reversed: Ordering {
        switch self {
        case .ascending: .descending
        case .equal: .equal
        case .descending: .ascending
        }
    }
}

/// Exact comparison of JSON number texts of any size, without converting to a float.
package enum DecimalText {
    /// A number as sign, significant digits (no leading or trailing zeros) and the exponent E
    /// such that the value is 0.DIGITS × 10^E.
    private struct Decomposed {
        var negative: Bool
        var digits: [UInt8]
        var exponent: Int
        var isZero: Bool { digits.isEmpty }
    }

    /// Exponents beyond this are clamped; no database produces them.
    private static let exponentLimit = 1_000_000_000_000

    package static func isJSONNumber(_ text: String) -> Bool {
        decompose(text) != nil
    }

    static func compare(_ left: String, _ right: String) -> Ordering? {
        if left == right { return .equal }
        // Fast path: plain non-negative integers without leading zeros.
        if let fast = comparePlainIntegers(left, right) { return fast }
        guard let a = decompose(left), let b = decompose(right) else { return nil }
        return compare(a, b)
    }

    private static func comparePlainIntegers(_ left: String, _ right: String) -> Ordering? {
        let l = left.utf8
        let r = right.utf8
        guard isPlainInteger(l), isPlainInteger(r) else { return nil }
        if l.count != r.count { return Ordering.of(l.count, r.count) }
        return l.lexicographicallyPrecedes(r) ? .ascending : (l.elementsEqual(r) ? .equal : .descending)
    }

    private static func isPlainInteger(_ bytes: String.UTF8View) -> Bool {
        guard let first = bytes.first, first >= UInt8(ascii: "1"), first <= UInt8(ascii: "9") else {
            return false
        }
        return bytes.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    private static func compare(_ a: Decomposed, _ b: Decomposed) -> Ordering {
        if a.isZero && b.isZero { return .equal }
        let aSign = a.isZero ? 0 : (a.negative ? -1 : 1)
        let bSign = b.isZero ? 0 : (b.negative ? -1 : 1)
        if aSign != bSign { return Ordering.of(aSign, bSign) }
        var magnitude: Ordering
        if a.exponent != b.exponent {
            magnitude = Ordering.of(a.exponent, b.exponent)
        } else if a.digits == b.digits {
            magnitude = .equal
        } else {
            magnitude = a.digits.lexicographicallyPrecedes(b.digits) ? .ascending : .descending
        }
        return aSign < 0 ? magnitude.reversed : magnitude
    }

    /// Parses the JSON number grammar (RFC 8259 section 6); nil for anything else.
    private static func decompose(_ text: String) -> Decomposed? {
        let bytes = Array(text.utf8)
        var index = 0
        func isDigit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 }

        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard isDigit(index) else { return nil }
        var integerDigits: [UInt8] = []
        if bytes[index] == UInt8(ascii: "0") {
            integerDigits.append(0x30)
            index += 1
        } else {
            while isDigit(index) {
                integerDigits.append(bytes[index])
                index += 1
            }
        }
        var fractionDigits: [UInt8] = []
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard isDigit(index) else { return nil }
            while isDigit(index) {
                fractionDigits.append(bytes[index])
                index += 1
            }
        }
        var exponent = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            var exponentNegative = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            guard isDigit(index) else { return nil }
            while isDigit(index) {
                if exponent < exponentLimit {
                    exponent = exponent * 10 + Int(bytes[index] - 0x30)
                }
                index += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        guard index == bytes.count else { return nil }

        var digits = integerDigits + fractionDigits
        let leadingZeros = digits.prefix { $0 == 0x30 }.count
        digits.removeFirst(leadingZeros)
        while digits.last == 0x30 { digits.removeLast() }
        let position = integerDigits.count - leadingZeros + exponent
        return Decomposed(negative: negative, digits: digits, exponent: position)
    }
}

/// An RFC 3339 timestamp (or an ISO date, or a timestamp without offset, read as UTC) reduced to
/// an instant: whole seconds since 1970 plus the fraction's digits.
struct TimestampText: Sendable {
    enum Instant: Sendable {
        case negativeInfinity
        case finite(seconds: Int64, fraction: [UInt8])
        case positiveInfinity
    }

    var instant: Instant

    func compare(to other: TimestampText) -> Ordering {
        switch (instant, other.instant) {
        case (.negativeInfinity, .negativeInfinity), (.positiveInfinity, .positiveInfinity): return .equal
        case (.negativeInfinity, _), (_, .positiveInfinity): return .ascending
        case (_, .negativeInfinity), (.positiveInfinity, _): return .descending
        case (.finite(let s1, let f1), .finite(let s2, let f2)):
            if s1 != s2 { return Ordering.of(s1, s2) }
            if f1 == f2 { return .equal }
            return f1.lexicographicallyPrecedes(f2) ? .ascending : .descending
        }
    }

    /// Accepts `YYYY-MM-DD`, and `YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]]` followed by nothing,
    /// `Z`, or an offset `±HH`, `±HHMM`, `±HH:MM`; also PostgreSQL's `infinity` and `-infinity`.
    static func parse(_ text: String) -> TimestampText? {
        if text == "infinity" { return TimestampText(instant: .positiveInfinity) }
        if text == "-infinity" { return TimestampText(instant: .negativeInfinity) }
        let bytes = Array(text.utf8)
        var index = 0

        func number(width: Int) -> Int? {
            guard index + width <= bytes.count else { return nil }
            var value = 0
            for offset in 0..<width {
                let byte = bytes[index + offset]
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            index += width
            return value
        }
        func expect(_ character: Character) -> Bool {
            guard index < bytes.count, let ascii = character.asciiValue, bytes[index] == ascii else { return false }
            index += 1
            return true
        }

        // Years may have more than four digits.
        var yearWidth = 0
        while index + yearWidth < bytes.count, bytes[index + yearWidth] >= 0x30, bytes[index + yearWidth] <= 0x39 {
            yearWidth += 1
        }
        guard yearWidth >= 4, yearWidth <= 9, let year = number(width: yearWidth), expect("-"),
            let month = number(width: 2), (1...12).contains(month), expect("-"),
            let day = number(width: 2), (1...31).contains(day)
        else { return nil }

        var secondsOfDay = 0
        var fraction: [UInt8] = []
        var offsetSeconds = 0
        if index < bytes.count {
            guard
                bytes[index] == UInt8(ascii: "T") || bytes[index] == UInt8(ascii: "t")
                    || bytes[index] == UInt8(ascii: " ")
            else { return nil }
            index += 1
            guard let hour = number(width: 2), hour <= 24, expect(":"), let minute = number(width: 2), minute < 60
            else { return nil }
            var second = 0
            if expect(":") {
                guard let parsed = number(width: 2), parsed <= 60 else { return nil }
                second = parsed
                if expect(".") {
                    while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                        fraction.append(bytes[index])
                        index += 1
                    }
                    guard !fraction.isEmpty else { return nil }
                    while fraction.last == 0x30 { fraction.removeLast() }
                }
            }
            secondsOfDay = hour * 3600 + minute * 60 + second
            if index < bytes.count {
                if expect("Z") || expect("z") {
                    offsetSeconds = 0
                } else if bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                    let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
                    index += 1
                    guard let offsetHours = number(width: 2), offsetHours <= 23 else { return nil }
                    var offsetMinutes = 0
                    if index < bytes.count {
                        _ = expect(":")
                        guard let minutes = number(width: 2), minutes < 60 else { return nil }
                        offsetMinutes = minutes
                    }
                    offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
                } else {
                    return nil
                }
            }
            guard index == bytes.count else { return nil }
        }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(secondsOfDay - offsetSeconds)
        return TimestampText(instant: .finite(seconds: seconds, fraction: fraction))
    }

    /// Days from 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's days_from_civil).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
