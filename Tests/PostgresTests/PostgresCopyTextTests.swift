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

    /// Rows of random fields, escapes and all (octal, hex, stray backslashes, `\N`, tabs escaped
    /// or not), split and decoded as ``PostgresTextReference`` (written from PostgreSQL's
    /// documentation of COPY's text format) reads them.
    @Test func agreesWithTheReferenceOnRandomRows() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ab\\Nntrvbfx07\t9AF".utf8) + [0x01, 0x0B, 0xC3, 0xA9]
        for _ in 0..<20_000 {
            let columns = Int.random(in: 1...4, using: &generator)
            let fields = (0..<columns).map { _ in
                (0..<Int.random(in: 0...6, using: &generator)).map { _ in alphabet.randomElement(using: &generator) ?? 0 }
            }
            var row: [UInt8] = []
            for (index, field) in fields.enumerated() {
                if index > 0 { row.append(0x09) }
                row += field
            }
            // The reference reads a field up to its first tab not escaped by a backslash.
            var expected: [[UInt8]?] = []
            var field: [UInt8] = []
            var index = 0
            while index < row.count {
                if row[index] == 0x5C, index + 1 < row.count {
                    field += row[index...(index + 1)]
                    index += 2
                } else if row[index] == 0x09 {
                    expected.append(PostgresTextReference.decodeCopyField(field))
                    field = []
                    index += 1
                } else {
                    field.append(row[index])
                    index += 1
                }
            }
            expected.append(PostgresTextReference.decodeCopyField(field))
            let split = Self.split(String(decoding: row, as: UTF8.self), columns: expected.count)
            if String(decoding: row, as: UTF8.self).utf8.elementsEqual(row) {
                #expect(split == expected.map { $0.map { String(decoding: $0, as: UTF8.self) } }, "\(row)")
            }
        }
    }

    @Test func refusesRowsOfAnotherWidth() {
        #expect(Self.split("a\tb", columns: 1) == nil)
        #expect(Self.split("a\tb", columns: 3) == nil)
        #expect(Self.split("a\\\tb", columns: 1) != nil)
    }
}
