import Core

/// The version of the `jq` on PATH, as `jq --version` prints it (`jq-1.6`, `jq-1.7.1`).
///
/// jq before 1.7 reads every number as a double: an integer beyond 2^53 comes out rounded
/// (9007199254740993 becomes 9007199254740992), so an incremental column that large, passed
/// through it, no longer names the row it came from. 1.7 keeps integer literals it does not
/// compute with.
struct JQVersion: Equatable {
    var major: Int
    var minor: Int

    /// Whether this jq rounds integers beyond 2^53.
    var roundsBigIntegers: Bool { major < 1 || (major == 1 && minor < 7) }

    /// `jq-1.6` → 1.6; nil for text that is not a jq version.
    init?(versionText: String) {
        var text = Substring(versionText.trimmingSpaces())
        guard text.hasPrefix("jq-") else { return nil }
        text = text.dropFirst(3)
        let parts = text.split(separator: ".", maxSplits: 2)
        guard parts.count >= 2, let major = Int(parts[0]),
            let minor = Int(parts[1].prefix(while: { $0.isNumber }))
        else { return nil }
        self.major = major
        self.minor = minor
    }

    /// Runs `jq --version` with `environment`; nil when jq is missing or says something else.
    static func installed(environment: [String: String]) -> JQVersion? {
        guard let process = try? ChildProcess.spawn(["jq", "--version"], environment: environment, capturingOutput: true) else {
            return nil
        }
        process.closeInput()
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while output.count < 4096 {
            let outcome = buffer.withUnsafeMutableBytes { SystemCall.read(process.outputFD, into: $0) }
            if outcome == .interrupted { continue }
            guard case .bytes(let count) = outcome else { break }
            output.append(contentsOf: buffer[0..<count])
        }
        guard let ended = try? process.wait(), ended.isSuccess else { return nil }
        return JQVersion(versionText: String(decoding: output, as: UTF8.self))
    }
}
