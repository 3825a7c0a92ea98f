import Glibc
import Yams

/// Finds, reads, interpolates, parses and validates `ingest.yml`.
public enum ConfigurationLoader {
    /// `--config FILE`, else `$CONDUIT_CONFIG`, else `./ingest.yml`.
    public static func locate(explicitPath: String?, environment: [String: String]) -> String {
        if let explicitPath, !explicitPath.isEmpty { return explicitPath }
        if let fromEnvironment = environment["CONDUIT_CONFIG"], !fromEnvironment.isEmpty { return fromEnvironment }
        return "ingest.yml"
    }

    /// Loads and validates the file; every problem is a configuration error (exit 78) naming
    /// the file, the line and the key path.
    public static func load(path: String, environment: [String: String]) throws(ConduitError) -> Configuration {
        let bytes: [UInt8]?
        do {
            bytes = try FileIO.readIfExists(path)
        } catch {
            throw .configuration("\(path): cannot read the configuration: \(error)")
        }
        guard let bytes else {
            throw .configuration("\(path): no such configuration file (give one with --config FILE or $CONDUIT_CONFIG)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .configuration("\(path): the configuration is not valid UTF-8")
        }
        return try parse(yaml: text, path: path, environment: environment)
    }

    /// Parses and validates YAML text; `path` names the file in errors.
    public static func parse(yaml: String, path: String, environment: [String: String]) throws(ConduitError) -> Configuration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw .configuration(describe(error, path: path))
        } catch {
            throw .configuration("\(path): not valid YAML: \(error)")
        }
        var reader = ConfigurationReader(path: path, environment: environment)
        let configuration = reader.read(root)
        if !reader.problems.isEmpty {
            let lines = reader.problems.sorted { ($0.line ?? 0) < ($1.line ?? 0) }.map { $0.text(path: path) }
            throw .configuration(lines.joined(separator: "\n"))
        }
        return configuration
    }

    private static func describe(_ error: YamlError, path: String) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return "\(path):\(mark.line): not valid YAML: \(problem)"
        default:
            return "\(path): not valid YAML: \(error)"
        }
    }
}

/// One problem found in the file.
struct ConfigurationProblem: Equatable {
    var line: Int?
    var keyPath: String
    var reason: String

    func text(path: String) -> String {
        let location = line.map { "\(path):\($0)" } ?? path
        return keyPath.isEmpty ? "\(location): \(reason)" : "\(location): \(keyPath): \(reason)"
    }
}
