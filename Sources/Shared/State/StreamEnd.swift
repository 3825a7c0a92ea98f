import Core

/// How the stream ended, as far as `conduit-state commit` can tell.
enum StreamEnd: Equatable {
    /// The extract's real end, exactly the bytes it wrote: every group is complete.
    case confirmed
    /// With `--from`, every stage finished and as many rows arrived as the extract wrote, but not
    /// its bytes: the filters' own complete output (a transformation such as `del(.email)`).
    /// Commits `through`, the last value the extract wrote, as it spelled it (a filter that
    /// re-spelled the cursor must not leave the source's comparison a spelling it never wrote).
    case filtered(through: StateValue?)
    /// Not known to be the end (the phrase that says why, and the exit status to return): the
    /// open group may be partial.
    case unconfirmed(reason: String, status: ExitStatus)
    /// Rows that cannot be trusted (a filter under `--from` failed, values were rewritten): no row of the run counts.
    case void(reason: String, status: ExitStatus)

    /// What `conduit-state commit` received.
    struct Received {
        var rows: Int
        var bytes: Int
        var hash: String
        var maximum: StateValue?
        var maximumLine: Int
        var sawBigInteger: Bool
    }

    /// On a plain pipe: confirmed by an end record of exactly the bytes received.
    static func judge(_ ends: [EndConfirmation.End], received: Received, resource: String) -> StreamEnd {
        if ends.contains(where: { $0.complete && $0.bytes == received.bytes && $0.hash == received.hash }) { return .confirmed }
        let ends = ends.filter(\.complete)
        guard !ends.isEmpty else {
            return .unconfirmed(
                reason:
                    "the stream ended early (conduit-extract of \(resource) did not record its end: it failed or was stopped, or a stage between cut the stream)",
                status: .success)
        }
        return .unconfirmed(
            reason:
                "the stream was modified between conduit-extract and this commit (\(describeModification(ends, received: received)); a filter belongs in --from, which sees its exit status)",
            status: .success)
    }

    /// With `--from`, after every stage exited 0: confirmed when the bytes are the extract's;
    /// filtered when as many rows arrived; otherwise unconfirmed — a filter that selected rows
    /// cannot be told from one that stopped early and still exited 0 (`head`, `sed 10q`), so the
    /// last group waits for the next run, which reads it again.
    static func judgeFinished(_ ends: [EndConfirmation.End], received: Received, resource: String) -> StreamEnd {
        if ends.contains(where: { $0.complete && $0.bytes == received.bytes && $0.hash == received.hash }) { return .confirmed }
        let ends = ends.filter(\.complete)
        guard !ends.isEmpty else {
            if received.rows == 0 { return .confirmed }
            return .unconfirmed(
                reason: "the stream ended early (no conduit-extract of \(resource) in the upstream recorded its end)",
                status: .success)
        }
        if received.rows == 0 { return .confirmed }
        if ends.count == 1, ends[0].complete, ends[0].rows == received.rows { return .filtered(through: ends[0].lastValue) }
        let written =
            ends.count == 1
            ? "conduit-extract wrote \(Plural.count(ends[0].rows, "row")) and \(received.rows) arrived"
            : "\(ends.count) runs of conduit-extract recorded an end to this run"
        return .unconfirmed(
            reason:
                "every stage of the upstream finished, but its filters changed the number of rows (\(written)): one that selects rows cannot be told from one that stopped early (head), so the last group is not known complete",
            status: .success)
    }

    /// A stream whose greatest value is above every value the extracts wrote: a stage rewrote
    /// the column, and no row of it can be trusted. Nil when that is not so (or not known).
    static func rewritten(_ ends: [EndConfirmation.End], received: Received, column: String) -> StreamEnd? {
        guard !ends.isEmpty, let maximum = received.maximum else { return nil }
        let written = ends.compactMap(\.lastValue)
        let highest = written.dropFirst().reduce(written.first) { highest, value in
            guard let highest else { return value }
            return value.compare(to: highest) == .descending ? value : highest
        }
        let above: Bool
        if let highest {
            above = maximum.compare(to: highest).map { $0 == .descending } ?? true
        } else {
            above = true  // the extract wrote no row, yet rows arrived
        }
        guard above else { return nil }
        let ceiling =
            highest.map { "above \($0.plainText), the last value conduit-extract wrote" } ?? "but conduit-extract wrote no row"
        return .void(
            reason:
                "line \(received.maximumLine): \(JSONEscaping.quoted(column)) is \(maximum.plainText), \(ceiling): a stage between them rewrote the incremental column or added rows",
            status: .dataError)
    }

