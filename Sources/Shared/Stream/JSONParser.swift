package import Core

/// A strict RFC 8259 JSON parser on bytes.
///
/// Everything RFC 8259 refuses is refused: leading zeros, `+1`, `.5`, `1.`, `NaN`, trailing
/// commas, comments, single quotes, unescaped control characters, unknown escapes, invalid UTF-8
/// (overlong forms, encoded surrogates, code points above U+10FFFF, truncated sequences), a byte
/// order mark, and `\u` escapes that leave a lone surrogate (Swift strings and the databases
/// cannot hold one). Numbers keep their text exactly as written. Nothing recurses: containers are
/// tracked on an explicit stack, and more than ``maximumDepth`` of them open at once is an error,
/// so hostile input cannot overflow the call stack.
package enum JSONParser {
    /// The most containers (arrays and objects) that may be open at once.
    package static let maximumDepth = 1024

    /// What ``scanObject(_:capturing:)`` found for the key it was asked about.
    package enum CapturedMember: Sendable, Equatable {
        /// The object has no top-level member with that key.
        case absent
        /// The value of the last top-level member with that key.
        case present(JSONValue)
    }

    /// Parses one complete JSON text (whitespace allowed around it; anything else after the value is an error).
    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        var scanner = JSONScanner(bytes)
        try scanner.rejectByteOrderMark()
        let value = try scanner.parseValue(depth: 0)
        try scanner.expectEnd()
        return value
    }

    /// Parses one complete JSON text (whitespace allowed around it; anything else after the value is an error).
    package static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONSyntaxError) in try parse(buffer) }
        }
        return try result.get()
    }

    /// Parses one complete JSON text (whitespace allowed around it; anything else after the value is an error).
    package static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { buffer in
            Result { () throws(JSONSyntaxError) in try parse(buffer) }
        }
        return try result.get()
    }

    /// What ``scanObject(_:capturingText:)`` found for the key it was asked about: the value's
    /// text in the line, never copied.
    package enum CapturedText: Sendable, Equatable {
        /// The object has no top-level member with that key.
        case absent
        case null
        /// A number's exact text.
        case number(Range<Int>)
        /// A string's bytes between its quotes, when it holds no escape.
        case plainString(Range<Int>)
        /// A string that holds escapes: the whole token, quotes included (``parse(_:)`` decodes it).
        case escapedString(Range<Int>)
        /// `true`, `false`, an object or an array: the value's text.
        case other(Range<Int>)
    }

    /// The hot path of `conduit-state commit`: validates one line that must be a JSON *object*
    /// (fully and strictly, like parse, including nested values and UTF-8), builds no values,
    /// and returns where the top-level member named `key` has its value (compare decoded key
    /// bytes; a key written with escapes like "\u0069d" still matches "id"). Returns .absent if
    /// the object has no such top-level key (a nested "id" does not count); the last one wins if
    /// duplicated. A line that is valid JSON but not an object throws with reason "expected a
    /// JSON object".
    package static func scanObject(
        _ line: UnsafeBufferPointer<UInt8>,
        capturingText key: [UInt8]
    ) throws(JSONSyntaxError) -> CapturedText {
        var scanner = JSONScanner(line)
        try scanner.rejectByteOrderMark()
        scanner.skipWhitespace()
        let start = scanner.position
        guard scanner.next == UInt8(ascii: "{") else {
            // Report a syntax error if there is one; otherwise the line is valid JSON of the wrong kind.
            try scanner.skipValue(depth: 0)
            try scanner.expectEnd()
            throw JSONSyntaxError(offset: start, reason: "expected a JSON object")
        }
        scanner.position += 1
        scanner.skipWhitespace()
        var captured = CapturedText.absent
        if scanner.next == UInt8(ascii: "}") {
            scanner.position += 1
        } else {
            while true {
                let token = try scanner.scanKey()
                let matches = scanner.stringToken(token, equals: key)
                try scanner.expectColon()
                if matches {
                    scanner.skipWhitespace()
                    let valueStart = scanner.position
                    let first = scanner.next
                    let token = try scanner.skipValueReportingString(depth: 1)
                    let range = valueStart..<scanner.position
                    switch first {
                    case UInt8(ascii: "\"")?:
                        if case .raw(let inside)? = token {
                            captured = .plainString(inside)
                        } else {
                            captured = .escapedString(range)
                        }
                    case UInt8(ascii: "n")?: captured = .null
                    case UInt8(ascii: "-")?, (UInt8(ascii: "0")...UInt8(ascii: "9"))?: captured = .number(range)
                    default: captured = .other(range)
                    }
                } else {
                    try scanner.skipValue(depth: 1)
                }
                scanner.skipWhitespace()
                if scanner.next == UInt8(ascii: ",") {
                    scanner.position += 1
                    try scanner.rejectTrailingComma(before: UInt8(ascii: "}"), in: "object")
                } else if scanner.next == UInt8(ascii: "}") {
                    scanner.position += 1
                    break
                } else {
                    throw scanner.expected("',' or '}' after object member")
                }
            }
        }
        try scanner.expectEnd()
        return captured
    }

    /// The framing of one line that must hold a JSON object, and where its top-level member
    /// `key` has its value, without validating the JSON: strings are skipped to their closing
    /// quote, containers to their closing bracket, scalars to the next `,` or `}`. On valid JSON
    /// the answer is exactly ``scanObject(_:capturingText:)``'s; on anything it cannot read with
    /// certainty (no `{` first, a key written with escapes, a bracket or string left open,
    /// bytes after the object, a scalar that is not a plain number or `null` where the key is)
    /// it returns nil, and the caller validates the line fully. Several times faster than the
    /// full scan: for `conduit-state commit` in front of `conduit-load`, which validates every
    /// line itself before its batch commits.
    ///
    /// `stoppingAtKey`: the answer comes at the first top-level `key` and the rest of the line
    /// is not read, for a caller whose loader refuses a row holding `key` twice (on valid JSON
    /// with `key` once, the answer is the same; a later duplicate, or bytes after the object,
    /// go unseen here).
    package static func scanObjectStructure(
        _ line: UnsafeBufferPointer<UInt8>,
        capturingText key: [UInt8],
        stoppingAtKey: Bool = false
    ) -> CapturedText? {
        let count = line.count
        var index = 0
        @inline(__always) func skipWhitespace() {
            while index < count, line[index] == 0x20 || line[index] == 0x09 || line[index] == 0x0D { index += 1 }
        }
        /// From an opening quote to just past its closing quote; nil when the string never ends.
        /// Returns whether the string held a backslash.
        @inline(__always) func skipString() -> Bool? {
            index += 1
            var escaped = false
            while index < count {
                if index + 8 <= count, let base = line.baseAddress {
                    let flags = JSONScanner.quoteOrBackslashFlags(ByteWord.load(base + index))
                    index += flags.trailingZeroBitCount >> 3
                    if flags == 0 { continue }
                }
                switch line[index] {
                case UInt8(ascii: "\""):
                    index += 1
                    return escaped
                case UInt8(ascii: "\\"):
                    escaped = true
                    index += 2
                default:
                    index += 1
                }
            }
            return nil
        }
        skipWhitespace()
        guard index < count, line[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        skipWhitespace()
        var captured = CapturedText.absent
        if index < count, line[index] == UInt8(ascii: "}") {
            index += 1
            skipWhitespace()
            return index == count ? captured : nil
        }
        while true {
            skipWhitespace()
            guard index < count, line[index] == UInt8(ascii: "\"") else { return nil }
            let keyStart = index + 1
            guard let keyEscaped = skipString(), !keyEscaped else { return nil }
            let keyEnd = index - 1
            var matches = keyEnd - keyStart == key.count
            if matches {
                for offset in 0..<key.count where line[keyStart + offset] != key[offset] {
                    matches = false
                    break
                }
            }
            skipWhitespace()
            guard index < count, line[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            skipWhitespace()
            guard index < count else { return nil }
            let valueStart = index
            let first = line[index]
            var valueEscaped = false
            switch first {
            case UInt8(ascii: "\""):
                guard let escaped = skipString() else { return nil }
                valueEscaped = escaped
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                repeat {
                    guard index < count else { return nil }
                    switch line[index] {
                    case UInt8(ascii: "\""):
                        guard skipString() != nil else { return nil }
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
                    default: break
                    }
                    index += 1
                } while depth > 0
            default:
                while index < count {
                    let byte = line[index]
                    if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || byte == 0x20 || byte == 0x09 || byte == 0x0D {
                        break
                    }
                    index += 1
                }
            }
            if matches {
                let range = valueStart..<index
                switch first {
                case UInt8(ascii: "\""):
                    captured = valueEscaped ? .escapedString(range) : .plainString(range.lowerBound + 1..<range.upperBound - 1)
                case UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "t"), UInt8(ascii: "f"):
                    captured = .other(range)
                case UInt8(ascii: "n"):
                    guard range.count == 4, line[valueStart + 1] == UInt8(ascii: "u"), line[valueStart + 2] == UInt8(ascii: "l"),
                        line[valueStart + 3] == UInt8(ascii: "l")
                    else { return nil }
                    captured = .null
                default:
                    for offset in range {
                        let byte = line[offset]
                        guard
                            byte &- UInt8(ascii: "0") < 10 || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
                                || byte == UInt8(ascii: ".") || byte | 0x20 == UInt8(ascii: "e")
                        else { return nil }
                    }
                    guard !range.isEmpty else { return nil }
                    captured = .number(range)
                }
                if stoppingAtKey { return captured }
            }
            skipWhitespace()
            guard index < count else { return nil }
            if line[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard line[index] == UInt8(ascii: "}") else { return nil }
            index += 1
            skipWhitespace()
            return index == count ? captured : nil
        }
    }

    /// Whether `bytes` are one valid JSON value (whitespace around it allowed), building nothing.
    package static func isValidValue(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        // The usual cursor values, without a scanner (asked once a line by `conduit-state
        // commit`): a plain integer, and a string of printable ASCII with no escape.
        if let first = bytes.first, let last = bytes.last {
            if first &- UInt8(ascii: "1") < 9 || (first == UInt8(ascii: "0") && bytes.count == 1) {
                if bytes.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }) { return true }
            } else if first == UInt8(ascii: "\""), last == UInt8(ascii: "\""), bytes.count >= 2 {
                let inside = UnsafeBufferPointer(rebasing: bytes[1..<(bytes.count - 1)])
                if inside.allSatisfy({ $0 &- 0x20 < 0x5F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
                    return true
                }
            }
        }
        var scanner = JSONScanner(bytes)
        do {
            try scanner.skipValue(depth: 0)
            try scanner.expectEnd()
            return true
        } catch {
            return false
        }
    }

    /// ``scanObject(_:capturingText:)`` with the captured value parsed (for tests and slow paths).
    package static func scanObject(
        _ line: UnsafeBufferPointer<UInt8>,
        capturing key: [UInt8]
    ) throws(JSONSyntaxError) -> CapturedMember {
        switch try scanObject(line, capturingText: key) {
        case .absent: return .absent
        case .null: return .present(.null)
        case .plainString(let range):
            return .present(.string(String(decoding: UnsafeBufferPointer(rebasing: line[range]), as: UTF8.self)))
        case .number(let range), .escapedString(let range), .other(let range):
            return .present(try parse(UnsafeBufferPointer(rebasing: line[range])))
        }
    }
}

