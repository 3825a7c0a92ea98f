import Glibc

/// Live progress on stderr (rows, rows/s), redrawn in place about once a second — only when
/// stderr is a terminal, the format is text and `--quiet` is off, so logs and pipes stay clean.
package struct ProgressMeter {
    private let enabled: Bool
    private let reporter: Reporter
    private let noun: String
    private let started = MonotonicClock.now
    private var lastDrawn = MonotonicClock.now
    private var drewSomething = false

    package init(reporter: Reporter, noun: String) {
        self.reporter = reporter
        self.noun = noun
        enabled = !reporter.quiet && reporter.format == .text && isatty(STDERR_FILENO) == 1
    }

    /// Whether anything will be drawn: a caller that must count to report can skip counting.
    package var isEnabled: Bool { enabled }

    package mutating func update(_ count: Int) {
        guard enabled else { return }
        let now = MonotonicClock.now
        guard now - lastDrawn >= 1 else { return }
        lastDrawn = now
        drewSomething = true
        let rate = Int(Double(count) / max(now - started, 0.001))
        let text = "\r\u{1B}[K\(reporter.tool): \(count) \(noun), \(rate) \(noun)/s"
        try? FileIO.writeAll(Array(text.utf8), to: STDERR_FILENO)
    }

    /// Clears the progress line before the summary is printed.
    package mutating func finish() {
        guard drewSomething else { return }
        drewSomething = false
        try? FileIO.writeAll(Array("\r\u{1B}[K".utf8), to: STDERR_FILENO)
    }
}
