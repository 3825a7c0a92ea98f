import Foundation

/// When to send a failed request again and how long to wait first: exponential backoff from
/// `base` seconds, doubling to at most `cap`, with jitter; no new attempt once `budget` seconds
/// have passed since the first. What makes a repeat safe (an idempotency key, a request id the
/// service remembers) is the caller's protocol, not this policy's.
package struct HTTPRetry: Sendable {
    /// Seconds after the first attempt within which a failed request is sent again; 0 never.
    package var budget: Double
    /// The wait before the first repeat, at most (half of it fixed, half random).
    package var base: Double
    /// The longest step the doubling reaches.
    package var cap: Double

    package init(budget: Double, base: Double, cap: Double) {
        self.budget = budget
        self.base = base
        self.cap = cap
    }

    /// Seconds to wait before attempt `retry` (1 for the first repeat): half of the exponential
    /// step fixed, half random, so clients that failed together do not return together.
    package func delay(beforeRetry retry: Int) -> Double {
        let step = min(cap, base * pow(2, Double(max(0, retry - 1))))
        return step / 2 + Double.random(in: 0...(step / 2))
    }

    /// Why a response (or its absence) is worth another attempt, or nil when it is an answer to
    /// keep. The service not reached or not answering (refused, reset, timed out), and the HTTP
    /// statuses that say nothing ran: 5xx, 408, 429. Not 413: the same request would be refused
    /// again.
    package static func transientReason(_ outcome: Result<HTTPResponse, HTTPError>) -> String? {
        switch outcome {
        case .failure(let failure):
            return failure.isUnreachable ? failure.message : nil
        case .success(let response):
            let status = response.status
            guard (500..<600).contains(status) || status == 408 || status == 429 else { return nil }
            return "HTTP \(status)"
        }
    }
}
