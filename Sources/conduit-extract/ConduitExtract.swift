import ArgumentParser
import CLI
import Config
import Core
import Extract
import Foundation
import State

@main
struct ConduitExtract: ConduitCommand {
    static let configuration = CommandConfiguration(
        commandName: "conduit-extract",
        abstract: "Run a resource's query against its source and write its rows to stdout as NDJSON.",
        discussion: """
            :last_value is the resource's value in the state file (less its lookback), else its \
            initial_value, else 0 (the minimum, for a timestamp or date column). It is always bound as \
            a parameter.

            From PostgreSQL, rows that a transaction still in flight could precede (a serial id or \
            now() drawn before a later row committed) are held back for a later run, and the summary \
            says how many and which backend holds them (safe_horizon: false turns this off).

            Examples:
              conduit-extract sync_new_users | conduit-state commit sync_new_users -- conduit-load sync_new_users
              conduit-extract --dry-run sync_new_users
              conduit-extract --last-value 0 sync_new_users > backfill.ndjson
              conduit-extract --describe sync_new_users | jq -r '.name + " " + .source_type'
            """,
        version: ConduitVersion.current
    )

    @OptionGroup var options: CommonOptions
    @Flag(help: "Print the resolved query and the value it would bind; connect to nothing.") var dryRun = false
    @Flag(
        help: ArgumentHelp(
            "Print the query's result columns and their source types, one JSON object per line, without running it.",
            discussion:
                "conduit-load learns the same description when it creates a table, so created columns get the source's types."))
    var describe = false
    @Option(help: ArgumentHelp("Use this :last_value for one run; the state file is not read or changed.", valueName: "value"))
    var lastValue: String?
    @Argument(help: "The resource's name in the configuration.") var resource: String

    func run() throws {
        let reporter = options.reporter(for: "conduit-extract")
        try reporter.run {
            let context = try ToolContext.load(
                options, environment: ProcessInfo.processInfo.environment, configurationRequired: true)
            guard let configuration = context.configuration else { return .configuration }
            let resourceConfig = try configuration.resource(named: resource)
            let run = ExtractRun(
                configuration: configuration, resource: resourceConfig,
                state: context.state, overrideValue: lastValue, reporter: reporter,
                connector: Connectors.source(configuration.source(of: resourceConfig)))
            if describe {
                var text = ""
                for column in try run.describe() {
                    text += column.jsonValue.serialized() + "\n"
                }
                try StandardOutput.write(text)
                return .success
            }
            if dryRun {
                try StandardOutput.write(try run.dryRun())
                return .success
            }
            return try run.run()
        }
    }
}
