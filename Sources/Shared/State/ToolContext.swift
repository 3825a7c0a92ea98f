public import Config
import Core
import Stream

/// What a tool works with: the configuration (when there is one) and the state file.
public struct ToolContext: Sendable {
    public var configuration: Configuration?
    public var stateFile: StateFile

    public init(configuration: Configuration?, stateFile: StateFile) {
        self.configuration = configuration
        self.stateFile = stateFile
    }
}
