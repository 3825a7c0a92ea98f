import Core
import Stream

/// The upstream of `conduit-state commit R --from 'conduit-extract R | jq -c …' -- LOADER`: a
/// shell pipeline that `conduit-state` runs itself (with bash, in a process group of its own), so
/// that it reads the stream from the pipeline's stdout and learns every stage's exit status
/// (bash's `PIPESTATUS`), which a plain shell pipe shows only to the shell, after the commit.
final class UpstreamPipeline {
    /// The pipeline as the user wrote it.
    let command: String
    /// Its stages, split at top-level `|`.
    let stages: [String]
    /// The first stage that is jq older than 1.7, which rounds numbers beyond 2^53 to doubles.
    let roundingStage: Int?
    private let process: ChildProcess
    private let statusPath: String

    /// The pipeline's stdout.
    var outputFD: Int32 { process.outputFD }
    var processGroup: Int32 { process.pid }

    private init(command: String, stages: [String], roundingStage: Int?, process: ChildProcess, statusPath: String) {
        self.command = command
        self.stages = stages
        self.roundingStage = roundingStage
        self.process = process
        self.statusPath = statusPath
    }

    deinit { FileIO.remove(statusPath) }

    /// Starts `command` with `bash -c`; its stdin is this process's, its stderr too. Text that is
    /// not one pipeline is refused first (``PipelineText``).
    static func start(_ command: String, environment: [String: String]) throws(ConduitError) -> UpstreamPipeline {
        let stages = try PipelineText(parsing: command).stages
        let firstJQ = stages.indices.first { PipelineText.runs("jq", stages[$0]) }
        let roundingStage = firstJQ.flatMap {
            JQVersion.installed(environment: environment)?.roundsBigIntegers == true ? $0 : nil
        }
        let statusPath: String
        switch FileIO.makeTemporaryFile(in: SpillBuffer.temporaryFolder, prefix: "conduit-upstream") {
        case .success(let (fd, path)):
            FileIO.closeDescriptor(fd)
            statusPath = path
        case .failure(let error):
            throw .io("creating a temporary file for the upstream's exit statuses in \(SpillBuffer.temporaryFolder): \(error)")
        }
        // PIPESTATUS after the user's pipeline: one status per stage, written where we read it.
        let script =
            command + "\n"
            + #"__conduit_status="${PIPESTATUS[*]}"; printf '%s\n' "$__conduit_status" > "$CONDUIT_UPSTREAM_STATUS_FILE""#
        var childEnvironment = environment
        childEnvironment["CONDUIT_UPSTREAM_STATUS_FILE"] = statusPath
        let process: ChildProcess
        do {
            process = try ChildProcess.spawn(
                ["bash", "-c", script], environment: childEnvironment, input: .inherited, capturingOutput: true)
        } catch {
            FileIO.remove(statusPath)
            throw error
        }
        return UpstreamPipeline(
            command: command, stages: stages, roundingStage: roundingStage, process: process, statusPath: statusPath)
    }

    /// How the pipeline ended, stage by stage.
    struct Outcome: Equatable {
        /// Each stage's exit status (128+N after signal N), with a grep that selected nothing
        /// (status 1) counted as 0; empty when the shell itself failed before it could say.
        var statuses: [Int32]
        /// The shell's own status, when `statuses` is empty.
        var shell: ChildProcess.Termination

        var succeeded: Bool { !statuses.isEmpty && statuses.allSatisfy { $0 == 0 } }
        /// Only the first stage failed: when it is the extract, what it wrote before failing is a sound prefix.
        var onlyFirstStageFailed: Bool {
            guard let first = statuses.first else { return false }
            return first != 0 && statuses.dropFirst().allSatisfy { $0 == 0 }
        }
        /// The first failing stage after the first (a filter), with its status.
        var failedFilter: (index: Int, status: Int32)? {
            for (index, status) in statuses.enumerated().dropFirst() where status != 0 { return (index, status) }
            return nil
        }
    }

    /// Waits for the pipeline to end and reads its stages' statuses.
    func finish() throws(ConduitError) -> Outcome {
        let shell = try process.wait()
        var statuses: [Int32] = []
        if let bytes = (try? FileIO.readIfExists(statusPath)) ?? nil {
            statuses = String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap {
                Int32($0)
            }
        }
        for (index, status) in statuses.enumerated()
        where index > 0 && index < stages.count && status == 1
            && Self.selectingCommands.contains(PipelineText.commandWord(of: stages[index]))
        {
            // grep's 1 means it selected no line: a filter that finished, with nothing to pass.
            statuses[index] = 0
        }
        return Outcome(statuses: statuses, shell: shell)
    }

    /// Commands whose exit status 1 says "no line selected", not a failure.
    static let selectingCommands: Set<String> = ["grep", "egrep", "fgrep", "zgrep", "rg"]

    /// Stops the pipeline (SIGTERM to its group, SIGKILL after `grace`) and waits for it.
    func stop(grace: Double) throws(ConduitError) {
        _ = try process.stop(grace: grace)
    }

    /// Whether the first stage runs conduit-extract itself (`conduit-extract R`, `timeout 600
    /// conduit-extract R`, `ssh db conduit-extract R`), whose failure leaves a sound prefix, rather
    /// than a script around it (`bash load.sh`), whose failure may be a filter's.
    var firstStageIsExtract: Bool {
        stages.first.map { PipelineText.runs("conduit-extract", $0) } ?? false
    }

    /// A stage's text for messages: `stage 2 (jq -c …)`.
    func describeStage(_ index: Int) -> String {
        guard index < stages.count else { return "stage \(index + 1)" }
        return "stage \(index + 1) (\(stages[index]))"
    }
}

@available(*, unavailable)
extension UpstreamPipeline: Sendable {}

extension String {
    func trimmingSpaces() -> String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\n" || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\n" || last == "\t" { text.removeLast() }
        return String(text)
    }
}
