import Foundation

/// nst/JSONTestSuite's `test_parsing` files (MIT), kept in the repository with their LICENSE under
/// `Tests/Fixtures/JSONTestSuite`, found relative to this source file: tests never read outside
/// the repository.
enum JSONTestSuiteCorpus {
    /// `Tests/Fixtures/JSONTestSuite`, beside this file's `Tests/StreamTests` folder.
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures/JSONTestSuite", isDirectory: true)

    /// The path of ``directory`` when it exists, else nil, so a test can `#require` the corpus.
    static var directoryPath: String? {
        FileManager.default.fileExists(atPath: directory.path) ? directory.path : nil
    }

    /// The sorted names of the corpus files starting with `prefix` (empty when the corpus is missing).
    static func fileNames(prefix: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        return names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".json") }.sorted()
    }

    /// The bytes of one corpus file.
    static func contents(of name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }
}
