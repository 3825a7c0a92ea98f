import Core
import Foundation
import Glibc
import Stream
import Testing

/// The NDJSON line reader, on real file descriptors: temporary files and pipes.
@Suite("LineReader")
struct LineReaderTests {
    /// What one read of a stream produced.
    struct Reading {
        var lines: [(text: [UInt8], number: Int)] = []
        var outcome: Result<LineReader.Outcome, ConduitError> = .success(.endOfStream)
        var lineNumber = 0
        var bytesRead = 0

        var strings: [String] { lines.map { String(decoding: $0.text, as: UTF8.self) } }
        var numbers: [Int] { lines.map(\.number) }
    }

    /// Reads every line of `descriptor`, copying each one out of the reader's buffer.
    static func read(descriptor: Int32, stopAt stopLine: Int? = nil) -> Reading {
        var reading = Reading()
        var lines: [(text: [UInt8], number: Int)] = []
        var reader = LineReader(descriptor: descriptor)
        reading.outcome = Result { () throws(ConduitError) in
            try reader.forEachLine { (line, number) throws(ConduitError) in
                lines.append((Array(line), number))
                if number == stopLine { throw .badInput("stop at line \(number)") }
            }
        }
        reading.lines = lines
        reading.lineNumber = reader.lineNumber
        reading.bytesRead = reader.bytesRead
        return reading
    }

    /// Writes `bytes` to a temporary file and reads it back through a descriptor.
    static func read(_ bytes: [UInt8], stopAt stopLine: Int? = nil) throws -> Reading {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("linereader-\(UUID().uuidString)").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let descriptor = open(path, O_RDONLY)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        return read(descriptor: descriptor, stopAt: stopLine)
    }

    static func read(_ text: String) throws -> Reading { try read(Array(text.utf8)) }

    /// Reads from a pipe whose writer sends `pieces` one `write` at a time, pausing between them,
    /// so lines arrive split across reads.
    static func readThroughPipe(_ pieces: [[UInt8]]) throws -> Reading {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        let (readEnd, writeEnd) = (ends[0], ends[1])
        let writer = Thread {
            for piece in pieces {
                var offset = 0
                while offset < piece.count {
                    let written = piece.withUnsafeBytes { Glibc.write(writeEnd, $0.baseAddress! + offset, piece.count - offset) }
                    if written <= 0 { break }
                    offset += written
                }
                usleep(2_000)
            }
            close(writeEnd)
        }
        writer.start()
        defer { close(readEnd) }
        return read(descriptor: readEnd)
    }

    /// Lines are numbered from 1; blank lines (spaces, tabs, carriage returns) count but are skipped.
    @Test func numbersLinesAndSkipsBlankOnes() throws {
        let input = "{\"a\":1}\n\n{\"a\":2}\n   \n\t\r\n\r\n{\"a\":3}\n"
        let reading = try Self.read(input)
        #expect(try reading.outcome.get() == .endOfStream)
        #expect(reading.strings == ["{\"a\":1}", "{\"a\":2}", "{\"a\":3}"])
        #expect(reading.numbers == [1, 3, 7])
        #expect(reading.lineNumber == 7)
        #expect(reading.bytesRead == input.utf8.count)
    }

    /// CRLF line ends: each line comes without its newline (at most a trailing CR is left, which
    /// JSON reads as whitespace), numbered as with LF.
    @Test func readsCRLFLines() throws {
        let reading = try Self.read("{\"a\":1}\r\n\r\n{\"b\":\"x\"}\r\n")
        #expect(try reading.outcome.get() == .endOfStream)
        #expect(reading.numbers == [1, 3])
        let stripped = reading.lines.map { line in
            String(decoding: line.text.last == 0x0D ? line.text.dropLast() : line.text[...], as: UTF8.self)
        }
        #expect(stripped == ["{\"a\":1}", "{\"b\":\"x\"}"])
        #expect(reading.lines.allSatisfy { !$0.text.contains(0x0A) })
        for line in reading.lines {
            var row = JSONRow()
            let scanned = line.text.withUnsafeBufferPointer { buffer in (try? row.scan(buffer)).map { row.members.count } }
            #expect(scanned == 1, "\(line.text)")
        }
    }

    /// A line longer than the 1 MB read chunk comes whole, and the lines around it too.
    @Test func readsLinesLongerThanTheChunk() throws {
        let long = Array(repeating: UInt8(ascii: "x"), count: 3 * (1 << 20) + 17)
        let input = Array("{\"a\":1}\n".utf8) + long + [0x0A] + Array("{\"a\":2}\n".utf8)
        let reading = try Self.read(input)
        #expect(try reading.outcome.get() == .endOfStream)
        #expect(reading.numbers == [1, 2, 3])
        #expect(reading.lines.map(\.text.count) == [7, long.count, 7])
        #expect(reading.lines[1].text == long)
        #expect(reading.bytesRead == input.count)
    }

