import Config
package import Core
package import State

extension ToolContext {
    /// Loads the configuration found by `--config`, `$CONDUIT_CONFIG` or `./ingest.yml`, and
    /// locates the state file. When `configurationRequired` is false and no configuration was
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
        let stateFile = StateFile.locate(
            explicitPath: options.stateFile, environment: environment, configured: configuration?.stateFile)
        return ToolContext(configuration: configuration, stateFile: stateFile)
    }
}
