package import Core
import Stream

/// Follows the incremental column through a stream, line by line: checks each line is a JSON
/// object carrying the column, that the values never decrease (when the resource is ordered),
/// and keeps the maximum seen. This is what `conduit-state commit` commits.
package struct IncrementalTracker: Sendable {
    /// The column tracked, or nil for a resource that is not incremental (lines are still checked).
    package let column: String?
    package let requiresOrder: Bool
    private let columnBytes: [UInt8]

    /// Rows seen (blank lines excluded).
    package private(set) var rows = 0
    /// The greatest value seen so far.
    package var maximum: StateValue? { maximumText?.value }
    /// The greatest value of a group that a greater value followed: in an ordered stream, the
    /// last group known complete, which is what a stream whose end is not confirmed may commit.
    package var completedMaximum: StateValue? { completedMaximumText?.value }
    /// Rows before the open group (the rows sharing ``maximum``).
    package private(set) var rowsBeforeOpenGroup = 0
    /// The line where ``maximum`` first appeared.
    package private(set) var maximumLine = 0
    /// Whether ``maximum`` is a number of 16 digits or more, which only then needs the exact
    /// check against 2^53 (``StateValue`` is built off the hot path).
    package var maximumMayBeBeyondDoubles: Bool {
        guard let maximumText, !maximumText.isString else { return false }
        return maximumText.bytes.count >= 16
    }

    // The values are kept as their bytes: a row costs a copy, not a String and a parse.
    private var maximumText: CursorText?
    private var completedMaximumText: CursorText?
    /// The last row's value, while it is compared (reused, so a row allocates nothing).
    private var current = CursorText(bytes: [], isString: false)

    /// Whether the loader validates every line before it commits (``JSONParser/scanObjectStructure(_:capturingText:)``).
    package let loaderValidates: Bool
    /// Whether the loader also refuses a row holding the column twice (it has said so:
    /// ``CheckpointEnvironment/uniqueKeyAcknowledgementFD``): each line is then read only as far
    /// as the column's first top-level occurrence.
    package var stopsAtColumn = false
    /// Whether any line was read only as far as the column (the last line then was too: the
    /// switch to ``stopsAtColumn`` is for good).
    package private(set) var someLineReadToColumn = false
    /// Whether the last line consumed set ``maximum`` (began a group, or spelled its value again).
    package private(set) var lastLineSetMaximum = false
    /// Whether the last line consumed was validated in full (not only read as far as its value).
    package private(set) var lastLineCheckedFully = false

    /// `loaderValidates`: the loader refuses any line that is not valid JSON before its batch
    /// commits (`conduit-load` does), and a refusing loader means no state commit; each line is
    /// then read for its framing and value only (only as far as the value with
    /// ``stopsAtColumn``), and validated fully only where that read is unsure or the line is
    /// refused for another reason (so the refusal names the real fault).
    package init(column: String?, requiresOrder: Bool, loaderValidates: Bool = false) {
        self.column = column
        self.requiresOrder = requiresOrder
        self.columnBytes = Array((column ?? "").utf8)
        self.loaderValidates = loaderValidates
    }

    /// Whether the framing read's cursor value is a valid JSON value: the value is carried to
    /// the next lines (the maximum), so it must never be one the full scan would refuse, or a
    /// later, valid line would be blamed for it.
    private static func cursorTextIsValid(_ captured: JSONParser.CapturedText, in line: UnsafeBufferPointer<UInt8>) -> Bool {
        switch captured {
        case .number(let range), .escapedString(let range):
            return JSONParser.isValidValue(UnsafeBufferPointer(rebasing: line[range]))
        case .plainString(let range):
            return JSONParser.isValidValue(UnsafeBufferPointer(rebasing: line[(range.lowerBound - 1)..<(range.upperBound + 1)]))
        case .absent, .null, .other:
            return true
        }
    }

    /// `error`, unless the line is not valid JSON at all, or (read only as far as the column)
    /// holds the column twice: then that.
    private func refusal(
        _ error: ConduitError, line: UnsafeBufferPointer<UInt8>, lineNumber: Int, checkedFully: Bool
    ) -> ConduitError {
        fault(of: line, lineNumber: lineNumber, knownValid: checkedFully).map { .badInput($0) } ?? error
    }

    /// What is wrong with a line this tracker did not validate in full, as the refusal naming it:
    /// not a JSON object (as the full scan words it), or, where lines are read only as far as the
    /// column, the column held twice (as the loader words it); nil when neither.
    /// (`knownValid`: the line is valid JSON, only the column is left to check.)
    package func fault(of line: UnsafeBufferPointer<UInt8>, lineNumber: Int, knownValid: Bool = false) -> String? {
        Self.fault(
            of: line, lineNumber: lineNumber, knownValid: knownValid, capturing: columnBytes,
            heldTwice: stopsAtColumn && column != nil ? columnBytes : nil)
    }

    /// A line's fault as `conduit-state` words it: not a JSON object, or (with `heldTwice`) that
    /// key held twice; nil when neither. (`capturing`: the key the full scan reads the value of,
    /// which words a broken value there as the string scan does.)
    package static func fault(
        of line: UnsafeBufferPointer<UInt8>, lineNumber: Int, knownValid: Bool = false, capturing: [UInt8] = [],
        heldTwice key: [UInt8]?
    ) -> String? {
        if !knownValid {
            do {
                _ = try JSONParser.scanObject(line, capturingText: capturing)
            } catch {
                return "line \(lineNumber): not a JSON object: \(error)"
            }
        }
        guard let key else { return nil }
        var row = JSONRow()
        defer { row.release() }
        guard (try? row.scan(line)) != nil, row.holdsKeyTwice(key) else { return nil }
        return JSONRow.repeatedKeyRefusal(key, lineNumber: lineNumber)
    }

    /// Checks one line (without its newline) and tracks its value. `lineNumber` is 1-based and
    /// named in every error. Returns true when the line begins a new value group: it is the first
    /// row, or its value is greater than every earlier one.
    @discardableResult
    package mutating func consume(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws(ConduitError) -> Bool {
        var captured: JSONParser.CapturedText
        var checkedFully = false
        lastLineSetMaximum = false
        defer { lastLineCheckedFully = checkedFully }
        if stopsAtColumn { someLineReadToColumn = true }
        if loaderValidates,
            let framed = JSONParser.scanObjectStructure(
                line, capturingText: columnBytes, stoppingAtKey: stopsAtColumn && column != nil),
            Self.cursorTextIsValid(framed, in: line)
        {
            captured = framed
        } else {
            do {
                captured = try JSONParser.scanObject(line, capturingText: columnBytes)
            } catch {
                throw .badInput("line \(lineNumber): not a JSON object: \(error)")
            }
            checkedFully = true
        }
        rows += 1
        guard let column else { return false }
        do throws(ConduitError) {
            return try track(captured, line: line, lineNumber: lineNumber, column: column)
        } catch {
            throw refusal(error, line: line, lineNumber: lineNumber, checkedFully: checkedFully)
        }
    }

    /// Tracks the captured value of one line.
    private mutating func track(
        _ captured: JSONParser.CapturedText, line: UnsafeBufferPointer<UInt8>, lineNumber: Int, column: String
    ) throws(ConduitError) -> Bool {
        switch captured {
        case .absent:
            throw .badInput(
                "line \(lineNumber): the row has no \(JSONEscaping.quoted(column)) key, the resource's incremental_column")
        case .null:
            throw .badInput(
                "line \(lineNumber): \(JSONEscaping.quoted(column)) is null; the incremental column must have a value in every row"
            )
        case .number(let range):
            current.isString = false
            current.bytes.overwrite(with: UnsafeBufferPointer(rebasing: line[range]))
        case .plainString(let range):
            current.isString = true
            current.bytes.overwrite(with: UnsafeBufferPointer(rebasing: line[range]))
        case .escapedString(let range):
            guard case .string(let text)? = try? JSONParser.parse(UnsafeBufferPointer(rebasing: line[range])) else {
                throw .badInput("line \(lineNumber): \(JSONEscaping.quoted(column)) must be a number or a string")
            }
            current.isString = true
            current.bytes = Array(text.utf8)
        case .other:
            throw .badInput("line \(lineNumber): \(JSONEscaping.quoted(column)) must be a number or a string")
        }
        guard let previous = maximumText else {
            maximumText = current
            maximumLine = lineNumber
            rowsBeforeOpenGroup = rows - 1
            lastLineSetMaximum = true
            return true
        }
        guard let order = previous.compare(to: current) else {
            let value = current.value
            let before = previous.value
            throw .badInput(
                "line \(lineNumber): \(JSONEscaping.quoted(column)) is a \(value.typeName) (\(value.plainText)) after \(before.typeName) values; the incremental column must keep one type"
            )
        }
        switch order {
        case .ascending:
            // The three values rotate, so the next row's bytes reuse a buffer.
            let retired = completedMaximumText
            completedMaximumText = maximumText
            maximumText = current
            current = retired ?? CursorText(bytes: [], isString: false)
            maximumLine = lineNumber
            rowsBeforeOpenGroup = rows - 1
            lastLineSetMaximum = true
            return true
        case .equal:
            // The same value spelled another way (12:00:00 and 12:00:00.000 in a SQLite text
            // column): keep the later spelling, the greater where the source compares text, so
            // that the next run's `>` does not read the group again.
            maximumText = current
            current = previous
            lastLineSetMaximum = true
            return false
        case .descending:
            if requiresOrder {
                throw .badInput(
                    "line \(lineNumber): \(JSONEscaping.quoted(column)) went backwards, \(current.value.plainText) after \(previous.value.plainText); the stream must be in non-decreasing \(column) order (ORDER BY \(column) in the query), or the resource must say ordered: false"
                )
            }
            return false
        }
    }
}

/// An incremental value as the stream spelled it: its bytes (a string's decoded), and whether it
/// was a JSON string. Comparing two of the usual shapes — plain integers, or timestamps written
/// alike — needs no ``StateValue``; every other pair is compared as ``StateValue``s.
package struct CursorText: Sendable {
    var bytes: [UInt8]
    var isString: Bool

    var value: StateValue {
        let text = String(decoding: bytes, as: UTF8.self)
        return isString ? .string(text) : .number(text)
    }

    /// How `self` compares to `other`, as ``StateValue/compare(to:)`` would; nil when the types differ.
    func compare(to other: CursorText) -> Ordering? {
        if let fast = bytes.withUnsafeBufferPointer({ left in
            other.bytes.withUnsafeBufferPointer { right in
                Self.byteOrder(left, right, areStrings: isString && other.isString, areNumbers: !isString && !other.isString)
            }
        }) {
            return fast
        }
        return value.compare(to: other.value)
    }

    /// The order of two values whose bytes alone decide it: two plain integers (no sign, no
    /// leading zero, no fraction), or two timestamps of one shape (`YYYY-MM-DD[T ]HH:MM:SS[.f…][Z]`,
    /// the same separators and length, with fields that never roll over), where the text's
    /// order is the time's. Nil for every other pair.
    package static func byteOrder(
        _ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>, areStrings: Bool, areNumbers: Bool
    ) -> Ordering? {
        guard isDecidedByBytes(left, right, areStrings: areStrings, areNumbers: areNumbers) else { return nil }
        // A plain integer with more digits is greater; timestamps decided here are of one length.
        if left.count != right.count { return left.count < right.count ? .ascending : .descending }
        return lexicographicOrder(left, right)
    }

    /// Whether ``byteOrder(_:_:areStrings:areNumbers:)`` decides this pair (so the two are equal
    /// exactly when their bytes are), without ordering them.
    package static func isDecidedByBytes(
        _ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>, areStrings: Bool, areNumbers: Bool
    ) -> Bool {
        if areNumbers { return isPlainInteger(left) && isPlainInteger(right) }
        guard areStrings, left.count == right.count, isPlainTimestamp(left), isPlainTimestamp(right) else { return false }
        for index in 0..<left.count
        where isDigit(left[index]) != isDigit(right[index]) || (!isDigit(left[index]) && left[index] != right[index]) {
            return false
        }
        return true
    }

    private static func lexicographicOrder(_ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>) -> Ordering {
        for index in 0..<min(left.count, right.count) where left[index] != right[index] {
            return left[index] < right[index] ? .ascending : .descending
        }
        return left.count == right.count ? .equal : (left.count < right.count ? .ascending : .descending)
    }

    @inline(__always)
    private static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    private static func isPlainInteger(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = bytes.first, first >= UInt8(ascii: "1"), first <= UInt8(ascii: "9") else { return false }
        return bytes.allSatisfy(isDigit)
    }

    /// `YYYY-MM-DD`, optionally `[T ]HH:MM:SS`, `.digits` and `Z`, with month 01–12, day 01–28,
    /// hour ≤ 23, minute and second ≤ 59: fields whose text order is their time order (no
    /// 24:00, no leap second, no day a month lacks).
    private static func isPlainTimestamp(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        func number(_ at: Int) -> Int? {
            guard at + 2 <= bytes.count, isDigit(bytes[at]), isDigit(bytes[at + 1]) else { return nil }
            return Int(bytes[at] - 0x30) * 10 + Int(bytes[at + 1] - 0x30)
        }
        guard bytes.count >= 10, isDigit(bytes[0]), isDigit(bytes[1]), isDigit(bytes[2]), isDigit(bytes[3]),
            bytes[4] == UInt8(ascii: "-"), let month = number(5), (1...12).contains(month),
            bytes[7] == UInt8(ascii: "-"), let day = number(8), (1...28).contains(day)
        else { return false }
        if bytes.count == 10 { return true }
        guard bytes.count >= 19, bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " "),
            let hour = number(11), hour <= 23, bytes[13] == UInt8(ascii: ":"), let minute = number(14), minute <= 59,
            bytes[16] == UInt8(ascii: ":"), let second = number(17), second <= 59
        else { return false }
        var index = 19
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let digits = index
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            guard index > digits else { return false }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "Z") { index += 1 }
        return index == bytes.count
    }
}
