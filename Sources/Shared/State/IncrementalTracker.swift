/// Follows the incremental column through a stream, line by line: checks each line is a JSON
/// object carrying the column, that the values never decrease (when the resource is ordered),
/// and keeps the maximum seen. This is what `conduit-state commit` commits.
public struct IncrementalTracker: Sendable {
    /// The column tracked, or nil for a resource that is not incremental (lines are still checked).
    public let column: String?
    public let requiresOrder: Bool
    private let columnBytes: [UInt8]

    /// Rows seen (blank lines excluded).
    public private(set) var rows = 0
    /// The greatest value seen so far.
    public private(set) var maximum: StateValue?

    public init(column: String?, requiresOrder: Bool) {
        self.column = column
        self.requiresOrder = requiresOrder
        self.columnBytes = Array((column ?? "").utf8)
    }

    /// Checks one line (without its newline) and tracks its value. `lineNumber` is 1-based and
    /// named in every error.
    public mutating func consume(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws(ConduitError) {
        let captured: JSONParser.CapturedMember
        do {
            captured = try JSONParser.scanObject(line, capturing: columnBytes)
        } catch {
            throw .badInput("line \(lineNumber): not a JSON object: \(error)")
        }
        rows += 1
        guard let column else { return }
        let value: StateValue
        switch captured {
        case .absent:
            throw .badInput("line \(lineNumber): the row has no \(JSONEscaping.quoted(column)) key, the resource's incremental_column")
        case .present(.null):
            throw .badInput("line \(lineNumber): \(JSONEscaping.quoted(column)) is null; the incremental column must have a value in every row")
        case .present(.number(let text)):
            value = .number(text)
        case .present(.string(let text)):
            value = .string(text)
        case .present:
            throw .badInput("line \(lineNumber): \(JSONEscaping.quoted(column)) must be a number or a string")
        }
        guard let previous = maximum else {
            maximum = value
            return
        }
        guard let order = previous.compare(to: value) else {
            throw .badInput("line \(lineNumber): \(JSONEscaping.quoted(column)) is a \(value.typeName) (\(value.plainText)) after \(previous.typeName) values; the incremental column must keep one type")
        }
        switch order {
        case .ascending:
            maximum = value
        case .equal:
            break
        case .descending:
            if requiresOrder {
                throw .badInput("line \(lineNumber): \(JSONEscaping.quoted(column)) went backwards, \(value.plainText) after \(previous.plainText); the stream must be in non-decreasing \(column) order (ORDER BY \(column) in the query), or the resource must say ordered: false")
            }
        }
    }
}