    /// Many short lines: the ones that straddle a chunk boundary come whole and in order.
    @Test func readsLinesAcrossChunkBoundaries() throws {
        let count = 250_000
        var input: [UInt8] = []
        for index in 1...count { input += Array("{\"id\":\(index)}\n".utf8) }
        #expect(input.count > 3 * (1 << 20))
        let reading = try Self.read(input)
        #expect(try reading.outcome.get() == .endOfStream)
        #expect(reading.lines.count == count)
        let wrong = reading.lines.enumerated().first { offset, line in
            line.number != offset + 1 || line.text != Array("{\"id\":\(offset + 1)}".utf8)
        }
        #expect(wrong == nil, "first wrong line: \(String(describing: wrong))")
    }

    /// Through a pipe, lines split across writes are put back together.
    @Test func joinsLinesSplitAcrossReads() throws {
        let pieces = ["{\"a\"", ":1}\n{\"a\":", "2}", "\n\n", "{\"a\":3}\n{\"a\":4", "}\n"].map { Array($0.utf8) }
        let reading = try Self.readThroughPipe(pieces)
        #expect(try reading.outcome.get() == .endOfStream)
        #expect(reading.strings == ["{\"a\":1}", "{\"a\":2}", "{\"a\":3}", "{\"a\":4}"])
        #expect(reading.numbers == [1, 2, 4, 5])
    }

    /// A last line without its newline is a cut stream: a bad-input error naming its line number,
    /// after every complete line before it was handed out — and the cut line never is.
    @Test(arguments: [
        ("{\"a\":1}\n{\"a\":2}", 2, 1),
        ("{\"a\":1}\n\n\n{\"a\":", 4, 1),
        ("{\"a\":1}", 1, 0),
        ("{\"a\":1}\n{\"a\":1}\n ", 3, 2),
    ])
    func cutLastLineIsAnError(input: String, line: Int, complete: Int) throws {
        let reading = try Self.read(input)
        let error = try #require(throws: ConduitError.self) { try reading.outcome.get() }
        #expect(error.kind == .badInput)
        #expect(error.exitStatus.rawValue == 65)
        #expect(error.message.contains("line \(line)"), "\(error.message)")
        #expect(error.message.contains("cut"), "\(error.message)")
        #expect(reading.lines.count == complete)
    }

    /// A cut line longer than the chunk is an error too, and through a pipe.
    @Test func cutLongLineIsAnError() throws {
        let pieces = [Array("{\"a\":1}\n".utf8), Array(repeating: UInt8(ascii: "y"), count: 2 * (1 << 20))]
        let reading = try Self.readThroughPipe(pieces)
        let error = try #require(throws: ConduitError.self) { try reading.outcome.get() }
        #expect(error.kind == .badInput)
        #expect(error.message.contains("line 2"), "\(error.message)")
        #expect(reading.numbers == [1])
    }

    /// Empty input is a complete, empty stream; so is input of blank lines only.
    @Test func emptyInput() throws {
        let empty = try Self.read("")
        #expect(try empty.outcome.get() == .endOfStream)
        #expect(empty.lines.isEmpty && empty.lineNumber == 0 && empty.bytesRead == 0)
        let blanks = try Self.read("\n \n\r\n")
        #expect(try blanks.outcome.get() == .endOfStream)
        #expect(blanks.lines.isEmpty && blanks.lineNumber == 3)
        let pipe = try Self.readThroughPipe([])
        #expect(try pipe.outcome.get() == .endOfStream)
        #expect(pipe.lines.isEmpty)
    }

    /// An error thrown by the caller stops reading at once and comes out unchanged.
    @Test func callerErrorStopsReading() throws {
        let reading = try Self.read(Array("{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n".utf8), stopAt: 2)
        let error = try #require(throws: ConduitError.self) { try reading.outcome.get() }
        #expect(error == .badInput("stop at line 2"))
        #expect(reading.numbers == [1, 2])
    }

    /// A descriptor that cannot be read is an I/O error, not an empty stream.
    @Test func unreadableDescriptorIsAnIOError() throws {
        let descriptor = open("/dev/null", O_WRONLY)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        let reading = Self.read(descriptor: descriptor)
        let error = try #require(throws: ConduitError.self) { try reading.outcome.get() }
        #expect(error.kind == .io)
    }
}
