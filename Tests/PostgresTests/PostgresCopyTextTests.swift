import Testing

@testable import Postgres

/// `PostgresCopyText`: a row of `COPY … TO STDOUT`'s text format → its fields and their values.
/// The server's own rows are checked end to end (ConduitExtractPostgresTests.copyTextKeepsEveryByte);
/// these cover what it never writes: octal and hex escapes, a stray backslash, rows of the wrong width.
@Suite struct PostgresCopyTextTests {
    static func split(_ row: String, columns: Int) -> [String?]? {
        let bytes = Array(row.utf8)
        var fields = [Range<Int>](repeating: 0..<0, count: columns)
        var escaped = [Bool](repeating: true, count: columns)
        let split = bytes.withUnsafeBufferPointer { row in
            fields.withUnsafeMutableBufferPointer { fields in
                escaped.withUnsafeMutableBufferPointer { escaped in
                    PostgresCopyText.split(row, fields: fields, escaped: escaped)
                }
            }
        }
        guard split else { return nil }
        return (0..<columns).map { column -> String? in
            bytes.withUnsafeBufferPointer { row in
                let field = UnsafeBufferPointer(rebasing: row[fields[column]])
                #expect(escaped[column] == field.contains(0x5C), "\(row) \(column)")
                guard escaped[column] else { return String(decoding: field, as: UTF8.self) }
                if PostgresCopyText.isNull(field) { return nil }
                var decoded: [UInt8] = []
                PostgresCopyText.unescape(field, into: &decoded)
                return String(decoding: decoded, as: UTF8.self)
            }
        }
    }

    @Test(
        arguments: [
            ("a\tb\tc", 3, ["a", "b", "c"]),
            ("\t\t", 3, ["", "", ""]),
            ("\\N\t\\\\N\tN", 3, [nil, "\\N", "N"]),
            ("a\\tb\\nc\\rd\\\\e", 1, ["a\tb\nc\rd\\e"]),
            ("\\b\\f\\v", 1, ["\u{8}\u{C}\u{B}"]),
            ("\\101\\0601\\1417", 1, ["A01a7"]),
            ("\\x41\\x4a\\x4Z\\xg", 1, ["AJ\u{4}Zxg"]),
            ("\\q\\\t", 1, ["q\t"]),
            (
                "12345678901234567890\tabcdefghij\\\\klmnopqrstuvwxyz", 2,
                ["12345678901234567890", "abcdefghij\\klmnopqrstuvwxyz"]
            ),
        ] as [(String, Int, [String?])])
    func splitsAndDecodes(row: String, columns: Int, values: [String?]) {
        #expect(Self.split(row, columns: columns) == values, "\(row.debugDescription)")
    }

    @Test func refusesRowsOfAnotherWidth() {
        #expect(Self.split("a\tb", columns: 1) == nil)
        #expect(Self.split("a\tb", columns: 3) == nil)
        #expect(Self.split("a\\\tb", columns: 1) != nil)
    }
}
