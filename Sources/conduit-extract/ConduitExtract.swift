import ArgumentParser
import Foundation
import Shared

@main
struct ConduitExtract: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conduit-extract",
        abstract: "Run a resource's query against its source and write its rows to stdout as NDJSON.",
        discussion: """
            :last_value is the resource's value in the state file, else its initial_value, else 0 \
            (the minimum, for a timestamp or date column). It is always bound as a parameter.

            Examples:
              conduit-extract sync_new_users | conduit-state commit sync_new_users -- conduit-load sync_new_users
              conduit-extract --dry-run sync_new_users
              conduit-extract --last-value 0 sync_new_users > backfill.ndjson
            """,
        version: ConduitVersion.current
    )

    @OptionGroup var options: CommonOptions
    @Flag(help: "Print the resolved query and the value it would bind; connect to nothing.") var dryRun = false
    @Option(help: ArgumentHelp("Use this :last_value for one run; the state file is not read or changed.", valueName: "value"))
    var lastValue: String?
    @Argument(help: "The resource's name in the configuration.") var resource: String

    func run() throws {
        try options.reporter(for: "conduit-extract").run {
            let context = try ToolContext.load(options, environment: ProcessInfo.processInfo.environment, configurationRequired: true)
            guard let configuration = context.configuration else { return .configuration }
            let run = ExtractRun(
                configuration: configuration, resource: try configuration.resource(named: resource),
                stateFile: context.stateFile, overrideValue: lastValue, reporter: options.reporter(for: "conduit-extract"))
            if dryRun {
                try StandardOutput.write(try run.dryRun())
                return .success
            }
            return try run.run()
        }
    }
}
