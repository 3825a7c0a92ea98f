import TestSupport
import Testing

@testable import Core
@testable import State
@testable import Stream

/// NDJSON lines through the loader's row scanner (`JSONRow.scan`) and the commit's line checker
/// (`IncrementalTracker.consume`). Properties: no crash, no hang, a refused line is a typed error
/// with a message, and both agree with the strict parser on what is a JSON object.
@Suite(.serialized) struct NDJSONFuzzTests {
    static let shortCases = 3_000

    @Test func rowScannerAndLineChecker() throws {
        let corpus = FuzzCorpus.validRows + FuzzCorpus.jsonTestSuite
        try #require(
            FuzzCorpus.jsonTestSuite.count > 300, "the JSONTestSuite corpus is missing from Tests/Fixtures/JSONTestSuite")
        let fuzz = FuzzRun(target: "ndjson", shortCases: Self.shortCases)
        var checker = LineChecker()
        let tried = fuzz.run { index, random, watch in
            let line: [UInt8]
            if index < corpus.count {
                line = corpus[index]
            } else {
                let seed = random.pick(corpus) ?? []
                line = Mutator.json.mutate(seed, others: corpus, random: &random)
            }
            watch(line)
            for problem in checker.check(line, random: &random) {
                fuzz.fail(problem, index: index, input: line)
            }
        }
        #expect(tried > 0)
    }

    /// Each fixture kept from an earlier finding still passes the checks.
    @Test func keptFindings() {
        var checker = LineChecker()
        var random = SplitMix64(seed: FuzzBudget.defaultSeed)
        for fixture in FuzzCorpus.files(in: FuzzCorpus.fuzzFixturesDirectory, suffix: ".ndjson") {
            for problem in checker.check(fixture.bytes, random: &random) {
                Issue.record(Comment(rawValue: "\(fixture.name): \(problem)"))
            }
        }
    }
}

/// The checks one line gets; returns the properties it broke.
struct LineChecker {
    /// The loader reuses one row for every line; so does the fuzzer.
    private var row = JSONRow()
    /// A tracker that lives across cases: every value meets many others of both types.
    private var unordered = IncrementalTracker(column: "id", requiresOrder: false)
    private var unorderedLines = 0

    /// Earlier values an ordered stream might have had before the fuzzed line.
    static let previousValues = [
        "0", "-1", "1e400", "123456789012345678901234567890", "\"2024-05-01T12:00:00Z\"", "\"abc\"", "\"\"",
        "0.000000000000000000001", "-9e-999999999999",
    ]

    mutating func check(_ line: [UInt8], random: inout SplitMix64) -> [String] {
        var problems: [String] = []
        let parsedObject: Bool
        var parsedMembers: [JSONMember] = []
        switch Result(catching: { () throws(JSONSyntaxError) in try JSONParser.parse(line) }) {
        case .success(.object(let members)):
            parsedObject = true
            parsedMembers = members
        case .success: parsedObject = false
        case .failure(let error):
            parsedObject = false
            if error.description.isEmpty { problems.append("JSONParser.parse: an error without a message") }
        }

        // The loader's row scanner.
        let scanned: Bool = line.withUnsafeBufferPointer { buffer in
            defer { row.release() }
            do throws(JSONRowError) {
                try row.scan(buffer)
            } catch {
                if error.description.isEmpty { problems.append("JSONRow.scan: an error without a message") }
                return false
            }
            // The members the parser sees, in order (the scanner has a shortcut for compact lines).
            let members = row.members.map { JSONMember(key: row.string($0.key), value: row.jsonValue($0.value)) }
            if parsedObject && members != parsedMembers {
                problems.append("JSONRow.scan read members the parser does not: \(members) against \(parsedMembers)")
            }
            // Touch every member the way the loader does: keys, strings, numbers, containers.
            for member in row.members {
                _ = row.string(member.key)
                _ = row.jsonValue(member.value)
                switch member.value {
                case .number(let range), .container(let range):
                    if range.lowerBound < 0 || range.upperBound > buffer.count {
                        problems.append("JSONRow.scan: a value range \(range) outside the line")
                    }
                case .string(.line(let range)):
                    if range.lowerBound < 0 || range.upperBound > buffer.count {
                        problems.append("JSONRow.scan: a string range \(range) outside the line")
                    }
                default: break
                }
            }
            return true
        }
        if scanned != parsedObject {
            problems.append(
                "JSONRow.scan \(scanned ? "accepted" : "refused") a line JSONParser.parse \(parsedObject ? "takes" : "refuses") as an object"
            )
        }

        // The commit's line checker: without a column (the line is only checked), with one in
        // an ordered stream after an earlier value, and in the long-lived unordered tracker.
        line.withUnsafeBufferPointer { buffer in
            var plain = IncrementalTracker(column: nil, requiresOrder: true)
            do throws(ConduitError) {
                try plain.consume(buffer, lineNumber: 1)
                if !scanned { problems.append("IncrementalTracker.consume accepted a line JSONRow.scan refused") }
            } catch {
                problems += Self.checked(error, "IncrementalTracker.consume")
                if scanned {
                    problems.append("IncrementalTracker.consume refused a line JSONRow.scan accepted: \(error.message)")
                }
            }

            var ordered = IncrementalTracker(column: "id", requiresOrder: true)
            let previous = Array("{\"id\":\(random.pick(Self.previousValues) ?? "0")}".utf8)
            previous.withUnsafeBufferPointer { first in
                do throws(ConduitError) { try ordered.consume(first, lineNumber: 1) } catch {
                    problems.append("a valid first line was refused: \(error.message)")
                }
            }
            do throws(ConduitError) { try ordered.consume(buffer, lineNumber: 2) } catch {
                problems += Self.checked(error, "IncrementalTracker.consume (ordered)")
            }

            unorderedLines += 1
            do throws(ConduitError) { try unordered.consume(buffer, lineNumber: unorderedLines) } catch {
                problems += Self.checked(error, "IncrementalTracker.consume (unordered)")
            }
        }
        return problems
    }

    /// A refused line is bad input (exit 65) with a message naming the line.
    static func checked(_ error: ConduitError, _ component: String) -> [String] {
        var problems: [String] = []
        if error.message.isEmpty { problems.append("\(component): an error without a message") }
        if error.kind != .badInput { problems.append("\(component): a \(error.kind) error, not badInput: \(error.message)") }
        if !error.message.hasPrefix("line ") {
            problems.append("\(component): the message does not name the line: \(error.message)")
        }
        return problems
    }
}
