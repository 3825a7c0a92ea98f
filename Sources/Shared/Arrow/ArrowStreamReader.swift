internal import Stream

/// Decodes an Arrow IPC *stream* — Snowflake's `data.rowsetBase64` once base64-decoded — into an
/// `ArrowTable`, on bytes, without Foundation or an Arrow library.
///
/// The stream is a Schema message followed by any number of RecordBatch messages, each framed as
/// `0xFFFFFFFF`, an int32 metadata length, the FlatBuffers metadata (padded to 8 bytes) and the
/// body; the framing of writers before Arrow 0.15 (no `0xFFFFFFFF`) is read too. It ends with a
/// zero length or at the end of the input; bytes after the end-of-stream marker are ignored.
///
/// Every offset, length and count comes from the input and is checked before it is used, so a
/// truncated or corrupted stream throws `ArrowError` rather than trapping or reading out of
/// bounds. The number of values decoded is bounded by the input's size (16 per byte), so a
/// stream that claims billions of rows cannot make the reader allocate them.
///
/// Not supported, each refused with an `ArrowError` whose `isUnsupported` is true: compressed
/// bodies, dictionary-encoded fields, big-endian streams and the types `ArrowType` leaves out.
package enum ArrowStreamReader {
    /// Decodes a whole stream. An empty input is an empty table (no columns, no rows): fakesnow
    /// sends `rowsetBase64: ""` for a result without rows.
    package static func read(_ bytes: [UInt8]) throws(ArrowError) -> ArrowTable {
        var reader = Reader(bytes: bytes)
        return try reader.read()
    }

    /// Decodes `rowsetBase64` as it appears in a query response (padded standard base64).
    package static func read(base64 text: String) throws(ArrowError) -> ArrowTable {
        var text = text
        guard let bytes = text.withUTF8({ Base64.decode($0) }) else {
            throw ArrowError("the rowset is not valid base64 (\(text.utf8.count) characters)")
        }
        return try read(bytes)
    }
}

/// Schema nesting deeper than this is refused. FlatBuffers offsets only point forward, so a field
/// cannot contain itself, but a crafted buffer could nest thousands deep and exhaust the stack.
private let maximumDepth = 32
/// Fields over the whole schema. Several children may name the same table, so a few hundred bytes
/// of nesting could otherwise unfold into an exponential number of fields.
private let maximumFieldCount = 10_000

/// Arrow's `Type` union, in order, for messages that name the type of a refused field.
private let typeNames = [
    "NONE", "Null", "Int", "FloatingPoint", "Binary", "Utf8", "Bool", "Decimal", "Date", "Time",
    "Timestamp", "Interval", "List", "Struct", "Union", "FixedSizeBinary", "FixedSizeList", "Map",
    "Duration", "LargeBinary", "LargeUtf8", "LargeList", "RunEndEncoded", "BinaryView", "Utf8View",
    "ListView", "LargeListView",
]

/// The header types of Arrow's `MessageHeader` union that a stream may hold.
private enum MessageHeaderType {
    static let schema: UInt8 = 1
    static let dictionaryBatch: UInt8 = 2
    static let recordBatch: UInt8 = 3
}

/// Reads the stream message by message: the framing, the Schema, then each RecordBatch through
/// a ``BatchReader``.
private struct Reader {
    let bytes: [UInt8]
    /// Where the next message starts.
    var position = 0
    /// Values (over all columns, children included) that may still be decoded: 16 per input byte.
    /// A value of any type but Null costs at least a bit of body, so real results stay far below
    /// it, while a corrupted row count cannot make the reader allocate without end.
    var valueBudget: Int

    init(bytes: [UInt8]) {
        self.bytes = bytes
        self.valueBudget = 16 * bytes.count + 4096
    }

