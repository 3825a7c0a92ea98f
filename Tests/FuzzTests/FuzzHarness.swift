import Foundation
import Synchronization
import TestSupport
import Testing

/// How many cases a fuzz target runs, with which seed, for how long: short by default (CI), longer
/// when the environment asks.
///
/// - `CONDUIT_FUZZ_CASES`: cases per target (default: each target's short count).
/// - `CONDUIT_FUZZ_SEED`: the run seed, decimal or 0x-hex (default: a fixed seed, so CI is repeatable).
/// - `CONDUIT_FUZZ_CASE`: run only this case index (to replay one failure).
/// - `CONDUIT_FUZZ_SECONDS`: the wall-clock cap of each target's run (default 120 s, or 1 h with CONDUIT_FUZZ_CASES).
/// - `CONDUIT_FUZZ_HANG_SECONDS`: how long one case may run before the watchdog aborts the process (default 180 s).
struct FuzzBudget: Sendable {
    static let defaultSeed: UInt64 = 0xC0DE_1700_F022_5EED

    var cases: Int
    var seed: UInt64
    var onlyCase: Int?
    var runLimit: Duration

    init(shortCases: Int, environment: [String: String] = ProcessInfo.processInfo.environment) {
        let requested = environment["CONDUIT_FUZZ_CASES"].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
        cases = requested ?? shortCases
        seed = environment["CONDUIT_FUZZ_SEED"].flatMap(Self.parseSeed) ?? Self.defaultSeed
        onlyCase = environment["CONDUIT_FUZZ_CASE"].flatMap { Int($0) }
        let seconds = environment["CONDUIT_FUZZ_SECONDS"].flatMap { Int($0) } ?? (requested == nil ? 120 : 3600)
        runLimit = .seconds(seconds)
    }

    static func parseSeed(_ text: String) -> UInt64? {
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return UInt64(text.dropFirst(2), radix: 16) }
        return UInt64(text)
    }
}

/// One fuzz target's run: derives each case's generator from the run seed and the case index,
/// times every case (a slow case is reported; a case past the hard limit aborts the process after
/// saving its input, so a hang fails the run instead of stalling it), and prints what it tried.
final class FuzzRun: Sendable {
    let target: String
    let budget: FuzzBudget
    /// A case slower than this is reported in the log (a hang in the making); one past the
    /// watchdog's hard limit fails the run.
    let caseLimit: Duration
    private let watchdog: Watchdog
    private let issues = Mutex(0)

    init(target: String, shortCases: Int, caseLimit: Duration = .seconds(10), hardLimit: Duration = .seconds(180)) {
        self.target = target
        self.budget = FuzzBudget(shortCases: shortCases)
        self.caseLimit = caseLimit
        let hang = ProcessInfo.processInfo.environment["CONDUIT_FUZZ_HANG_SECONDS"].flatMap { Int($0) }
        self.watchdog = Watchdog(target: target, hardLimit: hang.map { .seconds($0) } ?? hardLimit)
    }

    var seedText: String { "0x" + String(budget.seed, radix: 16) }

    /// How to replay a case, for every issue.
    func replay(_ index: Int) -> String {
        "target \(target), seed \(seedText), case \(index) (replay: CONDUIT_FUZZ_SEED=\(seedText) CONDUIT_FUZZ_CASE=\(index))"
    }

    /// Records a failed property with the replay line and a picture of the input. At most 20 per
    /// run, so one bug does not bury the log.
    func fail(_ what: String, index: Int, input: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let count = issues.withLock { count in
            count += 1
            return count
        }
        guard count <= 20 else { return }
        Issue.record(
            Comment(rawValue: "\(what) — \(replay(index)); input (\(input.count) bytes): \(Self.picture(input))"),
            sourceLocation: sourceLocation)
    }

    var failures: Int { issues.withLock { $0 } }

