import TestSupport
import Testing

@testable import Core
@testable import State

/// `CursorText.byteOrder`: the byte comparison `conduit-state commit` and the loader's checkpoint
/// cursor use for the usual cursor values. Wherever it answers, it must agree with
/// `StateValue.compare` (the rules the state commits by); and it must answer for the shapes
/// the extracts write, or the fast path is dead code.
@Suite struct CursorTextTests {
    static func order(_ left: String, _ right: String, strings: Bool) -> Ordering? {
        Array(left.utf8).withUnsafeBufferPointer { l in
            Array(right.utf8).withUnsafeBufferPointer { r in
                CursorText.byteOrder(l, r, areStrings: strings, areNumbers: !strings)
            }
        }
    }

    /// A random timestamp-like text: mostly the extract's shape, often one field out of range
    /// (day 29–31, hour 24, second 60, month 13), a fraction of any length, `T` or a space,
    /// `Z`, an offset or nothing.
    static func timestamp(_ generator: inout SplitMix64) -> String {
        func two(_ range: ClosedRange<Int>) -> String {
            let value = Int.random(in: range, using: &generator)
            return value < 10 ? "0\(value)" : "\(value)"
        }
        let year = String(Int.random(in: 1990...2031, using: &generator))
        var text = "\(year)-\(two(1...13))-\(two(1...31))"
        if Int.random(in: 0..<8, using: &generator) == 0 { return text }
        text += Bool.random(using: &generator) ? "T" : " "
        text += "\(two(0...24)):\(two(0...59)):\(two(0...60))"
        switch Int.random(in: 0..<4, using: &generator) {
        case 0: break
        default:
            text +=
                "."
                + String(
                    (0..<Int.random(in: 1...3, using: &generator)).map { _ in "0123456789".randomElement(using: &generator) ?? "0"
                    })
        }
        switch Int.random(in: 0..<5, using: &generator) {
        case 0: text += "+02:00"
        case 1: break
        default: text += "Z"
        }
        return text
    }

    @Test func agreesWithStateValueOrdering() {
        var generator = SplitMix64(seed: 24)
        var answered = 0
        for _ in 0..<50_000 {
            let strings = Bool.random(using: &generator)
            let left: String
            var right: String
            if strings {
                left = Self.timestamp(&generator)
                right = Bool.random(using: &generator) ? left : Self.timestamp(&generator)
                // Often a neighbour: the same text with one digit changed.
                if Bool.random(using: &generator), var bytes = Optional(Array(left.utf8)),
                    let digit = bytes.indices.filter({ bytes[$0] >= 0x30 && bytes[$0] <= 0x39 }).randomElement(using: &generator)
                {
                    bytes[digit] = UInt8(ascii: "0") + UInt8.random(in: 0...9, using: &generator)
                    right = String(decoding: bytes, as: UTF8.self)
                }
            } else {
                let pick = { (generator: inout SplitMix64) -> String in
                    switch Int.random(in: 0..<6, using: &generator) {
                    case 0: "0"
                    case 1: "-\(UInt64.random(in: 1...999, using: &generator))"
                    case 2: "\(UInt64.random(in: 1...999, using: &generator)).5"
                    case 3: "1e\(Int.random(in: 0...3, using: &generator))"
                    default:
                        "\(UInt64.random(in: 1...UInt64.max, using: &generator) >> UInt64.random(in: 0...63, using: &generator))"
                    }
                }
                left = pick(&generator)
                right = Bool.random(using: &generator) ? left : pick(&generator)
            }
            let expected =
                strings
                ? StateValue.string(left).compare(to: .string(right)) : StateValue.number(left).compare(to: .number(right))
            let fast = Self.order(left, right, strings: strings)
            if let fast {
                answered += 1
                #expect(
                    fast == expected, "\(left) vs \(right): bytes say \(fast), the state says \(String(describing: expected))")
            }
            // The loader's equality check: decided exactly where the order is, and then equal
            // exactly when the bytes are.
            let decided = Array(left.utf8).withUnsafeBufferPointer { l in
                Array(right.utf8).withUnsafeBufferPointer { r in
                    CursorText.isDecidedByBytes(l, r, areStrings: strings, areNumbers: !strings)
                }
            }
            #expect(decided == (fast != nil), "\(left) vs \(right)")
            if decided { #expect((left == right) == (expected == .equal), "\(left) vs \(right)") }
        }
        #expect(answered > 10_000, "the fast path answered only \(answered) of 50000")
    }

    /// The shapes the extracts write take the fast path.
    @Test(arguments: [
        ("9007199254740993", "9007199254740994", false, Ordering.ascending),
        ("10", "9", false, .descending),
        ("2024-01-01T00:00:01Z", "2024-01-01T00:00:00Z", true, .descending),
        ("2024-01-01T00:00:01.123456Z", "2024-01-01T00:00:01.123457Z", true, .ascending),
        ("2024-05-01 12:00:00", "2024-05-01 12:00:00", true, .equal),
        ("2024-05-01", "2024-05-02", true, .ascending),
    ])
    func commonShapesAreCompared(left: String, right: String, strings: Bool, expected: Ordering) {
        #expect(Self.order(left, right, strings: strings) == expected)
    }

    /// Pairs whose text order is not their order are left to StateValue.
    @Test(arguments: [
        ("2024-01-01T00:00:01.5Z", "2024-01-01T00:00:01Z"),  // lengths differ
        ("2024-01-01T24:00:00Z", "2024-01-02T00:00:00Z"),  // 24:00 is the next day
        ("2024-02-30", "2024-03-01"),  // a day February lacks
        ("2024-01-01T00:00:00+02:00", "2024-01-01T00:00:00+03:00"),  // offsets
        ("2024-01-01T00:00:00Z", "2024-01-01 00:00:00Z"),  // separators differ
    ])
    func unusualShapesAreLeftToStateValue(left: String, right: String) {
        #expect(Self.order(left, right, strings: true) == nil)
    }
}
