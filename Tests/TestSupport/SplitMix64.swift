/// SplitMix64 (Steele, Lea and Flood): a tiny, fast, well-mixed generator whose whole state is one
/// 64-bit word, so a printed seed replays a run exactly on any machine. Every seeded test uses
/// this one: the fuzzers, the Arrow reader's mutations, the byte and delay trials.
package struct SplitMix64: RandomNumberGenerator {
    package private(set) var state: UInt64

    package init(seed: UInt64) {
        state = seed
    }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The finalizer alone: turns a run seed plus a case index into that case's seed.
    package static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The next value modulo `bound` (slightly biased, unlike `int(in:)`): the Arrow reader's
    /// mutation test draws this way, and its seed replays the same mutations only so.
    package mutating func next(below bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    /// A uniform integer in `range` (which must not be empty).
    package mutating func int(in range: Range<Int>) -> Int {
        Int.random(in: range, using: &self)
    }

    package mutating func int(in range: ClosedRange<Int>) -> Int {
        Int.random(in: range, using: &self)
    }

    /// True with probability 1/`n`.
    package mutating func oneIn(_ n: Int) -> Bool {
        int(in: 0..<n) == 0
    }

    package mutating func pick<T>(_ items: [T]) -> T? {
        items.isEmpty ? nil : items[int(in: 0..<items.count)]
    }
}
