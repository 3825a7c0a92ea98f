package import Core
import Yams

/// Finds, reads, interpolates, parses and validates `ingest.yml` (SPEC section 2). Every problem
/// is a configuration error (exit 78) naming the file, and where it can, the line and key path.
package enum ConfigurationLoader {
    /// The file read when neither `--config` nor `$CONDUIT_CONFIG` names one: `ingest.yml` in the
    /// current directory.
    package static let defaultPath = "ingest.yml"

    /// `--config FILE`, else `$CONDUIT_CONFIG`, else `ingest.yml` (relative to the current
    /// directory). Empty values count as unset.
    package static func locate(explicitPath: String?, environment: [String: String]) -> String {
        if let explicitPath, !explicitPath.isEmpty { return explicitPath }
        if let fromEnvironment = environment["CONDUIT_CONFIG"], !fromEnvironment.isEmpty { return fromEnvironment }
        return defaultPath
    }

    /// Reads the file and parses it. A missing or unreadable file is an error naming the file and
    /// the system's reason.
    package static func load(
        path: String, environment: [String: String], connectors: ConnectorCatalog
    ) throws(ConduitError) -> Configuration {
        let bytes: [UInt8]?
        do {
            bytes = try FileIO.readIfExists(path)
        } catch {
            throw .configuration("\(path): cannot read the configuration: \(error)")
        }
        guard let bytes else {
            let hint = path == defaultPath ? " (name one with --config FILE or $CONDUIT_CONFIG)" : ""
            throw .configuration(
                "\(path): cannot read the configuration: \(SystemCall.noSuchFileText)\(hint)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .configuration("\(path):\(lineOfFirstInvalidUTF8(bytes)): the configuration is not valid UTF-8")
        }
        return try parse(yaml: text, path: path, environment: environment, connectors: connectors)
    }

    /// Parses and validates YAML text; `path` names the file in messages. `${…}` is interpolated
    /// in values after parsing, so an environment value can never change the YAML's structure.
    package static func parse(
        yaml: String, path: String, environment: [String: String], connectors: ConnectorCatalog
    ) throws(ConduitError) -> Configuration {
        if let line = complexKeyLine(yaml) {
            throw .configuration("\(path):\(line): keys must be plain names, not aliases (*name)")
        }
        let root: Node?
        do {
            // The encoding is given so that Yams does not consult (and print about) its own
            // environment variable.
            root = try Yams.compose(yaml: yaml, .default, .default, .utf8)
        } catch let error as YamlError {
            throw .configuration(describe(error, path: path, yaml: yaml))
        } catch {
            throw .configuration("\(path): invalid YAML: \(error)")
        }
        let reader = ConfigurationReader(file: path, environment: environment, connectors: connectors)
        let configuration = reader.read(root)
        guard reader.problems.isEmpty else { throw .configuration(reader.message) }
        return configuration
    }

    /// The line of the first key that is an alias (`*name:`, or `? …` holding one), or nil.
    /// ingest.yml's keys are plain names, and such a key is refused before Yams composes the
    /// document: Yams checks a mapping's keys for duplicates by hashing each key whole, which for
    /// an alias of an alias bomb takes exponential time. The scan skips quoted text, comments and
    /// block scalars; it errs towards refusing only what looks like a key.
    static func complexKeyLine(_ yaml: String) -> Int? {
        // No alias without a `*`: most files end here, after one pass over their bytes.
        let star = UInt8(ascii: "*")
        let hasStar = yaml.utf8.withContiguousStorageIfAvailable { $0.contains(star) } ?? yaml.utf8.contains(star)
        guard hasStar else { return nil }
        let document = Array(yaml.utf8)
        return document.withUnsafeBufferPointer { complexKeyLine(in: $0) }
    }

    private static func complexKeyLine(in document: UnsafeBufferPointer<UInt8>) -> Int? {
        var blockScalarIndent: Int?
        var index = -1
        var lineEnd = -1
        while lineEnd < document.count {
            index += 1
            let lineStart = lineEnd + 1
            lineEnd = lineStart
            // Most lines hold none of the bytes an alias key or a block scalar needs; the scan
            // below is for the few that do.
            var candidate = false
            while lineEnd < document.count, document[lineEnd] != 0x0A {
                let byte = document[lineEnd]
                if byte == UInt8(ascii: "*") || byte == UInt8(ascii: "|") || byte == UInt8(ascii: ">") { candidate = true }
                lineEnd += 1
            }
            let bytes = UnsafeBufferPointer(rebasing: document[lineStart..<lineEnd])
            if let parent = blockScalarIndent {
                let indent = bytes.prefix { $0 == 0x20 }.count
                if indent > parent || bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { continue }
                blockScalarIndent = nil
            }
            guard candidate else { continue }
            let line = Array(bytes)
            let indent = line.prefix { $0 == 0x20 }.count
            // Quoted text and comments become spaces: only structure is left.
            var plain: [UInt8] = []
            var quote: UInt8?
            var previous: UInt8 = 0x20
            for byte in line {
                if let open = quote {
                    if byte == open { quote = nil }
                    plain.append(0x20)
                } else if byte == 0x22 || byte == 0x27 {
                    quote = byte
                    plain.append(0x20)
                } else if byte == 0x23 && (previous == 0x20 || previous == 0x09) {
                    break
                } else {
                    plain.append(byte)
                }
                previous = byte
            }
            var content = plain.drop { $0 == 0x20 || $0 == 0x09 }
            while content.first == UInt8(ascii: "-"), content.dropFirst().first.map({ $0 == 0x20 }) ?? true {
                content = content.dropFirst().drop { $0 == 0x20 || $0 == 0x09 }
            }
            // An explicit key (`? …`) holding an alias; a literal complex key is cheap, and the
            // reader refuses it with its own message.
            if content.first == UInt8(ascii: "?"), content.dropFirst().first.map({ $0 == 0x20 || $0 == 0x09 }) ?? true,
                content.contains(UInt8(ascii: "*"))
            {
                return index + 1
            }
            // An alias at a key's place: at the start of the line, or after { or , in a flow map.
            for (offset, byte) in content.enumerated() where byte == UInt8(ascii: "*") {
                let before = content.prefix(offset).last { $0 != 0x20 && $0 != 0x09 }
                guard offset == 0 || before == UInt8(ascii: "{") || before == UInt8(ascii: ",") else { continue }
                let rest = content.dropFirst(offset + 1).drop {
                    !($0 == 0x20 || $0 == 0x09 || $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "}") || $0 == UInt8(ascii: "]")
                        || $0 == UInt8(ascii: ":"))
                }
                if rest.drop(while: { $0 == 0x20 || $0 == 0x09 }).first == UInt8(ascii: ":") { return index + 1 }
            }
            // A block scalar (| or >) starts: its lines are text, not structure.
            let trimmed = content.reversed().drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
            let indicator = trimmed.drop { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || ($0 >= 0x30 && $0 <= 0x39) }
            if let last = indicator.first, last == UInt8(ascii: "|") || last == UInt8(ascii: ">") {
                let beforeIndicator = indicator.dropFirst().first { $0 != 0x20 && $0 != 0x09 }
                if beforeIndicator == UInt8(ascii: ":") || beforeIndicator == UInt8(ascii: "-") || beforeIndicator == nil {
                    blockScalarIndent = indent
                }
            }
        }
        return nil
    }

    /// `ingest.yml:3: invalid YAML: mapping values are not allowed in this context`. libyaml's
    /// messages describe the syntax, never the values.
    static func describe(_ error: YamlError, path: String, yaml: String) -> String {
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let during = context.map { " (\($0.text) at line \($0.mark.line))" } ?? ""
            return "\(path):\(mark.line): invalid YAML: \(problem)\(during)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }
            let noun = keys.count == 1 ? "key" : "keys"
            return
                "\(path):\(context.mark.line): invalid YAML: duplicate \(noun) \(KeySuggestion.alternatives(keys, conjunction: "and")) in one map (each key may appear once)"
        case .reader(let problem, let offset, _, _):
            let line = offset.map { offset in 1 + yaml.prefix(offset).reduce(0) { $1 == "\n" ? $0 + 1 : $0 } } ?? 1
            return "\(path):\(line): invalid YAML: \(problem)"
        default:
            return "\(path): invalid YAML: \(error)"
        }
    }

    /// The 1-based line of the first byte that is not valid UTF-8.
    static func lineOfFirstInvalidUTF8(_ bytes: [UInt8]) -> Int {
        var line = 1
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): if scalar == "\n" { line += 1 }
            case .emptyInput, .error: return line
            }
        }
    }
}
