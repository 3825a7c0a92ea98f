import Config
import Core
import Testing

@testable import Extract

/// `lookback` moves the bound value below the committed one, by a kind that must match the value's.
@Suite struct LookbackResolutionTests {
    /// A number by an amount, a timestamp by a duration.
    @Test func lowersByTheMatchingKind() throws {
        #expect(try ExtractRun.lowered(.number("100"), by: .amount("7"), resource: "r") == .number("93"))
        #expect(
            try ExtractRun.lowered(
                .string("2024-05-01T12:00:00Z"), by: .duration(seconds: 600, text: "10 minutes"), resource: "r")
                == .string("2024-05-01T11:50:00Z"))
    }

    /// A kind that does not match is a configuration error naming the key and what to give.
    @Test func mismatchedKindsAreRefused() throws {
        let duration = try #require(throws: ConduitError.self) {
            try ExtractRun.lowered(.number("100"), by: .duration(seconds: 600, text: "10 minutes"), resource: "users")
        }
        #expect(duration.exitStatus == .configuration)
        #expect(
            duration.message
                == "users: lookback is the duration 10 minutes but the committed value 100 is a number; give lookback as a number for a numeric incremental_column"
        )
        let amount = try #require(throws: ConduitError.self) {
            try ExtractRun.lowered(.string("2024-05-01T12:00:00Z"), by: .amount("5"), resource: "events")
        }
        #expect(
            amount.message
                == "events: lookback is the number 5 but the committed value \"2024-05-01T12:00:00Z\" is not a number; give lookback as a duration (10 minutes) for a timestamp incremental_column"
        )
    }
}
