internal import CLibPQ

/// Rows of a `COPY … TO STDOUT` as libpq hands them over, each its own allocation: the
/// `final class` owns them and frees them (`PQfreemem`) when they are removed or it goes away.
/// A row is COPY text (``PostgresCopyText``).
final class PostgresCopyRows {
    private var rows: [(pointer: UnsafeMutablePointer<CChar>, count: Int)] = []

    init() { rows.reserveCapacity(PostgresSource.fetchSize) }
    deinit { removeAll() }

    var count: Int { rows.count }

    /// Takes ownership of one row from `PQgetCopyData`.
    func append(_ pointer: UnsafeMutablePointer<CChar>, count: Int) {
        rows.append((pointer, count))
    }

    /// Frees every row.
    func removeAll() {
        for row in rows { PQfreemem(row.pointer) }
        rows.removeAll(keepingCapacity: true)
    }

    /// Calls `body` with the row's bytes without its newline; they live only during the call.
    @inline(__always)
    func withRow<T>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
        let row = rows[index]
        return row.pointer.withMemoryRebound(to: UInt8.self, capacity: row.count) { bytes in
            var count = row.count
            if count > 0 && bytes[count - 1] == 0x0A { count -= 1 }
            return body(UnsafeBufferPointer(start: bytes, count: count))
        }
    }
}

extension PostgresCopyRows {
    /// Calls `body` with the text of one field of a row, its escapes decoded, or nil for NULL;
    /// the bytes live only during the call. For the hold-back's few values: the row loop splits
    /// each row once instead (``PostgresCopyText/split(_:fields:escaped:)``).
    func withValue<T>(row: Int, column: Int, _ body: (UnsafeBufferPointer<UInt8>?) -> T) -> T {
        withRow(row) { bytes in
            var start = 0
            var field = 0
            for index in 0..<bytes.count where bytes[index] == 0x09 {
                if field == column { break }
                field += 1
                start = index + 1
            }
            var end = start
            while end < bytes.count && bytes[end] != 0x09 { end += 1 }
            let text = UnsafeBufferPointer(rebasing: bytes[start..<end])
            guard field == column else { return body(nil) }
            guard text.contains(0x5C) else { return body(text) }
            if PostgresCopyText.isNull(text) { return body(nil) }
            var decoded: [UInt8] = []
            PostgresCopyText.unescape(text, into: &decoded)
            return decoded.withUnsafeBufferPointer { body($0) }
        }
    }
}
