extension JSONValue {
    /// Compact JSON text (no spaces), members in stored order; strings escaped via JSONEscaping.
    package func serialized() -> String {
        var output: [UInt8] = []
        appendSerialized(to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Pretty JSON text: 2-space indentation, `"key": value`, members sorted by key in
    /// code-point (UTF-8 byte) order when sortKeys is true; empty object `{}` and empty array `[]`; no trailing newline.
    package func prettySerialized(sortKeys: Bool) -> String {
        var output: [UInt8] = []
        JSONWriter.write(self, to: &output, pretty: true, sortKeys: sortKeys)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends compact JSON text (as ``serialized()``) to `output`, for hot paths.
    package func appendSerialized(to output: inout [UInt8]) {
        JSONWriter.write(self, to: &output, pretty: false, sortKeys: false)
    }
}

/// Writes JSON text without recursion: open containers wait on an explicit stack.
private enum JSONWriter {
    /// An open container and the index of its next child to write.
    private struct Frame {
        var isObject: Bool
        var members: [JSONMember] = []
        var elements: [JSONValue] = []
        var next = 0

        var count: Int { isObject ? members.count : elements.count }
    }

    static func write(_ root: JSONValue, to output: inout [UInt8], pretty: Bool, sortKeys: Bool) {
        var stack: [Frame] = []
        var value = root
        while true {
            switch value {
            case .null:
                output.append(contentsOf: "null".utf8)
            case .bool(let flag):
                output.append(contentsOf: flag ? "true".utf8 : "false".utf8)
            case .number(let text):
                output.append(contentsOf: text.utf8)
            case .string(let text):
                JSONEscaping.appendQuoted(text, to: &output)
            case .array(let elements):
                output.append(UInt8(ascii: "["))
                if elements.isEmpty {
                    output.append(UInt8(ascii: "]"))
                } else {
                    stack.append(Frame(isObject: false, elements: elements))
                }
            case .object(let members):
                output.append(UInt8(ascii: "{"))
                if members.isEmpty {
                    output.append(UInt8(ascii: "}"))
                } else {
                    stack.append(Frame(isObject: true, members: sortKeys ? sortedByKey(members) : members))
                }
            }

            // Close the containers that are finished, then move to the next child of the innermost open one.
            while let top = stack.last, top.next == top.count {
                stack.removeLast()
                if pretty {
                    appendNewline(indentation: stack.count, to: &output)
                }
                output.append(top.isObject ? UInt8(ascii: "}") : UInt8(ascii: "]"))
            }
            let innermost = stack.count - 1
            guard innermost >= 0 else { return }
            let index = stack[innermost].next
            stack[innermost].next += 1
            if index > 0 {
                output.append(UInt8(ascii: ","))
            }
            if pretty {
                appendNewline(indentation: stack.count, to: &output)
            }
            if stack[innermost].isObject {
                let member = stack[innermost].members[index]
                JSONEscaping.appendQuoted(member.key, to: &output)
                output.append(UInt8(ascii: ":"))
                if pretty {
                    output.append(UInt8(ascii: " "))
                }
                value = member.value
            } else {
                value = stack[innermost].elements[index]
            }
        }
    }

    private static func appendNewline(indentation level: Int, to output: inout [UInt8]) {
        output.append(0x0A)
        output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * level))
    }

    /// `members` ordered by the UTF-8 bytes of their keys; members with equal keys keep their order.
    private static func sortedByKey(_ members: [JSONMember]) -> [JSONMember] {
        members.enumerated().sorted { left, right in
            let (leftKey, rightKey) = (left.element.key.utf8, right.element.key.utf8)
            if leftKey.lexicographicallyPrecedes(rightKey) { return true }
            if rightKey.lexicographicallyPrecedes(leftKey) { return false }
            return left.offset < right.offset
        }.map(\.element)
    }
}