    /// The stream's messages in order: one Schema, then RecordBatches whose values append to
    /// the schema's columns.
    mutating func read() throws(ArrowError) -> ArrowTable {
        var fields: [ArrowField]?
        var columns: [[ArrowValue]] = []
        var rowCount = 0
        while let (metadata, body) = try nextMessage() {
            let (headerType, header) = try readMessageHeader(metadata)
            switch headerType {
            case MessageHeaderType.schema:
                guard fields == nil else { throw ArrowError("a second schema message", at: metadata.base) }
                let schema = try readSchema(header)
                fields = schema
                columns = Array(repeating: [], count: schema.count)
            case MessageHeaderType.recordBatch:
                guard let fields else { throw ArrowError("a record batch before the schema", at: metadata.base) }
                rowCount += try readRecordBatch(header, metadata: metadata, body: body, fields: fields, appendingTo: &columns)
            case MessageHeaderType.dictionaryBatch:
                throw ArrowError("a dictionary batch (dictionary-encoded columns)", at: metadata.base, isUnsupported: true)
            default:
                throw ArrowError(
                    "a message of header type \(headerType) (only Schema and RecordBatch are read)", at: metadata.base,
                    isUnsupported: true)
            }
        }
        guard let fields else {
            // No schema at all: only an empty input (or a bare end-of-stream marker) gets here.
            return ArrowTable(columns: [], rowCount: 0)
        }
        return ArrowTable(columns: zip(fields, columns).map { ArrowColumn(field: $0, values: $1) }, rowCount: rowCount)
    }

    /// A message's header type and header table, once its metadata version is one this reader
    /// knows.
    func readMessageHeader(_ metadata: ArrowFlatBuffer) throws(ArrowError) -> (type: UInt8, header: ArrowFlatBufferTable) {
        let message = try metadata.root()
        let version = try message.scalar(0, default: Int16(0), "the message version")
        // V4 (Arrow 0.8) and V5 (1.0) share the layout read here; older ones differ.
        guard version == 3 || version == 4 else {
            throw ArrowError(
                "metadata version V\(Int(version) + 1) (only V4 and V5 are read)", at: metadata.base, isUnsupported: true)
        }
        let headerType = try message.scalar(1, default: UInt8(0), "the message header type")
        guard let header = try message.table(2, "the message header") else {
            throw ArrowError("the message has no header", at: metadata.base)
        }
        return (headerType, header)
    }

    /// Decodes one RecordBatch, appending each field's values to its column; returns its row count.
    mutating func readRecordBatch(
        _ header: ArrowFlatBufferTable, metadata: ArrowFlatBuffer, body: Range<Int>, fields: [ArrowField],
        appendingTo columns: inout [[ArrowValue]]
    ) throws(ArrowError) -> Int {
        var batch = try BatchReader(bytes: bytes, metadata: metadata, recordBatch: header, body: body, budget: valueBudget)
        let length = batch.length
        for (index, field) in fields.enumerated() {
            columns[index] += try batch.decode(field, length: length)
        }
        try batch.finish()
        valueBudget = batch.budget
        return length
    }

    /// The next message's metadata and the range of its body in `bytes`, or nil at the end.
    mutating func nextMessage() throws(ArrowError) -> (ArrowFlatBuffer, Range<Int>)? {
        if position == bytes.count { return nil }
        guard let first = loadLittleEndian(UInt32.self, from: bytes, at: position) else {
            throw ArrowError("the stream ends inside a message length (\(bytes.count - position) bytes left)", at: position)
        }
        let metadataLength: Int32
        if first == 0xFFFF_FFFF {
            guard let length = loadLittleEndian(Int32.self, from: bytes, at: position + 4) else {
                throw ArrowError("the stream ends after a continuation marker", at: position)
            }
            metadataLength = length
            position += 8
        } else {
            // The framing before Arrow 0.15: the length without the continuation marker.
            metadataLength = Int32(bitPattern: first)
            position += 4
        }
        if metadataLength == 0 { return nil }
        guard metadataLength > 0 else {
            throw ArrowError("a negative message length (\(metadataLength))", at: position - 4)
        }
        let length = Int(metadataLength)
        guard length <= bytes.count - position else {
            throw ArrowError("a message of \(length) bytes but only \(bytes.count - position) are left", at: position)
        }
        let metadata = ArrowFlatBuffer(bytes: Array(bytes[position..<(position + length)]), base: position)
        position += length
        let bodyLength = try metadata.root().scalar(3, default: Int64(0), "the body length")
        guard bodyLength >= 0, bodyLength <= Int64(bytes.count - position) else {
            throw ArrowError("a message body of \(bodyLength) bytes but only \(bytes.count - position) are left", at: position)
        }
        let body = position..<(position + Int(bodyLength))
        position = body.upperBound
        return (metadata, body)
    }

