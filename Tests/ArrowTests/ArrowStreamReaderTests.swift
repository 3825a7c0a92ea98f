import Arrow
import Foundation
import TestSupport
import Testing

/// The fixtures in Captured/: whole fakesnow query responses (`*.json`) and pyarrow-written
/// streams (`pyarrow_*.arrows`), both made by Captured/capture.py, which also holds the values
/// asserted here.
private enum ArrowFixtures {
    static func data(_ file: String) throws -> Data {
        let directory = try #require(Bundle.module.url(forResource: "Captured", withExtension: nil))
        return try Data(contentsOf: directory.appendingPathComponent(file))
    }

    /// `data.rowsetBase64` of a captured response, as the loader will see it.
    static func rowset(_ name: String) throws -> String {
        let response = try #require(try JSONSerialization.jsonObject(with: data("\(name).json")) as? [String: Any])
        let data = try #require(response["data"] as? [String: Any])
        #expect(data["queryResultFormat"] as? String == "arrow")
        return try #require(data["rowsetBase64"] as? String)
    }

    /// The decoded Arrow stream of a captured response (decoded by Foundation, not by the code under test).
    static func stream(_ name: String) throws -> [UInt8] {
        [UInt8](try #require(Data(base64Encoded: rowset(name))))
    }

    static func table(_ name: String) throws -> ArrowTable {
        try ArrowStreamReader.read(base64: rowset(name))
    }

    static func pyarrow(_ name: String) throws -> [UInt8] {
        [UInt8](try data("pyarrow_\(name).arrows"))
    }

    /// Every stream, for the robustness tests.
    static func allStreams() throws -> [(String, [UInt8])] {
        var streams: [(String, [UInt8])] = []
        for name in ["select_all_types", "information_schema_columns", "checkpoint_select", "show_tables", "describe_table"] {
            streams.append((name, try stream(name)))
        }
        for name in ["narrow_types", "three_batches", "legacy_framing", "deep_struct", "dictionary", "lz4"] {
            streams.append((name, try pyarrow(name)))
        }
        streams.append(("shared_children", sharedChildrenSchema(levels: 8)))
        return streams
    }
}

extension ArrowTable {
    fileprivate func values(_ name: String) -> [ArrowValue]? {
        column(named: name)?.values
    }
}

@Suite struct ArrowStreamReaderTests {
    // MARK: fakesnow responses

