import Foundation
import TestSupport
import Testing

@testable import Core
@testable import State
@testable import Stream

/// State file contents through `StateDocument(parsing:source:)` and `StateFile.read`.
/// Properties: no crash, no hang, a refusal is an I/O error (exit 74) with a message, a document
/// read writes back exactly (round trip), and a read — or an update whose read fails — never
/// changes the file or leaves anything new beside it but the lock file.
@Suite(.serialized) struct StateFileFuzzTests {
    static let shortCases = 1_500

    @Test func stateFileContents() throws {
        let corpus = FuzzCorpus.stateFiles + FuzzCorpus.jsonTestSuite
        try #require(
            FuzzCorpus.jsonTestSuite.count > 300, "the JSONTestSuite corpus is missing from Tests/Fixtures/JSONTestSuite")
        let folder = try Sandbox()
        let fuzz = FuzzRun(target: "state file", shortCases: Self.shortCases)
        let tried = fuzz.run { index, random, watch in
            let contents: [UInt8]
            if index < corpus.count {
                contents = corpus[index]
            } else {
                let seed = random.pick(corpus) ?? []
                contents = Mutator.json.mutate(seed, others: corpus, random: &random)
            }
            watch(contents)
            for problem in Self.check(contents, folder: folder) {
                fuzz.fail(problem, index: index, input: contents)
            }
        }
        #expect(tried > 0)
    }

    /// Each fixture kept from an earlier finding still passes the checks.
    @Test func keptFindings() throws {
        let folder = try Sandbox()
        for fixture in FuzzCorpus.files(in: FuzzCorpus.fuzzFixturesDirectory, suffix: ".state") {
            for problem in Self.check(fixture.bytes, folder: folder) {
                Issue.record(Comment(rawValue: "\(fixture.name): \(problem)"))
            }
        }
    }

    static func check(_ contents: [UInt8], folder: Sandbox) -> [String] {
        var problems: [String] = []
        func checked(_ error: ConduitError, _ how: String) {
            if error.message.isEmpty { problems.append("\(how): an error without a message") }
            if error.kind != .io { problems.append("\(how): a \(error.kind) error, not io: \(error.message)") }
        }

        // The parser alone, then what a document can do.
        let parsed = Result { () throws(ConduitError) in try StateDocument(parsing: contents, source: "state.json") }
        switch parsed {
        case .success(let document):
            for resource in document.members.keys {
                do throws(ConduitError) { _ = try document.value(of: resource, source: "state.json") } catch {
                    checked(error, "StateDocument.value(of:)")
                }
            }
            let written = document.serialized
            switch Result(catching: { () throws(ConduitError) in try StateDocument(parsing: written, source: "state.json") }) {
            case .success(let reread):
                if reread != document { problems.append("the document does not survive being written and read again") }
            case .failure(let error):
                problems.append("the written document does not read back: \(error.message)")
            }
        case .failure(let error):
            checked(error, "StateDocument(parsing:)")
        }

        // The file: a read, and an update that changes nothing, leave it as it was; an update
        // whose read fails writes nothing.
        let path: String
        let before: [String]
        do {
            path = try folder.write(contents, to: "state.json")
            before = try folder.names()
        } catch {
            return problems + ["could not write the case's file: \(error)"]
        }
        let file = StateFile(path: path)
        let read = Result { () throws(ConduitError) in try file.read() }
        switch (read, parsed) {
        case (.success(let fromFile), .success(let document)):
            if fromFile != document { problems.append("StateFile.read and StateDocument(parsing:) read different documents") }
        case (.failure(let error), .failure):
            checked(error, "StateFile.read")
        case (.success, .failure):
            problems.append("StateFile.read accepted contents StateDocument(parsing:) refused")
        case (.failure(let error), .success):
            problems.append("StateFile.read refused contents StateDocument(parsing:) accepted: \(error.message)")
        }
        problems += unchanged(path, contents, folder, before, after: "StateFile.read")

        let update = Result { () throws(ConduitError) in
            try file.update { (document: inout StateDocument) throws(ConduitError) in
                _ = document
            }
        }
        if case .failure(let error) = update {
            checked(error, "StateFile.update")
            if case .success = read {
                problems.append("StateFile.update failed on a file StateFile.read reads: \(error.message)")
            }
        }
        problems += unchanged(
            path, contents, folder, before + ["state.json.lock"], after: "StateFile.update that changes nothing")

        if case .failure = read {
            let failed = Result { () throws(ConduitError) in
                try file.update { (document: inout StateDocument) throws(ConduitError) in
                    document.set(.number("1"), for: "fuzz")
                }
            }
            if case .success = failed { problems.append("StateFile.update wrote over a state file it cannot read") }
            problems += unchanged(
                path, contents, folder, before + ["state.json.lock"], after: "StateFile.update of an unreadable file")
        }
        return problems
    }

    /// The file still holds `contents`, and the folder holds `names` (the lock file may be there too).
    static func unchanged(_ path: String, _ contents: [UInt8], _ folder: Sandbox, _ names: [String], after: String) -> [String] {
        var problems: [String] = []
        if FileManager.default.contents(atPath: path).map([UInt8].init) != contents {
            problems.append("\(after) changed the state file")
        }
        let expected = Set(names)
        let present = Set((try? folder.names()) ?? [])
        if !present.subtracting(expected.union(["state.json.lock"])).isEmpty
            || !expected.subtracting(["state.json.lock"]).isSubset(of: present)
        {
            problems.append("\(after) changed the folder: \(present.sorted()) (expected \(expected.sorted()))")
        }
        return problems
    }
}
