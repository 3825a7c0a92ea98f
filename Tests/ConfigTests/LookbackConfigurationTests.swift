import Testing

@testable import Config
@testable import Core

/// `safe_horizon`, `lookback` and `horizon_warning_after` on a resource (docs/INCREMENTAL.md,
/// "Rows that commit late").
@Suite struct LookbackConfigurationTests {
    /// The defaults: the horizon on, no lookback, a warning after 10 minutes.
    @Test func defaults() throws {
        let resource = try #require(try parse(base).resources.first)
        #expect(resource.safeHorizon)
        #expect(resource.lookback == nil)
        #expect(resource.horizonWarningAfterSeconds == 600)
    }

    /// A number is an amount (its digits kept exactly), a duration is seconds and its text.
    @Test(arguments: [
        ("100", Lookback.amount("100")),
        ("12345678901234567890.5", .amount("12345678901234567890.5")),
        ("10 minutes", .duration(seconds: 600, text: "10 minutes")),
        ("\"90 s\"", .duration(seconds: 90, text: "90 s")),
        ("2 hours", .duration(seconds: 7200, text: "2 hours")),
        ("1 day", .duration(seconds: 86_400, text: "1 day")),
    ])
    func lookbackValues(written: String, expected: Lookback) throws {
        let yaml = base + "    primary_key: id\n    lookback: \(written)\n"
        #expect(try parse(yaml).resources.first?.lookback == expected)
    }

    /// `safe_horizon: false` turns it off; `horizon_warning_after` takes a duration.
    @Test func horizonKeys() throws {
        let resource = try #require(
            try parse(base + "    safe_horizon: false\n    horizon_warning_after: 30 seconds\n").resources.first)
        #expect(!resource.safeHorizon)
        #expect(resource.horizonWarningAfterSeconds == 30)
    }

    /// Bad values name the file, the line and the key.
    @Test(arguments: [
        ("    safe_horizon: maybe\n", "ingest.yml:15: resources[0].safe_horizon: must be true or false, not 'maybe'"),
        ("    primary_key: id\n    lookback: -5\n", "ingest.yml:16: resources[0].lookback: must not be negative, not '-5'"),
        (
            "    primary_key: id\n    lookback: a while\n",
            "ingest.yml:16: resources[0].lookback: must be a number (for a numeric incremental_column) or a duration such as 10 minutes (for a timestamp), not 'a while'"
        ),
        (
            "    horizon_warning_after: 10\n",
            "ingest.yml:15: resources[0].horizon_warning_after: must be a duration such as 10 minutes or 1 hour, not '10'"
        ),
    ])
    func badValues(text: String, message: String) throws {
        #expect(try problems(base + text) == message)
    }

    /// Append mode re-reads by key, so lookback needs primary_key; replace has no use for it;
    /// merge needs nothing more.
    @Test func lookbackNeedsAKeyInAppendMode() throws {
        #expect(
            try problems(base + "    lookback: 10\n")
                == "ingest.yml:15: resources[0].lookback: needs primary_key in append mode (re-read rows the destination already holds are skipped by key); set primary_key, or use mode: merge"
        )
        #expect(
            try problems(base + "    mode: replace\n    lookback: 10\n")
                == "ingest.yml:16: resources[0].lookback: has no use with mode replace (every run replaces the table's rows)")
        #expect(
            try parse(base + "    mode: merge\n    primary_key: id\n    lookback: 10\n").resources.first?.lookback
                == .amount("10"))
    }

    /// A misspelt key gets the suggestion.
    @Test func misspeltKeyIsSuggested() throws {
        #expect(try problems(base + "    look_back: 10\n").contains("did you mean 'lookback'?"))
        #expect(try problems(base + "    safe_horizen: false\n").contains("did you mean 'safe_horizon'?"))
    }

    /// Durations format back with the largest unit that divides them.
    @Test func durationFormatting() {
        #expect(DurationText.format(seconds: 600) == "10 minutes")
        #expect(DurationText.format(seconds: 1) == "1 second")
        #expect(DurationText.format(seconds: 90) == "90 seconds")
        #expect(DurationText.format(seconds: 7200) == "2 hours")
    }
}