    /// Every Snowflake type a loader meets arrives with the value the capture script inserted, NULLs included.
    @Test func allTypes() throws {
        let table = try ArrowFixtures.table("select_all_types")
        #expect(table.rowCount == 4)
        #expect(
            table.columns.map(\.name) == [
                "ID", "AMOUNT", "WIDE", "RATIO", "FLAG", "NAME", "DOC", "TS_TZ", "TS_NTZ", "DAY", "TOD", "RAW",
            ])
        // Rows are ordered by ID: the minimum, 1, the row of NULLs (ID 4), the maximum.
        #expect(table.values("ID") == [.int(.min), .int(1), .int(4), .int(.max)])
        #expect(
            table.values("AMOUNT") == [
                .decimal(-5, scale: 2), .decimal(1234, scale: 2), .null, .decimal(9_999_999_999, scale: 2),
            ])
        #expect(
            table.values("WIDE") == [
                .decimal(-1, scale: 10),
                .decimal(12_345_678_901_234_567_890_123_456_780_123_456_789, scale: 10),
                .null,
                .decimal(-99_999_999_999_999_999_999_999_999_999_999_999_999, scale: 10),
            ])
        #expect(table.values("RATIO") == [.double(-2.5e-10), .double(1.5), .null, .double(0)])
        #expect(table.values("FLAG") == [.bool(false), .bool(true), .null, .bool(false)])
        #expect(table.values("NAME") == [.text("Grüße, 世界 🚀"), .text("hello"), .null, .text("")])
        #expect(
            table.values("DOC") == [
                .text(#"[1,"x",null]"#), .text(#"{"a":1,"b":[true,null]}"#), .null, .text(#""just a string""#),
            ])
        // fakesnow stores TIMESTAMP_TZ in UTC: +05:30 is gone, the offset is always 1440 (+00:00).
        #expect(
            table.values("TS_TZ") == [
                .timestamp(epoch: -1, fraction: 500_000_000, timezone: 1440),
                .timestamp(epoch: 1_704_164_645, fraction: 123_456_000, timezone: 1440),
                .null,
                .timestamp(epoch: 1_719_772_199, fraction: 999_999_000, timezone: 1440),
            ])
        #expect(
            table.values("TS_NTZ") == [
                .timestamp(epoch: -2_203_934_400, fraction: 0, timezone: nil),
                .timestamp(epoch: 1_704_164_645, fraction: 123_456_000, timezone: nil),
                .null,
                .timestamp(epoch: 253_402_300_799, fraction: 999_999_000, timezone: nil),
            ])
        #expect(table.values("DAY") == [.date(days: -1), .date(days: 19724), .null, .date(days: 2_932_896)])
        // TIME is an int64 of nanoseconds (scale 9 in the metadata).
        #expect(table.values("TOD") == [.int(86_399_000_000_000), .int(11_045_123_456_000), .null, .int(0)])
        #expect(table.values("RAW") == [.binary([]), .binary([0xDE, 0xAD, 0xBE, 0xEF]), .null, .binary([0x00, 0xFF])])
    }

    /// The Arrow types and Snowflake's field metadata (logicalType, precision, scale) reach the caller.
    @Test func allTypesSchema() throws {
        let table = try ArrowFixtures.table("select_all_types")
        let types = table.columns.map(\.field.type)
        #expect(
            types == [
                .int(bitWidth: 64, signed: true), .decimal(precision: 10, scale: 2, bitWidth: 128),
                .decimal(precision: 38, scale: 10, bitWidth: 128), .floatingPoint(bitWidth: 64), .bool, .utf8, .utf8,
                .structure, .structure, .date32, .int(bitWidth: 64, signed: true), .binary,
            ])
        #expect(
            table.columns.map { $0.metadata["logicalType"] } == [
                "FIXED", "FIXED", "FIXED", "REAL", "BOOLEAN", "TEXT", "VARIANT",
                "TIMESTAMP_TZ", "TIMESTAMP_NTZ", "DATE", "TIME", "BINARY",
            ])
        #expect(
            table.column(named: "AMOUNT")?.metadata == [
                "logicalType": "FIXED", "precision": "10", "scale": "2", "charLength": "0",
            ])
        #expect(table.column(named: "TOD")?.metadata["scale"] == "9")
        #expect(table.column(named: "TS_TZ")?.field.children.map(\.name) == ["epoch", "fraction", "timezone"])
        #expect(table.columns.allSatisfy { $0.field.nullable })
    }

    /// information_schema.columns, what a loader reads to learn a table's columns, decodes (int32 numbers, NULL precision).
    @Test func informationSchemaColumns() throws {
        let table = try ArrowFixtures.table("information_schema_columns")
        #expect(table.rowCount == 12)
        let names = ["ID", "AMOUNT", "WIDE", "RATIO", "FLAG", "NAME", "DOC", "TS_TZ", "TS_NTZ", "DAY", "TOD", "RAW"]
        #expect(table.values("COLUMN_NAME") == names.map { .text($0) })
        let dataTypes = [
            "NUMBER", "NUMBER", "NUMBER", "FLOAT", "BOOLEAN", "TEXT", "VARIANT", "TIMESTAMP_TZ", "TIMESTAMP_NTZ", "DATE", "TIME",
            "BINARY",
        ]
        #expect(table.values("DATA_TYPE") == dataTypes.map { .text($0) })
        #expect(table.values("ORDINAL_POSITION") == (1...12).map { .int($0) })
        #expect(table.column(named: "ORDINAL_POSITION")?.field.type == .int(bitWidth: 32, signed: true))
        #expect(table.values("NUMERIC_PRECISION") == [.int(38), .int(10), .int(38)] + Array(repeating: .null, count: 9))
        #expect(table.values("NUMERIC_SCALE") == [.int(0), .int(2), .int(10)] + Array(repeating: .null, count: 9))
        #expect(table.values("IS_NULLABLE") == Array(repeating: .text("YES"), count: 12))
    }

    /// The checkpoint lookup with a bound parameter returns only the bound resource's rows.
    @Test func checkpointSelect() throws {
        let table = try ArrowFixtures.table("checkpoint_select")
        #expect(table.rowCount == 2)
        #expect(table.columns.map(\.name) == ["RUN", "VALUE", "ROWS"])
        #expect(table.values("RUN") == [.text("run-1"), .text("run-2")])
        #expect(table.values("VALUE") == [.text("2024-01-02T03:04:05Z"), .null])
        #expect(table.values("ROWS") == [.int(1000), .int(0)])
    }

    /// A result without rows comes as `rowsetBase64: ""`, which is an empty table, not an error.
    @Test func emptyResult() throws {
        #expect(try ArrowFixtures.rowset("empty_result") == "")
        let table = try ArrowFixtures.table("empty_result")
        #expect(table == ArrowTable(columns: [], rowCount: 0))
        #expect(try ArrowStreamReader.read([]) == ArrowTable(columns: [], rowCount: 0))
    }

    /// 5,000 rows arrive in two record batches (4,096 + 904) and come out as one table, in order.
    @Test func manyRows() throws {
        let table = try ArrowFixtures.table("many_rows")
        #expect(table.rowCount == 5000)
        #expect(table.values("N") == (0..<5000).map { .int(Int64($0)) })
        #expect(table.values("LABEL") == (0..<5000).map { .text("row \($0)") })
    }

    /// SHOW TABLES decodes, its created_on a TIMESTAMP_TZ struct and lower-case column names.
    @Test func showTables() throws {
        let table = try ArrowFixtures.table("show_tables")
        #expect(table.rowCount == 1)
        #expect(table.columns.count == 25)
        #expect(table.values("created_on") == [.timestamp(epoch: 0, fraction: 0, timezone: 1440)])
        #expect(table.values("name") == [.text("CONDUIT_TYPES")])
        #expect(table.values("kind") == [.text("TABLE")])
        #expect(table.values("database_name") == [.text("CONDUIT")])
        #expect(table.values("schema_name") == [.text("PUBLIC")])
        #expect(table.values("rows") == [.int(0)])
        #expect(table.values("budget") == [.null])
    }

    /// DESCRIBE TABLE decodes: declared types with their lengths, and column names with spaces.
    @Test func describeTable() throws {
        let table = try ArrowFixtures.table("describe_table")
        #expect(table.rowCount == 12)
        let types = [
            "NUMBER(38,0)", "NUMBER(10,2)", "NUMBER(38,10)", "FLOAT", "BOOLEAN", "VARCHAR(16777216)", "VARIANT",
            "TIMESTAMP_TZ(9)", "TIMESTAMP_NTZ(9)", "DATE", "TIME(9)", "BINARY(8388608)",
        ]
        #expect(table.values("type") == types.map { .text($0) })
        #expect(table.values("null?") == Array(repeating: .text("Y"), count: 12))
        #expect(table.values("primary key") == Array(repeating: .text("N"), count: 12))
        #expect(table.values("default") == Array(repeating: .null, count: 12))
    }

    // MARK: pyarrow streams

    /// Narrow and unsigned integers, float32/16, Null, large strings, date64, decimal64 and a plain struct decode.
    @Test func narrowTypes() throws {
        let table = try ArrowStreamReader.read(ArrowFixtures.pyarrow("narrow_types"))
        #expect(table.rowCount == 3)
        #expect(table.values("i8") == [.int(-128), .int(127), .null])
        #expect(table.values("i16") == [.int(-32768), .int(32767), .null])
        #expect(table.values("i32") == [.int(-2_147_483_648), .int(2_147_483_647), .null])
        #expect(table.values("u8") == [.int(0), .int(255), .null])
        #expect(table.values("u16") == [.int(0), .int(65535), .null])
        #expect(table.values("u32") == [.int(0), .int(4_294_967_295), .null])
        #expect(table.values("u64") == [.int(0), .int(.max), .null])
        #expect(table.values("f32") == [.double(1.5), .double(-0.25), .null])
        #expect(table.values("f16") == [.double(1.5), .double(-2), .null])
        #expect(table.values("null") == [.null, .null, .null])
        #expect(table.values("large_text") == [.text("a"), .text("ü"), .null])
        #expect(table.values("large_bytes") == [.binary([0]), .binary([]), .null])
        #expect(table.values("date64") == [.date(days: 1), .date(days: -1), .null])
        #expect(table.values("dec64") == [.decimal(150, scale: 2), .decimal(-1_234_567_890, scale: 2), .null])
        #expect(table.column(named: "dec64")?.field.type == .decimal(precision: 10, scale: 2, bitWidth: 64))
        #expect(table.values("point") == [.structure([.int(1), .text("a")]), .null, .structure([.null, .text("c")])])
        #expect(table.column(named: "point")?.field.children.map(\.name) == ["x", "label"])
    }

    /// Rows of several record batches, an empty one among them, are concatenated in order.
    @Test func threeBatches() throws {
        let table = try ArrowStreamReader.read(ArrowFixtures.pyarrow("three_batches"))
        #expect(table.rowCount == 5)
        #expect(table.values("n") == [.int(1), .int(2), .int(3), .int(4), .null])
    }

    /// The framing of writers before Arrow 0.15 (no 0xFFFFFFFF continuation marker) is read.
    @Test func legacyFraming() throws {
        let bytes = try ArrowFixtures.pyarrow("legacy_framing")
        #expect(bytes.prefix(4) != [0xFF, 0xFF, 0xFF, 0xFF])
        let table = try ArrowStreamReader.read(bytes)
        #expect(table.values("n") == [.int(1), .int(2), .int(3)])
    }

    /// Dictionary encoding, compression and over-deep nesting are refused with a clear error, not misread.
    @Test(arguments: [
        ("dictionary", "field \"d\" is dictionary-encoded", true),
        ("lz4", "the record batch body is compressed", true),
        ("deep_struct", "the schema nests deeper than 32 or has more than 10000 fields", false),
    ])
    func refused(name: String, reason: String, isUnsupported: Bool) throws {
        let error = #expect(throws: ArrowError.self) { try ArrowStreamReader.read(ArrowFixtures.pyarrow(name)) }
        #expect(error?.reason == reason)
        #expect(error?.isUnsupported == isUnsupported)
        #expect(error?.offset != nil)
    }

    // MARK: framing and errors

    /// A bare end-of-stream marker, in both framings, is an empty table; bytes after it are ignored.
    @Test func endOfStreamOnly() throws {
        #expect(try ArrowStreamReader.read([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]) == ArrowTable(columns: [], rowCount: 0))
        #expect(try ArrowStreamReader.read([0, 0, 0, 0]) == ArrowTable(columns: [], rowCount: 0))
        let full = try ArrowFixtures.stream("checkpoint_select")
        #expect(try ArrowStreamReader.read(full + [1, 2, 3]) == ArrowStreamReader.read(full))
    }

    /// A stream cut after its schema message is a table with the columns and no rows.
    @Test func schemaOnly() throws {
        let full = try ArrowFixtures.stream("checkpoint_select")
        // The schema message: marker, length, metadata; its body is empty.
        let metadataLength = Int(full[4]) | Int(full[5]) << 8 | Int(full[6]) << 16 | Int(full[7]) << 24
        let table = try ArrowStreamReader.read(Array(full[..<(8 + metadataLength)]))
        #expect(table.rowCount == 0)
        #expect(table.columns.map(\.name) == ["RUN", "VALUE", "ROWS"])
        #expect(table.columns.allSatisfy { $0.values.isEmpty })
    }

    /// A truncated stream names what was cut and the byte offset in the message.
    @Test func truncationMessage() throws {
        let full = try ArrowFixtures.stream("checkpoint_select")
        let error = #expect(throws: ArrowError.self) { try ArrowStreamReader.read(Array(full[..<(full.count - 20)])) }
        #expect(error?.reason.hasPrefix("a message body of ") == true)
        #expect(error?.reason.hasSuffix("bytes but only \(full.count - 20 - (error?.offset ?? 0)) are left") == true)
        #expect(error?.description.hasPrefix("malformed Arrow result at byte \(error?.offset ?? -1): ") == true)
    }

    /// A rowset that is not base64 is an ArrowError, not a crash or an empty table.
    @Test func invalidBase64() {
        let error = #expect(throws: ArrowError.self) { try ArrowStreamReader.read(base64: "QUJD*") }
        #expect(error?.description == "malformed Arrow result: the rowset is not valid base64 (5 characters)")
    }

    /// A schema whose struct fields each name the same child twice decodes when small (a check on
    /// the hand-built buffer) and is refused once it would unfold into more than 10,000 fields.
    @Test func sharedChildrenBudget() throws {
        let small = try ArrowStreamReader.read(sharedChildrenSchema(levels: 10))
        #expect(small.rowCount == 0)
        #expect(small.columns.map(\.name) == ["f0"])
        #expect(small.columns.first?.field.children.map(\.name) == ["f1", "f1"])
        // 2^25 fields in 25 levels of a few hundred bytes.
        let error = #expect(throws: ArrowError.self) { try ArrowStreamReader.read(sharedChildrenSchema(levels: 25)) }
        #expect(error?.reason == "the schema nests deeper than 32 or has more than 10000 fields")
    }

    // MARK: robustness (these also run under AddressSanitizer)

    /// Every prefix of every stream throws ArrowError or decodes, never traps or reads out of bounds.
    @Test func everyTruncation() throws {
        for (name, bytes) in try ArrowFixtures.allStreams() {
            var decoded = 0
            for length in 0..<bytes.count {
                if let table = try? ArrowStreamReader.read(Array(bytes[..<length])) {
                    decoded += 1
                    #expect(table.rowCount >= 0, "\(name) cut at \(length)")
                }
            }
            // An empty prefix, at least, is an empty table.
            #expect(decoded >= 1, "\(name)")
        }
    }

    /// Seeded byte mutations (bit flips, extreme integers, copied spans) throw ArrowError or decode, never trap.
    @Test func seededMutations() throws {
        var random = SplitMix64(seed: 0xC0DE_A770)
        let extremes: [[UInt8]] = [
            [0xFF, 0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0x7F], [0x00, 0x00, 0x00, 0x80], [0, 0, 0, 0],
            [0xF8, 0xFF, 0xFF, 0xFF], [0x08, 0, 0, 0], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
        ]
        for (name, original) in try ArrowFixtures.allStreams() {
            for _ in 0..<1500 {
                var bytes = original
                for _ in 0..<(1 + random.next(below: 3)) {
                    let at = random.next(below: bytes.count)
                    switch random.next(below: 4) {
                    case 0:
                        bytes[at] ^= 1 << UInt8(random.next(below: 8))
                    case 1:
                        bytes[at] = UInt8(truncatingIfNeeded: random.next(below: 256))
                    case 2:
                        let extreme = extremes[random.next(below: extremes.count)]
                        for (offset, byte) in extreme.enumerated() where at + offset < bytes.count { bytes[at + offset] = byte }
                    default:
                        // Copy a span elsewhere: offsets and vtables end up pointing at plausible data.
                        let from = random.next(below: bytes.count)
                        let count = min(1 + random.next(below: 16), bytes.count - max(at, from))
                        for offset in 0..<count { bytes[at + offset] = bytes[from + offset] }
                    }
                }
                do {
                    let table = try ArrowStreamReader.read(bytes)
                    for column in table.columns { #expect(column.values.count == table.rowCount, "\(name)") }
                } catch {
                    #expect(!error.description.isEmpty)
                }
            }
        }
    }
}

