import Core
import Stream
import Testing

@testable import Snowflake

@Suite struct SnowflakeBatchTests {
    /// Stages each line of NDJSON into a batch for columns of the given kinds; returns the batch,
    /// or the first refusal.
    static func stage(_ lines: [String], kinds: [(ColumnKind?, String)]) -> (SnowflakeBatch, String?) {
        var batch = SnowflakeBatch()
        var row = JSONRow()
        for (number, line) in lines.enumerated() {
            let bytes = Array(line.utf8)
            let refusal: String? = bytes.withUnsafeBufferPointer { buffer in
                defer { row.release() }
                guard (try? row.scan(buffer)) != nil else { return "not JSON" }
                batch.startRow(width: kinds.count, lineNumber: number + 1)
                for (index, member) in row.members.enumerated() {
                    let target = SnowflakeValue.Target(kind: kinds[index].0, type: kinds[index].1)
                    if let refusal = SnowflakeValue.stage(member.value, of: row, into: target, column: index, batch: &batch) {
                        return refusal
                    }
                }
                return nil
            }
            if let refusal { return (batch, refusal) }
        }
        return (batch, nil)
    }

    /// The array bindings carry one array per column (text, with JSON nulls), the line numbers last.
    @Test func arrayBindingsHoldOneArrayPerColumn() throws {
        let (batch, refusal) = Self.stage(
            [#"{"a":1,"b":"x\"y"}"#, #"{"a":null,"b":{"k":[1]}}"#], kinds: [(.bigint, "NUMBER(38,0)"), (.jsonb, "VARIANT")])
        #expect(refusal == nil)
        let body = String(decoding: batch.arrayBindings(rows: 0..<2, width: 2), as: UTF8.self)
        #expect(
            body
                == #"{"1":{"type":"TEXT","value":["1",null]},"2":{"type":"TEXT","value":["\"x\\\"y\"","{\"k\":[1]}"]},"3":{"type":"FIXED","value":["1","2"]}}"#
        )
        // And it is JSON.
        #expect((try? JSONParser.parse(body)) != nil)
    }

    /// The staged CSV encloses every value behind its `=` mark, doubles quotes, and leaves NULL
    /// an empty field: an empty string and the text `\N` stay values.
    @Test func csvEnclosesMarkedValuesAndLeavesNullsEmpty() {
        let (batch, _) = Self.stage(
            [#"{"a":"say \"hi\", ok","b":null}"#, #"{"a":"","b":"\\N"}"#], kinds: [(.text, "VARCHAR"), (.text, "VARCHAR")])
        #expect(String(decoding: batch.csv(width: 2), as: UTF8.self) == "\"=say \"\"hi\"\", ok\",,1\n\"=\",\"=\\N\",2\n")
    }

    /// A row written before a column existed reads NULL there.
    @Test func narrowerRowsReadNullInLaterColumns() {
        var batch = SnowflakeBatch()
        batch.startRow(width: 1, lineNumber: 1)
        batch.set(column: 0, "a")
        batch.startRow(width: 2, lineNumber: 2)
        batch.set(column: 1, "b")
        #expect(batch.cell(row: 0, column: 1) == nil)
        #expect(batch.cell(row: 1, column: 0) == nil)
        #expect(batch.cell(row: 1, column: 1).map { String(decoding: $0, as: UTF8.self) } == "b")
    }

    /// Values a column cannot take are refused with the reason, before anything is sent.
    @Test(arguments: [
        (#"{"v":1.5}"#, ColumnKind.bigint, "NUMBER(38,0)", "1.5: not an integer"),
        (
            #"{"v":123.456}"#, .numeric, "NUMBER(10,2)",
            "123.456: more than 2 decimal places (the column is NUMBER(10,2); Snowflake would round it)"
        ),
        (#"{"v":123456789}"#, .numeric, "NUMBER(10,2)", "123456789: more than 8 digits before the decimal point (NUMBER(10,2))"),
        (#"{"v":1e3}"#, .bigint, "NUMBER(38,0)", "1e3: exponent notation, which a NUMBER column does not take exactly"),
        (#"{"v":"abc"}"#, .double, "FLOAT", #"the string "abc": not a number"#),
        (#"{"v":"yes"}"#, .boolean, "BOOLEAN", #"the string "yes": not true or false"#),
        (#"{"v":2}"#, .boolean, "BOOLEAN", "2: not true or false"),
        (#"{"v":20240102}"#, .date, "DATE", "the number 20240102"),
        (#"{"v":"%%%"}"#, .bytea, "BINARY", "a string that is not base64"),
        (
            #"{"v":"infinity"}"#, .timestamptz, "TIMESTAMP_TZ",
            #""infinity": not a date or timestamp Snowflake can hold (YYYY-MM-DD…, years 0001-9999)"#
        ),
        (
            #"{"v":"0044-03-15 12:00:00 BC"}"#, .timestamp, "TIMESTAMP_NTZ",
            #""0044-03-15 12:00:00 BC": not a date or timestamp Snowflake can hold (YYYY-MM-DD…, years 0001-9999)"#
        ),
        (#"{"v":"25"}"#, .time, "TIME", #""25": not a time of day (HH:MM:SS)"#),
        (#"{"v":[1]}"#, .bigint, "NUMBER(38,0)", "an array"),
        (#"{"v":true}"#, .date, "DATE", "true"),
        (
            #"{"v":"2024-13-01"}"#, .date, "DATE",
            #""2024-13-01": not a date or timestamp Snowflake can hold (YYYY-MM-DD…, years 0001-9999)"#
        ),
        (
            #"{"v":"2024-01-00"}"#, .date, "DATE",
            #""2024-01-00": not a date or timestamp Snowflake can hold (YYYY-MM-DD…, years 0001-9999)"#
        ),
        (
            #"{"v":"2024-01-02 24:00:00"}"#, .timestamp, "TIMESTAMP_NTZ",
            #""2024-01-02 24:00:00": not a date or timestamp Snowflake can hold (YYYY-MM-DD…, years 0001-9999)"#
        ),
        (
            #"{"v":"2024-01-02 03:04:05+"}"#, .timestamptz, "TIMESTAMP_TZ",
            #""2024-01-02 03:04:05+": not a date or timestamp Snowflake can hold (YYYY-MM-DD…, years 0001-9999)"#
        ),
        (
            #"{"v":"2024-01-02 03:04:05+2"}"#, .timestamptz, "TIMESTAMP_TZ",
            #""2024-01-02 03:04:05+2": not a date or timestamp Snowflake can hold (YYYY-MM-DD…, years 0001-9999)"#
        ),
        (
            #"{"v":"2024-01-02 03:04:05+02::00"}"#, .timestamptz, "TIMESTAMP_TZ",
            #""2024-01-02 03:04:05+02::00": not a date or timestamp Snowflake can hold (YYYY-MM-DD…, years 0001-9999)"#
        ),
        (#"{"v":"24:00:00"}"#, .time, "TIME", #""24:00:00": not a time of day (HH:MM:SS)"#),
        (#"{"v":"12:60:00"}"#, .time, "TIME", #""12:60:00": not a time of day (HH:MM:SS)"#),
    ])
    func refusesWhatTheColumnCannotTake(line: String, kind: ColumnKind, type: String, reason: String) {
        #expect(Self.stage([line], kinds: [(kind, type)]).1 == reason)
    }

    /// Values a column takes are staged as the text Snowflake casts.
    @Test(arguments: [
        (#"{"v":12.50}"#, ColumnKind.numeric, "NUMBER(10,2)", "12.50"),
        (#"{"v":"-7"}"#, .bigint, "NUMBER(38,0)", "-7"),
        (#"{"v":1}"#, .boolean, "BOOLEAN", "1"),
        (#"{"v":"NaN"}"#, .double, "FLOAT", "NaN"),
        (#"{"v":"2024-01-02T03:04:05.123456+02:00"}"#, .timestamptz, "TIMESTAMP_TZ", "2024-01-02T03:04:05.123456+02:00"),
        (#"{"v":"2024-01-02 03:04:05"}"#, .timestamp, "TIMESTAMP_NTZ", "2024-01-02 03:04:05"),
        (#"{"v":"13:14:15.25"}"#, .time, "TIME", "13:14:15.25"),
        (#"{"v":"2024-01-02 03:04:05+00"}"#, .timestamptz, "TIMESTAMP_TZ", "2024-01-02 03:04:05+00"),
        (#"{"v":"2024-01-02 03:04:05-0330"}"#, .timestamptz, "TIMESTAMP_TZ", "2024-01-02 03:04:05-0330"),
        (#"{"v":"1850-01-02 03:04:05+00:53:28"}"#, .timestamptz, "TIMESTAMP_TZ", "1850-01-02 03:04:05+00:53:28"),
        (#"{"v":"2024-12-31T23:59:59Z"}"#, .timestamptz, "TIMESTAMP_TZ", "2024-12-31T23:59:59Z"),
        (#"{"v":"text"}"#, .jsonb, "VARIANT", #""text""#),
        (#"{"v":true}"#, .text, "VARCHAR", "true"),
        (#"{"v":{"a":1}}"#, .text, "VARCHAR", #"{"a":1}"#),
    ])
    func stagesWhatTheColumnTakes(line: String, kind: ColumnKind, type: String, cell: String) {
        let (batch, refusal) = Self.stage([line], kinds: [(kind, type)])
        #expect(refusal == nil)
        #expect(batch.cell(row: 0, column: 0).map { String(decoding: $0, as: UTF8.self) } == cell)
    }
}
