import Testing

@testable import Core
@testable import State
@testable import Stream

@Suite struct StateValueOrderingTests {
    /// Numbers compare numerically at any size, including past 2^53 and with exponents and fractions.
    @Test(arguments: [
        ("9007199254740992", "9007199254740993", Ordering.ascending),
        ("9007199254740993", "9007199254740993", .equal),
        ("1234567890123456789012345678901234567890", "1234567890123456789012345678901234567891", .ascending),
        ("99", "100", .ascending),
        ("-5", "3", .ascending),
        ("-10", "-9", .ascending),
        ("1e3", "999", .descending),
        ("1E+3", "1000", .equal),
        ("1.50", "1.5", .equal),
        ("0.001", "1e-3", .equal),
        ("-0", "0", .equal),
        ("0.1", "0.09999999999999999999999", .descending),
        ("12.5", "12.50000000000000000001", .ascending),
        ("-1.5", "-1.25", .ascending),
        ("1e400", "1e399", .descending),
    ])
    func numbersCompareExactly(left: String, right: String, expected: Ordering) {
        #expect(StateValue.number(left).compare(to: .number(right)) == expected)
        #expect(StateValue.number(right).compare(to: .number(left)) == expected.reversed)
    }

    /// RFC 3339 timestamps compare by instant across offsets and fraction lengths, not by text.
    @Test(arguments: [
        ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00.5Z", Ordering.ascending),
        ("2024-05-01T12:00:00.123456Z", "2024-05-01T12:00:00.123456Z", .equal),
        ("2024-05-01T14:00:00+02:00", "2024-05-01T12:00:00Z", .equal),
        ("2024-05-01T13:00:00+02:00", "2024-05-01T12:00:00Z", .ascending),
        ("2024-05-01T12:00:00-05:00", "2024-05-01T16:59:59.999Z", .descending),
        ("2024-05-01 12:00:00+00", "2024-05-01T11:59:59Z", .descending),
        ("2024-05-01T12:00:00.100", "2024-05-01T12:00:00.1", .equal),
        ("1999-12-31T23:59:59Z", "2000-01-01T00:00:00Z", .ascending),
        ("-infinity", "1970-01-01T00:00:00Z", .ascending),
        ("infinity", "9999-12-31T23:59:59Z", .descending),
        ("2024-05-01", "2024-05-02", .ascending),
        ("0001-01-01T00:00:00Z", "10000-01-01T00:00:00Z", .ascending),
    ])
    func timestampsCompareByInstant(left: String, right: String, expected: Ordering) {
        #expect(StateValue.string(left).compare(to: .string(right)) == expected)
        #expect(StateValue.string(right).compare(to: .string(left)) == expected.reversed)
    }

    /// Other strings compare by code point (UTF-8 byte order), not by locale or Unicode collation.
    @Test(arguments: [
        ("a", "b", Ordering.ascending),
        ("Z", "a", .ascending),
        ("abc", "abd", .ascending),
        ("é", "z", .descending),
        ("\u{E9}", "e\u{301}", .descending),  // canonically equivalent, different code points
        ("user-10", "user-9", .ascending),
    ])
    func stringsCompareByCodePoint(left: String, right: String, expected: Ordering) {
        #expect(StateValue.string(left).compare(to: .string(right)) == expected)
    }

    /// A number never silently compares with a string.
    @Test func numberAndStringDoNotCompare() {
        #expect(StateValue.number("1").compare(to: .string("1")) == nil)
        #expect(StateValue.string("2024-01-01").maximum(with: .number("5")) == nil)
    }

    /// Command-line values: JSON numbers are numbers, quoted JSON strings are strings, the rest text.
    @Test func commandLineValues() {
        #expect(StateValue(commandLineText: "15789") == .number("15789"))
        #expect(StateValue(commandLineText: "-1.5e3") == .number("-1.5e3"))
        #expect(StateValue(commandLineText: "\"123\"") == .string("123"))
        #expect(StateValue(commandLineText: "2024-05-01T00:00:00Z") == .string("2024-05-01T00:00:00Z"))
        #expect(StateValue(commandLineText: "0123") == .string("0123"))
        #expect(StateValue(commandLineText: "1; DROP TABLE users") == .string("1; DROP TABLE users"))
    }
}