    /// The Schema message's fields, in order; a big-endian stream is refused.
    func readSchema(_ schema: ArrowFlatBufferTable) throws(ArrowError) -> [ArrowField] {
        let endianness = try schema.scalar(0, default: Int16(0), "the schema's endianness")
        guard endianness == 0 else {
            throw ArrowError("a big-endian stream", at: schema.buffer.base + schema.position, isUnsupported: true)
        }
        var fieldCount = 0
        var fields: [ArrowField] = []
        for table in try schema.tables(1, "the schema's fields") {
            fields.append(try readField(table, depth: 0, fieldCount: &fieldCount))
        }
        return fields
    }

    /// One field of the schema and, for a struct, its children: name, nullability, type,
    /// custom metadata. `fieldCount` counts the fields read so far over the whole schema.
    func readField(_ table: ArrowFlatBufferTable, depth: Int, fieldCount: inout Int) throws(ArrowError) -> ArrowField {
        let at = table.buffer.base + table.position
        fieldCount += 1
        guard depth < maximumDepth, fieldCount <= maximumFieldCount else {
            throw ArrowError("the schema nests deeper than \(maximumDepth) or has more than \(maximumFieldCount) fields", at: at)
        }
        let name = try table.string(0, "a field name") ?? ""
        let nullable = try table.bool(1, default: false, "the nullability of field \"\(name)\"")
        let typeID = try table.scalar(2, default: UInt8(0), "the type of field \"\(name)\"")
        if try table.table(4, "the dictionary of field \"\(name)\"") != nil {
            throw ArrowError("field \"\(name)\" is dictionary-encoded", at: at, isUnsupported: true)
        }
        let typeName = Int(typeID) < typeNames.count ? typeNames[Int(typeID)] : "#\(typeID)"
        guard let typeTable = try table.table(3, "the type of field \"\(name)\"") else {
            throw ArrowError("field \"\(name)\" has type \(typeName) without its parameters", at: at)
        }
        let type = try readType(typeID, parameters: typeTable, typeName: typeName, field: name, at: at)
        let childTables = try table.tables(5, "the children of field \"\(name)\"")
        guard type == .structure || childTables.isEmpty else {
            throw ArrowError("field \"\(name)\" of type \(typeName) has child fields", at: at)
        }
        var children: [ArrowField] = []
        for child in childTables {
            children.append(try readField(child, depth: depth + 1, fieldCount: &fieldCount))
        }
        let metadata = try readCustomMetadata(table, field: name)
        return ArrowField(name: name, type: type, nullable: nullable, metadata: metadata, children: children)
    }

