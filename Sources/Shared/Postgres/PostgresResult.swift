internal import CLibPQ
import Core
import Extract
import Load
import Stream

/// One libpq result. The `final class` owns the `PGresult` and clears it in `deinit`.
final class PostgresResult {
    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) { self.handle = handle }
    deinit { PQclear(handle) }

    var rowCount: Int { Int(PQntuples(handle)) }
    var columnCount: Int { Int(PQnfields(handle)) }

    /// The corresponding libpq call is `PQfname`.
    func columnName(_ column: Int) -> String {
        PQfname(handle, Int32(column)).map { String(cString: $0) } ?? "?column?"
    }

    /// The corresponding libpq call is `PQftype`.
    func columnType(_ column: Int) -> PostgresDataType { PostgresDataType(PQftype(handle, Int32(column))) }

    /// The type modifier (`numeric(12,2)`, `varchar(20)`), -1 when none. The corresponding libpq call is `PQfmod`.
    func columnTypeModifier(_ column: Int) -> Int32 { PQfmod(handle, Int32(column)) }

    /// The table a result column was read from (0 when it is an expression or from a view).
    /// The corresponding libpq call is `PQftable`.
    func columnTable(_ column: Int) -> UInt32 { PQftable(handle, Int32(column)) }

    /// The column's number in that table (0 when none). The corresponding libpq call is `PQftablecol`.
    func columnTableColumn(_ column: Int) -> Int { Int(PQftablecol(handle, Int32(column))) }

    /// The rows a command affected or moved (`MOVE ALL` counts the rows it skipped); 0 when the
    /// tag says none. The corresponding libpq call is `PQcmdTuples`.
    var commandTuples: Int {
        guard let text = PQcmdTuples(handle) else { return 0 }
        return Int(String(cString: text)) ?? 0
    }

    /// A value as text, nil for NULL.
    func string(row: Int, column: Int) -> String? {
        withValue(row: row, column: column) { bytes in bytes.map { String(decoding: $0, as: UTF8.self) } }
    }

    /// The corresponding libpq call is `PQparamtype` (on a described statement).
    func parameterType(_ index: Int) -> PostgresDataType { PostgresDataType(PQparamtype(handle, Int32(index))) }
    var parameterCount: Int { Int(PQnparams(handle)) }

    /// Calls `body` with the value's text bytes, or nil for NULL; the bytes live only during the call.
    @inline(__always)
    func withValue<T>(row: Int, column: Int, _ body: (UnsafeBufferPointer<UInt8>?) -> T) -> T {
        Values(handle: handle).withValue(row: row, column: column, body)
    }

    /// Calls `body` with a view of the result's values that lives only during the call. The
    /// view holds no reference, so a closure that captures it costs no reference counting per
    /// value (the extract's row loop; capturing the result itself retained it on every value).
    @inline(__always)
    func withValues<T, Failure: Error>(_ body: (Values) throws(Failure) -> T) throws(Failure) -> T {
        try withExtendedLifetime(self) { () throws(Failure) -> T in try body(Values(handle: handle)) }
    }

    /// The values of a result, for the duration of ``withValues(_:)``.
    struct Values {
        fileprivate let handle: OpaquePointer

        /// Calls `body` with the value's text bytes, or nil for NULL; the bytes live only during the call.
        @inline(__always)
        func withValue<T>(row: Int, column: Int, _ body: (UnsafeBufferPointer<UInt8>?) -> T) -> T {
            let length = Int(PQgetlength(handle, Int32(row), Int32(column)))
            // A NULL has length 0: only then is it worth asking (a call a value saved).
            if length == 0 && PQgetisnull(handle, Int32(row), Int32(column)) != 0 { return body(nil) }
            guard let pointer = PQgetvalue(handle, Int32(row), Int32(column)) else {
                return body(UnsafeBufferPointer(start: nil, count: 0))
            }
            return pointer.withMemoryRebound(to: UInt8.self, capacity: max(length, 1)) {
                body(UnsafeBufferPointer(start: $0, count: length))
            }
        }
    }
}

@available(*, unavailable)
extension PostgresResult: Sendable {}
