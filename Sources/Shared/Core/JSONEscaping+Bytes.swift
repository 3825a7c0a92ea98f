extension JSONEscaping {
    /// Whether a byte must be escaped inside a JSON string.
    @inline(__always)
    static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    /// Appends UTF-8 `bytes` as a quoted JSON string, copying runs that need no escape in bulk:
    /// the hot path of the extractor.
    package static func appendQuoted(bytes: UnsafeBufferPointer<UInt8>, to output: inout ByteBuffer) {
        appendQuotedBytes(bytes, to: &output)
    }

    /// Appends UTF-8 `bytes` as a quoted JSON string.
    package static func appendQuoted(bytes: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        appendQuotedBytes(bytes, to: &output)
    }

    /// One body for both outputs, specialized for each here (a generic called from another
    /// module would not be).
    @inline(__always)
    static func appendQuotedBytes<Output: ByteSink & ~Copyable>(_ bytes: UnsafeBufferPointer<UInt8>, to output: inout Output) {
        output.appendByte(UInt8(ascii: "\""))
        var runStart = 0
        var index = 0
        let count = bytes.count
        while index < count {
            if index + 8 <= count, let base = bytes.baseAddress {
                // Eight bytes at a time to the next one that needs an escape (the lowest flag is exact).
                let flags = escapeFlags(ByteWord.load(base + index))
                index += flags.trailingZeroBitCount >> 3
                if flags == 0 { continue }
            }
            let byte = bytes[index]
            if needsEscape(byte) {
                if runStart < index { output.appendBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<index])) }
                appendEscape(byte, to: &output)
                runStart = index + 1
            }
            index += 1
        }
        if runStart < count { output.appendBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<count])) }
        output.appendByte(UInt8(ascii: "\""))
    }

    /// ``ByteWord`` flags for the bytes that need an escape: a quote, a backslash, a control character.
    @inline(__always)
    static func escapeFlags(_ word: UInt64) -> UInt64 {
        ByteWord.equal(word, 0x22) | ByteWord.equal(word, 0x5C) | ByteWord.below(word, 0x20)
    }

    /// Appends the escape of one byte that ``needsEscape(_:)``.
    @inline(never)
    static func appendEscape<Output: ByteSink & ~Copyable>(_ byte: UInt8, to output: inout Output) {
        output.appendByte(0x5C)
        switch byte {
        case UInt8(ascii: "\""): output.appendByte(0x22)
        case UInt8(ascii: "\\"): output.appendByte(0x5C)
        case 0x0A: output.appendByte(UInt8(ascii: "n"))
        case 0x0D: output.appendByte(UInt8(ascii: "r"))
        case 0x09: output.appendByte(UInt8(ascii: "t"))
        case 0x08: output.appendByte(UInt8(ascii: "b"))
        case 0x0C: output.appendByte(UInt8(ascii: "f"))
        default:
            let hex: StaticString = "0123456789abcdef"
            output.appendLiteral("u00")
            output.appendByte(hex.utf8Start[Int(byte >> 4)])
            output.appendByte(hex.utf8Start[Int(byte & 0x0F)])
        }
    }
}