    /// The `ArrowType` of a field's `Type` union member `typeID`, read from its parameter table
    /// (bit widths, precision, units); a type outside `ArrowType` is refused.
    func readType(
        _ typeID: UInt8, parameters typeTable: ArrowFlatBufferTable, typeName: String, field name: String, at: Int
    ) throws(ArrowError) -> ArrowType {
        switch typeID {
        case 1: return .null
        case 2:
            let bitWidth = try typeTable.scalar(0, default: Int32(0), "the bit width of field \"\(name)\"")
            guard [8, 16, 32, 64].contains(bitWidth) else {
                throw ArrowError("field \"\(name)\" is an integer of \(bitWidth) bits", at: at)
            }
            return .int(
                bitWidth: Int(bitWidth), signed: try typeTable.bool(1, default: false, "the signedness of field \"\(name)\""))
        case 3:
            switch try typeTable.scalar(0, default: Int16(0), "the precision of field \"\(name)\"") {
            case 0: return .floatingPoint(bitWidth: 16)
            case 1: return .floatingPoint(bitWidth: 32)
            case 2: return .floatingPoint(bitWidth: 64)
            case let precision: throw ArrowError("field \"\(name)\" has floating-point precision \(precision)", at: at)
            }
        case 4: return .binary
        case 5: return .utf8
        case 6: return .bool
        case 7:
            let precision = try typeTable.scalar(0, default: Int32(0), "the precision of field \"\(name)\"")
            let scale = try typeTable.scalar(1, default: Int32(0), "the scale of field \"\(name)\"")
            let bitWidth = try typeTable.scalar(2, default: Int32(128), "the bit width of field \"\(name)\"")
            guard [32, 64, 128].contains(bitWidth) else {
                throw ArrowError("field \"\(name)\" is a decimal of \(bitWidth) bits", at: at, isUnsupported: bitWidth == 256)
            }
            return .decimal(precision: precision, scale: scale, bitWidth: Int(bitWidth))
        case 8:
            // Date's unit defaults to milliseconds in Schema.fbs.
            switch try typeTable.scalar(0, default: Int16(1), "the date unit of field \"\(name)\"") {
            case 0: return .date32
            case 1: return .date64
            case let unit: throw ArrowError("field \"\(name)\" has date unit \(unit)", at: at)
            }
        case 13: return .structure
        case 19: return .largeBinary
        case 20: return .largeUtf8
        default:
            throw ArrowError(
                "field \"\(name)\" has type \(typeName)", at: at, isUnsupported: typeID != 0 && Int(typeID) < typeNames.count)
        }
    }

    /// A field's `custom_metadata` key/value pairs; a later duplicate key wins.
    func readCustomMetadata(_ table: ArrowFlatBufferTable, field name: String) throws(ArrowError) -> [String: String] {
        var metadata: [String: String] = [:]
        for pair in try table.tables(6, "the metadata of field \"\(name)\"") {
            let key = try pair.string(0, "a metadata key of field \"\(name)\"") ?? ""
            metadata[key] = try pair.string(1, "the metadata value \"\(key)\" of field \"\(name)\"") ?? ""
        }
        return metadata
    }
}

/// Decodes one RecordBatch: walks the schema depth-first, taking a field node (length and null
/// count) and the type's buffers (validity, offsets, data) in the order the writer laid them out.
private struct BatchReader {
    let bytes: [UInt8]
    let body: Range<Int>
    /// The batch's row count.
    let length: Int
    /// Where the field-node and buffer vectors start in the metadata, and how many each holds.
    let metadata: ArrowFlatBuffer
    let nodes: (start: Int, count: Int)
    let buffers: (start: Int, count: Int)
    var nextNode = 0
    var nextBuffer = 0
    var budget: Int

    init(
        bytes: [UInt8], metadata: ArrowFlatBuffer, recordBatch: ArrowFlatBufferTable, body: Range<Int>, budget: Int
    ) throws(ArrowError) {
        self.bytes = bytes
        self.metadata = metadata
        self.body = body
        self.budget = budget
        let at = metadata.base + recordBatch.position
        if try recordBatch.table(3, "the record batch's compression") != nil {
            throw ArrowError("the record batch body is compressed", at: at, isUnsupported: true)
        }
        let length = try recordBatch.scalar(0, default: Int64(0), "the record batch length")
        guard length >= 0, length <= Int64(budget) else {
            throw ArrowError("a record batch of \(length) rows in a \(bytes.count)-byte stream", at: at)
        }
        self.length = Int(length)
        // FieldNode and Buffer are structs of two int64s.
        nodes = try recordBatch.vector(1, elementSize: 16, "the record batch's field nodes") ?? (0, 0)
        buffers = try recordBatch.vector(2, elementSize: 16, "the record batch's buffers") ?? (0, 0)
    }

