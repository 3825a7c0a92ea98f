import CLI
import Foundation
import Testing

@testable import Config
@testable import Core

/// The configurations in examples/ load and validate, with their secrets from the environment.
@Suite struct ExampleConfigurationTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples").path

    static let environment = [
        "PG_PASSWORD": "p", "WAREHOUSE_PASSWORD": "w", "SNOWFLAKE_ACCOUNT": "acme-eu1", "SNOWFLAKE_USER": "loader",
        "SNOWFLAKE_PASSWORD": "s", "SNOWFLAKE_KEY_PASSPHRASE": "k",
    ]

    @Test(arguments: ["sqlite-to-sqlite.yml", "postgres-to-postgres.yml", "postgres-to-snowflake.yml"])
    func loads(name: String) throws {
        let configuration = try ConfigurationLoader.load(
            path: "\(Self.examples)/\(name)", environment: Self.environment, connectors: Connectors.catalog)
        let resource = try configuration.resource(named: "sync_new_users")
        #expect(resource.incrementalColumn == "id")
        #expect(resource.query.contains(":last_value"))
    }

    /// Without its secrets an example says which variable is missing.
    @Test func namesAMissingSecret() throws {
        let error = try #require(throws: ConduitError.self) {
            try ConfigurationLoader.load(
                path: "\(Self.examples)/postgres-to-postgres.yml", environment: [:], connectors: Connectors.catalog)
        }
        #expect(error.message.contains("PG_PASSWORD"))
    }
}