    /// What a stage between did, from the extract's record and what arrived.
    static func describeModification(_ ends: [EndConfirmation.End], received: Received) -> String {
        var text: String
        if ends.count > 1 {
            let pids = ends.map { String($0.pid) }.joined(separator: ", ")
            text =
                "\(ends.count) runs of conduit-extract (pids \(pids)) recorded an end to this run and none wrote the bytes that arrived: another pipeline of the resource ran beside it"
        } else {
            let record = ends[0]
            let who = "conduit-extract (pid \(record.pid)) wrote \(Plural.count(record.rows, "row"))"
            if record.rows > received.rows {
                text =
                    "\(who) and \(received.rows) arrived: a stage between removed \(Plural.count(record.rows - received.rows, "row")) (head, grep, a filter that dropped rows or failed)"
            } else if record.rows < received.rows {
                text =
                    "\(who) and \(received.rows) arrived: a stage between added \(Plural.count(received.rows - record.rows, "row"))"
            } else {
                text =
                    "\(who) and as many arrived, but not the same bytes (\(record.bytes) written, \(received.bytes) received): a stage between rewrote, reordered or swapped rows, or dropped some and doubled as many"
            }
        }
        if received.sawBigInteger {
            text += "; jq before 1.7 rounds integers beyond 2^53 (9007199254740992), as it would these values"
        }
        return text
    }

    /// The summary's words for a filtered stream.
    static func describeFiltering(_ ends: [EndConfirmation.End], received: Received) -> String {
        "every stage of the upstream finished and its filters rewrote rows: as many arrived as conduit-extract wrote (\(received.rows)), but not its bytes (\(ends.first.map { "\($0.bytes)" } ?? "?") written, \(received.bytes) received)"
    }

    /// With `--from`: every stage exited 0 (confirmed); only the extract failed (its rows before
    /// the failure are a sound prefix); a filter failed (void); the shell reported a number of
    /// statuses other than the stages' (void).
    static func judge(_ pipeline: UpstreamPipeline, outcome: UpstreamPipeline.Outcome) throws(ConduitError) -> StreamEnd {
        if !outcome.statuses.isEmpty && outcome.statuses.count != pipeline.stages.count {
            return .void(
                reason:
                    "the upstream shell reported \(Plural.count(outcome.statuses.count, "exit status", plural: "exit statuses")) for \(Plural.count(pipeline.stages.count, "stage")), so which stage failed cannot be told",
                status: .software)
        }
        if outcome.succeeded { return .confirmed }
        if let (index, status) = outcome.failedFilter {
            return .void(
                reason: "\(pipeline.describeStage(index)) of the upstream exited with status \(status)",
                status: ExitStatus(rawValue: status))
        }
        if outcome.onlyFirstStageFailed, let status = outcome.statuses.first {
            guard pipeline.firstStageIsExtract else {
                return .void(
                    reason:
                        "\(pipeline.describeStage(0)) of the upstream exited with status \(status), and it is not conduit-extract itself, so a filter inside it may have dropped rows",
                    status: ExitStatus(rawValue: status))
            }
            return .unconfirmed(
                reason: "the stream ended early (\(pipeline.describeStage(0)) exited with status \(status))",
                status: ExitStatus(rawValue: status))
        }
        let status = outcome.shell.exitStatus
        return .void(
            reason: "the upstream shell \(outcome.shell.description) without reporting its stages' statuses",
            status: status.rawValue == 0 ? .software : status)
    }
}
