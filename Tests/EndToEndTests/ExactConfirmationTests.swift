import Foundation
import TestSupport
import Testing

/// Confirmation is exact (SPEC section 5, issue 25): the commit checks where the extract started
/// and exactly what it wrote. Each case is a pipeline people write every day, on SQLite source
/// and destination, driven through real pipes; each lost or doubled rows before.
@Suite struct ExactConfirmationTests {
    /// A sandbox with source table `r(v, name)` holding `values` and resource `r` (append, ordered)
    /// loading it into `warehouse.db`; `extra` adds resource keys.
    static func prepare(values: [String], extra: String = "", type: String = "INTEGER") throws -> Sandbox {
        let box = try Sandbox()
        try box.write(
            BaseConfiguration.text(
                destinationPath: "warehouse.db", destinationKeys: ["table: r"],
                resources: """
                      - name: r
                        source: app
                        destination: warehouse
                        incremental_column: v
                        query: "SELECT v, name FROM r WHERE v > :last_value ORDER BY v"
                    \(extra)
                    """), to: "ingest.yml")
        try insert(values, into: box, creating: type)
        return box
    }

    static func insert(_ values: [String], into box: Sandbox, creating type: String? = nil) throws {
        let rows = values.map { "(\($0), 'n\($0.filter { $0 != "'" })')" }.joined(separator: ", ")
        let create = type.map { "CREATE TABLE r(v \($0) NOT NULL, name TEXT);" } ?? ""
        let result = try box.run("sqlite3 app.db \"\(create) INSERT INTO r VALUES \(rows);\"")
        try #require(result.status == 0, "\(result.stderr)")
    }

    /// The destination's values, each as often as it was loaded, in order ("" when no table yet).
    static func loaded(_ box: Sandbox) throws -> [String] {
        let result = try box.run("[ -f warehouse.db ] && sqlite3 warehouse.db 'SELECT v FROM r ORDER BY v' 2>/dev/null || true")
        return result.stdout.split(separator: "\n").map(String.init)
    }

    static func state(_ box: Sandbox) throws -> String {
        try box.run("conduit-state get r").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static let pipe = "conduit-extract r | conduit-state commit r -- conduit-load r"

    /// Guards against case 2: `--last-value 6` with the state at 2 would have committed 2 → 7 and
    /// never loaded 3–6. Refused with 65 at the first row, nothing loaded, the way to skip named;
    /// a start below the state (re-reading) is accepted.
    @Test func startAboveTheStateIsRefused() throws {
        let box = try Self.prepare(values: (1...7).map(String.init))
        try box.run("conduit-state set r 2")
        let refused = try box.run("conduit-extract --last-value 6 r | conduit-state commit r -- conduit-load r")
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("conduit-state: error: r: line 1: conduit-extract (pid "), "\(refused.stderr)")
        #expect(
            refused.stderr.contains(
                ") started from 6 (--last-value) but the committed value of r is 2: rows above 2 up to 6 would never load; nothing loaded. To skip them on purpose, run conduit-state set r 6 first"
            ), "\(refused.stderr)")
        #expect(try Self.loaded(box) == [])
        #expect(try Self.state(box) == "2")