    /// Checks that the schema used every node and buffer: a mismatch means the batch was written
    /// for another schema, and its values would be misattributed.
    func finish() throws(ArrowError) {
        guard nextNode == nodes.count, nextBuffer == buffers.count else {
            throw ArrowError(
                "the record batch has \(nodes.count) field nodes and \(buffers.count) buffers, the schema uses \(nextNode) and \(nextBuffer)",
                at: metadata.base)
        }
    }

    /// The next field node, checked to describe `expected` rows.
    mutating func node(for field: ArrowField, expected: Int) throws(ArrowError) -> Int {
        guard nextNode < nodes.count else {
            throw ArrowError(
                "the record batch has \(nodes.count) field nodes, too few for the schema (at field \"\(field.name)\")",
                at: metadata.base)
        }
        let entry = nodes.start + 16 * nextNode
        nextNode += 1
        let length = try metadata.integer(Int64.self, at: entry, "a field node")
        let nullCount = try metadata.integer(Int64.self, at: entry + 8, "a field node")
        guard length == Int64(expected) else {
            throw ArrowError("field \"\(field.name)\" has \(length) values, expected \(expected)", at: metadata.base + entry)
        }
        guard nullCount >= 0, nullCount <= length else {
            throw ArrowError(
                "field \"\(field.name)\" has a null count of \(nullCount) for \(length) values", at: metadata.base + entry + 8)
        }
        guard expected <= budget else {
            throw ArrowError("more values than a \(bytes.count)-byte stream can hold", at: metadata.base + entry)
        }
        budget -= expected
        return Int(nullCount)
    }

    /// The next buffer's range in `bytes`, checked to lie inside the message body.
    mutating func buffer(for field: ArrowField) throws(ArrowError) -> Range<Int> {
        guard nextBuffer < buffers.count else {
            throw ArrowError(
                "the record batch has \(buffers.count) buffers, too few for the schema (at field \"\(field.name)\")",
                at: metadata.base)
        }
        let entry = buffers.start + 16 * nextBuffer
        nextBuffer += 1
        let offset = try metadata.integer(Int64.self, at: entry, "a buffer")
        let length = try metadata.integer(Int64.self, at: entry + 8, "a buffer")
        // Reads are byte by byte, so an unaligned offset is harmless and accepted.
        guard offset >= 0, length >= 0, offset <= Int64(body.count), length <= Int64(body.count) - offset else {
            throw ArrowError(
                "a buffer of field \"\(field.name)\" (offset \(offset), \(length) bytes) lies outside the \(body.count)-byte body",
                at: metadata.base + entry)
        }
        let start = body.lowerBound + Int(offset)
        return start..<(start + Int(length))
    }

    /// The validity of each of `count` values: a bitmap, least significant bit first; an empty
    /// buffer when there are no nulls.
    mutating func validity(for field: ArrowField, count: Int, nullCount: Int) throws(ArrowError) -> [Bool] {
        let bitmap = try buffer(for: field)
        // Like Arrow C++, a zero null count means all valid whatever the bitmap says.
        if nullCount == 0 { return Array(repeating: true, count: count) }
        guard bitmap.count >= (count + 7) / 8 else {
            throw ArrowError(
                "field \"\(field.name)\" has \(nullCount) nulls but a \(bitmap.count)-byte validity bitmap for \(count) values",
                at: bitmap.lowerBound)
        }
        var valid: [Bool] = []
        valid.reserveCapacity(count)
        for index in 0..<count {
            valid.append(bytes[bitmap.lowerBound + index / 8] >> (index % 8) & 1 == 1)
        }
        return valid
    }

    /// Checks that a fixed-width data buffer holds `count` values of `width` bytes.
    func require(_ data: Range<Int>, count: Int, width: Int, _ field: ArrowField) throws(ArrowError) {
        guard data.count / width >= count else {
            throw ArrowError(
                "the data of field \"\(field.name)\" is \(data.count) bytes, too short for \(count) values of \(width) bytes",
                at: data.lowerBound)
        }
    }