/// A stream of one Schema message, built by hand: field `f0` is a struct whose two children are
/// both the table of `f1`, and so on for `levels` levels; the last is an int64. FlatBuffers lets
/// tables be shared like this, and pyarrow never writes it, hence the hand-built buffer.
private func sharedChildrenSchema(levels: Int) -> [UInt8] {
    var buffer = FlatBufferWriter()
    // Slots: nil is absent (its default), 0 a reference linked below.
    let message = buffer.table([4, 1, 0])  // version V5, header type Schema, header; no body
    let schema = buffer.table([nil, 0])  // little-endian, fields
    buffer.link(message.fields[2], to: schema.position)
    var parents = [buffer.vector(count: 1)]
    buffer.link(schema.fields[1], to: parents[0][0] - 4)
    for level in 0..<levels {
        let isLeaf = level == levels - 1
        // name, nullable, type (Int or Struct), its table, dictionary, children
        let field = buffer.table([0, 1, isLeaf ? 2 : 13, 0, nil, isLeaf ? nil : 0])
        for element in parents[0] { buffer.link(element, to: field.position) }
        let name = buffer.string("f\(level)")
        buffer.link(field.fields[0], to: name)
        let type = buffer.table(isLeaf ? [64, 1] : [])  // Int: bitWidth 64, signed
        buffer.link(field.fields[3], to: type.position)
        if !isLeaf {
            let children = buffer.vector(count: 2)
            buffer.link(field.fields[5], to: children[0] - 4)
            parents = [children]
        }
    }
    buffer.link(0, to: message.position)
    while buffer.bytes.count % 8 != 0 { buffer.bytes.append(0) }
    let length = UInt32(buffer.bytes.count)
    let prefix: [UInt8] = [
        0xFF, 0xFF, 0xFF, 0xFF, UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24),
    ]
    return prefix + buffer.bytes + [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]
}

