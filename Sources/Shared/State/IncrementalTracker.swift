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
    package private(set) var maximum: StateValue?
    /// The greatest value of a group that a greater value followed: in an ordered stream, the
    /// last group known complete, which is what a stream whose end is not confirmed may commit.
    package private(set) var completedMaximum: StateValue?
    /// Rows before the open group (the rows sharing ``maximum``).
    package private(set) var rowsBeforeOpenGroup = 0
    /// The value of the last row (the maximum, in an ordered stream).
    package private(set) var lastValue: StateValue?
    /// The line where ``maximum`` first appeared.
    package private(set) var maximumLine = 0

    package init(column: String?, requiresOrder: Bool) {
        self.column = column
        self.requiresOrder = requiresOrder
        self.columnBytes = Array((column ?? "").utf8)
    }

    /// Checks one line (without its newline) and tracks its value. `lineNumber` is 1-based and
    /// named in every error. Returns true when the line begins a new value group: it is the first
    /// row, or its value is greater than every earlier one.
    @discardableResult
    package mutating func consume(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws(ConduitError) -> Bool {
        let captured: JSONParser.CapturedMember
        do {
            captured = try JSONParser.scanObject(line, capturing: columnBytes)
        } catch {
            throw .badInput("line \(lineNumber): not a JSON object: \(error)")
        }
        rows += 1
        guard let column else { return false }
        let value: StateValue
        switch captured {
        case .absent:
            throw .badInput(
                "line \(lineNumber): the row has no \(JSONEscaping.quoted(column)) key, the resource's incremental_column")
        case .present(.null):
            throw .badInput(
                "line \(lineNumber): \(JSONEscaping.quoted(column)) is null; the incremental column must have a value in every row"
            )
        case .present(.number(let text)):
            value = .number(text)
        case .present(.string(let text)):
            value = .string(text)
        case .present:
            throw .badInput("line \(lineNumber): \(JSONEscaping.quoted(column)) must be a number or a string")
        }
        lastValue = value
        guard let previous = maximum else {
            maximum = value
            maximumLine = lineNumber
            rowsBeforeOpenGroup = rows - 1
            return true
        }
        guard let order = previous.compare(to: value) else {
            throw .badInput(
                "line \(lineNumber): \(JSONEscaping.quoted(column)) is a \(value.typeName) (\(value.plainText)) after \(previous.typeName) values; the incremental column must keep one type"
            )
        }
        switch order {
        case .ascending:
            completedMaximum = previous
            maximum = value
            maximumLine = lineNumber
            rowsBeforeOpenGroup = rows - 1
            return true
        case .equal:
            // The same value spelled another way (12:00:00 and 12:00:00.000 in a SQLite text
            // column): keep the later spelling, the greater where the source compares text, so
            // that the next run's `>` does not read the group again.
            maximum = value
            return false
        case .descending:
            if requiresOrder {
                throw .badInput(
                    "line \(lineNumber): \(JSONEscaping.quoted(column)) went backwards, \(value.plainText) after \(previous.plainText); the stream must be in non-decreasing \(column) order (ORDER BY \(column) in the query), or the resource must say ordered: false"
                )
            }
            return false
        }
    }
}