    /// `count` values of `field`, consuming its node and buffers and those of its children.
    mutating func decode(_ field: ArrowField, length count: Int) throws(ArrowError) -> [ArrowValue] {
        let nullCount = try node(for: field, expected: count)
        if field.type == .null {
            // The Null type has no buffers at all, not even a validity bitmap.
            return Array(repeating: .null, count: count)
        }
        let valid = try validity(for: field, count: count, nullCount: nullCount)
        switch field.type {
        case .null:
            return []  // Returned above, before the validity bitmap.
        case .int(let bitWidth, let signed):
            return try decodeIntegers(field, width: bitWidth / 8, signed: signed, valid: valid)
        case .floatingPoint(let bitWidth):
            return try decodeFloatingPoint(field, bitWidth: bitWidth, valid: valid)
        case .decimal(_, let scale, let bitWidth):
            return try decodeDecimals(field, bitWidth: bitWidth, scale: scale, valid: valid)
        case .bool:
            return try decodeBooleans(field, valid: valid)
        case .utf8, .largeUtf8, .binary, .largeBinary:
            return try decodeVariableLength(field, valid: valid)
        case .date32, .date64:
            return try decodeDates(field, valid: valid)
        case .structure:
            return try decodeStructs(field, valid: valid)
        }
    }

    /// The values of a fixed-width type from its data buffer: `value` reads the one whose
    /// `width` bytes start at the position it is given; a slot the validity bitmap clears is null.
    func fixedWidthValues(
        _ field: ArrowField, data: Range<Int>, width: Int, valid: [Bool], _ value: (Int) throws(ArrowError) -> ArrowValue
    ) throws(ArrowError) -> [ArrowValue] {
        try require(data, count: valid.count, width: width, field)
        var values: [ArrowValue] = []
        values.reserveCapacity(valid.count)
        for index in valid.indices {
            guard valid[index] else {
                values.append(.null)
                continue
            }
            values.append(try value(data.lowerBound + index * width))
        }
        return values
    }

    /// Signed and unsigned integers of 1, 2, 4 or 8 bytes, as `Int64`.
    mutating func decodeIntegers(_ field: ArrowField, width: Int, signed: Bool, valid: [Bool]) throws(ArrowError) -> [ArrowValue]
    {
        let data = try buffer(for: field)
        return try fixedWidthValues(field, data: data, width: width, valid: valid) { (at) throws(ArrowError) in
            .int(try integer(at: at, width: width, signed: signed, field))
        }
    }

    /// Half, single and double precision, widened to `Double`.
    mutating func decodeFloatingPoint(_ field: ArrowField, bitWidth: Int, valid: [Bool]) throws(ArrowError) -> [ArrowValue] {
        let data = try buffer(for: field)
        return try fixedWidthValues(field, data: data, width: bitWidth / 8, valid: valid) { (at) throws(ArrowError) in
            switch bitWidth {
            case 16: .double(Double(Float16(bitPattern: try load(UInt16.self, at: at, field))))
            case 32: .double(Double(Float(bitPattern: try load(UInt32.self, at: at, field))))
            default: .double(Double(bitPattern: try load(UInt64.self, at: at, field)))
            }
        }
    }

    /// 32-, 64- and 128-bit decimals: the unscaled two's complement integer and the type's scale.
    mutating func decodeDecimals(
        _ field: ArrowField, bitWidth: Int, scale: Int32, valid: [Bool]
    ) throws(ArrowError) -> [ArrowValue] {
        let data = try buffer(for: field)
        return try fixedWidthValues(field, data: data, width: bitWidth / 8, valid: valid) { (at) throws(ArrowError) in
            let unscaled: Int128
            switch bitWidth {
            case 32: unscaled = Int128(try load(Int32.self, at: at, field))
            case 64: unscaled = Int128(try load(Int64.self, at: at, field))
            default:
                // Two's complement over 16 bytes: the low word first.
                let low = try load(UInt64.self, at: at, field)
                let high = try load(UInt64.self, at: at + 8, field)
                unscaled = Int128(truncatingIfNeeded: UInt128(high) << 64 | UInt128(low))
            }
            return .decimal(unscaled, scale: scale)
        }
    }