/// The parser's state while it walks one input: the position, a reused buffer for strings that
/// hold escapes, and the explicit container stack that replaces recursion.
struct JSONScanner {
    /// A string as scanned: either its bytes in the input (no escapes) or decoded into `scratch`.
    enum StringToken {
        case raw(Range<Int>)
        case decoded
    }

    /// Where an open container's values and keys start on the `values` and `keys` stacks.
    private struct Frame {
        var valueStart: Int
        var keyStart: Int
    }

    /// What only building values or nesting deeper than 64 levels needs. Kept apart and made on
    /// first use, so a scanner that only validates (`conduit-state`'s and the loader's line
    /// scans, once a line) owns no array but `scratch`, and costs nothing to throw away.
    private struct Stacks {
        /// Completed values of the open containers, innermost last.
        var values: [JSONValue] = []
        /// Keys of the open objects' members, innermost last.
        var keys: [String] = []
        var frames: [Frame] = []
        /// The container kinds of nesting levels from 64 on, a bit each (1: object).
        var deepKindBits: [UInt64] = []

        /// Pops the innermost container's values (and keys) off the stacks and returns it.
        mutating func close(isObject: Bool) -> JSONValue {
            guard let frame = frames.popLast() else { return .null }
            let count = values.count - frame.valueStart
            if isObject {
                var members: [JSONMember] = []
                members.reserveCapacity(count)
                for index in 0..<count {
                    members.append(JSONMember(key: keys[frame.keyStart + index], value: values[frame.valueStart + index]))
                }
                values.removeLast(count)
                keys.removeLast(count)
                return .object(members)
            }
            let elements = Array(values[frame.valueStart...])
            values.removeLast(count)
            return .array(elements)
        }
    }

    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    /// The decoded bytes of the last string that held escapes; reused from string to string.
    private var scratch: [UInt8] = []
    /// Made by the first value built or level nested beyond 64.
    private var stacks: Stacks?
    /// Bit n is set when the container at nesting level n is an object; levels from 64 on spill into `Stacks.deepKindBits`.
    private var kindBits: UInt64 = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// The byte at `position`, or nil at the end of the input.
    var next: UInt8? {
        position < bytes.count ? bytes[position] : nil
    }

