package import Config
package import Core
package import State
import Stream

/// What an extractor wrote: the rows, and the incremental column's value in the last of them.
package struct ExtractedRows: Sendable, Equatable {
    package var rows: Int
    package var lastValue: StateValue?
    /// What the safe horizon did (PostgreSQL sources with `safe_horizon`); nil where none applies.
    package var horizon: HorizonOutcome?
    /// What the next run's horizon may use (kept beside the state file in ``HorizonRecord``).
    package var horizonMemory: JSONValue?

    package init(rows: Int, lastValue: StateValue?, horizon: HorizonOutcome? = nil, horizonMemory: JSONValue? = nil) {
        self.rows = rows
        self.lastValue = lastValue
        self.horizon = horizon
        self.horizonMemory = horizonMemory
    }
}

/// What the safe horizon of one extract held back and why (docs/INCREMENTAL.md, "Rows that
/// commit late"): rows at and above the first value that a transaction still in flight could
/// precede are not written; they come in a later run.
package struct HorizonOutcome: Sendable, Equatable {
    /// Rows the query returned that were not written.
    package var heldRows: Int
    /// The incremental value of the first held row.
    package var heldFrom: StateValue?
    /// What held them, for people: `the transaction of pid 4242 (role app, idle in transaction), open 12.5 s`.
    package var blocker: String?
    /// The blocking backend, when known.
    package var pid: Int?
    /// How long the blocking transaction had been open, when the role may see it.
    package var ageSeconds: Double?
    /// One warning each for a guarantee this run could not give (the role cannot see other
    /// roles' sessions; the column cannot be traced to a table).
    package var warnings: [String]

    package init(heldRows: Int, heldFrom: StateValue?, blocker: String?, pid: Int?, ageSeconds: Double?, warnings: [String]) {
        self.heldRows = heldRows
        self.heldFrom = heldFrom
        self.blocker = blocker
        self.pid = pid
        self.ageSeconds = ageSeconds
        self.warnings = warnings
    }
}

