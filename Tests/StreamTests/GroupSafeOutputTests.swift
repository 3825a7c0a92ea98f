import Core
import Foundation
import Glibc
import Stream
import Testing

/// Where a `GroupSafeOutput` writes in these tests: a real pipe or a regular temporary file.
enum SinkKind: String, CaseIterable, Sendable {
    case pipe, file
}

/// The descriptor a `GroupSafeOutput` writes to, and a way to see what reached it.
final class Sink {
    let kind: SinkKind
    let writeFD: Int32
    private let readFD: Int32
    private let path: String?
    private var drained: [UInt8] = []

    init(_ kind: SinkKind) throws {
        self.kind = kind
        switch kind {
        case .pipe:
            var ends: [Int32] = [0, 0]
            try #require(pipe(&ends) == 0)
            (readFD, writeFD, path) = (ends[0], ends[1], nil)
            // Reading must never wait: the test reads what is there after each call.
            _ = fcntl(readFD, F_SETFL, fcntl(readFD, F_GETFL) | O_NONBLOCK)
        case .file:
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("outputstream-\(UUID().uuidString)").path
            writeFD = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            try #require(writeFD >= 0)
            readFD = -1
            self.path = path
        }
    }

    deinit {
        close(writeFD)
        if readFD >= 0 { close(readFD) }
        if let path { unlink(path) }
    }