    /// Booleans: a bitmap, least significant bit first, like the validity bitmap.
    mutating func decodeBooleans(_ field: ArrowField, valid: [Bool]) throws(ArrowError) -> [ArrowValue] {
        let count = valid.count
        let data = try buffer(for: field)
        guard data.count >= (count + 7) / 8 else {
            throw ArrowError(
                "the data of field \"\(field.name)\" is \(data.count) bytes, too short for \(count) booleans", at: data.lowerBound
            )
        }
        var values: [ArrowValue] = []
        values.reserveCapacity(count)
        for index in 0..<count {
            guard valid[index] else {
                values.append(.null)
                continue
            }
            values.append(.bool(bytes[data.lowerBound + index / 8] >> (index % 8) & 1 == 1))
        }
        return values
    }

    /// Text and bytes, plain or large: an offsets buffer (`count + 1` offsets of 4 or 8 bytes)
    /// into a data buffer; text must be UTF-8.
    mutating func decodeVariableLength(_ field: ArrowField, valid: [Bool]) throws(ArrowError) -> [ArrowValue] {
        let count = valid.count
        let offsetWidth = field.type == .largeUtf8 || field.type == .largeBinary ? 8 : 4
        let isText = field.type == .utf8 || field.type == .largeUtf8
        let offsets = try buffer(for: field)
        let data = try buffer(for: field)
        // An empty array may leave out even the first offset.
        if count > 0 { try require(offsets, count: count + 1, width: offsetWidth, field) }
        var values: [ArrowValue] = []
        values.reserveCapacity(count)
        for index in 0..<count {
            guard valid[index] else {
                values.append(.null)
                continue
            }
            let slice = try variableLengthSlice(index, of: field, offsets: offsets, offsetWidth: offsetWidth, data: data)
            if isText {
                guard let text = String(validating: slice, as: UTF8.self) else {
                    throw ArrowError("value \(index) of field \"\(field.name)\" is not valid UTF-8", at: slice.startIndex)
                }
                values.append(.text(text))
            } else {
                values.append(.binary(Array(slice)))
            }
        }
        return values
    }

    /// The bytes of value `index` of a text or bytes field, its two offsets checked against the
    /// data buffer.
    func variableLengthSlice(
        _ index: Int, of field: ArrowField, offsets: Range<Int>, offsetWidth: Int, data: Range<Int>
    ) throws(ArrowError) -> ArraySlice<UInt8> {
        let at = offsets.lowerBound + index * offsetWidth
        let start = try integer(at: at, width: offsetWidth, signed: true, field)
        let end = try integer(at: at + offsetWidth, width: offsetWidth, signed: true, field)
        guard start >= 0, start <= end, end <= Int64(data.count) else {
            throw ArrowError(
                "value \(index) of field \"\(field.name)\" spans bytes \(start)..<\(end) of a \(data.count)-byte buffer", at: at)
        }
        return bytes[(data.lowerBound + Int(start))..<(data.lowerBound + Int(end))]
    }

    /// Dates: date32 counts days, date64 milliseconds, both since 1970-01-01.
    mutating func decodeDates(_ field: ArrowField, valid: [Bool]) throws(ArrowError) -> [ArrowValue] {
        let data = try buffer(for: field)
        let width = field.type == .date32 ? 4 : 8
        return try fixedWidthValues(field, data: data, width: width, valid: valid) { (at) throws(ArrowError) in
            if width == 4 { return .date(days: try load(Int32.self, at: at, field)) }
            let milliseconds = try load(Int64.self, at: at, field)
            return .date(days: try days(fromMilliseconds: milliseconds, value: (at - data.lowerBound) / width, at: at, field))
        }
    }

    /// The day a date64 names (value `index` of `field`, at `position`); floor division, so a
    /// date before 1970 that is not a whole day still names its day.
    func days(
        fromMilliseconds milliseconds: Int64, value index: Int, at position: Int, _ field: ArrowField
    ) throws(ArrowError) -> Int32 {
        let (quotient, remainder) = milliseconds.quotientAndRemainder(dividingBy: 86_400_000)
        let days = remainder < 0 ? quotient - 1 : quotient
        guard let days = Int32(exactly: days) else {
            throw ArrowError(
                "value \(index) of field \"\(field.name)\" is a date out of range (\(milliseconds) ms)", at: position)
        }
        return days
    }