/// `conduit-extract RESOURCE`: resolves `:last_value`, runs the query on the source and writes
/// NDJSON to stdout; on a pipe, confirms the end of the stream to the resource's
/// `conduit-state commit` (``EndConfirmation``).
package struct ExtractRun {
    package var configuration: Configuration
    /// The kind of the resource's source (from the CLI's list): what it is, how it opens.
    package var connector: any SourceConnector
    package var resource: ResourceConfig
    package var state: any StateBackend
    /// `--last-value`: one run from this value, the state file untouched.
    package var overrideValue: String?
    package var reporter: Reporter

    package init(
        configuration: Configuration, resource: ResourceConfig, state: any StateBackend, overrideValue: String?,
        reporter: Reporter, connector: any SourceConnector
    ) {
        self.configuration = configuration
        self.connector = connector
        self.resource = resource
        self.state = state
        self.overrideValue = overrideValue
        self.reporter = reporter
    }

    /// Where `:last_value` comes from on this run, and its value (nil: the type's minimum or 0,
    /// decided once the server has said the parameter's type).
    package func resolveLastValue() throws(ConduitError) -> (value: StateValue?, origin: String) {
        let (value, origin) = try resolve()
        return (value, origin.description)
    }

    /// Where a run's `:last_value` comes from.
    enum LastValueOrigin {
        case commandLine
        case notIncremental
        case checkpoint(ledger: String)
        case state(String)
        case initialValue
        case firstRun

        /// The start record's `origin_kind`.
        var kind: String {
            switch self {
            case .commandLine: "last_value"
            case .notIncremental: "none"
            case .checkpoint: "checkpoint"
            case .state: "state"
            case .initialValue: "initial_value"
            case .firstRun: "first_run"
            }
        }

        /// Whether the value was read from the state file or a checkpoint beside it.
        var readsState: Bool {
            switch self {
            case .checkpoint, .state: true
            default: false
            }
        }

        var description: String {
            switch self {
            case .commandLine: "--last-value"
            case .notIncremental: "not incremental"
            case .checkpoint(let ledger): "the checkpoint of an interrupted run (\(ledger))"
            case .state(let label): label
            case .initialValue: "initial_value"
            case .firstRun: "first run: 0, or the minimum for a timestamp or date column"
            }
        }
    }

    func resolve() throws(ConduitError) -> (value: StateValue?, origin: LastValueOrigin) {
        if let overrideValue { return (StateValue(commandLineText: overrideValue), .commandLine) }
        guard resource.isIncremental else { return (nil, .notIncremental) }
        let committed = try state.value(of: resource.name)
        if resource.ordered {
            // An interrupted run made rows up to its checkpoint durable: resume after them.
            let ledger = CheckpointLedger(state: state)
            if let pending = try ledger.entry(for: resource.name).checkpoint,
                committed.map({ pending.compare(to: $0) == .descending }) ?? true
            {
                return (pending, .checkpoint(ledger: ledger.label))
            }
        }
        if let committed { return (committed, .state(state.label)) }
        if resource.initialValue != nil { return (resource.initialValue, .initialValue) }
        return (nil, .firstRun)
    }

    /// The value the run binds: the resolved one, moved `lookback` below it when it came from
    /// the state file or a checkpoint (rows below it were loaded by an earlier run; a row that
    /// committed late among them is read again). `--last-value`, `initial_value` and a first
    /// run bind as given: nothing below them was loaded.
    func resolveBound() throws(ConduitError) -> (value: StateValue?, origin: LastValueOrigin, watermark: StateValue?) {
        let (value, origin) = try resolve()
        guard let lookback = resource.lookback, let value else { return (value, origin, nil) }
        switch origin {
        case .state, .checkpoint: break
        default: return (value, origin, nil)
        }
        return (try Self.lowered(value, by: lookback, resource: resource.name), origin, value)
    }

    /// `value` moved `lookback` lower: a number by an amount, a timestamp or date by a duration.
    static func lowered(_ value: StateValue, by lookback: Lookback, resource: String) throws(ConduitError) -> StateValue {
        switch (value, lookback) {
        case (.number, .amount(let amount)):
            if let lowered = value.subtracting(amount: amount) { return lowered }
        case (.string, .duration(let seconds, _)):
            if let lowered = value.subtracting(seconds: seconds) { return lowered }
        case (.number, .duration):
            throw .configuration(
                "\(resource): lookback is the duration \(lookback.shown) but the committed value \(value.plainText) is a number; give lookback as a number for a numeric incremental_column"
            )
        case (.string, .amount):
            throw .configuration(
                "\(resource): lookback is the number \(lookback.shown) but the committed value \(value.jsonValue.serialized()) is not a number; give lookback as a duration (10 minutes) for a timestamp incremental_column"
            )
        }
        throw .configuration(
            "\(resource): lookback \(lookback.shown) cannot be taken from the committed value \(value.jsonValue.serialized())")
    }

    /// The value as a message shows it: JSON, and an `initial_value` built from the environment
    /// as written in ingest.yml (`${START}`), never the environment's text.
    func shown(_ value: StateValue, from origin: LastValueOrigin) -> String {
        if case .initialValue = origin, let shown = resource.shownInitialValue { return shown }
        return value.jsonValue.serialized()
    }

    /// The query as it will run and the value bound to `$1`; connects to nothing. A value from
    /// the environment shows as written (`${NAME}`), in the query and in `initial_value`; a
    /// `${NAME:-default}` that fell back shows its default, which is text of ingest.yml.
    package func dryRun() throws(ConduitError) -> String {
        let source = configuration.source(of: resource)
        let (value, origin, watermark) = try resolveBound()
        let template = QueryTemplate(resource.query, dialect: connector.schema.queryDialect)
        let placeholder = connector.placeholderShown
        var text = "-- resource \(resource.name): source \(source.name) (\(source.type))\n"
        if template.containsPlaceholder {
            let shown = value.map { self.shown($0, from: origin) } ?? "0 (or -infinity for a timestamp or date column)"
            var from = origin.description
            if let watermark, let lookback = resource.lookback {
                from += " (\(watermark.jsonValue.serialized()), lookback \(lookback.shown) below it)"
            }
            text += "-- \(placeholder) = \(shown)   from \(from)\n"
        }
        text += horizonNote()
        text += resource.shownQuery(placeholderReplacement: placeholder, dialect: connector.schema.queryDialect) + "\n"
        return text
    }

    /// Refuses a `:last_value` that cannot compare with the incremental column where the source's
    /// database would compare it anyway and find nothing, silently
    /// (``SourceConnector/comparesMismatchedValuesSilently``). The rules are ``LastValueCheck``'s.
    func checkLastValue(
        _ value: StateValue?, from origin: LastValueOrigin, opened: any Source
    ) throws(ConduitError) {
        guard connector.comparesMismatchedValuesSilently, let value, let column = resource.incrementalColumn,
            QueryTemplate(resource.query, dialect: connector.schema.queryDialect).containsPlaceholder
        else { return }
        guard let described = try opened.describe(resource: resource).first(where: { $0.name == column }),
            let requirement = LastValueCheck.requirement(for: described.kind), !requirement.accepts(value)
        else { return }
        let fix: String
        switch origin {
        case .commandLine: fix = "give --last-value \(requirement.example(for: value))"
        case .initialValue: fix = "fix initial_value of \(resource.name) in \(configuration.path)"
        default: fix = "fix it with conduit-state set \(resource.name) \(requirement.example(for: value))"
        }
        throw .badInput(
            "\(resource.name): :last_value is the \(value.typeName) \(shown(value, from: origin)) (from \(origin.description)) "
                + "but the incremental column \(JSONEscaping.quoted(column)) is \(described.sourceType)\(requirement.explanation); \(fix)"
        )
    }

    /// Opens the resource's source.
    func openSource() throws(ConduitError) -> any Source {
        try connector.open(configuration.source(of: resource), reporter: reporter)
    }

    /// The query's result columns (`--describe`), without running it.
    package func describe() throws(ConduitError) -> [SourceColumn] {
        try openSource().describe(resource: resource)
    }

    /// Runs the extraction, writing rows to stdout.
    package func run() throws(ConduitError) -> ExitStatus {
        let source = configuration.source(of: resource)
        let started = MonotonicClock.now
        // A reader that goes away is an I/O error with a message (exit 74, SPEC 7), the same
        // whether it left before the last write or after it, not a silent death by SIGPIPE.
        SignalForwarding.ignoreBrokenPipes()
        let (value, origin, watermark) = try resolveBound()
        let opened = try openSource()
        try checkLastValue(value, from: origin, opened: opened)
        let output = GroupSafeOutput(
            holdsValueGroups: resource.isIncremental && resource.ordered, memoryLimit: SpillBuffer.configuredMemoryLimit)
        // Live progress on a terminal, drawn from the output's flushes (every 256 KB), not per row.
        var progress = ProgressMeter(reporter: reporter, noun: "rows")
        if progress.isEnabled { output.progress = { progress.update($0) } }
        let announcement =
            resource.isIncremental && output.isPipe
            ? StartAnnouncement(
                confirmation: EndConfirmation(state: state, resource: resource.name), resource: resource.name,
                started: started,
                start: StartAnnouncement.Start(
                    value: value, origin: origin.description, kind: origin.kind,
                    read: origin.readsState ? (watermark ?? value) : nil,
                    resource: ResourceFingerprint.of(resource, source: source)))
            : nil
        if let announcement {
            // Before the first row: no stage downstream can see a row before the record exists.
            output.beforeFirstWrite = { () throws(ConduitError) in try announcement.announce() }
        }
        let extracted: ExtractedRows
        do throws(ConduitError) {
            let memory = resource.isIncremental ? HorizonRecord.read(state: state, resource: resource.name)?.memory : nil
            extracted = try opened.extract(resource: resource, lastValue: value, horizonMemory: memory, output: output)
            progress.finish()
            try output.awaitReaderDrained()
        } catch {
            progress.finish()
            // What it wrote confirms nothing, but bounds what the commit may take for it.
            announcement?.recordFailure(output: output)
            throw error
        }
        let rows = extracted.rows
        // The summary times the extraction, not the wait for a commit to confirm to.
        let seconds = MonotonicClock.now - started
        if let announcement {
            // An empty stream starts here; before exiting, so no reader downstream can see the
            // end of input before the record exists.
            try announcement.announce()
            if let run = announcement.run {
                try announcement.confirmation.confirmEnd(
                    run: run, extract: announcement.extract, rows: rows, digest: output.digest, lastValue: extracted.lastValue)
            } else {
                reporter.note(
                    "\(resource.name): no conduit-state commit of \(resource.name) is running, so the end of this stream was not confirmed to one"
                )
            }
        }
        let summary = RunSummary(resource: resource.name, rows: rows, bytes: output.bytesWritten, seconds: seconds)
        var fields: [(String, JSONValue)] = []
        let held = report(extracted.horizon, memory: extracted.horizonMemory, fields: &fields)
        summary.report(held, moreFields: fields, to: reporter)
        return .success
    }

    /// The safe horizon's warnings, its record beside the state file, and the summary's words
    /// about held-back rows (empty when none were held).
    func report(_ horizon: HorizonOutcome?, memory: JSONValue?, fields: inout [(String, JSONValue)]) -> String {
        guard let horizon else { return "" }
        for warning in horizon.warnings { reporter.warning("\(resource.name): \(warning)") }
        if resource.isIncremental {
            let record = HorizonRecord(
                at: HorizonRecord.now(), heldRows: horizon.heldRows, heldFrom: horizon.heldFrom, blocker: horizon.blocker,
                pid: horizon.pid, ageSeconds: horizon.ageSeconds, memory: memory)
            do {
                try record.write(state: state, resource: resource.name)
            } catch {
                reporter.warning("\(resource.name): \(error.message)")
            }
        }
        fields.append(("held_back_rows", .number(String(horizon.heldRows))))
        guard horizon.heldRows > 0 else { return "" }
        if let heldFrom = horizon.heldFrom { fields.append(("held_back_from", heldFrom.jsonValue)) }
        if let pid = horizon.pid { fields.append(("held_back_by_pid", .number(String(pid)))) }
        if let age = horizon.ageSeconds { fields.append(("held_back_by_age_seconds", .number(RunSummary.formatSeconds(age)))) }
        if let age = horizon.ageSeconds, age >= Double(resource.horizonWarningAfterSeconds) {
            reporter.warning(
                "\(resource.name): \(horizon.blocker ?? "an open transaction") has held rows back for longer than "
                    + "horizon_warning_after (\(DurationText.format(seconds: resource.horizonWarningAfterSeconds))); "
                    + "they are delayed, not lost, and load in the first run after it ends")
        }
        let from = horizon.heldFrom.map { " from \($0.jsonValue.serialized())" } ?? ""
        return
            "; held back \(Plural.count(horizon.heldRows, "row"))\(from) until \(horizon.blocker ?? "an open transaction") ends"
    }

    /// What `--dry-run` says about the safe horizon: whether it applies, and what the last
    /// extract held back.
    func horizonNote() -> String {
        guard resource.isIncremental else { return "" }
        // A source with one writer at a time has no such hole (docs/INCREMENTAL.md): nothing to say.
        var text = ""
        switch (connector.hasSafeHorizon, resource.safeHorizon) {
        case (false, _): break
        case (true, false): text = "-- safe horizon: off (safe_horizon: false)\n"
        case (true, true):
            text = "-- safe horizon: on (rows an open transaction could still precede are held back for a later run)\n"
        }
        if let lookback = resource.lookback {
            text += "-- lookback: \(lookback.shown) (re-read rows the destination holds are skipped by primary_key)\n"
        }
        if let record = HorizonRecord.read(state: state, resource: resource.name), record.heldRows > 0 {
            text += "-- \(record.sentence)\n"
        }
        return text
    }
}

