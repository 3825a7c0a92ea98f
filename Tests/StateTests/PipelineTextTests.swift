import Testing

@testable import Core
@testable import State

/// `--from` takes one pipeline and nothing else (SPEC section 5): `PipelineText` splits the
/// stages the way bash would and refuses text that runs more than one pipeline or hides a
/// stage's status.
@Suite struct PipelineTextTests {
    /// Guards that plain pipelines split into their stages, with quotes, substitutions and redirections kept whole.
    @Test(arguments: [
        ("conduit-extract r", ["conduit-extract r"]),
        ("conduit-extract r | jq -c .", ["conduit-extract r", "jq -c ."]),
        (
            #"conduit-extract r | jq -c 'select(.a | . > 1)' | awk -F';' '{print}'"#,
            ["conduit-extract r", #"jq -c 'select(.a | . > 1)'"#, #"awk -F';' '{print}'"#]
        ),
        (
            #"conduit-extract r 2>&1 | grep -v "a || b; c" |& cat >&2"#,
            ["conduit-extract r 2>&1", #"grep -v "a || b; c""#, "cat >&2"]
        ),
        (
            "conduit-extract r | sed \"s/$(date +%s)/x/\" | tr a\\|b c",
            ["conduit-extract r", "sed \"s/$(date +%s)/x/\"", "tr a\\|b c"]
        ),
        (
            "conduit-extract r | diff - <(sort f; echo) | cat &> log",
            ["conduit-extract r", "diff - <(sort f; echo)", "cat &> log"]
        ),
        ("X=1 conduit-extract r | `which jq` -c . \n", ["X=1 conduit-extract r", "`which jq` -c ."]),
        ("conduit-extract r | jq $'a\\'|b'", ["conduit-extract r", "jq $'a\\'|b'"]),
    ])
    func splitsPlainPipelines(text: String, stages: [String]) throws {
        #expect(try PipelineText(parsing: text).stages == stages)
    }

    /// Guards that text running more than one pipeline, or hiding a status, is refused as a usage error naming what.
    @Test(arguments: [
        ("conduit-extract r | awk 1; echo done", "';'"),
        ("( conduit-extract r | awk 1 )", "a subshell '('"),
        ("conduit-extract r | awk 1 || exit 0", "'||'"),
        ("conduit-extract r && echo ok", "'&&'"),
        ("conduit-extract r | awk 1 &", "'&'"),
        ("conduit-extract r\necho done", "a newline"),
        ("! conduit-extract r | awk 1", "'!' at the start of a stage"),
        ("{ conduit-extract r; } | awk 1", "';'"),
        ("conduit-extract r | { awk 1 }", "'{' at the start of a stage"),
        ("conduit-extract r | while read l; do echo $l; done", "';'"),
        ("conduit-extract r | | awk 1", "an empty stage"),
        ("conduit-extract r |", "an empty stage"),
        ("", "no command"),
        ("conduit-extract r | awk 1 # note", "a comment (#)"),
        ("conduit-extract r | cat \\", "a line continuation"),
        ("conduit-extract r | cat \\\necho", "a line continuation"),
        ("conduit-extract r <<END | cat", "a here-document (<<)"),
    ])
    func refusesAnythingElse(text: String, what: String) {
        let error = #expect(throws: ConduitError.self) { try PipelineText(parsing: text) }
        #expect(error?.kind == .usage)
        #expect(error?.message.contains("--from takes one pipeline") == true)
        #expect(error?.message.contains(what) == true, "\(error?.message ?? "")")
    }

    /// Guards that unclosed quotes and substitutions are refused, not split.
    @Test(arguments: ["jq 'x", "jq \"x", "echo $(date", "echo `date"])
    func refusesUnclosedQuotes(text: String) {
        #expect(throws: ConduitError.self) { try PipelineText(parsing: text) }
    }

    /// Guards finding a command behind another (`timeout 60 jq`, `env jq`, `"jq"`), for the jq
    /// check and for telling the extract from a script.
    @Test func runsFindsACommandBehindAnother() {
        for stage in ["jq -c .", "timeout 60 jq -c .", "env jq .", "nice -n 5 /usr/bin/jq .", "\"jq\" -c .", "stdbuf -oL 'jq' ."]
        {
            #expect(PipelineText.runs("jq", stage), "\(stage)")
        }
        #expect(!PipelineText.runs("jq", "jqx -c ."))
        #expect(PipelineText.runs("conduit-extract", "ssh db conduit-extract r"))
        #expect(!PipelineText.runs("conduit-extract", "bash load.sh"))
    }

    /// Guards that a here-string (`<<<`) is one word on its line, not a here-document.
    @Test func hereStringIsAccepted() throws {
        #expect(
            try PipelineText(parsing: "conduit-extract r | grep -f - <<< x").stages == ["conduit-extract r", "grep -f - <<< x"])
    }

    /// Guards the command word: assignments skipped, the path dropped.
    @Test func commandWord() {
        #expect(PipelineText.commandWord(of: "LC_ALL=C /usr/bin/grep -v x") == "grep")
        #expect(PipelineText.commandWord(of: "jq -c .") == "jq")
        #expect(PipelineText.commandWord(of: "a=b") == "")
    }

    /// Guards reading jq's version: before 1.7 rounds integers beyond 2^53, 1.7 and later do not.
    @Test func jqVersions() {
        #expect(JQVersion(versionText: "jq-1.6\n")?.roundsBigIntegers == true)
        #expect(JQVersion(versionText: "jq-1.5rc2")?.roundsBigIntegers == true)
        #expect(JQVersion(versionText: "jq-1.7")?.roundsBigIntegers == false)
        #expect(JQVersion(versionText: "jq-1.7.1")?.roundsBigIntegers == false)
        #expect(JQVersion(versionText: "jq-2.0")?.roundsBigIntegers == false)
        #expect(JQVersion(versionText: "gojq 0.12") == nil)
    }
}
