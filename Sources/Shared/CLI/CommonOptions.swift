package import ArgumentParser
package import Core
import Extract
import Load
import Postgres
import SQLite
import State
import Stream

/// Options every tool takes.
package struct CommonOptions: ParsableArguments, Sendable {
    @Option(
        name: .long,
        help: ArgumentHelp("The configuration file (default: $CONDUIT_CONFIG, else ./ingest.yml).", valueName: "file"))
    package var config: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The state file (default: $CONDUIT_STATE_FILE, else the config's state_file, else ./.conduit_state.json).",
            valueName: "file"))
    package var stateFile: String?

    @Flag(name: .shortAndLong, help: "Print no summary or notes; errors and warnings still go to stderr.")
    package var quiet = false

    @Option(
        name: .long,
        help: ArgumentHelp("Format of messages on stderr: text or json (one JSON object per message).", valueName: "format"))
    package var logFormat: LogFormat = .text

    package init() {}

    /// A reporter for `tool` with these options.
    package func reporter(for tool: String) -> Reporter {
        Reporter(tool: tool, quiet: quiet, format: logFormat)
    }
}

extension LogFormat: ExpressibleByArgument {}

extension Reporter {
    /// Runs a tool's work, printing a failure as one message and turning it into the exit
    /// status SPEC section 7 documents. `body` returns the exit status of a run that did not throw.
    package func run(_ body: () throws -> ExitStatus) throws(ExitCode) {
        let status: ExitStatus
        do {
            status = try body()
        } catch let failure as ConduitError {
            error(failure)
            throw ExitCode(failure.exitStatus.rawValue)
        } catch let exit as ExitCode {
            throw exit
        } catch {
            self.error(.internalError("unexpected error: \(error)"))
            throw ExitCode(ExitStatus.software.rawValue)
        }
        if status != .success { throw ExitCode(status.rawValue) }
    }
}