    /// Structs: each child decoded in full (its own node and buffers), then one value per row —
    /// Snowflake's timestamp struct as a `.timestamp`, any other as the children's values.
    mutating func decodeStructs(_ field: ArrowField, valid: [Bool]) throws(ArrowError) -> [ArrowValue] {
        let count = valid.count
        var children: [[ArrowValue]] = []
        for child in field.children {
            children.append(try decode(child, length: count))
        }
        let isTimestamp = Self.isSnowflakeTimestamp(field)
        var values: [ArrowValue] = []
        values.reserveCapacity(count)
        for index in 0..<count {
            guard valid[index] else {
                values.append(.null)
                continue
            }
            if isTimestamp {
                values.append(Self.timestamp(row: index, children: children))
            } else {
                var row: [ArrowValue] = []
                row.reserveCapacity(children.count)
                for child in children { row.append(child[index]) }
                values.append(.structure(row))
            }
        }
        return values
    }

    /// Row `row` of a Snowflake timestamp struct's children (epoch, fraction, timezone); null
    /// when the epoch or the fraction is.
    static func timestamp(row index: Int, children: [[ArrowValue]]) -> ArrowValue {
        guard case .int(let epoch) = children[0][index], case .int(let fraction) = children[1][index] else {
            return .null
        }
        var timezone: Int32?
        if children.count == 3, case .int(let offset) = children[2][index] { timezone = Int32(truncatingIfNeeded: offset) }
        return .timestamp(epoch: epoch, fraction: Int32(truncatingIfNeeded: fraction), timezone: timezone)
    }

    /// Whether a struct is Snowflake's timestamp: `epoch` int64, `fraction` int32 and for
    /// TIMESTAMP_TZ `timezone` int32. Other shapes (Snowflake's `{epoch, timezone}` for small
    /// scales) stay generic structs for the caller to read with the field's metadata.
    static func isSnowflakeTimestamp(_ field: ArrowField) -> Bool {
        let children = field.children
        guard children.count == 2 || children.count == 3,
            children[0].name == "epoch", children[0].type == .int(bitWidth: 64, signed: true),
            children[1].name == "fraction", children[1].type == .int(bitWidth: 32, signed: true)
        else { return false }
        return children.count == 2 || (children[2].name == "timezone" && children[2].type == .int(bitWidth: 32, signed: true))
    }

    func load<T: FixedWidthInteger>(_ type: T.Type, at position: Int, _ field: ArrowField) throws(ArrowError) -> T {
        // Callers check their buffer first; this keeps a missed check an error, not a trap.
        guard let value = loadLittleEndian(type, from: bytes, at: position) else {
            throw ArrowError("a value of field \"\(field.name)\" lies outside the stream", at: position)
        }
        return value
    }

    /// An integer of `width` bytes as Int64; an unsigned 64-bit value above `Int64.max` throws.
    func integer(at position: Int, width: Int, signed: Bool, _ field: ArrowField) throws(ArrowError) -> Int64 {
        switch (width, signed) {
        case (1, true): return Int64(try load(Int8.self, at: position, field))
        case (1, false): return Int64(try load(UInt8.self, at: position, field))
        case (2, true): return Int64(try load(Int16.self, at: position, field))
        case (2, false): return Int64(try load(UInt16.self, at: position, field))
        case (4, true): return Int64(try load(Int32.self, at: position, field))
        case (4, false): return Int64(try load(UInt32.self, at: position, field))
        case (_, true): return try load(Int64.self, at: position, field)
        case (_, false):
            let value = try load(UInt64.self, at: position, field)
            guard let exact = Int64(exactly: value) else {
                throw ArrowError(
                    "a value of field \"\(field.name)\" (\(value)) does not fit a signed 64-bit integer", at: position,
                    isUnsupported: true)
            }
            return exact
        }
    }
}
