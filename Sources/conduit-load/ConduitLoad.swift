import ArgumentParser
import Foundation
import Shared

@main
struct ConduitLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conduit-load",
        abstract: "Read NDJSON rows on stdin and write them to the resource's destination.",
        discussion: """
            Not built yet: this release validates the configuration and the resource name, then \
            exits 70. See the README for what works today.

            Examples:
              conduit-load sync_new_users
              conduit-load --config ingest.yml sync_new_users
            """,
        version: ConduitVersion.current
    )

    @OptionGroup var options: CommonOptions
    @Argument(help: "The resource's name in the configuration.") var resource: String

    func run() throws {
        try options.reporter(for: "conduit-load").run {
            let context = try ToolContext.load(options, environment: ProcessInfo.processInfo.environment, configurationRequired: true)
            _ = try context.configuration?.resource(named: resource)
            throw ConduitError.internalError("conduit-load is not implemented yet; the configuration is valid")
        }
    }
}
