import Core
import HTTP
import Stream
import Testing

@testable import Snowflake

/// The request-level pieces of the protocol: retry timing and what is retried, gzip bodies, and
/// the byte measure that keeps bound INSERTs under the cap.
@Suite struct SnowflakeProtocolTests {
    /// Backoff doubles from 1 s to at most 16 s, with half of each step random.
    @Test func backoffDoublesToItsCapWithJitter() {
        let retry = SnowflakeRetry.policy(budget: 300)
        for attempt in 1...8 {
            let step = min(16, Double(1 << (attempt - 1)))
            for _ in 0..<50 {
                let delay = retry.delay(beforeRetry: attempt)
                #expect(delay >= step / 2 && delay <= step, "attempt \(attempt): \(delay)")
            }
        }
    }

    /// Retried: the service not reached or not heard, 5xx, 408, 429. Kept: answers, and 413.
    @Test(arguments: [
        (200, false), (400, false), (403, false), (408, true), (413, false), (429, true), (500, true), (503, true), (504, true),
    ])
    func retriesTheStatusesThatSayNothingRan(status: Int, retried: Bool) {
        #expect((HTTPRetry.transientReason(.success(HTTPResponse(status: status, body: []))) != nil) == retried)
    }

    @Test func retriesAnUnreachableServiceButNotAMalformedURL() {
        #expect(HTTPRetry.transientReason(.failure(HTTPError(message: "refused", isUnreachable: true))) == "refused")
        #expect(HTTPRetry.transientReason(.failure(HTTPError(message: "bad URL", isUnreachable: false))) == nil)
    }

    /// Bodies go as gzip (magic 1f 8b) and come back whole.
    @Test(arguments: [0, 1, 100, 1 << 20]) func gzipRoundTrips(size: Int) throws {
        var generator = SystemRandomNumberGenerator()
        let body = (0..<size).map { _ in UInt8.random(in: 32...90, using: &generator) }
        let compressed = try #require(Gzip.compress(body))
        #expect(compressed.prefix(2) == [0x1F, 0x8B])
        #expect(Gzip.decompress(compressed) == body)
    }

    /// The per-row measure adds up to the bindings' exact size: each row's cells (quoted,
    /// escaped, or null) with a comma, less the commas before each array's first element.
    @Test func bindingBytesAddUpToTheRequest() {
        let values = [
            #""plain""#, #""quote \" and \\ back""#, #""tab\tnew\nline\r\u0001\u000b\u001f""#, "null", #""ünï ✓""#, "12", #""""#,
        ]
        var lines: [String] = []
        for row in 0..<40 {
            let a = values[row % values.count]
            let b = values[(row * 3 + 1) % values.count]
            lines.append(row % 5 == 4 ? #"{"a":\#(a)}"# : #"{"a":\#(a),"b":\#(b)}"#)
        }
        let (batch, refusal) = SnowflakeBatchTests.stage(lines, kinds: [(.text, "VARCHAR"), (.text, "VARCHAR")])
        #expect(refusal == nil)
        let empty = batch.arrayBindings(rows: 0..<0, width: 2).count
        for count in [1, 2, 17, 40] {
            let measured = (0..<count).reduce(0) { $0 + batch.bindingBytes(row: $1, width: 2) }
            #expect(batch.arrayBindings(rows: 0..<count, width: 2).count == empty + measured - 3, "\(count) rows")
        }
    }
}
