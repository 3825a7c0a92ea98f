public import Config
public import Core
public import State
import Stream

/// What an extractor wrote: the rows, and the incremental column's value in the last of them.
public struct ExtractedRows: Sendable, Equatable {
    public var rows: Int
    public var lastValue: StateValue?

    public init(rows: Int, lastValue: StateValue?) {
        self.rows = rows
        self.lastValue = lastValue
    }
}

/// `conduit-extract RESOURCE`: resolves `:last_value`, runs the query on the source and writes
/// NDJSON to stdout; on a pipe, confirms the end of the stream to the resource's
/// `conduit-state commit` (``EndConfirmation``).
public struct ExtractRun {
    public var configuration: Configuration
    /// Opens the resource's source (the CLI's factory).
    public var openSource: SourceOpener
    public var resource: ResourceConfig
    public var stateFile: StateFile
    /// `--last-value`: one run from this value, the state file untouched.
    public var overrideValue: String?
    public var reporter: Reporter

    public init(
        configuration: Configuration, resource: ResourceConfig, stateFile: StateFile, overrideValue: String?,
        reporter: Reporter, openSource: @escaping SourceOpener
    ) {
        self.configuration = configuration
        self.openSource = openSource
        self.resource = resource
        self.stateFile = stateFile
        self.overrideValue = overrideValue
        self.reporter = reporter
    }

    /// Where `:last_value` comes from on this run, and its value (nil: the type's minimum or 0,
    /// decided once the server has said the parameter's type).
    public func resolveLastValue() throws(ConduitError) -> (value: StateValue?, origin: String) {
        if let overrideValue { return (StateValue(commandLineText: overrideValue), "--last-value") }
        guard resource.isIncremental else { return (nil, "not incremental") }
        let committed = try stateFile.value(of: resource.name)
        if resource.ordered {
            // An interrupted run made rows up to its checkpoint durable: resume after them.
            let ledger = CheckpointLedger(stateFile: stateFile)
            if let pending = try ledger.entry(for: resource.name).checkpoint,
               committed.map({ pending.compare(to: $0) == .descending }) ?? true {
                return (pending, "the checkpoint of an interrupted run (\(ledger.path))")
            }
        }
        if let committed { return (committed, "the state file \(stateFile.path)") }
        if let initial = resource.initialValue { return (initial, "initial_value") }
        return (nil, "first run: 0, or the minimum for a timestamp or date column")
    }

    /// The query as it will run and the value bound to `$1`; connects to nothing.
    public func dryRun() throws(ConduitError) -> String {
        let source = configuration.source(of: resource)
        let (value, origin) = try resolveLastValue()
        let template = QueryTemplate(resource.query, dialect: source.type.queryDialect)
        let placeholder = source.type == .sqlite ? "?1" : "$1"
        var text = "-- resource \(resource.name): source \(source.name) (\(source.type.rawValue))\n"
        if template.containsPlaceholder {
            let shown = value.map { $0.jsonValue.serialized() } ?? "0 (or -infinity for a timestamp or date column)"
            text += "-- \(placeholder) = \(shown)   from \(origin)\n"
        }
        text += template.rendered(placeholderReplacement: placeholder) + "\n"
        return text
    }

    /// The query's result columns (`--describe`), without running it.
    public func describe() throws(ConduitError) -> [SourceColumn] {
        try openSource(configuration.source(of: resource)).describe(resource: resource)
    }

    /// Runs the extraction, writing rows to stdout.
    public func run() throws(ConduitError) -> ExitStatus {
        let source = configuration.source(of: resource)
        let started = MonotonicClock.now
        let (value, _) = try resolveLastValue()
        let output = OutputStream(
            holdsValueGroups: resource.isIncremental && resource.ordered, memoryLimit: SpillBuffer.configuredMemoryLimit)
        let extracted = try openSource(source).extract(resource: resource, lastValue: value, output: output)
        let rows = extracted.rows
        try output.awaitReaderDrained()
        if resource.isIncremental && output.isPipe {
            // Before exiting, so no reader downstream can see the end of input before the record exists.
            let confirmation = EndConfirmation(stateFile: stateFile, resource: resource.name)
            // The stages of a pipeline start together: a commit not running within a few seconds
            // of this extract's start is not coming, and a long extract waits for nothing.
            let wait = max(0, EndConfirmation.defaultWait - (MonotonicClock.now - started))
            if case .noRunInProgress = try confirmation.confirm(rows: rows, lastValue: extracted.lastValue, wait: wait) {
                reporter.note("\(resource.name): no conduit-state commit of \(resource.name) is running, so the end of this stream was not confirmed to one")
            }
        }
        let seconds = MonotonicClock.now - started
        let rate = seconds > 0 ? Int(Double(rows) / seconds) : rows
        reporter.summary(
            "\(resource.name): \(rows) rows, \(output.bytesWritten) bytes in \(Duration.format(seconds))s (\(rate) rows/s)",
            fields: [
                ("resource", .string(resource.name)), ("rows", .number(String(rows))),
                ("bytes", .number(String(output.bytesWritten))), ("seconds", .number(Duration.format(seconds))),
                ("rows_per_second", .number(String(rate))),
            ])
        return .success
    }
}
