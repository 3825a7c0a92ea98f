package import ArgumentParser
import Core

/// The root command of a Conduit tool: ArgumentParser's `main()`, except that under
/// `--log-format json` the parser's own errors (an unknown option, a missing argument, a failed
/// `validate()`) are one JSON object on stderr too (SPEC section 7), exit 64:
/// `{"tool":"conduit-load","level":"error","message":"Unknown option '--nope'","exit_code":64}`.
/// `--help`, `--version` and the text format are ArgumentParser's own.
package protocol ConduitCommand: ParsableCommand {}

extension ConduitCommand {
    package static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            let message = self.message(for: error)
            if exitCode(for: error) == .validationFailure, !message.isEmpty, LogFormat.requested(in: arguments) == .json {
                let tool = configuration.commandName ?? String(describing: self)
                Reporter(tool: tool, format: .json).error(.usage(message))
                exit(withError: ExitCode.validationFailure)
            }
            exit(withError: error)
        }
        do {
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

extension LogFormat {
    /// The `--log-format` among raw arguments that may not parse: `--log-format json` or
    /// `--log-format=json`, before any `--` (what follows it is another command's, a loader's).
    static func requested(in arguments: [String]) -> LogFormat? {
        var requested: LogFormat?
        var index = arguments.startIndex
        while index < arguments.endIndex, arguments[index] != "--" {
            let argument = arguments[index]
            if argument == "--log-format", index + 1 < arguments.endIndex {
                requested = LogFormat(rawValue: arguments[index + 1]) ?? requested
                index += 1
            } else if argument.hasPrefix("--log-format=") {
                requested = LogFormat(rawValue: String(argument.dropFirst("--log-format=".count))) ?? requested
            }
            index += 1
        }
        return requested
    }
}
