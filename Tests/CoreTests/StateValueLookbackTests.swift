import Core
import Testing

/// The arithmetic behind `lookback`: exact decimal subtraction and timestamps moved earlier,
/// written as they were.
@Suite struct StateValueLookbackTests {
    /// Numbers keep every digit; the sign and the scale come out right.
    @Test(arguments: [
        ("100", "10", "90"), ("5", "10", "-5"), ("0", "0", "0"), ("-3", "4", "-7"),
        ("9007199254740993", "1", "9007199254740992"),
        ("123456789012345678901234567890", "1", "123456789012345678901234567889"),
        ("10.5", "0.75", "9.75"), ("1", "1.5", "-0.5"), ("2.50", "2.5", "0.00"),
    ])
    func numbers(value: String, amount: String, expected: String) {
        #expect(StateValue.number(value).subtracting(amount: amount) == .number(expected))
    }

    /// A number with an exponent, or a string, is not lowered by an amount.
    @Test func notPlainNumbers() {
        #expect(StateValue.number("1e5").subtracting(amount: "1") == nil)
        #expect(StateValue.string("5").subtracting(amount: "1") == nil)
    }

    /// An offset comes back as UTC, no offset stays none, a date stays a date, infinity stays.
    @Test(arguments: [
        ("2024-05-01T12:00:00Z", 600, "2024-05-01T11:50:00Z"),
        ("2024-05-01T00:05:00.123456Z", 600, "2024-04-30T23:55:00.123456Z"),
        ("2024-05-01T12:00:00+02:00", 60, "2024-05-01T09:59:00Z"),
        ("2024-03-01T00:00:00", 1, "2024-02-29T23:59:59"),
        ("2024-03-01 00:00:00", 86_400, "2024-02-29 00:00:00"),
        ("2024-05-10", 600, "2024-05-09"),
        ("1970-01-01T00:00:00Z", 1, "1969-12-31T23:59:59Z"),
        ("-infinity", 600, "-infinity"),
    ])
    func timestamps(value: String, seconds: Int64, expected: String) {
        #expect(StateValue.string(value).subtracting(seconds: seconds) == .string(expected))
    }

    /// Text that is not a timestamp is not lowered.
    @Test func notTimestamps() {
        #expect(StateValue.string("abc").subtracting(seconds: 1) == nil)
        #expect(StateValue.number("5").subtracting(seconds: 1) == nil)
    }
}
