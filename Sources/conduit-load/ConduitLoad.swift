import ArgumentParser
import CLI
import Config
import Core
import Extract
import Foundation
import Load
import State

@main
struct ConduitLoad: ConduitCommand {
    static let configuration = CommandConfiguration(
        commandName: "conduit-load",
        abstract: "Read NDJSON rows on stdin and write them to the resource's destination.",
        discussion: """
            Rows are written in transactions of batch_size rows (default \(LoadRun.defaultBatchSize)): COPY into \
            PostgreSQL, prepared INSERTs into SQLite. A missing table is created from the first row's keys with \
            the source's column types; a new key becomes a new column; a missing key loads NULL. A bad line or a \
            value the table refuses stops the run with exit 65 naming the line and the column; the open batch is \
            rolled back. Exit 0 means every row read is committed.

            mode: append inserts every row; replace loads into a staging table and swaps the rows in \
            at the end in one transaction (readers see the old rows or the new, never a partial table); \
            merge upserts on primary_key, the last row of a key winning. A table it creates gets the \
            primary_key. schema_evolution: freeze makes a new key an error instead of a new column.

            Under conduit-state commit, for an ordered incremental resource, batches end only where the \
            incremental value changes and each writes a checkpoint to _conduit_checkpoints in the same \
            transaction: a run that failed or was killed resumes after it, every row exactly once.

            Examples:
              conduit-extract sync_new_users | conduit-state commit sync_new_users -- conduit-load sync_new_users
              conduit-extract users | jq -c '.email |= ascii_downcase' | conduit-load users
              conduit-load --infer-types users < users.ndjson
              conduit-extract --describe users > users.schema; conduit-load --schema users.schema users < users.ndjson
            """,
        version: ConduitVersion.current
    )

    @OptionGroup var options: CommonOptions
    @Flag(
        help: ArgumentHelp(
            "Type new columns from the values (integer → bigint, other numbers → numeric, RFC 3339 → timestamptz, …) without asking the source."
        ))
    var inferTypes = false
    @Option(
        help: ArgumentHelp(
            "Type new columns from this file, the output of conduit-extract --describe, instead of asking the source (for a loader that cannot reach it).",
            valueName: "file"))
    var schema: String?
    @Argument(help: "The resource's name in the configuration.") var resource: String

    func validate() throws {
        if inferTypes && schema != nil { throw ValidationError("--infer-types and --schema exclude each other") }
    }

    func run() throws {
        let reporter = options.reporter(for: "conduit-load")
        try reporter.run {
            let context = try ToolContext.load(
                options, environment: ProcessInfo.processInfo.environment, configurationRequired: true)
            guard let configuration = context.configuration else { return .configuration }
            let resourceConfig = try configuration.resource(named: resource)
            let source = configuration.source(of: resourceConfig)
            let sourceConnector = Connectors.source(source)
            let describeSource: (() throws(ConduitError) -> [SourceColumn])?
            if let schema {
                describeSource = { () throws(ConduitError) in
                    try SourceColumn.readDescription(
                        try FileIO.contents(of: schema, what: "schema file"), file: schema, source: sourceConnector)
                }
            } else if inferTypes {
                describeSource = nil
            } else {
                describeSource = { () throws(ConduitError) in
                    try sourceConnector.open(source, reporter: reporter).describe(resource: resourceConfig)
                }
            }
            var run = LoadRun(
                configuration: configuration, resource: resourceConfig,
                connector: Connectors.destination(configuration.destination(of: resourceConfig)),
                describeSource: describeSource, reporter: reporter,
                environment: ProcessInfo.processInfo.environment)
            run.stateOpener = context.opener
            return try run.run()
        }
    }
}
