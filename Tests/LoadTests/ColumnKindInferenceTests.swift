import Core
import Load
import Testing

/// `ColumnKind.inferred(from:)`: the type of a column created for a key no source column
/// describes, from its first value.
@Suite struct ColumnKindInferenceTests {
    /// Guards the non-string values: null says nothing (text), booleans, objects and arrays (jsonb).
    @Test(arguments: [
        (JSONValue.null, ColumnKind.text), (.bool(true), .boolean), (.bool(false), .boolean),
        (.object([JSONMember(key: "a", value: .number("1"))]), .jsonb), (.object([]), .jsonb),
        (.array([.number("1")]), .jsonb), (.array([]), .jsonb),
    ])
    func nonStrings(value: JSONValue, kind: ColumnKind) {
        #expect(ColumnKind.inferred(from: value) == kind)
    }

    /// Guards numbers: integers that fit 64 bits are bigint; fractions, exponents and integers
    /// beyond bigint are numeric (exact digits, never a float).
    @Test(arguments: [
        ("0", ColumnKind.bigint), ("-0", .bigint), ("42", .bigint), ("-17", .bigint),
        ("9223372036854775807", .bigint), ("-9223372036854775808", .bigint),
        ("9223372036854775808", .numeric), ("-9223372036854775809", .numeric),
        ("123456789012345678901234567890", .numeric),
        ("1.5", .numeric), ("1.0", .numeric), ("-0.001", .numeric), ("1e3", .numeric), ("1E3", .numeric),
        ("2.5e-7", .numeric),
    ])
    func numbers(text: String, kind: ColumnKind) {
        #expect(ColumnKind.inferred(from: .number(text)) == kind)
    }

    /// Guards that full RFC 3339 date-times (with an offset, so an instant) are timestamptz.
    @Test(arguments: [
        "2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123456Z", "2024-05-01T12:00:00+02:00",
        "2024-05-01T12:00:00.5-05:30", "2024-05-01t12:00:00z", "2024-05-01 12:00:00Z", "0001-01-01T00:00:00+00:00",
    ])
    func rfc3339DateTimesAreTimestamptz(text: String) {
        #expect(ColumnKind.inferred(from: .string(text)) == .timestamptz)
    }

    /// Guards that strings which are not full RFC 3339 date-times stay text: no offset (the
    /// instant is unknown), a date or time alone, a bad fraction or offset, trailing text.
    @Test(arguments: [
        "", "hello", "42", "true", "2024-05-01", "12:00:00", "2024-05-01T12:00:00", "2024-05-01T12:00:00.123",
        "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00+0200", "2024-05-01T12:00:00+02", "2024-05-01T12:00Z",
        "2024-05-01T12:00:00Zjunk", "2024-05-01T12:00:00+02:00 ", " 2024-05-01T12:00:00Z", "2024/05/01T12:00:00Z",
        "24-05-01T12:00:00Z", "2024-05-01X12:00:00Z", "infinity", "P1DT2H", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    ])
    func otherStringsAreText(text: String) {
        #expect(ColumnKind.inferred(from: .string(text)) == .text)
    }

    /// Guards that a string shaped like a date-time but outside RFC 3339's ranges (month 13, hour
    /// 25, minute 61) is not taken for an instant: a timestamptz column created for it would
    /// refuse the very row that created it.
    @Test(arguments: [
        "2024-13-01T00:00:00Z", "2024-05-32T00:00:00Z", "2024-05-01T25:00:00Z", "2024-05-01T12:61:00Z",
        "2024-05-01T12:00:00+99:00",
    ])
    func outOfRangeDateTimesAreText(text: String) {
        #expect(ColumnKind.inferred(from: .string(text)) == .text)
    }
}