        let below = try box.run("conduit-extract --last-value 1 r | conduit-state commit r -- conduit-load r")
        #expect(below.status == 0, "\(below.stderr)")
        #expect(try Self.loaded(box) == ["2", "3", "4", "5", "6", "7"])
        #expect(try Self.state(box) == "7")
    }

    /// Guards against case 3: an extract reading another state file (`--state-file`, or an
    /// ingest.yml with another `state_file`) had its complete groups committed; now nothing loads.
    @Test(arguments: ["--state-file other.json", "--config other.yml"])
    func extractOfAnotherStateIsRefused(option: String) throws {
        let box = try Self.prepare(values: (1...9).map(String.init))
        try box.run("cp ingest.yml other.yml && echo 'state_file: other.json' >> other.yml")
        try box.run("conduit-state set r 2")
        let result = try box.run("conduit-extract \(option) r | conduit-state commit r -- conduit-load r")
        #expect(result.status == 65)
        #expect(
            result.stderr.contains(
                "r: line 1: no conduit-extract of r reading this state file (\(box.folder)/.conduit_state.json) recorded where this stream started, so it cannot be checked against the committed value, 2"
            ), "\(result.stderr)")
        #expect(try Self.loaded(box) == [])
        #expect(try Self.state(box) == "2")
        // The same stream, vouched for: --external takes its start on trust.
        let vouched = try box.run(
            "conduit-extract --state-file other.json r | conduit-state commit --external r -- conduit-load r")
        #expect(vouched.status == 0, "\(vouched.stderr)")
        #expect(try Self.loaded(box).count == 8)
    }

    /// Guards against case 4: `--from` text that is more than one pipeline hid a filter's failure
    /// behind the last pipeline's status. Refused with 64 before anything runs.
    @Test(arguments: [
        "conduit-extract r | awk 'NR != 2'; echo done",
        "( conduit-extract r | awk 'NR != 2' )",
        "conduit-extract r | awk 'NR != 2' || exit 0",
    ])
    func fromTakesOnePipeline(upstream: String) throws {
        let box = try Self.prepare(values: (1...5).map(String.init))
        try box.write(upstream, to: "upstream.txt")
        let result = try box.run("conduit-state commit r --from \"$(cat upstream.txt)\" -- conduit-load r")
        #expect(result.status == 64)
        #expect(
            result.stderr.hasPrefix("conduit-state: error: --from takes one pipeline (stages joined by |) and nothing else"),
            "\(result.stderr)")
        #expect(!result.stderr.contains("conduit-extract: r:"), "the upstream must not run: \(result.stderr)")
        #expect(try Self.loaded(box) == [])
        #expect(!box.exists(".conduit_state.json"))
    }

    /// Guards against case 5: a filter that rewrites the cursor (`jq -c '.v += 1000'`) on a plain
    /// pipe committed 1004 and the next runs skipped rows. Now the run is void (65, the line
    /// named), the state stays, and the next plain run loads every row exactly once.
    @Test func rewrittenCursorVoidsTheRun() throws {
        let box = try Self.prepare(values: (1...5).map(String.init))
        try box.run("conduit-state set r 2")
        let result = try box.run(
            "conduit-extract r | python3 -c '\(Filters.addThousand)' | conduit-state commit r -- conduit-load r")
        #expect(result.status == 65)
        #expect(
            result.stderr.contains(
                "conduit-state: warning: r: line 3: \"v\" is 1005, above 5, the last value conduit-extract wrote: a stage between them rewrote the incremental column or added rows: no row of this run can be trusted"
            ), "\(result.stderr)")
        #expect(try Self.state(box) == "2")
        #expect(try Self.loaded(box) == [])
        try Self.insert(["6", "7"], into: box)
        let next = try box.run(Self.pipe)
        #expect(next.status == 0, "\(next.stderr)")
        #expect(try Self.loaded(box) == ["3", "4", "5", "6", "7"])
        #expect(try Self.state(box) == "7")
    }

    /// Guards against case 6: a filter that drops one row and doubles another keeps the count and
    /// the last value, and was confirmed. Now it is "modified in between": said, the last group
    /// held back; under --from with a failing status, void and nothing loaded.
    @Test func sameCountOtherBytesIsModified() throws {
        let box = try Self.prepare(values: (1...7).map(String.init))
        try box.run("conduit-state set r 2")
        let dropDouble = "awk 'NR == 2 { next } NR == 3 { print } { print }'"
        let plain = try box.run("conduit-extract r | \(dropDouble) | conduit-state commit r -- conduit-load r")
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(
            plain.stderr.contains("the stream was modified between conduit-extract and this commit (conduit-extract (pid "),
            "\(plain.stderr)")
        #expect(
            plain.stderr.contains(
                ") wrote 5 rows and as many arrived, but not the same bytes (100 written, 100 received): a stage between rewrote, reordered or swapped rows, or dropped some and doubled as many; a filter belongs in --from, which sees its exit status); committed up to 6; the group at 7 (1 row) was not loaded and will be read again; state 2 → 6"
            ), "\(plain.stderr)")

        let failing = try Self.prepare(values: (1...7).map(String.init))
        try failing.run("conduit-state set r 2")
        let voided = try failing.run(
            "conduit-state commit r --from \"conduit-extract r | \(dropDouble) | (cat; exit 3)\" -- conduit-load r")
        // A subshell stage is refused; the failing filter is a script.
        #expect(voided.status == 64)
        try failing.write("awk 'NR == 2 { next } NR == 3 { print } { print }'; exit 3\n", to: "filter.sh")
        let failed = try failing.run("conduit-state commit r --from 'conduit-extract r | bash filter.sh' -- conduit-load r")
        #expect(failed.status == 3)
        #expect(
            failed.stderr.contains(
                "stage 2 (bash filter.sh) of the upstream exited with status 3: no row of this run can be trusted"),
            "\(failed.stderr)")
        #expect(try Self.loaded(failing) == [])
        #expect(try Self.state(failing) == "2")
    }

    /// Guards against case 1: jq 1.6 rounds a cursor beyond 2^53. Under --from such a jq is
    /// recognised and the run refused at the line (65, nothing loaded); jq 1.7 passes the values
    /// exactly. On a plain pipe the rounded stream is caught as rewritten (rounded up) or
    /// modified (rounded down, with jq named), and three runs never load a row twice silently.
    @Test func bigIntegersThroughJQ() throws {
        let values = ["9007199254740991", "9007199254740993", "9007199254740995"]
        let box = try Self.prepare(values: values)
        try Filters.installJQ(version: "1.6", in: box)
        let refused = try box.run(
            "PATH=$PWD/bin:$PATH conduit-state commit r --from 'conduit-extract r | jq -c .' -- conduit-load r")
        #expect(refused.status == 65)
        #expect(
            refused.stderr.contains(
                "r: line 2: \"v\" is 9007199254740992, beyond 2^53, and stage 2 (jq -c .) is jq older than 1.7, which rounds such integers to the nearest double"
            ), "\(refused.stderr)")
        #expect(try Self.loaded(box) == [])

        for run in 1...3 {
            let plain = try box.run("PATH=$PWD/bin:$PATH; conduit-extract r | jq -c . | conduit-state commit r -- conduit-load r")
            #expect(plain.status == 65, "run \(run): \(plain.stderr)")
            #expect(
                plain.stderr.contains("\"v\" is 9007199254740996, above 9007199254740995, the last value conduit-extract wrote"),
                "\(plain.stderr)")
        }
        #expect(try Self.loaded(box) == [])
        #expect(try Self.state(box) == "")

        try Filters.installJQ(version: "1.7.1", in: box)
        let exact = try box.run(
            "PATH=$PWD/bin:$PATH conduit-state commit r --from 'conduit-extract r | jq -c .' -- conduit-load r")
        #expect(exact.status == 0, "\(exact.stderr)")
        #expect(try Self.loaded(box) == values)
        #expect(try Self.state(box) == "9007199254740995")
    }

    /// Guards the rounded-down half of case 1 on a plain pipe: the modified stream says jq, the
    /// rounded row is held back rather than committed, so no run reloads it silently.
    @Test func bigIntegerRoundedDownIsSaid() throws {
        let box = try Self.prepare(values: ["9007199254740991", "9007199254740993"])
        try Filters.installJQ(version: "1.6", in: box)
        for _ in 1...3 {
            let result = try box.run(
                "PATH=$PWD/bin:$PATH; conduit-extract r | jq -c . | conduit-state commit r -- conduit-load r")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(
                result.stderr.contains("jq before 1.7 rounds integers beyond 2^53 (9007199254740992), as it would these values"),
                "\(result.stderr)")
        }
        #expect(try Self.loaded(box) == ["9007199254740991"])
        #expect(try Self.state(box) == "9007199254740991")
    }

    /// Guards grep under --from: selecting nothing (exit 1) is a clean run, not a void one;
    /// grep's own failure (exit 2) voids the run; rows spelled "1 row".
    @Test func grepSelectingNothingIsClean() throws {
        let box = try Self.prepare(values: (1...4).map(String.init))
        let clean = try box.run("conduit-state commit r --from 'conduit-extract r | grep nothing-matches' -- conduit-load r")
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(
            Messages.stable(clean.stderr).contains(
                "conduit-state: r: 0 rows, 0 bytes in \(Messages.timing); no rows, state unchanged at (none)"), "\(clean.stderr)")
        try Self.insert(["5"], into: box)
        let failed = try box.run("conduit-state commit r --from 'conduit-extract r | grep -f /no/such/file' -- conduit-load r")
        #expect(failed.status == 2)
        #expect(
            failed.stderr.contains("stage 2 (grep -f /no/such/file) of the upstream exited with status 2"), "\(failed.stderr)")
        #expect(try Self.state(box) == "")
        let one = try box.run("conduit-state commit r --from 'conduit-extract r | grep -v \"n[1-4]\"' -- conduit-load r")
        #expect(
            Messages.stable(one.stderr).contains(
                "conduit-state: warning: r: 1 row, 20 bytes in \(Messages.timing); every stage of the upstream finished, but its filters changed the number of rows (conduit-extract wrote 5 rows and 1 arrived)"
            ), "\(one.stderr)")
    }

    /// Guards --from with a filter that stops early and exits 0 (`head`, which the old rule
    /// confirmed): the last group it passed is not committed, so the rest of that group and every
    /// later row are read again; a filter that rewrites every row and passes them all commits all.
    @Test func filtersUnderFrom() throws {
        let box = try Self.prepare(values: ["1", "2", "2", "2", "3", "4"])
        let cut = try box.run("conduit-state commit r --from 'conduit-extract r | head -n 3' -- conduit-load r")
        // head may leave bytes in the extract's pipe (the extract fails, 74) or take them all (0).
        #expect(cut.status == 0 || cut.status == 74, "\(cut.stderr)")
        #expect(try Self.loaded(box) == ["1"])
        #expect(try Self.state(box) == "1")
        let rewrite = try box.run(
            #"conduit-state commit r --from 'conduit-extract r | jq -c ".name |= ascii_upcase"' -- conduit-load r"#)
        #expect(rewrite.status == 0, "\(rewrite.stderr)")
        #expect(
            rewrite.stderr.contains(
                "every stage of the upstream finished and its filters rewrote rows: as many arrived as conduit-extract wrote (5)"),
            "\(rewrite.stderr)")
        #expect(try Self.loaded(box) == ["1", "2", "2", "2", "3", "4"])
        #expect(try Self.state(box) == "4")
        #expect(try box.run("sqlite3 warehouse.db \"SELECT name FROM r WHERE v = 4\"").stdout == "N4\n")
    }

    // MARK: - Attacks a review found (each lost or doubled rows against the first version)

    /// Guards `ordered: false`: a filter under --from that raises the cursor voids the run (the
    /// extract records the greatest value it wrote, not the last).
    @Test func unorderedRewriteIsVoid() throws {
        let box = try Self.prepare(values: ["1", "3", "2"], extra: "    ordered: false")
        try box.run("sed -i 's/ ORDER BY v//' ingest.yml")
        try box.write(Filters.addThousand, to: "add.py")
        let rewritten = try box.run(#"conduit-state commit r --from 'conduit-extract r | python3 add.py' -- conduit-load r"#)
        #expect(rewritten.status == 65, "\(rewritten.stderr)")
        #expect(rewritten.stderr.contains("above 3, the last value conduit-extract wrote"), "\(rewritten.stderr)")
        #expect(try Self.state(box) == "")
        #expect(try Self.loaded(box) == [])
    }

    /// Guards text timestamps (SQLite compares them as text): the same instant spelled twice
    /// commits the later spelling, so no run reads the group again; a filter under --from that
    /// re-spells the cursor commits the extract's own spelling, so no later row is skipped.
    @Test func timestampSpellings() throws {
        let box = try Self.prepare(
            values: ["'2024-01-01 09:00:00'", "'2024-01-01 10:00:00'", "'2024-01-01 10:00:00.000'"], type: "TEXT")
        for _ in 1...2 { #expect(try box.run(Self.pipe).status == 0) }
        #expect(try Self.loaded(box).count == 3)
        #expect(try Self.state(box) == "2024-01-01 10:00:00.000")

        let spelled = try Self.prepare(values: ["'2024-01-01 09:00:00'", "'2024-01-01 10:00:00'"], type: "TEXT")
        try spelled.write(
            """
            import sys, json
            for line in sys.stdin:
                row = json.loads(line); row["v"] = row["v"].replace(" ", "T"); print(json.dumps(row, separators=(",", ":")))
            """, to: "t.py")
        let first = try spelled.run("conduit-state commit r --from 'conduit-extract r | python3 t.py' -- conduit-load r")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try Self.state(spelled) == "2024-01-01 10:00:00")
        try Self.insert(["'2024-01-01 11:00:00'"], into: spelled)
        try spelled.run("conduit-state commit r --from 'conduit-extract r | python3 t.py' -- conduit-load r")
        #expect(try Self.loaded(spelled).count == 3)
    }

    /// Guards an extract run with another ingest.yml that shares the state file but reads another
    /// database: refused at the first row, nothing loaded.
    @Test func anotherConfigurationSharingTheStateIsRefused() throws {
        let box = try Self.prepare(values: ["1", "2"])
        try box.run(
            """
            echo "state_file: $PWD/state.json" >> ingest.yml
            mkdir staging && sed 's#path: app.db#path: staging.db#' ingest.yml > staging/ingest.yml
            sqlite3 staging/staging.db "CREATE TABLE r(v INTEGER NOT NULL, name TEXT); INSERT INTO r VALUES (50, 's')"
            """)
        let refused = try box.run("(cd staging && conduit-extract r) | conduit-state commit r -- conduit-load r")
        #expect(refused.status == 65, "\(refused.stderr)")
        #expect(refused.stderr.contains("ran r as another configuration defines it"), "\(refused.stderr)")
        #expect(try Self.loaded(box) == [])
    }

    /// Guards two pipelines overlapping: the second's extract read the state before the first
    /// committed, and its commit starts after: 75, nothing loaded twice.
    @Test func staleReadAfterAnotherCommitIsRefused() throws {
        let box = try Self.prepare(values: ["1", "2", "3"])
        try box.run("conduit-state set r 1")
        let result = try box.run(
            """
            ( conduit-extract r | (sleep 1.5; exec conduit-state commit r -- conduit-load r) ) 2> late.log &
            sleep 0.5
            conduit-state set r 3
            wait
            cat late.log >&2
            """)
        #expect(
            result.stderr.contains("read 1 for r but the committed value is now 3: another run committed between the two reads"),
            "\(result.stderr)")
        #expect(try Self.loaded(box) == [])
        #expect(try Self.state(box) == "3")
    }

    /// Guards an extract that fails after a stage downstream stopped reading (head): its failure
    /// record still bounds the state, so a rewritten cursor voids the run.
    @Test func failedExtractStillBoundsTheState() throws {
        let box = try Self.prepare(values: (1...2000).map(String.init))
        try box.write(Filters.addThousand.replacingOccurrences(of: "1000", with: "100000"), to: "add.py")
        let result = try box.run("conduit-extract r | python3 add.py | head -n 3 | conduit-state commit r -- conduit-load r")
        #expect(
            result.stderr.contains("the last value conduit-extract wrote: a stage between them rewrote the incremental column"),
            "\(result.stderr)")
        #expect(try Self.state(box) == "")
        #expect(try Self.loaded(box) == [])
    }

    /// Guards a second extract later in the same stream: its start is checked at the end, and one
    /// above the state voids the run.
    @Test func laterExtractInTheStreamIsChecked() throws {
        let box = try Self.prepare(values: (1...8).map(String.init))
        let result = try box.run(
            "{ conduit-extract r | head -n 1; sleep 0.5; conduit-extract --last-value 5 r; } | conduit-state commit r -- conduit-load r"
        )
        #expect(result.stderr.contains("started from 5 (--last-value) but the first run's start of r is 0"), "\(result.stderr)")
        #expect(try Self.loaded(box) == [])
        #expect(try Self.state(box) == "")
    }

    /// Guards --from with a script as its one stage: the script's failure may be a filter's
    /// inside it, so the run is void rather than a sound prefix; text that would hide the
    /// statuses (a trailing backslash, a here-document) is refused.
    @Test func scriptsAndHiddenStatusesUnderFrom() throws {
        let box = try Self.prepare(values: ["1", "2", "3"])
        try box.write("conduit-extract r | awk 'NR != 2 {print} END {exit 3}'\n", to: "load.sh")
        let script = try box.run("conduit-state commit r --from 'bash load.sh' -- conduit-load r")
        #expect(script.status == 3)
        #expect(
            script.stderr.contains(
                "stage 1 (bash load.sh) of the upstream exited with status 3, and it is not conduit-extract itself"),
            "\(script.stderr)")
        #expect(try Self.loaded(box) == [])
        for text in [#"conduit-extract r | cat \"#, "conduit-extract r <<END | cat"] {
            try box.write(text, to: "upstream.txt")
            let refused = try box.run(#"conduit-state commit r --from "$(cat upstream.txt)" -- conduit-load r"#)
            #expect(refused.status == 64, "\(text): \(refused.stderr)")
        }
    }

    /// Guards the jq check against a jq behind another command (`timeout 60 jq`, `env jq`).
    @Test(arguments: ["timeout 60 jq -c .", "env jq -c .", "\"jq\" -c ."])
    func jqBehindAnotherCommand(stage: String) throws {
        let box = try Self.prepare(values: ["9007199254740991", "9007199254740993"])
        try Filters.installJQ(version: "1.6", in: box)
        try box.write("conduit-extract r | \(stage)", to: "upstream.txt")
        let result = try box.run(#"PATH=$PWD/bin:$PATH conduit-state commit r --from "$(cat upstream.txt)" -- conduit-load r"#)
        #expect(result.status == 65, "\(result.stderr)")
        #expect(result.stderr.contains("is jq older than 1.7"), "\(result.stderr)")
    }
}

