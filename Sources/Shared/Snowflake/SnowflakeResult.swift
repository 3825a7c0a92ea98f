import Arrow
package import Core

/// A statement's result as the loader reads it: column names and rows of text (NULL as nil).
/// Snowflake answers DML with a JSON `rowset` and queries with an Arrow IPC stream
/// (`rowsetBase64`); both arrive here as text, numbers in their decimal form.
package struct SnowflakeResult: Sendable {
    package var columns: [String]
    package var rows: [[String?]]
    /// The answer's whole `data` member (a PUT's stage information lives there).
    package var data: JSONValue

    package init(columns: [String], rows: [[String?]], data: JSONValue) {
        self.columns = columns
        self.rows = rows
        self.data = data
    }

    /// Reads a query-request answer's `data`.
    package init(data: JSONValue) throws(SnowflakeResultError) {
        self.data = data
        var columns: [String] = []
        if case .array(let rowtype)? = data["rowtype"] {
            columns = rowtype.map { $0["name"]?.text ?? "" }
        }
        self.columns = columns
        if case .array(let chunks)? = data["chunks"], !chunks.isEmpty {
            // Large results arrive in chunks fetched from cloud storage; the loader only reads
            // small results (its checkpoint, a table's columns).
            throw SnowflakeResultError(
                message: "the result is split into \(chunks.count) more chunks, which conduit-load does not read")
        }
        switch data["queryResultFormat"]?.text {
        case "arrow"?:
            let encoded = data["rowsetBase64"]?.text ?? ""
            if encoded.isEmpty {
                rows = []
                return
            }
            rows = try Self.rows(arrowBase64: encoded)
        default:
            guard case .array(let rowset)? = data["rowset"] else {
                rows = []
                return
            }
            rows = rowset.map { row in
                guard case .array(let values) = row else { return [] }
                return values.map { $0 == .null ? nil : $0.text }
            }
        }
    }

    /// The rows of an Arrow stream as text: integers and decimals in decimal form (a scaled
    /// integer gets its decimal point from the column's `scale`), booleans as `true`/`false`.
    static func rows(arrowBase64 encoded: String) throws(SnowflakeResultError) -> [[String?]] {
        let table: ArrowTable
        do {
            table = try ArrowStreamReader.read(base64: encoded)
        } catch {
            throw SnowflakeResultError(message: error.description)
        }
        var rows = Array(repeating: [String?](), count: table.rowCount)
        for column in table.columns {
            // Snowflake sends a NUMBER(p,s) as a scaled integer; other integers (TIME's
            // nanoseconds) keep their digits.
            let isFixed = (column.metadata["logicalType"] ?? "FIXED").uppercased() == "FIXED"
            let scale = isFixed ? column.metadata["scale"].flatMap { Int($0) } ?? 0 : 0
            for (index, value) in column.values.enumerated() where index < rows.count {
                rows[index].append(text(of: value, scale: scale))
            }
        }
        return rows
    }
}

/// An answer the loader could not read.
package struct SnowflakeResultError: Error, CustomStringConvertible, Sendable {
    package var message: String
    package var description: String { message }
}

extension SnowflakeResult {
    /// An Arrow value as the loader reads it.
    static func text(of value: ArrowValue, scale: Int) -> String? {
        switch value {
        case .null: return nil
        case .int(let integer): return scale > 0 ? scaled(String(integer), scale: scale) : String(integer)
        case .bool(let flag): return flag ? "true" : "false"
        case .decimal(let unscaled, let decimalScale):
            return decimalScale > 0 ? scaled(String(unscaled), scale: Int(decimalScale)) : String(unscaled)
        case .double(let number): return "\(number)"
        case .text(let text): return text
        default: return "\(value)"
        }
    }

    /// `12345` at scale 2 → `123.45`.
    static func scaled(_ digits: String, scale: Int) -> String {
        let negative = digits.hasPrefix("-")
        var magnitude = negative ? String(digits.dropFirst()) : digits
        if magnitude.count <= scale { magnitude = String(repeating: "0", count: scale - magnitude.count + 1) + magnitude }
        let point = magnitude.index(magnitude.endIndex, offsetBy: -scale)
        return (negative ? "-" : "") + magnitude[..<point] + "." + magnitude[point...]
    }
}
