import Core

/// Where and why JSON text was refused.
package struct JSONSyntaxError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The byte offset into the input where the problem is (0-based).
    package var offset: Int
    /// What is wrong, e.g. `unexpected character 'x'` or `invalid UTF-8`.
    package var reason: String

    package init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    /// `at byte 7: unterminated string` — the byte position is 1-based, like an editor's column.
    package var description: String {
        "at byte \(offset + 1): \(reason)"
    }
}

extension JSONSyntaxError {
    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    /// `'x'` for a printable ASCII byte, `byte 0xFF` for anything else.
    static func describe(_ byte: UInt8) -> String {
        if byte > 0x20 && byte < 0x7F {
            return "'\(Character(Unicode.Scalar(byte)))'"
        }
        return "byte 0x" + hex(byte, digits: 2)
    }

    /// `'x'`, `byte 0xFF`, or `end of input` for whatever is at `offset` in `bytes`.
    static func describe(at offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> String {
        offset < bytes.count ? describe(bytes[offset]) : "end of input"
    }

    /// `value` as `digits` uppercase hexadecimal digits.
    static func hex(_ value: some BinaryInteger, digits: Int) -> String {
        var text: [UInt8] = []
        var shift = (digits - 1) * 4
        while shift >= 0 {
            text.append(hexDigits[Int((value >> shift) & 0xF)])
            shift -= 4
        }
        return String(decoding: text, as: UTF8.self)
    }
}
