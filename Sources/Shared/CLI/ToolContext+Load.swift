package import Config
package import Core
import Postgres
package import State

extension ToolContext {
    /// Loads the configuration found by `--config`, `$CONDUIT_CONFIG` or `./ingest.yml`, and
    /// opens the state's backend. When `configurationRequired` is false and no configuration was
    /// named and `./ingest.yml` does not exist, the tool works on the state file alone.
    package static func load(
        _ options: CommonOptions, environment: [String: String], configurationRequired: Bool
    ) throws(ConduitError) -> ToolContext {
        let path = ConfigurationLoader.locate(explicitPath: options.config, environment: environment)
        let named = options.config != nil || environment["CONDUIT_CONFIG"].map { !$0.isEmpty } == true
        var configuration: Configuration?
        if configurationRequired || named || FileIO.exists(path) {
            configuration = try ConfigurationLoader.load(path: path, environment: environment, connectors: Connectors.catalog)
        }
        let settings = try stateSettings(
            explicitPath: options.stateFile, environment: environment, configuration: configuration)
        return ToolContext(configuration: configuration, state: try stateOpener.open(settings), opener: stateOpener)
    }

    /// Opens every backend this build has.
    package static let stateOpener = StateOpener { (settings) throws(ConduitError) -> any StateBackend in
        try Connectors.stateBackend(settings)
    }

    /// Where the state lives: `--state-file` (the file backend, whatever the configuration says),
    /// else the configuration's `state:` (with `$CONDUIT_STATE_FILE` moving a file backend's
    /// path), else `$CONDUIT_STATE_FILE`, the configuration's `state_file`, `./.conduit_state.json`.
    package static func stateSettings(
        explicitPath: String?, environment: [String: String], configuration: Configuration?
    ) throws(ConduitError) -> StateSettings {
        if let explicitPath, !explicitPath.isEmpty { return .file(path: explicitPath) }
        let fromEnvironment = environment["CONDUIT_STATE_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        switch configuration?.state {
        case .database(let settings)?:
            if fromEnvironment != nil, let configuration {
                throw .configuration(
                    "CONDUIT_STATE_FILE is set, but \(configuration.path) keeps the state in a database (state: type: \(settings.type)); unset one of them (--state-file chooses a file for one command)"
                )
            }
            return .database(settings)
        case .file(let path)?:
            return .file(path: fromEnvironment ?? path)
        case nil:
            return .file(
                path: StateFile.locate(explicitPath: nil, environment: environment, configured: configuration?.stateFile).path)
        }
    }
}
