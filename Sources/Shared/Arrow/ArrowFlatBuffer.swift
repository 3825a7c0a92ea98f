/// Reads a little-endian integer of at most 8 bytes from `bytes` at `position`; nil when the
/// bytes are not all there. Every read of the Arrow reader goes through here, so a bad offset
/// becomes an error instead of a trap or an out-of-bounds read.
func loadLittleEndian<T: FixedWidthInteger>(_ type: T.Type, from bytes: [UInt8], at position: Int) -> T? {
    let size = MemoryLayout<T>.size
    precondition(size <= 8, "loadLittleEndian reads at most 8 bytes")
    guard position >= 0, position <= bytes.count - size else { return nil }
    var value: UInt64 = 0
    for index in 0..<size {
        value |= UInt64(bytes[position + index]) << (8 * index)
    }
    // Truncation keeps the bit pattern: a signed type gets its two's complement value back.
    return T(truncatingIfNeeded: value)
}

/// One FlatBuffers buffer — the metadata of an Arrow IPC message — read with a bounds check on
/// every access.
///
/// Only what Arrow's `Message.fbs` and `Schema.fbs` need: tables, scalars, strings, vectors of
/// tables and of structs, unions (as a type byte plus a table). Offsets come from the input and
/// may point anywhere, so nothing is trusted: a reference outside the buffer, a vtable that
/// overlaps its end or a string that is not UTF-8 throws `ArrowError` naming the stream offset.
struct ArrowFlatBuffer {
    /// The message's metadata, copied out of the stream so positions start at zero.
    let bytes: [UInt8]
    /// Where `bytes` starts in the whole stream, so an error names the stream's byte offset.
    let base: Int

    func error(_ reason: String, at position: Int) -> ArrowError {
        ArrowError(reason, at: base + position)
    }

    func integer<T: FixedWidthInteger>(
        _ type: T.Type, at position: Int, _ what: @autoclosure () -> String
    ) throws(ArrowError) -> T {
        guard let value = loadLittleEndian(type, from: bytes, at: position) else {
            throw error("\(what()) lies outside the \(bytes.count)-byte message metadata", at: max(0, min(position, bytes.count)))
        }
        return value
    }

    /// The root table: the buffer starts with its offset.
    func root() throws(ArrowError) -> ArrowFlatBufferTable {
        let offset = try integer(UInt32.self, at: 0, "the root table offset")
        return try table(at: Int(offset), "the root table")
    }

    /// The table starting at `position`, with its vtable checked against the buffer.
    func table(at position: Int, _ what: @autoclosure () -> String) throws(ArrowError) -> ArrowFlatBufferTable {
        let vtableDistance = try integer(Int32.self, at: position, "\(what()) (table)")
        // The table stores the signed distance back to its vtable.
        let vtable = position - Int(vtableDistance)
        let vtableSize = Int(try integer(UInt16.self, at: vtable, "the vtable of \(what())"))
        let inlineSize = Int(try integer(UInt16.self, at: vtable + 2, "the vtable of \(what())"))
        guard vtableSize >= 4, vtableSize % 2 == 0, vtable <= bytes.count - vtableSize else {
            throw error("the vtable of \(what()) has a bad size (\(vtableSize) bytes)", at: vtable)
        }
        guard inlineSize >= 4, position <= bytes.count - inlineSize else {
            throw error("\(what()) claims \(inlineSize) bytes, past the end of the message metadata", at: position)
        }
        return ArrowFlatBufferTable(
            buffer: self, position: position, vtable: vtable, slotCount: (vtableSize - 4) / 2, inlineSize: inlineSize)
    }

    /// Follows the 32-bit offset stored at `position`, which is relative to `position` itself.
    func indirect(at position: Int, _ what: @autoclosure () -> String) throws(ArrowError) -> Int {
        position + Int(try integer(UInt32.self, at: position, what()))
    }
}

/// A table of an `ArrowFlatBuffer`: fields are looked up by slot (their order in the schema file,
/// a union taking two slots: its type, then its value).
struct ArrowFlatBufferTable {
    let buffer: ArrowFlatBuffer
    let position: Int
    let vtable: Int
    let slotCount: Int
    let inlineSize: Int

    /// Where the field in `slot` is stored, or nil when the table leaves it out (its default).
    func fieldPosition(_ slot: Int, size: Int, _ what: String) throws(ArrowError) -> Int? {
        guard slot < slotCount else { return nil }
        let offset = Int(try buffer.integer(UInt16.self, at: vtable + 4 + 2 * slot, "the vtable entry of \(what)"))
        if offset == 0 { return nil }
        // A field sits in the table's inline part, after the vtable distance.
        guard offset >= 4, offset + size <= inlineSize else {
            throw buffer.error("\(what) is stored outside its table", at: position)
        }
        return position + offset
    }

    func scalar<T: FixedWidthInteger>(_ slot: Int, default value: T, _ what: String) throws(ArrowError) -> T {
        guard let field = try fieldPosition(slot, size: MemoryLayout<T>.size, what) else { return value }
        return try buffer.integer(T.self, at: field, what)
    }

    func bool(_ slot: Int, default value: Bool, _ what: String) throws(ArrowError) -> Bool {
        try scalar(slot, default: value ? UInt8(1) : 0, what) != 0
    }

    func table(_ slot: Int, _ what: String) throws(ArrowError) -> ArrowFlatBufferTable? {
        guard let field = try fieldPosition(slot, size: 4, what) else { return nil }
        return try buffer.table(at: try buffer.indirect(at: field, what), what)
    }

    func string(_ slot: Int, _ what: String) throws(ArrowError) -> String? {
        guard let field = try fieldPosition(slot, size: 4, what) else { return nil }
        let start = try buffer.indirect(at: field, what)
        let length = Int(try buffer.integer(UInt32.self, at: start, "the length of \(what)"))
        guard start + 4 <= buffer.bytes.count - length else {
            throw buffer.error("\(what) (\(length) bytes) runs past the end of the message metadata", at: start)
        }
        guard let text = String(validating: buffer.bytes[(start + 4)..<(start + 4 + length)], as: UTF8.self) else {
            throw buffer.error("\(what) is not valid UTF-8", at: start + 4)
        }
        return text
    }

    /// The position of a vector's first element and its element count, checked to fit the buffer.
    func vector(_ slot: Int, elementSize: Int, _ what: String) throws(ArrowError) -> (start: Int, count: Int)? {
        guard let field = try fieldPosition(slot, size: 4, what) else { return nil }
        let start = try buffer.indirect(at: field, what)
        let count = Int(try buffer.integer(UInt32.self, at: start, "the length of \(what)"))
        guard start + 4 <= buffer.bytes.count - count * elementSize else {
            throw buffer.error("\(what) (\(count) entries) runs past the end of the message metadata", at: start)
        }
        return (start + 4, count)
    }

    /// A vector of tables; empty when the table leaves it out.
    func tables(_ slot: Int, _ what: String) throws(ArrowError) -> [ArrowFlatBufferTable] {
        guard let (start, count) = try vector(slot, elementSize: 4, what) else { return [] }
        var tables: [ArrowFlatBufferTable] = []
        tables.reserveCapacity(count)
        for index in 0..<count {
            let element = start + 4 * index
            tables.append(try buffer.table(at: try buffer.indirect(at: element, what), "\(what) #\(index)"))
        }
        return tables
    }
}
