import ArgumentParser
import Foundation
import Shared

@main
struct ConduitLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conduit-load",
        abstract: "Read NDJSON rows on stdin and write them to the resource's destination.",
        discussion: """
            Rows are written in transactions of batch_size rows (default \(LoadRun.defaultBatchSize)): COPY into \
            PostgreSQL, prepared INSERTs into SQLite. A missing table is created from the first row's keys with \
            the source's column types; a new key becomes a new column; a missing key loads NULL. A bad line or a \
            value the table refuses stops the run with exit 65 naming the line and the column; the open batch is \
            rolled back. Exit 0 means every row read is committed.

            Under conduit-state commit, for an ordered incremental resource, batches end only where the \
            incremental value changes and each writes a checkpoint to _conduit_checkpoints in the same \
            transaction: a run that failed or was killed resumes after it, every row exactly once.

            Examples:
              conduit-extract sync_new_users | conduit-state commit sync_new_users -- conduit-load sync_new_users
              conduit-extract users | jq -c '.email |= ascii_downcase' | conduit-load users
              conduit-load --infer-types users < users.ndjson
            """,
        version: ConduitVersion.current
    )

    @OptionGroup var options: CommonOptions
    @Flag(help: ArgumentHelp(
        "Type new columns from the values (integer → bigint, other numbers → numeric, RFC 3339 → timestamptz, …) without asking the source."))
    var inferTypes = false
    @Argument(help: "The resource's name in the configuration.") var resource: String

    func run() throws {
        try options.reporter(for: "conduit-load").run {
            let context = try ToolContext.load(options, environment: ProcessInfo.processInfo.environment, configurationRequired: true)
            guard let configuration = context.configuration else { return .configuration }
            let run = LoadRun(
                configuration: configuration, resource: try configuration.resource(named: resource),
                inferTypes: inferTypes, reporter: options.reporter(for: "conduit-load"),
                environment: ProcessInfo.processInfo.environment)
            return try run.run()
        }
    }
}
