import Core
import Foundation
import Stream
import Testing

@testable import Snowflake

@Suite struct SnowflakeResultTests {
    /// DML answers carry a JSON rowset: read as text, nulls as nil.
    @Test func jsonRowsetReadsAsText() throws {
        let data = try JSONParser.parse(
            #"{"rowtype":[{"name":"number of rows inserted"}],"queryResultFormat":"json","rowset":[["3"],[null]]}"#)
        let result = try SnowflakeResult(data: data)
        #expect(result.columns == ["number of rows inserted"])
        #expect(result.rows == [["3"], [nil]])
    }

    /// An answer split into chunks (large results) is refused rather than read in part.
    @Test func chunkedResultsAreRefused() throws {
        let data = try JSONParser.parse(
            #"{"rowtype":[],"queryResultFormat":"arrow","rowsetBase64":"","chunks":[{"url":"https://x"}]}"#)
        #expect(throws: SnowflakeResultError.self) { try SnowflakeResult(data: data) }
    }

    /// A scaled NUMBER's integer gets its decimal point from the scale.
    @Test(arguments: [("12345", 2, "123.45"), ("-5", 2, "-0.05"), ("7", 3, "0.007"), ("-12000", 3, "-12.000")])
    func scaledIntegers(digits: String, scale: Int, text: String) {
        #expect(SnowflakeResult.scaled(digits, scale: scale) == text)
    }

    /// A captured fakesnow answer's `data`.
    static func captured(_ name: String) throws -> JSONValue {
        let url = try #require(Bundle.module.url(forResource: "Captured/\(name)", withExtension: "json"))
        let answer = try JSONParser.parse(Array(try Data(contentsOf: url)))
        return try #require(answer["data"])
    }

    /// The checkpoint the loader reads back, from a captured Arrow answer: text, NULL, NUMBER.
    @Test func capturedCheckpointReadsAsText() throws {
        let result = try SnowflakeResult(data: try Self.captured("checkpoint_select"))
        #expect(result.columns == ["RUN", "VALUE", "ROWS"])
        #expect(result.rows == [["run-1", "2024-01-02T03:04:05Z", "1000"], ["run-2", nil, "0"]])
    }

    /// A table's columns as the loader learns them from information_schema.
    @Test func capturedColumnsReadAsText() throws {
        let result = try SnowflakeResult(data: try Self.captured("information_schema_columns"))
        #expect(
            result.rows.prefix(4).map { Array($0.prefix(5)) } == [
                ["ID", "NUMBER", "1", "38", "0"], ["AMOUNT", "NUMBER", "2", "10", "2"],
                ["WIDE", "NUMBER", "3", "38", "10"], ["RATIO", "FLOAT", "4", nil, nil],
            ])
    }

    /// Decimals of every scale and the int64 extremes keep their digits; empty results are empty.
    @Test func capturedNumbersKeepTheirDigits() throws {
        let result = try SnowflakeResult(data: try Self.captured("select_all_types"))
        #expect(
            result.rows.map { Array($0.prefix(3)) } == [
                ["-9223372036854775808", "-0.05", "-0.0000000001"],
                ["1", "12.34", "1234567890123456789012345678.0123456789"],
                ["4", nil, nil],
                ["9223372036854775807", "99999999.99", "-9999999999999999999999999999.9999999999"],
            ])
        #expect(try SnowflakeResult(data: try Self.captured("empty_result")).rows.isEmpty)
    }
}
