import Core
import Stream

/// The rows of the open batch, held as the text each value loads from, until the batch commits
/// (Snowflake's DDL commits an open transaction, so nothing is sent before the batch is whole).
/// One byte arena holds every value; a row's cells are its values in target-column order, and a
/// row written before a column existed reads NULL there.
struct SnowflakeBatch {
    private var arena: [UInt8] = []
    /// Per cell: start in the arena, or -1 for NULL; its end is the next cell's start.
    private var cellStarts: [Int] = []
    private var cellEnds: [Int] = []
    /// Per row: its first cell and its cell count, and its line number in the input.
    private var rowStarts: [Int] = []
    private var rowWidths: [Int] = []
    private(set) var lineNumbers: [Int] = []
    /// The widest row: the number of columns the batch fills.
    private(set) var width = 0

    var rowCount: Int { rowStarts.count }
    var byteCount: Int { arena.count }
    var isEmpty: Bool { rowStarts.isEmpty }

    mutating func removeAll() {
        arena.removeAll(keepingCapacity: true)
        cellStarts.removeAll(keepingCapacity: true)
        cellEnds.removeAll(keepingCapacity: true)
        rowStarts.removeAll(keepingCapacity: true)
        rowWidths.removeAll(keepingCapacity: true)
        lineNumbers.removeAll(keepingCapacity: true)
        width = 0
    }

    /// Starts a row of `width` NULL cells.
    mutating func startRow(width: Int, lineNumber: Int) {
        rowStarts.append(cellStarts.count)
        rowWidths.append(width)
        lineNumbers.append(lineNumber)
        cellStarts.append(contentsOf: repeatElement(-1, count: width))
        cellEnds.append(contentsOf: repeatElement(-1, count: width))
        self.width = max(self.width, width)
    }

    /// Sets a cell of the last row; a later value for the same column replaces an earlier one.
    mutating func set(column: Int, _ bytes: UnsafeBufferPointer<UInt8>) {
        guard let row = rowStarts.last else { return }
        cellStarts[row + column] = arena.count
        arena.append(contentsOf: bytes)
        cellEnds[row + column] = arena.count
    }

    mutating func set(column: Int, _ text: String) {
        var text = text
        text.withUTF8 { set(column: column, $0) }
    }

    /// Sets a cell to NULL (a JSON null after an earlier value of a duplicate key).
    mutating func setNull(column: Int) {
        guard let row = rowStarts.last else { return }
        cellStarts[row + column] = -1
    }

    /// The cell's bytes, nil for NULL.
    func cell(row: Int, column: Int) -> ArraySlice<UInt8>? {
        guard column < rowWidths[row] else { return nil }
        let index = rowStarts[row] + column
        let start = cellStarts[index]
        guard start >= 0 else { return nil }
        return arena[start..<cellEnds[index]]
    }

    /// The `bindings` member of a query request that inserts rows `range` into a table of
    /// `width` text columns followed by the line number: one array per placeholder
    /// (`{"1":{"type":"TEXT","value":["a",null]},…}`), the form Snowflake's array binding takes.
    func arrayBindings(rows range: Range<Int>, width: Int) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(arena.count / max(rowCount, 1) * range.count + range.count * (width + 1) * 3 + 64)
        body.append(UInt8(ascii: "{"))
        for column in 0..<width {
            if column > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: "\"\(column + 1)\":{\"type\":\"TEXT\",\"value\":[".utf8)
            for row in range {
                if row > range.lowerBound { body.append(UInt8(ascii: ",")) }
                if let cell = cell(row: row, column: column) {
                    cell.withUnsafeBufferPointer { JSONEscaping.appendQuoted(bytes: $0, to: &body) }
                } else {
                    body.append(contentsOf: "null".utf8)
                }
            }
            body.append(contentsOf: "]}".utf8)
        }
        body.append(contentsOf: ",\"\(width + 1)\":{\"type\":\"FIXED\",\"value\":[".utf8)
        for row in range {
            if row > range.lowerBound { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: "\"\(lineNumbers[row])\"".utf8)
        }
        body.append(contentsOf: "]}}".utf8)
        return body
    }

    /// How many bytes row `row` adds to ``arrayBindings(rows:width:)``: each cell quoted and
    /// escaped (or `null`) with its comma, and the line number's.
    func bindingBytes(row: Int, width: Int) -> Int {
        var total = String(lineNumbers[row]).utf8.count + 3
        for column in 0..<width {
            guard let cell = cell(row: row, column: column) else {
                total += 5
                continue
            }
            total += cell.count + 3
            for byte in cell where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                total += byte < 0x20 && ![0x08, 0x09, 0x0A, 0x0C, 0x0D].contains(byte) ? 5 : 1
            }
        }
        return total
    }

    /// The batch as a CSV file for a staged load. NULL is an empty field; every value is enclosed
    /// in double quotes (a quote inside doubled) behind a `=` mark, so no value — not `""`, not
    /// `\N` — can read as NULL under any loader's NULL rules; the load strips the mark. The line
    /// number comes last; rows end with `\n`.
    func csv(width: Int) -> [UInt8] {
        var file: [UInt8] = []
        file.reserveCapacity(arena.count + rowCount * ((width + 1) * 4 + 8) + 16)
        let quote = UInt8(ascii: "\"")
        arena.withUnsafeBufferPointer { arena in
            for row in 0..<rowCount {
                let first = rowStarts[row]
                for column in 0..<width {
                    let start = column < rowWidths[row] ? cellStarts[first + column] : -1
                    if start >= 0 {
                        let cell = UnsafeBufferPointer(rebasing: arena[start..<cellEnds[first + column]])
                        file.append(quote)
                        file.append(UInt8(ascii: "="))
                        if cell.contains(quote) {
                            for byte in cell {
                                if byte == quote { file.append(byte) }
                                file.append(byte)
                            }
                        } else {
                            file.append(contentsOf: cell)
                        }
                        file.append(quote)
                    }
                    file.append(UInt8(ascii: ","))
                }
                Self.appendDecimal(lineNumbers[row], to: &file)
                file.append(UInt8(ascii: "\n"))
            }
        }
        return file
    }

    /// A non-negative number's decimal digits, without a String.
    private static func appendDecimal(_ value: Int, to output: inout [UInt8]) {
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8
            ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var remaining = max(0, value)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[19 - count] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
                count += 1
            } while remaining > 0
            output.append(contentsOf: buffer[(20 - count)...])
        }
    }
}
