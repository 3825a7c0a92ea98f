package import Core

/// One NDJSON line scanned as a row: its top-level members, with keys and scalar values left as
/// bytes (no Strings, no value tree), for the loader's hot path. The line is validated as
/// strictly as ``JSONParser/parse(_:)-swift.type.method`` would; nested objects and arrays are
/// validated and kept as their JSON text.
///
/// The row borrows the line's bytes: it is valid only until the next ``scan(_:)``.
package struct JSONRow {
    /// Where a member's key or string value is: in the line itself (no escapes), or decoded into ``decoded``.
    package enum Bytes: Sendable, Equatable {
        case line(Range<Int>)
        case decoded(Range<Int>)
    }

    package enum Value: Sendable, Equatable {
        case null
        case bool(Bool)
        /// The number's exact text, in the line.
        case number(Range<Int>)
        /// The string's decoded UTF-8.
        case string(Bytes)
        /// An object or array: its JSON text, in the line.
        case container(Range<Int>)
    }

    package struct Member: Sendable, Equatable {
        package var key: Bytes
        package var value: Value
    }

    package private(set) var members: [Member] = []
    /// Decoded bytes of keys and strings that held escapes.
    package private(set) var decoded: [UInt8] = []
    /// The scanned line, borrowed from the caller until ``release()``.
    private var line = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    /// The keys the caller expects, each framed as the compact line spells it (`"key":`), one
    /// after another (``expectedKeyEnds``[n]: where key n's ends); empty: none expected.
    private var expectedKeys: [UInt8] = []
    private var expectedKeyEnds: [Int] = []
    /// Whether the last ``scan(_:)`` found exactly the expected keys, in order, in a compact line.
    package private(set) var holdsExpectedKeys = false

    package init() {}

    /// Sets the keys the next rows are expected to hold, in order (decoded bytes): a compact line
    /// that spells them plainly then compares each as bytes instead of scanning it as a string,
    /// and ``holdsExpectedKeys`` says whether the row held exactly these. A key a line could only
    /// spell with an escape (a quote, a backslash, a control character) disables the comparison.
    package mutating func expectKeys(_ keys: [[UInt8]]) {
        expectedKeys.removeAll(keepingCapacity: true)
        expectedKeyEnds.removeAll(keepingCapacity: true)
        let plain = keys.allSatisfy { key in
            !key.contains { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 }
        }
        guard plain, !keys.isEmpty else { return }
        for key in keys {
            expectedKeys.append(UInt8(ascii: "\""))
            expectedKeys.append(contentsOf: key)
            expectedKeys.append(UInt8(ascii: "\""))
            expectedKeys.append(UInt8(ascii: ":"))
            expectedKeyEnds.append(expectedKeys.count)
        }
    }

    /// Forgets the borrowed line, so the pointer never outlives the scope that owns the bytes:
    /// the caller of ``scan(_:)`` calls it before those bytes go away. The members stay until the
    /// next scan clears them (ranges only: reading their bytes now traps instead of reading freed memory).
    package mutating func release() {
        line = UnsafeBufferPointer(start: nil, count: 0)
    }

    /// Scans one line that must hold a JSON object. A syntax error inside a member's value names that member's key.
    package mutating func scan(_ line: UnsafeBufferPointer<UInt8>) throws(JSONRowError) {
        if scanCompact(line) { return }
        holdsExpectedKeys = false
        self.line = line
        members.removeAll(keepingCapacity: true)
        decoded.removeAll(keepingCapacity: true)
        var scanner = JSONScanner(line)
        do throws(JSONSyntaxError) {
            try scanner.rejectByteOrderMark()
            scanner.skipWhitespace()
            let start = scanner.position
            guard scanner.next == UInt8(ascii: "{") else {
                try scanner.skipValue(depth: 0)
                try scanner.expectEnd()
                throw JSONSyntaxError(offset: start, reason: "expected a JSON object")
            }
            scanner.position += 1
            scanner.skipWhitespace()
            if scanner.next == UInt8(ascii: "}") {
                scanner.position += 1
                try scanner.expectEnd()
                return
            }
        } catch {
            throw JSONRowError(syntax: error, key: nil)
        }
        while true {
            let key: Bytes
            do throws(JSONSyntaxError) {
                let token = try scanner.scanKey()
                key = bytes(of: token, scanner: scanner)
                try scanner.expectColon()
            } catch {
                throw JSONRowError(syntax: error, key: nil)
            }
            do throws(JSONSyntaxError) {
                members.append(Member(key: key, value: try scanValue(&scanner)))
                scanner.skipWhitespace()
                if scanner.next == UInt8(ascii: ",") {
                    scanner.position += 1
                    try scanner.rejectTrailingComma(before: UInt8(ascii: "}"), in: "object")
                } else if scanner.next == UInt8(ascii: "}") {
                    scanner.position += 1
                    try scanner.expectEnd()
                    return
                } else {
                    throw scanner.expected("',' or '}' after object member")
                }
            } catch {
                throw JSONRowError(syntax: error, key: String(decoding: withBytes(key) { Array($0) }, as: UTF8.self))
            }
        }
    }

    /// The usual line, as Conduit's extract and `jq -c` write it: no whitespace between tokens
    /// and no escape in a key, read without the general scan's whitespace and error steps. It
    /// validates with the same scanner, so it accepts only what ``scan(_:)`` accepts, with the same
    /// members; on anything else, an error included, it returns false and the general scan
    /// reads the line from the start (and words the error).
    private mutating func scanCompact(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        self.line = line
        members.removeAll(keepingCapacity: true)
        decoded.removeAll(keepingCapacity: true)
        let count = line.count
        guard count >= 2, line[0] == UInt8(ascii: "{"), line[count - 1] == UInt8(ascii: "}") else { return false }
        if count == 2 {
            holdsExpectedKeys = false
            return true
        }
        return expectedKeys.withUnsafeBufferPointer { expected in
            expectedKeyEnds.withUnsafeBufferPointer { expectedEnds in
                scanCompactMembers(line, expected: expected, expectedEnds: expectedEnds)
            }
        }
    }

    /// ``scanCompact(_:)``'s members. While the line's keys are the expected ones, each is
    /// compared as `"key":` bytes: a key with no quote, backslash or control character, spelled
    /// plainly, is that key, so the comparison accepts only what the string scan accepts.
    @inline(__always)
    private mutating func scanCompactMembers(
        _ line: UnsafeBufferPointer<UInt8>, expected: UnsafeBufferPointer<UInt8>, expectedEnds: UnsafeBufferPointer<Int>
    ) -> Bool {
        let count = line.count
        var scanner = JSONScanner(line)
        scanner.position = 1
        var matching = expectedEnds.count > 0
        var expectedStart = 0
        while true {
            let key: Range<Int>
            let index = members.count
            if matching, index < expectedEnds.count, let base = line.baseAddress, let expectedBase = expected.baseAddress {
                let framed = expectedEnds[index] - expectedStart
                if scanner.position + framed < count
                    && Self.same(
                        UnsafeBufferPointer(start: base + scanner.position, count: framed),
                        UnsafeBufferPointer(start: expectedBase + expectedStart, count: framed))
                {
                    key = scanner.position + 1..<scanner.position + framed - 2
                    scanner.position += framed
                    expectedStart += framed
                } else {
                    matching = false
                    guard let scanned = Self.scanCompactKey(&scanner, line: line) else { return false }
                    key = scanned
                }
            } else {
                matching = false
                guard let scanned = Self.scanCompactKey(&scanner, line: line) else { return false }
                key = scanned
            }
            guard scanner.position < count, let value = try? scanValue(&scanner) else { return false }
            members.append(Member(key: .line(key), value: value))
            // A container may end on the line's last brace: then the object is left open.
            guard scanner.position < count else { return false }
            let next = line[scanner.position]
            scanner.position += 1
            if next == UInt8(ascii: ",") {
                if scanner.position < count { continue }
                return false
            }
            holdsExpectedKeys = matching && members.count == expectedEnds.count
            return next == UInt8(ascii: "}") && scanner.position == count
        }
    }

    /// A compact line's key with its colon: the key's bytes (a key with an escape: nil, for the general scan).
    @inline(__always)
    private static func scanCompactKey(_ scanner: inout JSONScanner, line: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        guard line[scanner.position] == UInt8(ascii: "\"") else { return nil }
        let key: Range<Int>
        if let plain = scanner.scanPlainString() {
            key = plain
        } else {
            guard case .raw(let range)? = try? scanner.scanString() else { return nil }
            key = range
        }
        guard scanner.position < line.count, line[scanner.position] == UInt8(ascii: ":") else { return nil }
        scanner.position += 1
        return key
    }

    @inline(__always)
    private mutating func scanValue(_ scanner: inout JSONScanner) throws(JSONSyntaxError) -> Value {
        scanner.skipWhitespace()
        let start = scanner.position
        switch scanner.next {
        case UInt8(ascii: "\"")?:
            if let plain = scanner.scanPlainString() { return .string(.line(plain)) }
            return .string(bytes(of: try scanner.scanString(), scanner: scanner))
        case UInt8(ascii: "{")?, UInt8(ascii: "[")?:
            try scanner.skipValue(depth: 1)
            return .container(start..<scanner.position)
        // Scalars are scanned directly (skipValue's container machine is for containers); each
        // throws the error skipValue would.
        case UInt8(ascii: "t")?:
            try scanner.expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f")?:
            try scanner.expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n")?:
            try scanner.expectLiteral("null")
            return .null
        case UInt8(ascii: "-")?, (UInt8(ascii: "0")...UInt8(ascii: "9"))?:
            return .number(try scanner.scanNumber())
        default:
            // Every error (skipValue reports it).
            try scanner.skipValue(depth: 1)
            return .number(start..<scanner.position)
        }
    }

    private mutating func bytes(of token: JSONScanner.StringToken, scanner: JSONScanner) -> Bytes {
        if case .raw(let range) = token { return .line(range) }
        let start = decoded.count
        scanner.appendBytes(of: token, to: &decoded)
        return .decoded(start..<decoded.count)
    }

    /// Calls `body` with the bytes of a key or string value.
    @inline(__always)
    package func withBytes<T>(
        _ bytes: Bytes, _ body: (UnsafeBufferPointer<UInt8>) throws(ConduitError) -> T
    ) throws(ConduitError) -> T {
        switch bytes {
        case .line(let range):
            return try body(UnsafeBufferPointer(rebasing: line[range]))
        case .decoded(let range):
            let result = decoded.withUnsafeBufferPointer { all in
                Result { () throws(ConduitError) in try body(UnsafeBufferPointer(rebasing: all[range])) }
            }
            return try result.get()
        }
    }

    /// Calls `body` with the bytes of a key or string value (the loaders' hot paths use
    /// ``keys(equal:ends:)``, ``lastValue(forKey:)`` and ``lineBuffer`` instead: a generic
    /// `package` function is not specialized in another target).
    @inline(__always)
    package func withBytes<T>(_ bytes: Bytes, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
        switch bytes {
        case .line(let range):
            return body(UnsafeBufferPointer(rebasing: line[range]))
        case .decoded(let range):
            return decoded.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[range])) }
        }
    }

    /// Whether a key or string value's bytes are `other`: the loaders' per-key check, with no
    /// closure and no call for the short keys rows have.
    package func bytes(_ bytes: Bytes, equal other: [UInt8]) -> Bool {
        other.withUnsafeBufferPointer { other in
            let mine: UnsafeBufferPointer<UInt8>
            switch bytes {
            case .line(let range): mine = UnsafeBufferPointer(rebasing: line[range])
            case .decoded(let range):
                return decoded.withUnsafeBufferPointer { Self.same(UnsafeBufferPointer(rebasing: $0[range]), other) }
            }
            return Self.same(mine, other)
        }
    }

    /// The value of the last member whose key is `key` (nil: no such member), in one call.
    package func lastValue(forKey key: [UInt8]) -> Value? {
        key.withUnsafeBufferPointer { key in
            decoded.withUnsafeBufferPointer { decoded in
                for member in members.reversed() {
                    let bytes: UnsafeBufferPointer<UInt8>
                    switch member.key {
                    case .line(let range): bytes = UnsafeBufferPointer(rebasing: line[range])
                    case .decoded(let range): bytes = UnsafeBufferPointer(rebasing: decoded[range])
                    }
                    if Self.same(bytes, key) { return member.value }
                }
                return nil
            }
        }
    }

    /// Whether more than one member has `key` as its key (decoded: `"i\u0064"` is `"id"`).
    package func holdsKeyTwice(_ key: [UInt8]) -> Bool {
        key.withUnsafeBufferPointer { key in
            decoded.withUnsafeBufferPointer { decoded in
                var found = false
                for member in members {
                    let bytes: UnsafeBufferPointer<UInt8>
                    switch member.key {
                    case .line(let range): bytes = UnsafeBufferPointer(rebasing: line[range])
                    case .decoded(let range): bytes = UnsafeBufferPointer(rebasing: decoded[range])
                    }
                    if Self.same(bytes, key) {
                        if found { return true }
                        found = true
                    }
                }
                return false
            }
        }
    }

    /// The refusal of a row that holds the incremental column `key` twice, under `conduit-state
    /// commit`, which reads only the first.
    package static func repeatedKeyRefusal(_ key: [UInt8], lineNumber: Int) -> String {
        let name = JSONEscaping.quoted(String(decoding: key, as: UTF8.self))
        return
            "line \(lineNumber): the row holds \(name) twice; the incremental column must appear once, so that conduit-state commit and the loader read the same value"
    }

    /// The scanned line itself, for an encoder that reads many of its ranges (valid until
    /// ``release()``, like the row).
    package var lineBuffer: UnsafeBufferPointer<UInt8> { line }

    /// Whether the row's keys are, in order, the keys laid one after another in `flat`
    /// (`ends[n]`: where key n ends): the loaders' check that a row repeats the previous row's
    /// columns, in one pass.
    package func keys(equal flat: [UInt8], ends: [Int]) -> Bool {
        guard members.count == ends.count, !ends.isEmpty else { return false }
        return flat.withUnsafeBufferPointer { flat in
            decoded.withUnsafeBufferPointer { decoded in
                var start = 0
                for index in 0..<ends.count {
                    let end = ends[index]
                    let expected = UnsafeBufferPointer(rebasing: flat[start..<end])
                    start = end
                    let key: UnsafeBufferPointer<UInt8>
                    switch members[index].key {
                    case .line(let range): key = UnsafeBufferPointer(rebasing: line[range])
                    case .decoded(let range): key = UnsafeBufferPointer(rebasing: decoded[range])
                    }
                    if !Self.same(key, expected) { return false }
                }
                return true
            }
        }
    }

    /// Whether two byte runs are equal. Keys are short: up to 16 bytes compare as two
    /// overlapping loads a side, without a loop whose exit the processor mispredicts.
    @inline(__always)
    private static func same(_ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>) -> Bool {
        let count = left.count
        guard count == right.count else { return false }
        guard count <= 16, count > 0, let leftBase = left.baseAddress, let rightBase = right.baseAddress else {
            for index in 0..<count where left[index] != right[index] { return false }
            return true
        }
        let l = UnsafeRawPointer(leftBase)
        let r = UnsafeRawPointer(rightBase)
        if count >= 8 {
            return l.loadUnaligned(as: UInt64.self) == r.loadUnaligned(as: UInt64.self)
                && l.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
                    == r.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        }
        if count >= 4 {
            return l.loadUnaligned(as: UInt32.self) == r.loadUnaligned(as: UInt32.self)
                && l.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
                    == r.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
        }
        if count >= 2 {
            return l.loadUnaligned(as: UInt16.self) == r.loadUnaligned(as: UInt16.self)
                && l.loadUnaligned(fromByteOffset: count - 2, as: UInt16.self)
                    == r.loadUnaligned(fromByteOffset: count - 2, as: UInt16.self)
        }
        return leftBase.pointee == rightBase.pointee
    }

    /// A key or string value as a String (for messages and new columns, not the hot path).
    package func string(_ bytes: Bytes) -> String {
        withBytes(bytes) { String(decoding: $0, as: UTF8.self) }
    }

    /// The bytes of a range of the line (numbers, containers).
    package func lineBytes(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: line[range])
    }

    /// A member's value as a ``JSONValue`` (for type inference and the slow paths).
    package func jsonValue(_ value: Value) -> JSONValue {
        switch value {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .number(let range): return .number(String(decoding: lineBytes(range), as: UTF8.self))
        case .string(let bytes): return .string(string(bytes))
        case .container(let range): return (try? JSONParser.parse(lineBytes(range))) ?? .null
        }
    }
}

/// A line the row scanner refused: the syntax error, and the key whose value it was in.
package struct JSONRowError: Error, Sendable, CustomStringConvertible {
    package var syntax: JSONSyntaxError
    package var key: String?

    package var description: String {
        guard let key else { return syntax.description }
        return "key \(JSONEscaping.quoted(key)): \(syntax.description)"
    }
}
