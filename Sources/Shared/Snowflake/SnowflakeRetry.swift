import Core
import Foundation

/// When and how long to wait before sending a request again, as Snowflake's connectors do: the
/// same `requestId` every time (so the service runs a statement at most once and answers a
/// repeat with the first run's result), `retryCount` and `clientStartTime` on the repeats of a
/// statement, a fresh `request_guid` on every attempt; exponential backoff from 1 s, doubling to
/// at most 16 s, with jitter; no new attempt once `budget` seconds have passed since the first.
package struct SnowflakeRetry: Sendable {
    /// Seconds after the first attempt within which a failed request is sent again; 0 never.
    package var budget: Double
    package var base: Double = 1
    package var cap: Double = 16

    package static let defaultBudget: Double = 300

    package init(budget: Double) {
        self.budget = budget
    }

    /// Seconds to wait before attempt `retry` (1 for the first repeat): half of the exponential
    /// step fixed, half random, so clients that failed together do not return together.
    package func delay(beforeRetry retry: Int) -> Double {
        let step = min(cap, base * pow(2, Double(max(0, retry - 1))))
        return step / 2 + Double.random(in: 0...(step / 2))
    }

    /// Why a reply (or its absence) is worth another attempt, or nil when it is an answer to
    /// keep. The service not reached or not answering (refused, reset, timed out), and the HTTP
    /// statuses the connectors retry that say nothing ran: 5xx, 408, 429. Not 413: the same
    /// request would be refused again.
    package static func transientReason(_ outcome: Result<HTTPReply, HTTPFailure>) -> String? {
        switch outcome {
        case .failure(let failure):
            return failure.isUnreachable ? failure.message : nil
        case .success(let reply):
            let status = reply.status
            guard (500..<600).contains(status) || status == 408 || status == 429 else { return nil }
            return "HTTP \(status)"
        }
    }
}