/// The start record of one extract, written once (before its first byte, or at its end for an
/// empty stream) for the resource's run in progress, if one starts in time.
final class StartAnnouncement {
    /// What the start record says.
    struct Start {
        var value: StateValue?
        var origin: String
        var kind: String
        var read: StateValue?
        var resource: String
    }

    let confirmation: EndConfirmation
    let resource: String
    let extract = EndConfirmation.newExtractID()
    private let started: Double
    private let start: Start
    private var announced = false
    /// The run the records name; nil when no commit was running in time.
    private(set) var run: String?

    init(confirmation: EndConfirmation, resource: String, started: Double, start: Start) {
        self.confirmation = confirmation
        self.resource = resource
        self.started = started
        self.start = start
    }

    /// Waits for the run (the stages of a pipeline start together: a commit not running within
    /// a few seconds of this extract's start is not coming) and records the start. A record that
    /// cannot be written fails the extract before it writes a row.
    func announce() throws(ConduitError) {
        guard !announced else { return }
        announced = true
        let wait = max(0, confirmation.state.runStartWait - (MonotonicClock.now - started))
        guard let run = confirmation.awaitRun(wait: wait, resource: resource) else { return }
        try confirmation.announceStart(
            run: run, extract: extract, startedFrom: start.value, origin: start.origin, originKind: start.kind, read: start.read,
            resource: start.resource)
        self.run = run
    }