/// Filters that stand between the stages in these tests, and stand-ins for jq of a chosen version.
enum Filters {
    /// Adds 1000 to the cursor of every row (what `jq -c '.v += 1000'` does), keeping the rest.
    static let addThousand = """
        import sys, json
        for line in sys.stdin:
            row = json.loads(line); row["v"] += 1000; print(json.dumps(row, separators=(",", ":")))
        """

    /// `bin/jq` in the sandbox: says `jq-VERSION` for --version and, like jq before 1.7, reads
    /// numbers as doubles (so integers beyond 2^53 come out rounded) when VERSION is below 1.7;
    /// 1.7 and later pass integers exactly. Compact output only, as `jq -c .`.
    static func installJQ(version: String, in box: Sandbox) throws {
        let rounds = version.hasPrefix("1.6") || version.hasPrefix("1.5")
        try box.run("mkdir -p bin")
        try box.write(
            """
            #!/usr/bin/env python3
            import sys, json
            if "--version" in sys.argv:
                print("jq-\(version)"); sys.exit(0)
            def number(text):
                return float(text) if \(rounds ? "True" : "False") else int(text)
            def show(value):
                if isinstance(value, float) and value.is_integer():
                    return str(int(value))
                return json.dumps(value)
            for line in sys.stdin:
                row = json.loads(line, parse_int=number)
                print("{" + ",".join(json.dumps(k) + ":" + show(v) for k, v in row.items()) + "}")
            """, to: "bin/jq")
        try box.run("chmod +x bin/jq")
    }
}