    /// Every byte written so far. (A pipe holds 64 KB: the tests using this write less between calls.)
    func received() throws -> [UInt8] {
        if let path { return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
            if count > 0 {
                drained.append(contentsOf: chunk[0..<count])
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        return drained
    }
}

/// One row of a test stream: its incremental value's JSON text and its NDJSON line.
struct GroupedRow {
    var value: String
    var line: [UInt8]
}

/// Rows in value groups, each row distinct (its index) and padded to about `size` bytes.
func groupedRows(_ groups: [(value: String, rows: Int, size: Int)]) -> [GroupedRow] {
    var rows: [GroupedRow] = []
    for group in groups {
        for _ in 0..<group.rows {
            let head = "{\"n\":\(rows.count),\"v\":\(group.value),\"pad\":\""
            let padding = String(repeating: "x", count: max(group.size - head.utf8.count - 3, 0))
            rows.append(GroupedRow(value: group.value, line: Array((head + padding + "\"}\n").utf8)))
        }
    }
    return rows
}

/// The bytes of `rows[..<end]`.
func bytes(of rows: ArraySlice<GroupedRow>) -> [UInt8] { rows.flatMap(\.line) }

/// Where the group of `rows[index]` starts.
func groupStart(of rows: [GroupedRow], at index: Int) -> Int {
    var start = index
    while start > 0 && rows[start - 1].value == rows[index].value { start -= 1 }
    return start
}

/// Where a test stops appending rows, and how often it flushed until then.
struct StopPoint: Sendable, CustomTestStringConvertible {
    var row: Int
    var flushEvery: Int
    var testDescription: String { "row \(row), flush every \(flushEvery)" }
}

/// An extractor's side of a `GroupSafeOutput`: a local buffer and the value-group tracker, as
/// PostgresSource and SQLiteSource drive them.
final class ExtractorBuffer {
    let stream: GroupSafeOutput
    var buffer = ByteBuffer()
    var groups: ValueGroupTracker? = ValueGroupTracker()

    init(_ stream: GroupSafeOutput) { self.stream = stream }

    func append(_ row: GroupedRow) {
        let start = buffer.count
        buffer.append(contentsOf: row.line)
        Array(row.value.utf8).withUnsafeBufferPointer { groups?.rowAppended(at: start, value: $0) }
    }

    func flush() throws { try stream.flush(&buffer, groups: &groups) }
    func finish() throws { try stream.finish(&buffer, groups: &groups) }
    func abandon() { stream.abandon(&buffer, groups: groups) }
}

/// `GroupSafeOutput`'s group-safe output (SPEC section 5: a stream that ends early is never taken
/// as complete): the open value group is never written by a flush, a group past the memory limit
/// is held in a temporary file and written whole, and on a pipe the writes are atomic pieces
/// that end after a newline only where what was written may be read as complete.
@Suite struct GroupSafeOutputTests {
    /// A big group (well past the 1 KB memory limit, and past one 4 KB pipe piece) between small ones.
    static let rows = groupedRows([
        ("1", 3, 60), ("2", 1, 80), ("3", 90, 120), ("4", 2, 60), ("\"2024-05-01T12:00:00Z\"", 4, 50),
        ("\"2024-05-01T12:00:01Z\"", 1, 5000), ("7", 5, 40),
    ])

    /// Guards that after each flush exactly the complete value groups have been written — never a
    /// row of the open one, however the flushes fall — and that finish writes everything, in order.
    @Test(arguments: SinkKind.allCases, [1, 7, 1000])
    func flushWritesOnlyCompleteGroups(sink kind: SinkKind, flushEvery: Int) throws {
        let sink = try Sink(kind)
        let stream = GroupSafeOutput(fd: sink.writeFD, holdsValueGroups: true, memoryLimit: 1024)
        #expect(stream.isPipe == (kind == .pipe))
        let extractor = ExtractorBuffer(stream)
        let rows = Self.rows
        for (index, row) in rows.enumerated() {
            extractor.append(row)
            if (index + 1) % flushEvery == 0 {
                try extractor.flush()
                let expected = bytes(of: rows[..<groupStart(of: rows, at: index)])
                #expect(try sink.received() == expected, "after row \(index)")
            }
        }
        try extractor.finish()
        #expect(try sink.received() == bytes(of: rows[...]))
        #expect(stream.bytesWritten == bytes(of: rows[...]).count)
        let bufferLeft = extractor.buffer.count
        #expect(bufferLeft == 0)
    }

    /// Guards that abandoning (the source failed) writes every complete group — including one
    /// completed since the last flush, or held in the temporary file — and drops the open group.
    @Test(
        arguments: SinkKind.allCases,
        [
            // Stop inside a small group, inside the big group (spilled), just after it, inside later groups.
            StopPoint(row: 2, flushEvery: 1), StopPoint(row: 40, flushEvery: 1), StopPoint(row: 40, flushEvery: 7),
            StopPoint(row: 95, flushEvery: 1), StopPoint(row: 95, flushEvery: 1000), StopPoint(row: 96, flushEvery: 3),
            StopPoint(row: 100, flushEvery: 1), StopPoint(row: 99, flushEvery: 1000), StopPoint(row: 104, flushEvery: 5),
        ])
    func abandonWritesCompleteGroupsOnly(sink kind: SinkKind, stop: StopPoint) throws {
        let sink = try Sink(kind)
        let stream = GroupSafeOutput(fd: sink.writeFD, holdsValueGroups: true, memoryLimit: 1024)
        let extractor = ExtractorBuffer(stream)
        let rows = Self.rows
        for (index, row) in rows[...stop.row].enumerated() {
            extractor.append(row)
            if (index + 1) % stop.flushEvery == 0 { try extractor.flush() }
        }
        extractor.abandon()
        #expect(try sink.received() == bytes(of: rows[..<groupStart(of: rows, at: stop.row)]))
        let bufferLeft = extractor.buffer.count
        #expect(bufferLeft == 0)
    }

    /// Guards that without value groups (not an ordered incremental resource) a flush writes
    /// everything at once, the open group too.
    @Test(arguments: SinkKind.allCases)
    func withoutGroupsFlushWritesEverything(sink kind: SinkKind) throws {
        let sink = try Sink(kind)
        let stream = GroupSafeOutput(fd: sink.writeFD, holdsValueGroups: false, memoryLimit: 1024)
        let extractor = ExtractorBuffer(stream)
        let rows = Self.rows
        for row in rows[..<10] { extractor.append(row) }
        try extractor.flush()
        #expect(try sink.received() == bytes(of: rows[..<10]))
        // Without an incremental column there is no tracker at all.
        extractor.groups = nil
        for row in rows[10...] { extractor.append(row) }
        try extractor.flush()
        #expect(try sink.received() == bytes(of: rows[...]))
    }

    /// Guards that a spilled group is written whole once the next value arrives, and the next
    /// open group held again, across many spills and read-backs (megabytes through a 1 KB limit).
    /// On a regular file, read after every flush; large groups on a pipe are the reader-thread test's.
    @Test func spilledGroupsComeBackWholeAndInOrder() throws {
        let sink = try Sink(.file)
        let stream = GroupSafeOutput(fd: sink.writeFD, holdsValueGroups: true, memoryLimit: 1024)
        let extractor = ExtractorBuffer(stream)
        // 1.2 MB groups cross the temporary file's 1 MB read-back pieces.
        let rows = groupedRows([("10", 12_000, 100), ("11", 1, 100), ("12", 9_000, 200), ("13", 3, 100)])
        for (index, row) in rows.enumerated() {
            extractor.append(row)
            if (index + 1) % 500 == 0 {
                try extractor.flush()
                #expect(try sink.received() == bytes(of: rows[..<groupStart(of: rows, at: index)]), "after row \(index)")
            }
        }
        try extractor.finish()
        #expect(try sink.received() == bytes(of: rows[...]))
    }

    /// Guards the pipe's write pieces, seen by a reader on another thread: every byte arrives
    /// in order, and whenever what has arrived so far ends after a newline it ends a complete
    /// value group (so a writer killed at any moment leaves a cut line or whole groups). Also,
    /// from this thread's I/O counters, that a drained group goes out in pieces of at most 4096 bytes.
    @Test func pipePiecesEndAfterNewlineOnlyAtCompleteGroups() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        let reader = PipeReader(fd: ends[0])
        reader.start()
        let stream = GroupSafeOutput(fd: ends[1], holdsValueGroups: true, memoryLimit: 1024)
        #expect(stream.isPipe)
        let extractor = ExtractorBuffer(stream)
        let rows = groupedRows([
            ("1", 50, 100), ("2", 13_000, 100), ("3", 1, 9000), ("4", 700, 30), ("5", 2, 100), ("6", 6_000, 250),
        ])
        var counted: (writes: Int, bytes: Int)?
        for (index, row) in rows.enumerated() {
            extractor.append(row)
            if (index + 1) % 1000 == 0 { try extractor.flush() }
        }
        // The last group (1.5 MB) is held in the temporary file; finish drains it and writes nothing else.
        let before = ThreadIOCounters.read()
        let bytesBefore = stream.bytesWritten
        try extractor.finish()
        if let before, let after = ThreadIOCounters.read() {
            counted = (after.writeCalls - before.writeCalls, stream.bytesWritten - bytesBefore)
        }
        close(ends[1])
        let (received, readEnds) = reader.waitForEnd()
        close(ends[0])

        let all = bytes(of: rows[...])
        #expect(received.count == all.count)
        #expect(received == all)
        var completeEnds: Set<Int> = [all.count]
        var offset = 0
        for (index, row) in rows.enumerated() {
            offset += row.line.count
            if index + 1 < rows.count && rows[index + 1].value != row.value { completeEnds.insert(offset) }
        }
        let badEnds = readEnds.filter { $0 > 0 && received[$0 - 1] == 0x0A && !completeEnds.contains($0) }
        #expect(badEnds.isEmpty, "reads ended after a newline inside a group at \(badEnds.prefix(5))")
        #expect(readEnds.count > 10, "the reader should have seen the stream in many reads")
        if FileManager.default.fileExists(atPath: "/proc/thread-self/io") {
            try #require(counted != nil, "could not read /proc/thread-self/io")
        }
        if let counted {
            #expect(counted.bytes >= 1_400_000)
            #expect(counted.writes >= (counted.bytes + 4095) / 4096, "\(counted.bytes) bytes in \(counted.writes) writes")
        }
    }

    /// Guards `ValueGroupTracker.lastValue`: the last row's value as a state value — a number's
    /// exact digits, a string's decoded text — and nil before any row or for null and booleans.
    @Test func trackerLastValue() {
        func lastValue(after values: [String]) -> StateValue? {
            var tracker = ValueGroupTracker()
            for (index, value) in values.enumerated() {
                Array(value.utf8).withUnsafeBufferPointer { tracker.rowAppended(at: index * 10, value: $0) }
            }
            return tracker.lastValue
        }
        #expect(lastValue(after: []) == nil)
        #expect(lastValue(after: ["1", "2", "9007199254740993"]) == .number("9007199254740993"))
        #expect(lastValue(after: ["1.50e+3"]) == .number("1.50e+3"))
        #expect(lastValue(after: [#""2024-05-01T12:00:00.123456Z""#]) == .string("2024-05-01T12:00:00.123456Z"))
        #expect(lastValue(after: [#""a\"b\u00e9""#]) == .string("a\"bé"))
        #expect(lastValue(after: ["1", "null"]) == nil)
        #expect(lastValue(after: ["true"]) == nil)
    }

    /// Guards the tracker's group bookkeeping: where the open group starts, whether a group
    /// ended, and how both follow bytes leaving the buffer.
    @Test func trackerFollowsGroups() {
        var tracker = ValueGroupTracker()
        func append(_ value: String, at start: Int) {
            Array(value.utf8).withUnsafeBufferPointer { tracker.rowAppended(at: start, value: $0) }
        }
        append("1", at: 0)
        append("1", at: 10)
        #expect(tracker.groupStart == 0 && !tracker.groupChanged)
        append("2", at: 20)
        #expect(tracker.groupStart == 20 && tracker.groupChanged)
        append("2", at: 30)
        #expect(tracker.groupStart == 20)
        tracker.removedPrefix(15)
        #expect(tracker.groupStart == 5)
        tracker.completedGroupsWritten()
        #expect(tracker.groupStart == 0 && !tracker.groupChanged)
        append("2", at: 40)
        #expect(tracker.groupStart == 0 && !tracker.groupChanged)
        // Same number, other text: another group as far as the bytes go.
        append("2.0", at: 50)
        #expect(tracker.groupStart == 50 && tracker.groupChanged)
    }
}

/// Reads a pipe to its end on a thread of its own, noting how much had arrived after each read.
final class PipeReader: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private var data: [UInt8] = []
    private var readEnds: [Int] = []
    private let done = DispatchSemaphore(value: 0)

    init(fd: Int32) { self.fd = fd }

    func start() {
        Thread.detachNewThread { self.run() }
    }

    private func run() {
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                lock.withLock {
                    data.append(contentsOf: chunk[0..<count])
                    readEnds.append(data.count)
                }
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        done.signal()
    }

    /// Waits for the end of the pipe; returns every byte and the length received after each read.
    func waitForEnd() -> (data: [UInt8], readEnds: [Int]) {
        done.wait()
        return lock.withLock { (data, readEnds) }
    }
}

/// This thread's write system calls, from `/proc/thread-self/io` (nil where the kernel keeps no such counts).
struct ThreadIOCounters {
    var writeCalls: Int

    static func read() -> ThreadIOCounters? {
        guard let text = try? String(contentsOfFile: "/proc/thread-self/io", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("syscw:") {
            guard let calls = Int(line.dropFirst("syscw:".count).trimmingCharacters(in: .whitespaces)) else { return nil }
            return ThreadIOCounters(writeCalls: calls)
        }
        return nil
    }
}
