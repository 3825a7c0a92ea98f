import Foundation
import TestSupport
import Testing

/// `conduit-extract | head -1`: a reader that goes away is an I/O error with a message (exit 74,
/// SPEC 7), whether it leaves while the extract is still writing or after its last write, and the
/// extract confirms no end for a stream that was cut.
@Suite struct ExtractReaderGoneTests {
    static func prepare(rows: Int) throws -> Sandbox {
        let box = try Sandbox()
        try box.writeStandardConfig()
        let setup = try box.run(
            """
            sqlite3 app.db "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);
              WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < \(rows))
              INSERT INTO users SELECT x, printf('%.200c', 'x') FROM g;"
            """)
        try #require(setup.status == 0, "\(setup.stderr)")
        return box
    }

    /// Many rows: the reader leaves while the extract still writes (EPIPE); or 200 rows (43 KB),
    /// which fit in the pipe but not in head's 8 KB read: the reader leaves with bytes unread, or
    /// while the last pieces are still being written (which of the two is a matter of timing).
    /// Either way, exit 74 with a message.
    @Test(arguments: [50_000, 200])
    func readerThatLeavesEarlyIsAnIOError(rows: Int) throws {
        let box = try Self.prepare(rows: rows)
        let result = try box.run(
            """
            conduit-extract users | head -n 1 > first.ndjson
            echo "status=${PIPESTATUS[0]}"
            """)
        #expect(result.stdout == "status=74\n", "\(result.stderr)")
        let cut =
            result.stderr
            == "conduit-extract: error: writing rows to stdout: the reader closed the pipe before the end of the rows, so the stream was cut\n"
            || (result.stderr.hasPrefix(
                "conduit-extract: error: writing rows to stdout: the reader closed the pipe with the last ")
                && result.stderr.hasSuffix(" bytes unread, so the stream was cut\n"))
        #expect(cut, "\(result.stderr)")
        #expect(try box.read("first.ndjson").hasPrefix("{\"id\":1,"))
    }

    /// A reader that takes everything, even slowly, leaves the extract a clean exit 0.
    @Test func readerThatTakesEverythingIsSuccess() throws {
        let box = try Self.prepare(rows: 2_000)
        let result = try box.run("conduit-extract --quiet users | (sleep 0.5; wc -l)")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.trimmingCharacters(in: .whitespaces) == "2000\n")
        #expect(result.stderr == "")
    }
}