    // MARK: Values

    /// Parses one value (after optional whitespace) and returns it.
    mutating func parseValue(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        try scanValue(depth: depth, build: true)
    }

    /// Validates one value (after optional whitespace) without building it.
    mutating func skipValue(depth: Int) throws(JSONSyntaxError) {
        _ = try scanValue(depth: depth, build: false)
    }

    /// ``skipValue(depth:)`` that also returns a string value's token (nil for other values).
    mutating func skipValueReportingString(depth: Int) throws(JSONSyntaxError) -> StringToken? {
        skipWhitespace()
        guard next == UInt8(ascii: "\"") else {
            try skipValue(depth: depth)
            return nil
        }
        return try scanString()
    }

    /// Scans one value starting after optional whitespace, without recursion. `baseDepth` is how
    /// many containers already enclose it. When `build` is false nothing is built and the result
    /// is `.null`.
    @inline(__always)
    private mutating func scanValue(depth baseDepth: Int, build: Bool) throws(JSONSyntaxError) -> JSONValue {
        if build && stacks == nil { stacks = Stacks() }
        var depth = 0
        nextValue: while true {
            skipWhitespace()
            guard position < bytes.count else {
                throw JSONSyntaxError(offset: position, reason: "unexpected end of input")
            }
            var completed = JSONValue.null
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let isObject = byte == UInt8(ascii: "{")
                guard baseDepth + depth < JSONParser.maximumDepth else {
                    throw JSONSyntaxError(
                        offset: position, reason: "nesting deeper than \(JSONParser.maximumDepth) levels")
                }
                setKind(isObject: isObject, atLevel: depth)
                depth += 1
                if build {
                    let valueStart = stacks?.values.count ?? 0
                    let keyStart = stacks?.keys.count ?? 0
                    stacks?.frames.append(Frame(valueStart: valueStart, keyStart: keyStart))
                }
                position += 1
                skipWhitespace()
                if next == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    position += 1
                    depth -= 1
                    if build {
                        completed = closeContainer(isObject: isObject)
                    }
                } else {
                    if isObject {
                        try scanMemberKey(build: build)
                    }
                    continue nextValue
                }
            case UInt8(ascii: "\""):
                // Validating only: a plain string is stepped over inline.
                if build || scanPlainString() == nil {
                    let token = try scanString()
                    if build {
                        completed = .string(string(token))
                    }
                }
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let range = try scanNumber()
                if build {
                    completed = .number(string(range))
                }
            case UInt8(ascii: "t"):
                try expectLiteral("true")
                completed = .bool(true)
            case UInt8(ascii: "f"):
                try expectLiteral("false")
                completed = .bool(false)
            case UInt8(ascii: "n"):
                try expectLiteral("null")
            default:
                if byte > 0x20 && byte < 0x7F {
                    throw JSONSyntaxError(offset: position, reason: "unexpected character '\(Character(Unicode.Scalar(byte)))'")
                }
                throw JSONSyntaxError(offset: position, reason: "unexpected byte 0x\(JSONSyntaxError.hex(byte, digits: 2))")
            }

