public import Core

/// Writes a query's rows as NDJSON — one `{"column":value,…}` object a line, the columns in the
/// result's order — into a buffer it hands to an ``GroupSafeOutput`` once full, following the
/// incremental column's value groups (``ValueGroupTracker``). Every source writes its rows
/// through it; each appends its own values' JSON text.
///
/// Keep it in a local variable: a struct's buffer is appended to without the dynamic
/// exclusivity check that a class's stored property pays on every access.
package struct NDJSONRowWriter: ~Copyable {
    @usableFromInline let output: GroupSafeOutput
    /// Each column's `"name":`, escaped once, one after another (one array: appending a key
    /// costs no reference count); `keyEnds[n]` is where column n's ends.
    @usableFromInline let keyBytes: [UInt8]
    @usableFromInline let keyEnds: [Int]
    /// The incremental column's position in the row, when the result has that column.
    @usableFromInline let groupColumn: Int?
    /// ``GroupSafeOutput/flushThreshold``: the buffer's size when it is handed over.
    @usableFromInline let flushThreshold: Int
    @usableFromInline var buffer: ByteBuffer
    @usableFromInline var groups: ValueGroupTracker?
    @usableFromInline var rowCount = 0

    /// A writer for rows with these columns; `incrementalColumn` names the column whose values
    /// form the value groups (nil, or a name the result lacks: none).
    package init(columnNames: [String], incrementalColumn: String?, output: GroupSafeOutput) {
        self.output = output
        var keyBytes: [UInt8] = []
        var keyEnds: [Int] = []
        for name in columnNames {
            JSONEscaping.appendQuoted(name, to: &keyBytes)
            keyBytes.append(UInt8(ascii: ":"))
            keyEnds.append(keyBytes.count)
        }
        self.keyBytes = keyBytes
        self.keyEnds = keyEnds
        groupColumn = incrementalColumn.flatMap { name in columnNames.firstIndex(of: name) }
        groups = groupColumn.map { _ in ValueGroupTracker(tracksMaximum: !output.holdsValueGroups) }
        flushThreshold = GroupSafeOutput.flushThreshold
        buffer = ByteBuffer(capacity: flushThreshold + 64 * 1024)
    }

    /// Appends one row, calling `appendValue(column, &buffer)` for each column in order to append
    /// its value as JSON text, and hands the buffer to the output once it is full.
    package mutating func writeRow(_ appendValue: (_ column: Int, _ buffer: inout ByteBuffer) -> Void) throws(ConduitError) {
        try writeRowMembers { (buffer, keys) -> Range<Int> in
            var valueRange = 0..<0
            for column in 0..<keys.count {
                keys.appendKey(column, to: &buffer)
                let valueStart = buffer.count
                appendValue(column, &buffer)
                if column == keys.groupColumn { valueRange = valueStart..<buffer.count }
            }
            return valueRange
        }
    }

    /// Appends one row whose members `appendMembers(&buffer, keys)` appends itself, each column's
    /// key (``MemberKeys/appendKey(_:to:)``) then its value, in order; it returns where the
    /// value of ``MemberKeys/groupColumn`` lies in the buffer. One call a row instead of one a
    /// value: a source's value loop, in its own module, is then compiled with its encoders.
    package mutating func writeRowMembers(
        _ appendMembers: (_ buffer: inout ByteBuffer, _ keys: MemberKeys) -> Range<Int>
    )
        throws(ConduitError)
    {
        let rowStart = buffer.count
        buffer.append(UInt8(ascii: "{"))
        let groupColumn = self.groupColumn ?? -1
        let valueRange = keyBytes.withUnsafeBufferPointer { keys in
            keyEnds.withUnsafeBufferPointer { keyEnds in
                appendMembers(&buffer, MemberKeys(bytes: keys, ends: keyEnds, groupColumn: groupColumn))
            }
        }
        buffer.append(UInt8(ascii: "}"))
        buffer.append(UInt8(ascii: "\n"))
        rowCount += 1
        if groups != nil {
            buffer.withUnsafeBufferPointer {
                groups?.rowAppended(at: rowStart, value: UnsafeBufferPointer(rebasing: $0[valueRange]))
            }
        }
        if buffer.count >= flushThreshold { try output.flush(&buffer, groups: &groups) }
    }

    /// At the end of the rows: the open value group is complete, so everything is written.
    package mutating func finish() throws(ConduitError) {
        try output.finish(&buffer, groups: &groups)
    }

    /// After a failure: the rows before it go out in whole value groups; the open group, which
    /// may be partial, does not.
    package mutating func abandon() {
        output.abandon(&buffer, groups: groups)
    }

    /// Rows appended so far.
    package var rowsWritten: Int { rowCount }

    /// The greatest incremental value appended (``ValueGroupTracker/upperBound``); nil without
    /// an incremental column or rows.
    package var lastValue: StateValue? { groups?.upperBound }
}

@available(*, unavailable)
extension NDJSONRowWriter: Sendable {}

/// The keys of a row's members, each as `"name":`, for the duration of
/// ``NDJSONRowWriter/writeRowMembers(_:)``. Public with inlinable methods, as ``ByteBuffer`` is: a
/// `package` function's body is not inlined into another target, and this runs once a value.
public struct MemberKeys {
    @usableFromInline let bytes: UnsafeBufferPointer<UInt8>
    @usableFromInline let ends: UnsafeBufferPointer<Int>
    /// The column whose values form the value groups; -1 when none does.
    public let groupColumn: Int

    @usableFromInline
    init(bytes: UnsafeBufferPointer<UInt8>, ends: UnsafeBufferPointer<Int>, groupColumn: Int) {
        self.bytes = bytes
        self.ends = ends
        self.groupColumn = groupColumn
    }

    /// How many columns a row has.
    public var count: Int { ends.count }

    /// Appends column `column`'s `"name":`, after a comma for every column but the first.
    @inlinable @inline(__always)
    public func appendKey(_ column: Int, to buffer: inout ByteBuffer) {
        if column > 0 { buffer.append(UInt8(ascii: ",")) }
        let start = column > 0 ? ends[column - 1] : 0
        buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<ends[column]]))
    }
}