    /// After a failure: records what was written as confirming nothing, with a value at or
    /// above everything written (best effort: the extract is failing already).
    func recordFailure(output: GroupSafeOutput) {
        guard let run else { return }
        try? confirmation.confirmEnd(
            run: run, extract: extract, rows: 0, digest: output.digest, lastValue: output.valueBound, complete: false)
    }
}

@available(*, unavailable)
extension StartAnnouncement: Sendable {}

/// What kind of `:last_value` an incremental column of a given kind compares with (SPEC section 3:
/// a value of the wrong kind is an error naming both, never a run that finds 0 rows):
///
/// - integer, real and numeric columns need a number — not even a string of digits (`"5"`): the
///   stream's numbers could never be committed over a string state;
/// - text and uuid columns need a string (`conduit-state set r '"5"'` for the string 5);
/// - timestamp and date columns need a string that begins with a date (`YYYY-MM-DD`, so also
///   `2024-05-01 10:00:00` and RFC 3339) or `infinity`/`-infinity` — or a number: SQLite has no
///   time storage class, and a column declared DATETIME may hold Unix seconds;
/// - any other kind (boolean, time of day, interval, json, blob) and a column without a declared
///   type (an expression, an untyped column): no check, the values decide.
enum LastValueCheck {
    enum Requirement {
        case number, string, dateOrNumber

