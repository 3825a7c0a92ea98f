import ArgumentParser
import Foundation
import Shared

@main
struct ConduitExtract: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conduit-extract",
        abstract: "Run a resource's query against its source and write its rows to stdout as NDJSON.",
        discussion: """
            Not built yet: this release validates the configuration and the resource name, then \
            exits 70. See the README for what works today.

            Examples:
              conduit-extract sync_new_users
              conduit-extract --config ingest.yml sync_new_users
            """,
        version: ConduitVersion.current
    )

    @OptionGroup var options: CommonOptions
    @Argument(help: "The resource's name in the configuration.") var resource: String

    func run() throws {
        try options.reporter(for: "conduit-extract").run {
            let context = try ToolContext.load(options, environment: ProcessInfo.processInfo.environment, configurationRequired: true)
            _ = try context.configuration?.resource(named: resource)
            throw ConduitError.internalError("conduit-extract is not implemented yet; the configuration is valid")
        }
    }
}
