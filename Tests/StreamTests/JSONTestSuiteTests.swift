import Core
import Stream
import Testing

/// nst/JSONTestSuite's parsing corpus: one test case per file, so a failure names the file.
@Suite("JSONTestSuite conformance")
struct JSONTestSuiteTests {
    /// Guards against a missing or truncated corpus, which would leave the per-file tests with no cases.
    @Test func corpusIsPresentAndComplete() throws {
        let directory = try #require(
            JSONTestSuiteCorpus.directoryPath,
            "JSONTestSuite corpus not found in Tests/Fixtures/JSONTestSuite")
        #expect(JSONTestSuiteCorpus.fileNames(prefix: "y_").count > 90, "too few y_ files in \(directory)")
        #expect(JSONTestSuiteCorpus.fileNames(prefix: "n_").count > 150, "too few n_ files in \(directory)")
        #expect(JSONTestSuiteCorpus.fileNames(prefix: "i_").count > 20, "too few i_ files in \(directory)")
    }

    /// Guards that every valid JSON text parses, survives a serialize round trip, and that scanObject agrees.
    @Test(arguments: JSONTestSuiteCorpus.fileNames(prefix: "y_"))
    func acceptsValidText(file: String) throws {
        let bytes = try JSONTestSuiteCorpus.contents(of: file)
        let value = try JSONParser.parse(bytes)
        #expect(try JSONParser.parse(value.serialized()) == value)
        #expect(try JSONParser.parse(value.prettySerialized(sortKeys: true)) == value.sortedForComparison())

        let scanned = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONSyntaxError) in try JSONParser.scanObject(buffer, capturing: Array("a".utf8)) }
        }
        // The framing-only scan, where it answers, answers as the full scan does.
        let framed = bytes.withUnsafeBufferPointer { JSONParser.scanObjectStructure($0, capturingText: Array("a".utf8)) }
        let full = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONSyntaxError) in try JSONParser.scanObject(buffer, capturingText: Array("a".utf8)) }
        }
        if let framed { #expect(framed == (try full.get()), "\(file)") }
        if case .object(let members) = value {
            let expected = members.last { $0.key == "a" }.map { JSONParser.CapturedMember.present($0.value) } ?? .absent
            #expect(try scanned.get() == expected)
        } else {
            #expect(framed == nil, "\(file) is not an object")
            let error = try #require(throws: JSONSyntaxError.self) { try scanned.get() }
            #expect(error.reason == "expected a JSON object")
        }
    }

    /// Guards that every invalid JSON text is refused, by parse and by scanObject alike.
    @Test(arguments: JSONTestSuiteCorpus.fileNames(prefix: "n_"))
    func refusesInvalidText(file: String) throws {
        let bytes = try JSONTestSuiteCorpus.contents(of: file)
        let error = try #require(throws: JSONSyntaxError.self) { try JSONParser.parse(bytes) }
        #expect(error.offset >= 0 && error.offset <= bytes.count)
        #expect(!error.reason.isEmpty)
        let scanned = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONSyntaxError) in try JSONParser.scanObject(buffer, capturing: Array("a".utf8)) }
        }
        #expect(throws: JSONSyntaxError.self) { try scanned.get() }
    }

    /// Guards that implementation-defined texts neither crash nor hang; either outcome is allowed.
    ///
    /// Outcomes as of writing: the ten `i_number_*` files and `i_structure_500_nested_arrays` parse
    /// (numbers keep their text, so magnitude does not matter). Every other `i_` file is refused:
    /// lone or mismatched surrogate escapes (`i_object_key_lone_2nd_surrogate`,
    /// `i_string_1st_surrogate_but_2nd_missing`, `…_incomplete_surrogate…`, `…_invalid_surrogate`,
    /// `…_inverted_surrogates_U+1D11E`, `…_lone_second_surrogate`, …), invalid UTF-8 (ISO Latin-1,
    /// overlong forms, encoded surrogate U+D800, beyond U+10FFFF, truncated or lone continuation
    /// bytes), UTF-16 input, and the UTF-8 byte order mark.
    @Test(arguments: JSONTestSuiteCorpus.fileNames(prefix: "i_"))
    func survivesImplementationDefinedText(file: String) throws {
        let bytes = try JSONTestSuiteCorpus.contents(of: file)
        do {
            let value = try JSONParser.parse(bytes)
            #expect(try JSONParser.parse(value.serialized()) == value)
        } catch {
            #expect(error.offset >= 0 && error.offset <= bytes.count)
        }
    }
}

extension JSONValue {
    /// This value with every object's members in UTF-8 key order (duplicates keep their order),
    /// to compare against a `prettySerialized(sortKeys: true)` round trip.
    func sortedForComparison() -> JSONValue {
        // Test-only and bounded by the corpus's shallow documents; recursion is fine here.
        switch self {
        case .array(let elements):
            return .array(elements.map { $0.sortedForComparison() })
        case .object(let members):
            let sorted = members.enumerated().sorted { left, right in
                let (leftKey, rightKey) = (left.element.key.utf8, right.element.key.utf8)
                if leftKey.lexicographicallyPrecedes(rightKey) { return true }
                if rightKey.lexicographicallyPrecedes(leftKey) { return false }
                return left.offset < right.offset
            }
            return .object(sorted.map { JSONMember(key: $0.element.key, value: $0.element.value.sortedForComparison()) })
        default:
            return self
        }
    }
}
