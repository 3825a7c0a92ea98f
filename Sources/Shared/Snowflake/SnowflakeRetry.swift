package import HTTP

/// When and how long to wait before sending a request again, as Snowflake's connectors do: the
/// same `requestId` every time (so the service runs a statement at most once and answers a
/// repeat with the first run's result), `retryCount` and `clientStartTime` on the repeats of a
/// statement, a fresh `request_guid` on every attempt (``SnowflakeSession`` sets them);
/// exponential backoff from 1 s, doubling to at most 16 s, with jitter; no new attempt once
/// `budget` seconds have passed since the first (``HTTPRetry``, which also says which outcomes
/// are retried: the service not heard, 5xx, 408, 429).
package enum SnowflakeRetry {
    /// `retry_timeout`'s default: seconds after the first attempt within which a failed request
    /// is sent again.
    package static let defaultBudget: Double = 300

    /// The connectors' backoff, within `budget` seconds (0: never again).
    package static func policy(budget: Double) -> HTTPRetry {
        HTTPRetry(budget: budget, base: 1, cap: 16)
    }
}