        func accepts(_ value: StateValue) -> Bool {
            switch (self, value) {
            case (.number, .number), (.string, .string), (.dateOrNumber, .number): true
            case (.dateOrNumber, .string(let text)): LastValueCheck.beginsWithDate(text)
            default: false
            }
        }

        /// What `conduit-state set` or `--last-value` would take instead of `value`.
        func example(for value: StateValue) -> String {
            switch (self, value) {
            case (.number, .string(let text)) where DecimalText.isJSONNumber(text): text
            case (.number, _): "<number>"
            case (.string, .number(let text)): "'\"\(text)\"'"
            case (.string, _): "<text>"
            case (.dateOrNumber, _): "<timestamp, e.g. 2024-05-01T00:00:00Z>"
            }
        }

        /// Said after the column's type where the type alone does not say what it takes.
        var explanation: String {
            self == .dateOrNumber ? " (a date or timestamp, YYYY-MM-DD…)" : ""
        }
    }

    /// What a column of `kind` needs; nil when any value will do.
    static func requirement(for kind: ColumnKind?) -> Requirement? {
        switch kind {
        case .smallint?, .integer?, .bigint?, .numeric?, .real?, .double?: .number
        case .text?, .uuid?: .string
        case .timestamptz?, .timestamp?, .date?: .dateOrNumber
        default: nil
        }
    }

    /// `YYYY-MM-DD` (a year of four or more digits) at the start, or `infinity`/`-infinity`.
    static func beginsWithDate(_ text: String) -> Bool {
        if text == "infinity" || text == "-infinity" { return true }
        let bytes = Array(text.utf8)
        func isDigit(_ index: Int) -> Bool { index < bytes.count && bytes[index] >= 0x30 && bytes[index] <= 0x39 }
        func isDash(_ index: Int) -> Bool { index < bytes.count && bytes[index] == UInt8(ascii: "-") }
        var year = 0
        while isDigit(year) { year += 1 }
        return year >= 4 && isDash(year) && isDigit(year + 1) && isDigit(year + 2) && isDash(year + 3)
            && isDigit(year + 4) && isDigit(year + 5)
    }
}