    /// Runs `body` for every case (or the one `CONDUIT_FUZZ_CASE` names) until the count or the
    /// run's time limit; `body` returns the case's input, which the watchdog keeps while it runs.
    /// Returns the number of cases tried.
    @discardableResult
    func run(_ body: (_ index: Int, _ random: inout SplitMix64, _ watch: (_ input: [UInt8]) -> Void) -> Void) -> Int {
        let clock = ContinuousClock()
        let started = clock.now
        let indices: [Int] = budget.onlyCase.map { [$0] } ?? Array(0..<budget.cases)
        var tried = 0
        var slowest: Duration = .zero
        defer { watchdog.stop() }
        for index in indices {
            if clock.now - started > budget.runLimit {
                print("FuzzTests: \(target): stopped at the run's time limit (\(budget.runLimit))")
                break
            }
            var random = SplitMix64(seed: SplitMix64.mix(budget.seed &+ UInt64(truncatingIfNeeded: index)))
            var input: [UInt8] = []
            // The clock starts when the input is ready: making it (the mutator) is not the component's time.
            var caseStart = clock.now
            body(index, &random) { bytes in
                input = bytes
                caseStart = clock.now
                self.watchdog.begin(label: self.replay(index), input: bytes)
            }
            watchdog.end()
            let elapsed = clock.now - caseStart
            slowest = max(slowest, elapsed)
            if elapsed > caseLimit {
                // Reported, not failed: wall-clock time on a shared 2-core machine (and 3-4x
                // slower under AddressSanitizer) is noise; the watchdog's hard limit is the hang.
                print(
                    "FuzzTests: slow case: \(Self.seconds(elapsed)) s (note above \(Self.seconds(caseLimit)) s) — \(replay(index))"
                )
            }
            tried += 1
        }
        let total = clock.now - started
        print(
            "FuzzTests: \(target): \(tried) cases in \(Self.seconds(total)) s (slowest \(Self.seconds(slowest)) s), seed \(seedText), \(failures) failures"
        )
        return tried
    }

    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let value = Double(seconds) + Double(attoseconds) / 1e18
        return String(format: "%.2f", value)
    }

    /// The input as printable text: ASCII as is, other bytes as \xNN, the middle of a long input elided.
    static func picture(_ input: [UInt8]) -> String {
        func escape(_ bytes: ArraySlice<UInt8>) -> String {
            var text = ""
            for byte in bytes {
                if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\\") {
                    text.unicodeScalars.append(Unicode.Scalar(byte))
                } else {
                    text += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
                }
            }
            return text
        }
        guard input.count > 600 else { return "\"" + escape(input[...]) + "\"" }
        return "\"" + escape(input.prefix(300)) + "\" … \"" + escape(input.suffix(200)) + "\""
    }
}

/// A thread that watches the case in progress: past the hard limit it writes the input to the
/// temporary directory, says where on stderr, and aborts — a hung test would otherwise hold CI
/// until its own timeout and say nothing about the input.
final class Watchdog: Sendable {
    private struct Current {
        var label: String
        var input: [UInt8]
        var started: ContinuousClock.Instant
    }

    private let target: String
    private let hardLimit: Duration
    private let current = Mutex<Current?>(nil)
    private let stopped = Atomic<Bool>(false)

    init(target: String, hardLimit: Duration) {
        self.target = target
        self.hardLimit = hardLimit
        Thread.detachNewThread { [self] in watch() }
    }

    func begin(label: String, input: [UInt8]) {
        current.withLock { $0 = Current(label: label, input: input, started: ContinuousClock.now) }
    }

    func end() {
        current.withLock { $0 = nil }
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    /// `text` with every character but letters, digits, '-' and '.' made '_'.
    static func fileName(_ text: String) -> String {
        String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") ? $0 : "_" })
    }

    private func watch() {
        while !stopped.load(ordering: .relaxed) {
            Thread.sleep(forTimeInterval: 0.25)
            let overdue = current.withLock { current -> Current? in
                guard let current, ContinuousClock.now - current.started > hardLimit else { return nil }
                return current
            }
            guard let overdue else { continue }
            let file = FileManager.default.temporaryDirectory
                .appendingPathComponent("conduit-fuzz-hang-\(Self.fileName(target))-\(getpid()).bin")
            try? Data(overdue.input).write(to: file)
            FileHandle.standardError.write(
                Data(
                    """
                    FuzzTests: HANG: a case ran longer than \(hardLimit): \(overdue.label); \
                    input (\(overdue.input.count) bytes) saved to \(file.path)\n
                    """.utf8))
            abort()
        }
    }
}