            // A value is complete: hand it to its container, and close every container that ends here.
            while true {
                if depth == 0 {
                    return completed
                }
                if build {
                    stacks?.values.append(completed)
                }
                skipWhitespace()
                let inObject = isObject(atLevel: depth - 1)
                let close = inObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
                if next == UInt8(ascii: ",") {
                    position += 1
                    try rejectTrailingComma(before: close, in: inObject ? "object" : "array")
                    if inObject {
                        try scanMemberKey(build: build)
                    }
                    continue nextValue
                } else if next == close {
                    position += 1
                    depth -= 1
                    if build {
                        completed = closeContainer(isObject: inObject)
                    }
                } else {
                    throw expected(inObject ? "',' or '}' after object member" : "',' or ']' after array element")
                }
            }
        }
    }

    /// Pops the innermost container's values (and keys) off the stacks and returns it.
    private mutating func closeContainer(isObject: Bool) -> JSONValue {
        stacks?.close(isObject: isObject) ?? .null
    }

    @inline(__always)
    private mutating func setKind(isObject: Bool, atLevel level: Int) {
        if level < 64 {
            let mask: UInt64 = 1 << UInt64(level)
            kindBits = isObject ? kindBits | mask : kindBits & ~mask
            return
        }
        setDeepKind(isObject: isObject, atLevel: level)
    }

    /// ``setKind(isObject:atLevel:)`` from level 64 on.
    private mutating func setDeepKind(isObject: Bool, atLevel level: Int) {
        let word = (level - 64) >> 6
        let mask: UInt64 = 1 << UInt64((level - 64) & 63)
        if stacks == nil { stacks = Stacks() }
        while (stacks?.deepKindBits.count ?? Int.max) <= word {
            stacks?.deepKindBits.append(0)
        }
        if isObject { stacks?.deepKindBits[word] |= mask } else { stacks?.deepKindBits[word] &= ~mask }
    }

    @inline(__always)
    private func isObject(atLevel level: Int) -> Bool {
        if level < 64 {
            return kindBits & (1 << UInt64(level)) != 0
        }
        return isDeepObject(atLevel: level)
    }

    /// ``isObject(atLevel:)`` from level 64 on.
    private func isDeepObject(atLevel level: Int) -> Bool {
        guard let deep = stacks?.deepKindBits, (level - 64) >> 6 < deep.count else { return false }
        return deep[(level - 64) >> 6] & (1 << UInt64((level - 64) & 63)) != 0
    }

    // MARK: Structure

    /// Refuses a UTF-8 byte order mark at the start of the input.
    mutating func rejectByteOrderMark() throws(JSONSyntaxError) {
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF {
            throw JSONSyntaxError(offset: 0, reason: "byte order mark is not allowed")
        }
    }

    /// Skips JSON whitespace: space, tab, line feed, carriage return.
    @inline(__always)
    mutating func skipWhitespace() {
        while position < bytes.count {
            let byte = bytes[position]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            position += 1
        }
    }

    /// Requires that nothing but whitespace follows.
    mutating func expectEnd() throws(JSONSyntaxError) {
        skipWhitespace()
        if position < bytes.count {
            throw JSONSyntaxError(offset: position, reason: "trailing characters after the value")
        }
    }

    /// After a comma: refuses `close` (a trailing comma), leaving `position` at the next token.
    @inline(__always)
    mutating func rejectTrailingComma(before close: UInt8, in container: StaticString) throws(JSONSyntaxError) {
        skipWhitespace()
        if next == close {
            throw JSONSyntaxError(offset: position, reason: "trailing comma in \(container)")
        }
    }

    /// `expected <what>, found 'x'` at `position`.
    func expected(_ what: String) -> JSONSyntaxError {
        JSONSyntaxError(
            offset: position,
            reason: "expected \(what), found \(JSONSyntaxError.describe(at: position, in: bytes))")
    }

    /// Scans an object key (at `position`, after whitespace).
    mutating func scanKey() throws(JSONSyntaxError) -> StringToken {
        guard next == UInt8(ascii: "\"") else {
            throw expected("'\"' to begin an object key")
        }
        return try scanString()
    }

    /// Requires a `:` after optional whitespace and steps over it.
    @inline(__always)
    mutating func expectColon() throws(JSONSyntaxError) {
        if position < bytes.count && bytes[position] == UInt8(ascii: ":") {
            position += 1
            return
        }
        skipWhitespace()
        guard next == UInt8(ascii: ":") else {
            throw expected("':' after object key")
        }
        position += 1
    }

    /// Scans `"key" :` and, when building, pushes the key.
    @inline(__always)
    private mutating func scanMemberKey(build: Bool) throws(JSONSyntaxError) {
        // Validating only: a plain key is stepped over inline.
        if build || next != UInt8(ascii: "\"") || scanPlainString() == nil {
            let token = try scanKey()
            if build {
                let key = string(token)
                stacks?.keys.append(key)
            }
        }
        try expectColon()
    }

    // MARK: Scalars

    /// Requires `literal` (`true`, `false`, `null`) at `position` and steps over it.
    mutating func expectLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let length = literal.utf8CodeUnitCount
        if bytes.count - position >= length {
            let text = literal.utf8Start
            var index = 0
            while index < length && bytes[position + index] == text[index] {
                index += 1
            }
            if index == length {
                position += length
                return
            }
        }
        throw JSONSyntaxError(offset: position, reason: "invalid literal, expected '\(literal)'")
    }

    /// Scans a number at `position` and returns the range of its text.
    @inline(__always)
    mutating func scanNumber() throws(JSONSyntaxError) -> Range<Int> {
        let start = position
        var index = position
        if bytes[index] == UInt8(ascii: "-") {
            index += 1
        }
        if index < bytes.count && bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count && isDigit(bytes[index]) {
                throw JSONSyntaxError(offset: start, reason: "number with a leading zero")
            }
        } else {
            guard index < bytes.count && isDigit(bytes[index]) else {
                position = index
                throw expected("a digit after '-'")
            }
            index = skipDigits(from: index)
        }
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count && isDigit(bytes[index]) else {
                position = index
                throw expected("a digit after the decimal point")
            }
            index = skipDigits(from: index)
        }
        if index < bytes.count && (bytes[index] | 0x20) == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) {
                index += 1
            }
            guard index < bytes.count && isDigit(bytes[index]) else {
                position = index
                throw expected("a digit in the exponent")
            }
            index = skipDigits(from: index)
        }
        position = index
        return start..<index
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    @inline(__always)
    private func skipDigits(from start: Int) -> Int {
        var index = start
        while index < bytes.count && isDigit(bytes[index]) {
            index += 1
        }
        return index
    }

    // MARK: Strings

    /// Scans a string whose opening quote is at `position`, validating its UTF-8 and escapes.
    @inline(__always)
    mutating func scanString() throws(JSONSyntaxError) -> StringToken {
        let quote = position
        let start = position + 1
        var index = start
        let count = bytes.count
        while index < count {
            if index + 8 <= count, let base = bytes.baseAddress {
                let special = Self.specialBytes(ByteWord.load(base + index))
                // Straight to the first byte that is not plain (the lowest flag is exact).
                index += special.trailingZeroBitCount >> 3
                if special == 0 { continue }
            }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                position = index + 1
                return .raw(start..<index)
            }
            if byte == UInt8(ascii: "\\") {
                return try scanEscapedString(quote: quote, from: start, firstEscape: index)
            }
            if byte < 0x20 {
                throw controlCharacter(at: index)
            }
            if byte < 0x80 {
                index += 1
            } else {
                index += try utf8SequenceLength(at: index)
            }
        }
        throw JSONSyntaxError(offset: quote, reason: "unterminated string")
    }

    /// The common case of ``scanString()``, small enough to inline where strings are many: a
    /// string of ASCII with no escape and no control character, whose opening quote is at `position`. Returns
    /// its contents and steps past it; returns nil and stays put for any other string (the
    /// caller then calls ``scanString()``, which validates and decodes).
    @inline(__always)
    mutating func scanPlainString() -> Range<Int>? {
        let start = position + 1
        var index = start
        let count = bytes.count
        guard let base = bytes.baseAddress else { return nil }
        while index + 8 <= count {
            let special = Self.specialBytes(ByteWord.load(base + index))
            index += special.trailingZeroBitCount >> 3
            if special != 0 {
                guard base[index] == UInt8(ascii: "\"") else { return nil }
                position = index + 1
                return start..<index
            }
        }
        while index < count {
            let byte = base[index]
            if byte == UInt8(ascii: "\"") {
                position = index + 1
                return start..<index
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { return nil }
            index += 1
        }
        return nil
    }

    /// ``ByteWord`` flags for the bytes that end a run of plain string bytes: a quote, a
    /// backslash, a control character or a non-ASCII byte.
    @inline(__always)
    static func specialBytes(_ word: UInt64) -> UInt64 {
        ByteWord.equal(word, 0x22) | ByteWord.equal(word, 0x5C) | ByteWord.below(word, 0x20) | ByteWord.nonASCII(word)
    }

    /// ``ByteWord`` flags for a string whose content is not checked: a quote or a backslash.
    @inline(__always)
    static func quoteOrBackslashFlags(_ word: UInt64) -> UInt64 {
        ByteWord.equal(word, 0x22) | ByteWord.equal(word, 0x5C)
    }

    /// The rest of ``scanString()`` once an escape turns up: decodes the string into `scratch`.
    private mutating func scanEscapedString(
        quote: Int, from start: Int, firstEscape: Int
    ) throws(JSONSyntaxError) -> StringToken {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<firstEscape]))
        var index = firstEscape
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                position = index + 1
                return .decoded
            }
            if byte == UInt8(ascii: "\\") {
                index = try decodeEscape(at: index, quote: quote)
            } else if byte < 0x20 {
                throw controlCharacter(at: index)
            } else if byte < 0x80 {
                scratch.append(byte)
                index += 1
            } else {
                let length = try utf8SequenceLength(at: index)
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<index + length]))
                index += length
            }
        }
        throw JSONSyntaxError(offset: quote, reason: "unterminated string")
    }

    /// Decodes the escape whose backslash is at `index` into `scratch`; returns the index after it.
    private mutating func decodeEscape(at index: Int, quote: Int) throws(JSONSyntaxError) -> Int {
        guard index + 1 < bytes.count else {
            throw JSONSyntaxError(offset: quote, reason: "unterminated string")
        }
        let escaped = bytes[index + 1]
        switch escaped {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(escaped)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            guard let unit = hexQuad(at: index + 2) else {
                throw JSONSyntaxError(offset: index, reason: "invalid \\u escape, expected 4 hexadecimal digits")
            }
            switch unit {
            case 0xD800...0xDBFF:
                guard
                    index + 7 < bytes.count,
                    bytes[index + 6] == UInt8(ascii: "\\"), bytes[index + 7] == UInt8(ascii: "u"),
                    let low = hexQuad(at: index + 8), (0xDC00...0xDFFF).contains(low)
                else {
                    throw loneSurrogate(unit, at: index)
                }
                appendUTF8(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                return index + 12
            case 0xDC00...0xDFFF:
                throw loneSurrogate(unit, at: index)
            default:
                appendUTF8(unit)
                return index + 6
            }
        default:
            let shown =
                escaped > 0x20 && escaped < 0x7F
                ? "'\\\(Character(Unicode.Scalar(escaped)))'" : "backslash before \(JSONSyntaxError.describe(escaped))"
            throw JSONSyntaxError(offset: index, reason: "invalid escape \(shown)")
        }
        return index + 2
    }

    /// The value of four hexadecimal digits at `index`, or nil.
    private func hexQuad(at index: Int) -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for offset in 0..<4 {
            let byte = bytes[index + offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// Appends the UTF-8 encoding of a scalar value (never a surrogate) to `scratch`.
    private mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// The length of the well-formed multi-byte UTF-8 sequence starting at `index` (Unicode table 3-7).
    @inline(__always)
    private func utf8SequenceLength(at index: Int) throws(JSONSyntaxError) -> Int {
        let lead = bytes[index]
        let available = bytes.count - index
        switch lead {
        case 0xC2...0xDF:
            if available >= 2 && isContinuation(bytes[index + 1]) {
                return 2
            }
        case 0xE0...0xEF:
            let low: UInt8 = lead == 0xE0 ? 0xA0 : 0x80
            let high: UInt8 = lead == 0xED ? 0x9F : 0xBF
            if available >= 3 && (low...high).contains(bytes[index + 1]) && isContinuation(bytes[index + 2]) {
                return 3
            }
        case 0xF0...0xF4:
            let low: UInt8 = lead == 0xF0 ? 0x90 : 0x80
            let high: UInt8 = lead == 0xF4 ? 0x8F : 0xBF
            if available >= 4 && (low...high).contains(bytes[index + 1])
                && isContinuation(bytes[index + 2]) && isContinuation(bytes[index + 3])
            {
                return 4
            }
        default:
            break
        }
        throw JSONSyntaxError(offset: index, reason: "invalid UTF-8")
    }

    @inline(__always)
    private func isContinuation(_ byte: UInt8) -> Bool {
        byte & 0xC0 == 0x80
    }

    private func controlCharacter(at index: Int) -> JSONSyntaxError {
        JSONSyntaxError(
            offset: index,
            reason: "control character U+\(JSONSyntaxError.hex(bytes[index], digits: 4)) in string")
    }

    private func loneSurrogate(_ unit: UInt32, at index: Int) -> JSONSyntaxError {
        JSONSyntaxError(offset: index, reason: "lone surrogate \\u\(JSONSyntaxError.hex(unit, digits: 4).lowercased())")
    }

    // MARK: Tokens to values

    /// The text of a scanned string.
    func string(_ token: StringToken) -> String {
        switch token {
        case .raw(let range): string(range)
        case .decoded: String(decoding: scratch, as: UTF8.self)
        }
    }

    /// The input bytes in `range` (already validated) as a String.
    private func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// Appends a scanned string's decoded bytes to `output`.
    func appendBytes(of token: StringToken, to output: inout [UInt8]) {
        switch token {
        case .raw(let range): output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[range]))
        case .decoded: output.append(contentsOf: scratch)
        }
    }

    /// Whether a scanned string's decoded bytes equal `key`.
    func stringToken(_ token: StringToken, equals key: [UInt8]) -> Bool {
        switch token {
        case .raw(let range):
            guard range.count == key.count else { return false }
            var index = 0
            while index < key.count {
                if bytes[range.lowerBound + index] != key[index] { return false }
                index += 1
            }
            return true
        case .decoded:
            return scratch == key
        }
    }
}
