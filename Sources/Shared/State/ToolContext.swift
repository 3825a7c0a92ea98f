package import Config

/// What a tool works with: the configuration (when there is one) and the state file.
package struct ToolContext: Sendable {
    package var configuration: Configuration?
    package var stateFile: StateFile

    package init(configuration: Configuration?, stateFile: StateFile) {
        self.configuration = configuration
        self.stateFile = stateFile
    }
}
