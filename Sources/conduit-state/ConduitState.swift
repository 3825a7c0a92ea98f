import ArgumentParser
import CLI
import Config
import Core
import Foundation
import State
import Stream

@main
struct ConduitState: ConduitCommand {
    static let configuration = CommandConfiguration(
        commandName: "conduit-state",
        abstract: "Show and edit incremental state, and commit it when a load succeeds.",
        discussion: """
            The state file (default ./.conduit_state.json) maps each resource to the highest \
            value of its incremental_column that a successful run loaded. With state: {type: \
            postgresql, …} in ingest.yml the same state lives in PostgreSQL tables instead, \
            shared by every host.

            Examples:
              conduit-extract sync_new_users | conduit-state commit sync_new_users -- conduit-load sync_new_users
              conduit-state show
              conduit-state get sync_new_users
              conduit-state set sync_new_users 15000     # reload everything after id 15000
              conduit-state reset sync_new_users         # next run starts from initial_value or 0
              conduit-state export > state.json          # the seed's flat map, from any backend
              conduit-state import state.json            # into the configured backend
              conduit-state history sync_new_users       # who moved it, when
            """,
        version: ConduitVersion.current,
        subcommands: [Show.self, Get.self, Set.self, Reset.self, Commit.self, Export.self, Import.self, History.self]
    )
}

