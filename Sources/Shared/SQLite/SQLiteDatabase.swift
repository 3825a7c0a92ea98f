internal import CSQLite
import Core
import Extract
import Load
import Stream

/// One SQLite connection. The `final class` owns the `sqlite3` handle and closes it in `deinit`,
/// also when opening failed (a failed `sqlite3_open_v2` still hands back a handle to close).
package final class SQLiteDatabase {
    let handle: OpaquePointer
    package let path: String

    /// Opens `path`; read-only never creates a file. The corresponding SQLite call is `sqlite3_open_v2`.
    package init(path: String, readOnly: Bool) throws(SQLiteError) {
        var opened: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let code = sqlite3_open_v2(path, &opened, flags, nil)
        guard code == SQLITE_OK, let opened else {
            let message = opened.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "cannot open the database"
            sqlite3_close_v2(opened)
            throw SQLiteError(context: "opening \(path)", code: code, message: message)
        }
        handle = opened
        self.path = path
        sqlite3_busy_timeout(handle, 5000)
    }

    deinit { sqlite3_close_v2(handle) }

    /// Rows the last INSERT, UPDATE or DELETE changed. The corresponding SQLite call is `sqlite3_changes64`.
    var changes: Int64 { sqlite3_changes64(handle) }

    var lastMessage: String { sqlite3_errmsg(handle).map { String(cString: $0) } ?? "unknown error" }

    /// Runs statements that return no rows. The corresponding SQLite call is `sqlite3_exec`.
    func execute(_ sql: String, context: String) throws(SQLiteError) {
        let code = sqlite3_exec(handle, sql, nil, nil, nil)
        guard code == SQLITE_OK else { throw SQLiteError(context: context, code: code, message: lastMessage) }
    }

    /// Compiles one statement. The corresponding SQLite call is `sqlite3_prepare_v2`.
    func prepare(_ sql: String, context: String) throws(SQLiteError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard code == SQLITE_OK, let statement else {
            sqlite3_finalize(statement)
            throw SQLiteError(context: context, code: code, message: lastMessage)
        }
        return SQLiteStatement(statement, database: self)
    }
}

@available(*, unavailable)
extension SQLiteDatabase: Sendable {}

/// One prepared statement, finalized in `deinit`.
final class SQLiteStatement {
    private let handle: OpaquePointer
    private let database: SQLiteDatabase

    init(_ handle: OpaquePointer, database: SQLiteDatabase) {
        self.handle = handle
        self.database = database
    }

    deinit { sqlite3_finalize(handle) }

    var parameterCount: Int { Int(sqlite3_bind_parameter_count(handle)) }
    var columnCount: Int { Int(sqlite3_column_count(handle)) }

    func columnName(_ column: Int) -> String {
        sqlite3_column_name(handle, Int32(column)).map { String(cString: $0) } ?? "?column?"
    }

    /// The column's declared type in its table ("VARCHAR(20)"), "" for an expression.
    /// The corresponding SQLite call is `sqlite3_column_decltype`.
    func declaredType(_ column: Int) -> String {
        sqlite3_column_decltype(handle, Int32(column)).map { String(cString: $0) } ?? ""
    }

    /// Whether the column is a table's column (not an expression). The corresponding SQLite call
    /// is `sqlite3_column_origin_name` (Debian's SQLite has column metadata).
    func isTableColumn(_ column: Int) -> Bool {
        sqlite3_column_origin_name(handle, Int32(column)) != nil
    }

    /// Binds an integer, a real or text, as the value reads. The corresponding SQLite calls are `sqlite3_bind_*`.
    func bind(_ value: StateValue, at index: Int, context: String) throws(SQLiteError) {
        let code: Int32
        switch value {
        case .number(let text):
            if let integer = Int64(text) {
                code = sqlite3_bind_int64(handle, Int32(index), integer)
            } else if let real = Double(text) {
                code = sqlite3_bind_double(handle, Int32(index), real)
            } else {
                code = bindText(text, at: index)
            }
        case .string(let text):
            code = bindText(text, at: index)
        }
        guard code == SQLITE_OK else { throw SQLiteError(context: context, code: code, message: database.lastMessage) }
    }

    private func bindText(_ text: String, at index: Int) -> Int32 {
        // SQLITE_TRANSIENT (-1): SQLite copies the text before this call returns.
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        return sqlite3_bind_text(handle, Int32(index), text, -1, transient)
    }

