import Glibc
public import ArgumentParser

/// How messages on stderr are formatted.
public enum LogFormat: String, Sendable, CaseIterable, ExpressibleByArgument {
    /// `conduit-state: error: …`, one line per message.
    case text
    /// One JSON object per message: `{"tool":…,"level":…,"message":…}`.
    case json
}

/// Writes every message a tool prints to stderr (stdout carries data only), honouring
/// `--quiet` and `--log-format`.
public struct Reporter: Sendable {
    public var tool: String
    public var quiet: Bool
    public var format: LogFormat

    public init(tool: String, quiet: Bool = false, format: LogFormat = .text) {
        self.tool = tool
        self.quiet = quiet
        self.format = format
    }

    /// An error; printed even with `--quiet`.
    public func error(_ error: ConduitError) {
        emit(level: "error", message: error.message, fields: [("exit_code", .number(String(error.exitStatus.rawValue)))])
    }

    /// Something the user should know that does not fail the run; printed even with `--quiet`.
    /// `fields`, when given, are figures for `--log-format json` (a run's summary that is a warning).
    public func warning(_ message: String, fields: [(String, JSONValue)] = []) {
        emit(level: "warning", message: message, fields: fields.isEmpty ? [] : [("event", .string("summary"))] + fields)
    }

    /// An informational note; silenced by `--quiet`.
    public func note(_ message: String) {
        guard !quiet else { return }
        emit(level: "info", message: message, fields: [])
    }

    /// The one summary line of a successful run; silenced by `--quiet`. `fields` are the
    /// figures as JSON values for `--log-format json`.
    public func summary(_ message: String, fields: [(String, JSONValue)]) {
        guard !quiet else { return }
        emit(level: "info", message: message, fields: [("event", .string("summary"))] + fields)
    }

    private func emit(level: String, message: String, fields: [(String, JSONValue)]) {
        var line: [UInt8] = []
        switch format {
        case .text:
            line.append(contentsOf: "\(tool): ".utf8)
            if level != "info" { line.append(contentsOf: "\(level): ".utf8) }
            line.append(contentsOf: message.utf8)
        case .json:
            var members = [
                JSONMember(key: "tool", value: .string(tool)),
                JSONMember(key: "level", value: .string(level)),
                JSONMember(key: "message", value: .string(message)),
            ]
            members += fields.map { JSONMember(key: $0.0, value: $0.1) }
            JSONValue.object(members).appendSerialized(to: &line)
        }
        line.append(0x0A)
        try? FileIO.writeAll(line, to: STDERR_FILENO)
    }
}

/// Options every tool takes.
public struct CommonOptions: ParsableArguments, Sendable {
    @Option(name: .long, help: ArgumentHelp("The configuration file (default: $CONDUIT_CONFIG, else ./ingest.yml).", valueName: "file"))
    public var config: String?

    @Option(name: .long, help: ArgumentHelp("The state file (default: $CONDUIT_STATE_FILE, else the config's state_file, else ./.conduit_state.json).", valueName: "file"))
    public var stateFile: String?

    @Flag(name: .shortAndLong, help: "Print no summary or notes; errors and warnings still go to stderr.")
    public var quiet = false

    @Option(name: .long, help: ArgumentHelp("Format of messages on stderr: text or json (one JSON object per message).", valueName: "format"))
    public var logFormat: LogFormat = .text

    public init() {}

    /// A reporter for `tool` with these options.
    public func reporter(for tool: String) -> Reporter {
        Reporter(tool: tool, quiet: quiet, format: logFormat)
    }
}

extension Reporter {
    /// Runs a tool's work, printing a failure as one message and turning it into the exit
    /// status SPEC section 7 documents. `body` returns the exit status of a run that did not throw.
    public func run(_ body: () throws -> ExitStatus) throws(ExitCode) {
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
