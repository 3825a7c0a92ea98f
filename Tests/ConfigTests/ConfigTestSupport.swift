import CLI
import Foundation
import TestSupport
import Testing

@testable import Config
@testable import Core

/// Parses YAML as `ingest.yml` with a fake environment (never the process's).
func parse(_ yaml: String, environment: [String: String] = [:]) throws(ConduitError) -> Configuration {
    try ConfigurationLoader.parse(yaml: yaml, path: "ingest.yml", environment: environment, connectors: Connectors.catalog)
}

/// The whole message of the configuration error that `yaml` must produce; records a test issue
/// when it loads instead, or fails with another kind of error.
func problems(_ yaml: String, environment: [String: String] = [:]) throws -> String {
    let error = try #require(throws: ConduitError.self) { try parse(yaml, environment: environment) }
    #expect(error.kind == .configuration)
    #expect(error.exitStatus == .configuration)
    return error.message
}

/// A valid configuration whose lines the validation tests count on: one SQLite source (lines
/// 1–4), one SQLite destination (5–8), one incremental resource (9–14). Text appended to it
/// starts at line 15, inside the resource.
let base = BaseConfiguration.standard

/// `base` with one piece of text replaced; the piece must be there exactly once.
func edited(_ old: String, _ new: String, in text: String = base) -> String {
    precondition(text.components(separatedBy: old).count == 2, "'\(old)' must occur once")
    return text.replacingOccurrences(of: old, with: new)
}
