import Foundation
import TestSupport
import Testing

/// SPEC section 7's messages beyond a tool's own: the server's notices and warnings, the argument
/// parser's errors under `--log-format json`, and live progress on a terminal.
@Suite struct MessagesTests {
    /// A sandbox whose ingest.yml reads from and loads into the test server, with functions and
    /// tables named after `prefix`: `<prefix>_noisy(i)` raises a NOTICE and a WARNING for 1,
    /// `<prefix>_dst` has a trigger that raises a NOTICE for each row. Resources: `noisy` (two rows
    /// through the function), `rows` (incremental on id, into `<prefix>_dst`), `merged` and
    /// `replaced` (the other modes, into `<prefix>_m` and `<prefix>_r`), `slow` (10,000 rows of
    /// 300 bytes after a 1.2 s sleep).
    static func prepare(prefix: String) throws -> (Sandbox, [String: String]) {
        let box = try Sandbox()
        let environment = try PostgresFixture.environment()
        try box.write(
            """
            sources:
            \(PostgresFixture.entry("pg"))
            destinations:
            \(PostgresFixture.entry("warehouse", extra: ["table: \(prefix)_dst"]))
            resources:
              - name: noisy
                source: pg
                destination: warehouse
                query: "SELECT \(prefix)_noisy(g) AS id FROM generate_series(1, 2) g"
              - name: rows
                source: pg
                destination: warehouse
                incremental_column: id
                # A cursor no table holds: the safe horizon would warn that it cannot bound it.
                safe_horizon: false
                query: "SELECT g AS id FROM generate_series(1, 2) g WHERE g > :last_value ORDER BY g"
              - name: merged
                source: pg
                destination: warehouse
                table: \(prefix)_m
                mode: merge
                primary_key: [id]
                query: "SELECT 1 AS id"
              - name: replaced
                source: pg
                destination: warehouse
                table: \(prefix)_r
                mode: replace
                query: "SELECT 1 AS id"
              - name: slow
                source: pg
                destination: warehouse
                query: "SELECT g AS id, repeat('x', 300) AS pad FROM generate_series(1, 10000) g, (SELECT pg_sleep(1.2)) s"
            """, to: "ingest.yml")
        try PostgresFixture.recreate(
            ["\(prefix)_dst", "\(prefix)_m", "\(prefix)_r", "\(prefix)_r__conduit_staging"],
            with: """
                CREATE OR REPLACE FUNCTION \(prefix)_noisy(i int) RETURNS int LANGUAGE plpgsql AS $$
                BEGIN
                  IF i = 1 THEN
                    RAISE NOTICE 'checking row %', i;
                    RAISE WARNING 'row % looks odd', i USING DETAIL = 'it is the first', HINT = 'ignore it';
                  END IF;
                  RETURN i;
                END $$;
                CREATE TABLE \(prefix)_dst(id int);
                CREATE OR REPLACE FUNCTION \(prefix)_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  RAISE NOTICE 'loading %', NEW.id;
                  RETURN NEW;
                END $$;
                CREATE TRIGGER \(prefix)_notice BEFORE INSERT ON \(prefix)_dst FOR EACH ROW EXECUTE FUNCTION \(prefix)_trigger();
                """, in: box, environment)
        return (box, environment)
    }