    func bindNull(at index: Int) -> Int32 { sqlite3_bind_null(handle, Int32(index)) }
    func bindInteger(_ value: Int64, at index: Int) -> Int32 { sqlite3_bind_int64(handle, Int32(index), value) }
    func bindReal(_ value: Double, at index: Int) -> Int32 { sqlite3_bind_double(handle, Int32(index), value) }

    /// Binds UTF-8 text; SQLite copies it (SQLITE_TRANSIENT) before returning.
    func bindText(bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int32 {
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            return sqlite3_bind_text(handle, Int32(index), "", 0, transient)
        }
        return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
            sqlite3_bind_text(handle, Int32(index), $0, Int32(bytes.count), transient)
        }
    }

    /// Binds a blob; SQLite copies it before returning.
    func bindBlob(_ bytes: [UInt8], at index: Int) -> Int32 {
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        // A NULL pointer would bind NULL, not an empty blob.
        if bytes.isEmpty { return sqlite3_bind_zeroblob(handle, Int32(index), 0) }
        return bytes.withUnsafeBytes { sqlite3_bind_blob(handle, Int32(index), $0.baseAddress, Int32(bytes.count), transient) }
    }

    /// A column of the current row as text ("" for NULL).
    func text(column: Int) -> String {
        sqlite3_column_text(handle, Int32(column)).map { String(cString: $0) } ?? ""
    }

    /// Sets every parameter back to NULL. The corresponding SQLite call is `sqlite3_clear_bindings`.
    func clearBindings() { sqlite3_clear_bindings(handle) }

    /// Makes the statement ready to run again. The corresponding SQLite call is `sqlite3_reset`.
    func reset() { sqlite3_reset(handle) }

    /// The message of the database's last error.
    var lastMessage: String { database.lastMessage }

    /// Advances to the next row: true for a row, false when done. The corresponding SQLite call is `sqlite3_step`.
    func step(context: String) throws(SQLiteError) -> Bool {
        let code = sqlite3_step(handle)
        if code == SQLITE_ROW { return true }
        if code == SQLITE_DONE { return false }
        throw SQLiteError(context: context, code: code, message: database.lastMessage)
    }

    /// Appends the current row's column as JSON: integers and reals as numbers (reals in the
    /// shortest text that round-trips; NaN and infinities as strings), text as a string, blobs
    /// base64. A BOOLEAN column's 0 and 1 become `false` and `true`; a JSON column's text that
    /// parses as JSON is embedded as that value.
    func appendJSON(column: Int, declared kind: ColumnKind?, to output: inout ByteBuffer) {
        let index = Int32(column)
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER:
            let value = sqlite3_column_int64(handle, index)
            if kind == .boolean && (value == 0 || value == 1) {
                output.append(value == 1 ? "true" : "false")
            } else {
                output.appendDecimal(value)
            }
        case SQLITE_FLOAT:
            let value = sqlite3_column_double(handle, index)
            if value.isNaN {
                output.append("\"NaN\"")
            } else if value.isInfinite {
                output.append(value < 0 ? "\"-Infinity\"" : "\"Infinity\"")
            } else {
                output.append(contentsOf: Array(value.description.utf8))
            }
        case SQLITE_TEXT:
            // SQLite's documented order: the pointer first, then its size (which may convert the value).
            guard let text = sqlite3_column_text(handle, index) else {
                output.append("\"\"")
                return
            }
            let count = Int(sqlite3_column_bytes(handle, index))
            let bytes = UnsafeBufferPointer(start: text, count: count)
            if kind == .json || kind == .jsonb || kind?.isArray == true, let value = try? JSONParser.parse(bytes) {
                var serialized: [UInt8] = []
                value.appendSerialized(to: &serialized)
                output.append(contentsOf: serialized)
            } else {
                JSONEscaping.appendQuoted(bytes: bytes, to: &output)
            }
        case SQLITE_BLOB:
            guard let blob = sqlite3_column_blob(handle, index) else {
                output.append("\"\"")  // SQLite returns NULL for an empty blob
                return
            }
            let count = Int(sqlite3_column_bytes(handle, index))
            Base64.appendQuoted(UnsafeRawBufferPointer(start: blob, count: count), to: &output)
        default:
            output.append("null")
        }
    }
}

@available(*, unavailable)
extension SQLiteStatement: Sendable {}
