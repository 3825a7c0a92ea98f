package import Config

/// What a tool works with: the configuration (when there is one) and the state's backend.
package struct ToolContext: Sendable {
    package var configuration: Configuration?
    package var state: any StateBackend
    /// Opens other backends: `conduit-state import`'s source, a loader's checkpoint store.
    package var opener: StateOpener

    package init(configuration: Configuration?, state: any StateBackend, opener: StateOpener = .fileOnly) {
        self.configuration = configuration
        self.state = state
        self.opener = opener
    }
}
