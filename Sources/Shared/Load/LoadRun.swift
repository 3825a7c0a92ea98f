package import Config
package import Core
package import State
import Stream

/// `conduit-load RESOURCE`: reads NDJSON rows on stdin and writes them to the resource's
/// destination in batch transactions (SPEC section 6, append mode).
///
/// Columns follow the keys: a missing table is created from the first row's keys, a key the
/// table lacks becomes a new column, a key a row leaves out loads NULL. New columns get the
/// source's type for that name (asked of the source without running the query, see
/// ``SourceDescriber``), else a type inferred from the value.
package struct LoadRun {
    package var configuration: Configuration
    package var resource: ResourceConfig
    /// The kind of the resource's destination (from the CLI's list): how it opens.
    package var connector: any DestinationConnector
    /// The source's column types for the columns a load creates: described from the source,
    /// read from a `--schema` file, or nil (`--infer-types`: from the values alone).
    package var describeSource: (() throws(ConduitError) -> [SourceColumn])?
    package var reporter: Reporter
    /// The process environment: `conduit-state commit` passes the run's checkpoint token through it.
    package var environment: [String: String]
    /// Opens the state backend `conduit-state commit` names in the environment, for the
    /// checkpoint copies (``CheckpointEnvironment``).
    package var stateOpener: StateOpener = .fileOnly
    /// How the summary names where the rows went.
    static func describe(_ mode: WriteMode, into label: String, table: String) -> String {
        switch mode {
        case .append: "into \(label)"
        case .merge: "merged into \(label)"
        case .replace: "replacing the rows of \(JSONEscaping.quoted(table)) (staged in \(label))"
        }
    }

    /// The staging table of a `replace` into `table`, beside it.
    package static func stagingTableName(for table: String) -> String {
        table + "__conduit_staging"
    }

    /// Rows per transaction when the configuration does not say.
    package static let defaultBatchSize = 100_000

    package init(
        configuration: Configuration, resource: ResourceConfig, connector: any DestinationConnector,
        describeSource: (() throws(ConduitError) -> [SourceColumn])?, reporter: Reporter, environment: [String: String]
    ) {
        self.configuration = configuration
        self.resource = resource
        self.connector = connector
        self.describeSource = describeSource
        self.reporter = reporter
        self.environment = environment
    }

    /// Opens the destination for `mode`: the table itself (append, merge), or a staging table
    /// of its own (replace), with the mode's settings applied.
    private func open(
        mode: WriteMode, _ destinationConfig: DestinationConfig, table: String, primaryKey: [String]
    ) throws(ConduitError) -> any LoadDestination {
        let destination: any LoadDestination
        switch mode {
        case .append:
            destination = try connector.open(destinationConfig, table: table, reporter: reporter, environment: environment)
            // lookback re-reads rows below the committed value: only the ones the table lacks go in.
            if resource.lookback != nil { try destination.enableMerge(primaryKey: primaryKey, updateExisting: false) }
        case .merge:
            destination = try connector.open(destinationConfig, table: table, reporter: reporter, environment: environment)
            try destination.enableMerge(primaryKey: primaryKey)
        case .replace:
            // The run fills a staging table of its own; the table itself changes once, at the end.
            destination = try connector.open(
                destinationConfig, table: Self.stagingTableName(for: table), reporter: reporter, environment: environment)
            try destination.resetStaging(like: table)
        }
        return destination
    }

    /// Loads stdin. Returns success only when every row read is committed.
    package func run(input: Int32 = 0) throws(ConduitError) -> ExitStatus {
        let started = MonotonicClock.now
        let destinationConfig = configuration.destination(of: resource)
        let mode = configuration.effectiveMode(of: resource)
        let primaryKey = configuration.effectivePrimaryKey(of: resource) ?? []
        SignalForwarding.install()
        let table = configuration.effectiveTable(of: resource)
        let destination: any LoadDestination
        do {
            destination = try open(mode: mode, destinationConfig, table: table, primaryKey: primaryKey)
        } catch {
            if let signal = SignalForwarding.stopSignal {
                reporter.warning("stopped by signal \(signal): \(error.message)")
                return ExitStatus(rawValue: 128 + signal)
            }
            throw error
        }

        var session = LoadSession(
            destination: destination, batchSize: configuration.effectiveBatchSize(of: resource) ?? Self.defaultBatchSize,
            describeSource: describeSource,
            // A replace starts clean every run: its staging holds nothing a checkpoint could resume.
            checkpoints: mode == .replace
                ? nil : try CheckpointPlan(resource: resource, environment: environment, opener: stateOpener),
            endOfStreamFD: environment[CheckpointEnvironment.endOfStreamFD].flatMap { Int32($0) },
            primaryKey: primaryKey, merge: mode == .merge || (mode == .append && resource.lookback != nil),
            resumesByKey: resource.lookback != nil, evolution: configuration.effectiveSchemaEvolution(of: resource),
            uniqueKey: Self.acknowledgeUniqueKey(environment))
        var reader = LineReader(descriptor: input)
        if let interval = destination.keepAliveCheckInterval {
            reader.tick = (interval: interval, action: { () throws(ConduitError) in try destination.keepAlive() })
        }
        var progress = ProgressMeter(reporter: reporter, noun: "rows")
        let outcome: LineReader.Outcome
        do {
            try session.start()
            outcome = try reader.forEachLine { (line, number) throws(ConduitError) in
                try session.load(line, lineNumber: number)
                progress.update(session.rows)
            }
            if case .endOfStream = outcome {
                try session.confirmEndOfStream()
                try session.finish()
                if mode == .replace { try destination.publishStaging(into: table, primaryKey: primaryKey) }
            }
        } catch {
            destination.rollback()
            progress.finish()
            let explained = session.explain(error)
            // An operator's SIGINT or SIGTERM that cut a request short is a stop, not a failure.
            if let signal = SignalForwarding.stopSignal {
                reporter.warning("stopped by signal \(signal): \(explained.message)")
                return ExitStatus(rawValue: 128 + signal)
            }
            throw explained
        }
        progress.finish()
        if case .stopped(let signal) = outcome {
            destination.rollback()
            reporter.warning(
                "stopped by signal \(signal); rolled back the open batch" + session.committedNote)
            return ExitStatus(rawValue: 128 + signal)
        }

        for warning in session.warnings { reporter.warning(warning) }
        let skipped =
            session.skippedRows > 0 ? " (\(session.skippedRows) more already loaded before the checkpoint, skipped)" : ""
        let summary = RunSummary(
            resource: resource.name, rows: session.rows, bytes: reader.bytesRead, seconds: MonotonicClock.now - started,
            rowsNote: skipped)
        summary.report(
            " \(Self.describe(mode, into: destination.label, table: table))",
            moreFields: [
                ("table", .string(table)), ("skipped_rows", .number(String(session.skippedRows))),
                ("mode", .string(mode.rawValue)),
            ],
            to: reporter)
        return .success
    }

    /// The key no row may hold twice, when `conduit-state commit` asks for it
    /// (``CheckpointEnvironment/uniqueKey`` with its acknowledgement descriptor beside it): says
    /// on that descriptor that such rows are refused, before any row is read, then closes it.
    /// A descriptor that is not a pipe of ours (stdin, stdout, stderr, a file, nothing: a value
    /// left in a user's shell) is left alone, and so is the key.
    static func acknowledgeUniqueKey(_ environment: [String: String]) -> String? {
        guard let text = environment[CheckpointEnvironment.uniqueKeyAcknowledgementFD], let fd = Int32(text), fd > 2,
            PipeWriteEnd.isPipe(fd)
        else { return nil }
        defer { FileIO.closeDescriptor(fd) }
        guard let key = environment[CheckpointEnvironment.uniqueKey], !key.isEmpty, FileIO.writeByte(1, to: fd) else {
            return nil
        }
        return key
    }
}
