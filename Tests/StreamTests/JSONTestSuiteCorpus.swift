import Foundation

/// nst/JSONTestSuite's `test_parsing` folder (MIT), found at `$CONDUIT_JSON_TEST_SUITE` when set,
/// else at `../shared/testdata/JSONTestSuite/test_parsing` beside the repository root.
enum JSONTestSuiteCorpus {
    /// The folder holding the `y_`, `n_` and `i_` files, or nil when it cannot be found.
    static let directory: URL? = {
        let fileManager = FileManager.default
        if let configured = ProcessInfo.processInfo.environment["CONDUIT_JSON_TEST_SUITE"], !configured.isEmpty {
            // Accept either the JSONTestSuite checkout or its test_parsing folder.
            let root = URL(fileURLWithPath: configured, isDirectory: true)
            let nested = root.appendingPathComponent("test_parsing", isDirectory: true)
            return fileManager.fileExists(atPath: nested.path) ? nested : root
        }
        var folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while folder.path != "/" {
            if fileManager.fileExists(atPath: folder.appendingPathComponent("Package.swift").path) {
                let corpus = folder.deletingLastPathComponent()
                    .appendingPathComponent("shared/testdata/JSONTestSuite/test_parsing", isDirectory: true)
                return fileManager.fileExists(atPath: corpus.path) ? corpus : nil
            }
            folder = folder.deletingLastPathComponent()
        }
        return nil
    }()

    /// The path of ``directory``, for messages.
    static var directoryPath: String? { directory?.path }

    /// The sorted names of the corpus files starting with `prefix` (empty when the corpus is missing).
    static func fileNames(prefix: String) -> [String] {
        guard let directory, let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else {
            return []
        }
        return names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".json") }.sorted()
    }

    /// The bytes of one corpus file.
    static func contents(of name: String) throws -> [UInt8] {
        guard let directory else { throw CocoaError(.fileNoSuchFile) }
        return [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }
}