/// Just enough of a FlatBuffers writer for `sharedChildrenSchema`: every table gets its own vtable
/// right before it and 4 bytes per slot; offsets are written once their target is known.
private struct FlatBufferWriter {
    /// Starts with the root offset, filled in by `link(0, to:)`.
    var bytes: [UInt8] = [0, 0, 0, 0]

    mutating func put32(_ value: UInt32, at position: Int) {
        for index in 0..<4 { bytes[position + index] = UInt8(value >> (8 * UInt32(index)) & 0xFF) }
    }

    mutating func append32(_ value: UInt32) {
        bytes += [0, 0, 0, 0]
        put32(value, at: bytes.count - 4)
    }

    /// A table whose slots hold the given 4-byte values, nil slots left out (the vtable entry is
    /// zero). Returns where the table and each slot are.
    mutating func table(_ slots: [UInt32?]) -> (position: Int, fields: [Int]) {
        let vtableSize = 4 + 2 * slots.count
        let inlineSize = 4 + 4 * slots.count
        var vtable = [UInt16(vtableSize), UInt16(inlineSize)]
        for (index, slot) in slots.enumerated() { vtable.append(slot == nil ? 0 : UInt16(4 + 4 * index)) }
        if vtable.count % 2 == 1 { vtable.append(0) }  // keep the table 4-byte aligned
        let vtablePosition = bytes.count
        for entry in vtable { bytes += [UInt8(entry & 0xFF), UInt8(entry >> 8)] }
        let position = bytes.count
        append32(UInt32(position - vtablePosition))
        var fields: [Int] = []
        for slot in slots {
            fields.append(bytes.count)
            append32(slot ?? 0)
        }
        return (position, fields)
    }

    /// A vector of `count` offsets; returns each element's position.
    mutating func vector(count: Int) -> [Int] {
        append32(UInt32(count))
        let start = bytes.count
        for _ in 0..<count { append32(0) }
        return (0..<count).map { start + 4 * $0 }
    }

    mutating func string(_ text: String) -> Int {
        let position = bytes.count
        append32(UInt32(text.utf8.count))
        bytes += Array(text.utf8) + [0]
        while bytes.count % 4 != 0 { bytes.append(0) }
        return position
    }

    /// Stores at `field` the forward offset to `target`.
    mutating func link(_ field: Int, to target: Int) {
        put32(UInt32(target - field), at: field)
    }
}