    /// The JSON objects of stderr, one a line; fails the test when a line is not one.
    static func objects(_ stderr: String) throws -> [[String: Any]] {
        try stderr.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
        }
    }

    // MARK: - The server's notices

    /// A function's RAISE NOTICE and RAISE WARNING print as conduit-extract's own lines, with the
    /// warning's detail and hint, never as libpq's bare `NOTICE:`.
    @Test func extractReportsServerNoticesAsText() throws {
        let (box, environment) = try Self.prepare(prefix: "msg_text")
        let result = try box.run("conduit-extract noisy", environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "{\"id\":1}\n{\"id\":2}\n")
        #expect(
            Messages.stable(result.stderr) == """
                conduit-extract: notice: checking row 1
                conduit-extract: warning: row 1 looks odd; detail: it is the first; hint: ignore it
                conduit-extract: noisy: 2 rows, 18 bytes in \(Messages.timing)

                """)
    }

    /// Under --log-format json every stderr line is one JSON object, the notice and the warning
    /// with their severity, SQLSTATE, detail and hint.
    @Test func extractReportsServerNoticesAsJSON() throws {
        let (box, environment) = try Self.prepare(prefix: "msg_json")
        let result = try box.run("conduit-extract --log-format json noisy", environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(
            lines.first
                == #"{"tool":"conduit-extract","level":"notice","message":"checking row 1","event":"server_notice","severity":"NOTICE","sqlstate":"00000"}"#
        )
        #expect(
            lines.dropFirst().first
                == #"{"tool":"conduit-extract","level":"warning","message":"row 1 looks odd","event":"server_notice","severity":"WARNING","sqlstate":"01000","detail":"it is the first","hint":"ignore it"}"#
        )
        let objects = try Self.objects(result.stderr)
        #expect(objects.last?["event"] as? String == "summary")
        #expect(objects.last?["rows"] as? Int == 2)
    }

    /// --quiet silences the server's notice and the summary; the server's warning still prints.
    @Test func quietKeepsOnlyTheServersWarnings() throws {
        let (box, environment) = try Self.prepare(prefix: "msg_quiet")
        let text = try box.run("conduit-extract --quiet noisy", environment: environment)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stderr == "conduit-extract: warning: row 1 looks odd; detail: it is the first; hint: ignore it\n")
        let json = try box.run("conduit-extract --quiet --log-format json noisy", environment: environment)
        #expect(json.status == 0, "\(json.stderr)")
        #expect(
            json.stderr
                == #"{"tool":"conduit-extract","level":"warning","message":"row 1 looks odd","event":"server_notice","severity":"WARNING","sqlstate":"01000","detail":"it is the first","hint":"ignore it"}"#
                + "\n")
    }

    /// A trigger on the destination table that raises a NOTICE per row reaches conduit-load's
    /// reporter: text, one JSON object per line, and nothing with --quiet.
    @Test func loadReportsTheDestinationsNotices() throws {
        let (box, environment) = try Self.prepare(prefix: "msg_load")
        let label = PostgresFixture.label(environment)
        let text = try box.run(#"printf '{"id":1}\n{"id":2}\n' | conduit-load noisy"#, environment: environment)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(
            Messages.stable(text.stderr) == """
                conduit-load: notice: loading 1
                conduit-load: notice: loading 2
                conduit-load: noisy: 2 rows, 18 bytes in \(Messages.timing) into "msg_load_dst" on \(label)

                """)
        let json = try box.run(#"printf '{"id":3}\n' | conduit-load --log-format json noisy"#, environment: environment)
        #expect(json.status == 0, "\(json.stderr)")
        let objects = try Self.objects(json.stderr)
        #expect(objects.count == 2)
        #expect(
            json.stderr.hasPrefix(
                #"{"tool":"conduit-load","level":"notice","message":"loading 3","event":"server_notice","severity":"NOTICE","sqlstate":"00000"}"#
                    + "\n"))
        let quiet = try box.run(#"printf '{"id":4}\n' | conduit-load --quiet noisy"#, environment: environment)
        #expect(quiet.status == 0, "\(quiet.stderr)")
        #expect(quiet.stderr == "")
        #expect(try PostgresFixture.count("msg_load_dst", in: box, environment) == "4\n")
    }

    /// conduit-load's own housekeeping (the checkpoint table, the merge and replace staging tables,
    /// each IF [NOT] EXISTS) prints no "skipping" notices, on the first run or the second.
    @Test func housekeepingPrintsNoNotices() throws {
        let (box, environment) = try Self.prepare(prefix: "msg_house")
        try PostgresFixture.execute("DROP TRIGGER msg_house_notice ON msg_house_dst", in: box, environment)
        for _ in 1...2 {
            let result = try box.run(
                """
                psql -qc 'DELETE FROM msg_house_dst' && conduit-state reset rows >/dev/null 2>&1
                conduit-extract rows | conduit-state commit rows -- conduit-load rows
                conduit-extract merged | conduit-load merged
                conduit-extract replaced | conduit-load replaced
                """, environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(!result.stderr.lowercased().contains("notice"), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 7, "\(result.stderr)")
        }
    }

    // MARK: - The argument parser's errors

    /// The parser's errors, and validate()'s, are one JSON object on stderr under --log-format
    /// json (either spelling), exit 64, for each of the three tools.
    @Test(arguments: [
        ("conduit-extract --nope --log-format json users", "conduit-extract", "Unknown option '--nope'"),
        ("conduit-extract --log-format=json", "conduit-extract", "Missing expected argument '<resource>'"),
        ("conduit-load --log-format=json --nope users", "conduit-load", "Unknown option '--nope'"),
        (
            "conduit-load --log-format json --infer-types --schema s.json users", "conduit-load",
            "--infer-types and --schema exclude each other"
        ),
        ("conduit-state show --nope --log-format json", "conduit-state", "Unknown option '--nope'"),
        (
            "conduit-state commit users --log-format json", "conduit-state",
            "give the loader after --, e.g. commit users -- conduit-load users"
        ),
    ])
    func parserErrorsAreJSON(command: String, tool: String, message: String) throws {
        let box = try Sandbox()
        let result = try box.run(command)
        #expect(result.status == 64)
        #expect(result.stdout == "")
        #expect(result.stderr == #"{"tool":"\#(tool)","level":"error","message":"\#(message)","exit_code":64}"# + "\n")
    }

    /// Without --log-format json (or with it only in the loader's arguments after --) the parser's
    /// errors stay ArgumentParser's text; --help and --version still work under json.
    @Test func parserOutputOtherwiseUnchanged() throws {
        let box = try Sandbox()
        let text = try box.run("conduit-extract --nope users")
        #expect(text.status == 64)
        #expect(text.stderr.hasPrefix("Error: Unknown option '--nope'\nUsage: conduit-extract "), "\(text.stderr)")
        let loaderArguments = try box.run("conduit-state commit users --nope -- conduit-load --log-format json users")
        #expect(loaderArguments.status == 64)
        #expect(loaderArguments.stderr.hasPrefix("Error: Unknown option '--nope'\n"), "\(loaderArguments.stderr)")
        let help = try box.run("conduit-load --log-format json --help")
        #expect(help.status == 0)
        #expect(help.stdout.hasPrefix("OVERVIEW: Read NDJSON rows on stdin"), "\(help.stdout)")
        let subcommandHelp = try box.run("conduit-state commit --help --log-format json")
        #expect(subcommandHelp.status == 0)
        #expect(subcommandHelp.stdout.hasPrefix("OVERVIEW: Pass the stream to LOADER"), "\(subcommandHelp.stdout)")
        let version = try box.run("conduit-extract --log-format json --version")
        #expect(version.status == 0)
        #expect(!version.stdout.isEmpty && !version.stdout.contains("{"), "\(version.stdout)")
        #expect(version.stderr == "")
    }

    // MARK: - Progress

    /// On a terminal (a pty from util-linux `script`) conduit-extract draws its progress in place
    /// and clears it before the summary; not with --quiet, not with json, never into a file.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "util-linux script gives the pty"))
    func extractShowsProgressOnATerminal() throws {
        let (box, environment) = try Self.prepare(prefix: "msg_progress")
        let terminal = try box.run(#"script -qec "conduit-extract slow > out.ndjson" /dev/null"#, environment: environment)
        #expect(terminal.status == 0, "\(terminal.stdout)")
        #expect(try box.read("out.ndjson").split(separator: "\n").count == 10_000)
        // Each redraw starts with a carriage return and "erase line"; the pty ends lines with \r\n.
        let draws = terminal.stdout.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\r\u{1B}[K")
        #expect(draws.count >= 3 && draws.first == "", "\(terminal.stdout.debugDescription)")
        for progress in draws.dropFirst().dropLast() {
            #expect(Messages.matches(progress, #"conduit-extract: \d+ rows, \d+ rows/s"#), "\(progress.debugDescription)")
        }
        #expect(Messages.stable(draws.last ?? "") == "conduit-extract: slow: 10000 rows, 3208894 bytes in \(Messages.timing)\n")
        for options in ["--quiet", "--log-format json"] {
            let silent = try box.run(
                #"script -qec "conduit-extract \#(options) slow > out.ndjson" /dev/null"#, environment: environment)
            #expect(silent.status == 0, "\(silent.stdout)")
            #expect(!silent.stdout.contains("\u{1B}[K"), "\(options): \(silent.stdout.debugDescription)")
        }
        let file = try box.run("conduit-extract slow > out.ndjson", environment: environment)
        #expect(file.status == 0, "\(file.stderr)")
        #expect(Messages.stable(file.stderr) == "conduit-extract: slow: 10000 rows, 3208894 bytes in \(Messages.timing)\n")
    }
}