extension ConduitState {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the state as JSON on stdout (every resource, or one).",
            discussion: """
                Pending checkpoints of interrupted runs, and rows the safe horizon held back in the
                latest extract (a transaction still in flight could precede them), are listed on stderr.

                Examples:
                  conduit-state show
                  conduit-state show sync_new_users | jq .
                """)

        @OptionGroup var options: CommonOptions
        @Argument(help: "Show only this resource.") var resource: String?
        @Flag(name: .long, help: "Print JSON (the default, and the only format): the seed's flat map.")
        var json = false

        func run() throws {
            try options.reporter(for: "conduit-state").run {
                let context = try ToolContext.load(
                    options, environment: ProcessInfo.processInfo.environment, configurationRequired: false)
                let commands = StateCommands(context: context)
                try StandardOutput.write(try commands.show(resource: resource))
                let reporter = options.reporter(for: "conduit-state")
                for (name, entry) in try commands.pendingCheckpoints(resource: resource) {
                    guard let checkpoint = entry.checkpoint else { continue }
                    var text = "\(name): pending checkpoint \(checkpoint.plainText) from an interrupted run"
                    if let rows = entry.rows {
                        text += " (\(Plural.count(Int(rows), "row")) loaded" + (entry.writtenAt.map { ", \($0)" } ?? "") + ")"
                    }
                    reporter.note(text + "; the next run resumes after it, set or reset drops it")
                }
                for (name, record) in try commands.horizonHolds(resource: resource) {
                    reporter.note("\(name): \(record.sentence)")
                }
                return .success
            }
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a resource's committed value on stdout (nothing if it has none).",
            discussion: """
                Numbers print as their digits, strings without quotes.

                Examples:
                  conduit-state get sync_new_users
                  LAST=$(conduit-state get sync_new_users)
                """)

        @OptionGroup var options: CommonOptions
        @Argument(help: "The resource's name.") var resource: String

        func run() throws {
            let reporter = options.reporter(for: "conduit-state")
            try reporter.run {
                let context = try ToolContext.load(
                    options, environment: ProcessInfo.processInfo.environment, configurationRequired: false)
                if let value = try StateCommands(context: context).get(resource: resource) {
                    try StandardOutput.write(value.plainText + "\n")
                } else {
                    reporter.note(
                        "\(resource) has no committed value in \(context.state.label); its next run starts from initial_value, or 0"
                    )
                }
                return .success
            }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a resource's value by hand (it may move backwards).",
            discussion: """
                VALUE is a number when it reads as a JSON number, otherwise a string; write "\\"123\\"" \
                for the string 123. Refused (exit 75) while a run of the resource is in progress.

                Examples:
                  conduit-state set sync_new_users 15000
                  conduit-state set sync_events 2024-05-01T00:00:00Z
                """)

        @OptionGroup var options: CommonOptions
        @Argument(help: "The resource's name.") var resource: String
        @Argument(help: "The new value.") var value: String

        func run() throws {
            let reporter = options.reporter(for: "conduit-state")
            try reporter.run {
                let context = try ToolContext.load(
                    options, environment: ProcessInfo.processInfo.environment, configurationRequired: false)
                let newValue = StateValue(commandLineText: value)
                let old = try StateCommands(context: context).set(resource: resource, value: newValue)
                reporter.summary(
                    "\(resource): state \(old?.plainText ?? "(none)") → \(newValue.plainText) (set by hand)",
                    fields: [
                        ("resource", .string(resource)), ("old_value", old?.jsonValue ?? .null),
                        ("new_value", newValue.jsonValue),
                    ])
                return .success
            }
        }
    }

    struct Reset: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forget a resource's value: its next run loads from initial_value, or 0.",
            discussion: """
                Examples:
                  conduit-state reset sync_new_users
                """)

        @OptionGroup var options: CommonOptions
        @Argument(help: "The resource's name.") var resource: String

        func run() throws {
            let reporter = options.reporter(for: "conduit-state")
            try reporter.run {
                let context = try ToolContext.load(
                    options, environment: ProcessInfo.processInfo.environment, configurationRequired: false)
                let old = try StateCommands(context: context).reset(resource: resource)
                reporter.summary(
                    "\(resource): state \(old?.plainText ?? "(none)") → (none) (reset)",
                    fields: [
                        ("resource", .string(resource)), ("old_value", old?.jsonValue ?? .null), ("new_value", .null),
                    ])
                return .success
            }
        }
    }

    struct Commit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pass the stream to LOADER and commit the incremental value reached when LOADER exits 0.",
            discussion: """
                Every line must be a JSON object holding the resource's incremental_column, in \
                non-decreasing order (unless the resource says ordered: false). A cut last line, \
                a missing or null column, or a decrease stops LOADER (SIGTERM) before it can \
                commit, and exits 65. When LOADER fails, conduit-state exits with LOADER's code and \
                leaves the state as it was. One run of a resource at a time: a second exits 75.

                The stream must come from conduit-extract RESOURCE reading this state file: it \
                records where it started, and a start above the committed value (--last-value, \
                another state file) is refused at the first row, exit 65, nothing loaded. \
                --external takes a stream from elsewhere (a file) on trust.

                Rows sharing a value reach LOADER only once the group is complete: when a greater \
                value follows, or when the end of the stream is confirmed as the extract's real end \
                (conduit-extract records a hash of exactly the bytes it wrote; with --from, every \
                stage's exit status). An unconfirmed end (the extract failed, head cut the stream, \
                a stage between changed the bytes) loads and commits the complete groups; the last \
                group is read again next run. With ordered: false it commits nothing. A value above \
                the extract's last one (a rewritten cursor) voids the run. --from takes one \
                pipeline; a filter that fails under it voids the run.

                Examples:
                  conduit-extract sync_new_users | conduit-state commit sync_new_users -- conduit-load sync_new_users
                  conduit-state commit sync_new_users --from 'conduit-extract sync_new_users | jq -c "del(.email)"' -- conduit-load sync_new_users
                  conduit-state commit --external sync_new_users --from 'cat rows.ndjson' -- conduit-load sync_new_users
                """)

        @OptionGroup var options: CommonOptions
        @Argument(help: "The resource's name in the configuration.") var resource: String
        @Option(
            name: .customLong("from"),
            help: ArgumentHelp(
                "Run this shell pipeline (with bash) and read the stream from it instead of stdin, so every stage's exit status is seen.",
                valueName: "upstream"))
        var upstream: String?
        @Flag(
            name: .customLong("external"),
            help: ArgumentHelp(
                "The stream does not come from conduit-extract of RESOURCE reading this state (a file, another host): take its start on trust; only --from's exit statuses confirm its end."
            ))
        var external = false
        @Argument(
            parsing: .postTerminator, help: ArgumentHelp("The loader command and its arguments, after --.", valueName: "loader"))
        var loader: [String] = []

        func validate() throws {
            if loader.isEmpty {
                throw ValidationError("give the loader after --, e.g. commit \(resource) -- conduit-load \(resource)")
            }
        }

        func run() throws {
            let reporter = options.reporter(for: "conduit-state")
            try reporter.run {
                let context = try ToolContext.load(
                    options, environment: ProcessInfo.processInfo.environment, configurationRequired: true)
                guard let configuration = context.configuration else { return .configuration }
                let resourceConfig = try configuration.resource(named: resource)
                var run = CommitRun(
                    resource: resource, incrementalColumn: resourceConfig.incrementalColumn,
                    requiresOrder: resourceConfig.ordered, state: context.state,
                    loader: loader, upstream: upstream, environment: ProcessInfo.processInfo.environment, reporter: reporter)
                run.external = external
                run.initialValue = resourceConfig.initialValue
                run.resourceFingerprint = ResourceFingerprint.of(resourceConfig, source: configuration.source(of: resourceConfig))
                return try run.run()
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the whole state as the seed's flat JSON map, from whichever backend holds it.",
            discussion: """
                The output is exactly the state file's format: conduit-state import reads it into \
                another backend.

                Examples:
                  conduit-state export > state.json
                  conduit-state export --state-file old/.conduit_state.json > state.json
                """)

        @OptionGroup var options: CommonOptions

        func run() throws {
            try options.reporter(for: "conduit-state").run {
                let context = try ToolContext.load(
                    options, environment: ProcessInfo.processInfo.environment, configurationRequired: false)
                try StandardOutput.write(String(decoding: try StateCommands(context: context).export(), as: UTF8.self))
                return .success
            }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a flat JSON map of resource → value (the seed's format) into the configured state.",
            discussion: """
                Values are checked first: one that would move a committed value backwards (or \
                change its type) refuses the whole import, exit 65, nothing written, unless --force. \
                Each resource then changes under its run lock (a run in progress: exit 75) and its \
                pending checkpoint is dropped, as with set. FILE - reads stdin.

                Examples:
                  conduit-state export --state-file .conduit_state.json > state.json
                  conduit-state import state.json
                  conduit-state import --force state.json
                """)

        @OptionGroup var options: CommonOptions
        @Argument(help: "The JSON file to import (- for stdin).") var file: String
        @Flag(name: .long, help: "Import values that move a committed value backwards too.") var force = false

        func run() throws {
            let reporter = options.reporter(for: "conduit-state")
            try reporter.run {
                let context = try ToolContext.load(
                    options, environment: ProcessInfo.processInfo.environment, configurationRequired: false)
                let bytes = try FileIO.contents(of: file == "-" ? "/dev/stdin" : file, what: "state file to import")
                let imported = try StateCommands(context: context).importState(
                    bytes, source: file == "-" ? "stdin" : file, force: force)
                let changed = imported.filter(\.changed)
                reporter.summary(
                    "imported \(Plural.count(changed.count, "value")) into \(context.state.label) (\(imported.count - changed.count) already there)",
                    fields: [
                        ("imported", .number(String(changed.count))),
                        ("unchanged", .number(String(imported.count - changed.count))),
                    ])
                return .success
            }
        }
    }

    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the commit history, oldest first: one JSON object per line.",
            discussion: """
                Every commit, failed load, set, reset and import appends an entry: when, which \
                resource, from and to which value, rows, the loader's exit status, host, pid and run id.

                Examples:
                  conduit-state history
                  conduit-state history sync_new_users --limit 5 | jq -r '[.at, .from, .to, .host] | @tsv'
                """)

        @OptionGroup var options: CommonOptions
        @Argument(help: "Show only this resource.") var resource: String?
        @Option(name: .long, help: "Show at most this many entries, the latest.") var limit = 100

        func run() throws {
            try options.reporter(for: "conduit-state").run {
                let context = try ToolContext.load(
                    options, environment: ProcessInfo.processInfo.environment, configurationRequired: false)
                let entries = try StateCommands(context: context).history(resource: resource, limit: limit)
                try StandardOutput.write(entries.map { $0.json.serialized() + "\n" }.joined())
                return .success
            }
        }
    }
}
