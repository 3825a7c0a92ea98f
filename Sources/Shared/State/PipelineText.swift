package import Core

/// The text of `--from`, read the way bash reads it far enough to tell its stages apart and to
/// refuse anything that is not one plain pipeline.
///
/// `conduit-state` learns each stage's exit status from bash's `PIPESTATUS`, which holds the
/// statuses of the *last* pipeline only. Text with `;`, `&&`, `||`, `&`, a newline, a subshell
/// `( … )`, a group `{ …; }`, `!` or a compound command (`if`, `while`, …) runs more than one
/// pipeline, or hides one's statuses behind another's — `… | awk …; echo done` would report
/// only `echo`. Such text is refused before anything runs.
///
/// Quotes (`'…'`, `"…"`, `$'…'`), backslash escapes, command and process substitution
/// (`$( … )`, `` `…` ``, `<( … )`) and arithmetic (`$(( … ))`) are stepped over whole, so a `|`
/// or `;` inside them belongs to the stage. Redirections such as `2>&1` and `&>` are not `&`.
package struct PipelineText: Sendable, Equatable {
    /// The stages, trimmed, in order.
    package let stages: [String]

    /// Words that begin a compound command or change a pipeline's status: refused as a stage's first word.
    static let compoundWords: Set<String> = [
        "if", "then", "elif", "else", "fi", "while", "until", "for", "do", "done", "case", "esac", "select",
        "function", "coproc", "{", "}", "!",
    ]

    package init(parsing text: String) throws(ConduitError) {
        let characters = Array(text)
        var stages: [String] = []
        var current = ""
        var index = 0
        /// Whether the next character starts a word (after a space, a separator or the start).
        var atWordStart = true

        func refuse(_ what: String) -> ConduitError {
            .usage(
                "--from takes one pipeline (stages joined by |) and nothing else, so that every stage's exit status is seen; \(what) in \(JSONEscaping.quoted(text)). Make a filter with more to it a script of its own stage (--from 'conduit-extract R | bash filter.sh'), and run other commands before conduit-state"
            )
        }

        while index < characters.count {
            let character = characters[index]
            let next: Character? = index + 1 < characters.count ? characters[index + 1] : nil
            switch character {
            case "\\":
                // A backslash before a newline, or at the very end, would join the next line
                // (conduit-state's own) to the pipeline.
                guard let next, next != "\n", next != "\r" else { throw refuse("a line continuation (\\ at the end of a line)") }
                current.append(character)
                current.append(next)
                index += 2
                atWordStart = false
                continue
            case "'":
                let end = try Self.skipSingleQuoted(characters, from: index + 1, text: text)
                current.append(contentsOf: characters[index...end])
                index = end + 1
                atWordStart = false
                continue
            case "\"":
                let end = try Self.skipDoubleQuoted(characters, from: index + 1, text: text)
                current.append(contentsOf: characters[index...end])
                index = end + 1
                atWordStart = false
                continue
            case "`":
                let end = try Self.skipBackquoted(characters, from: index + 1, text: text)
                current.append(contentsOf: characters[index...end])
                index = end + 1
                atWordStart = false
                continue
            case "$" where next == "'":
                // ANSI-C quoting: backslash escapes, including \'.
                var end = index + 2
                while end < characters.count && characters[end] != "'" { end += characters[end] == "\\" ? 2 : 1 }
                guard end < characters.count else { throw refuse("an unclosed $'") }
                current.append(contentsOf: characters[index...end])
                index = end + 1
                atWordStart = false
                continue
            case "<" where next == "<" && (index + 2 >= characters.count || characters[index + 2] != "<"):
                // A here-document reads the lines after the pipeline.
                throw refuse("a here-document (<<)")
            case "<" where next == "<":
                // <<< is a here-string: one word, on this line.
                current.append(contentsOf: "<<<")
                index += 3
                atWordStart = false
                continue
            case "$" where next == "(", "<" where next == "(", ">" where next == "(":
                let end = try Self.skipParenthesized(characters, from: index + 2, text: text)
                current.append(contentsOf: characters[index...end])
                index = end + 1
                atWordStart = false
                continue
            case "#" where atWordStart:
                throw refuse("a comment (#)")
            case "\n", "\r":
                // Only blank lines and trailing whitespace may follow.
                if characters[index...].allSatisfy({ $0.isWhitespace }) {
                    index = characters.count
                    continue
                }
                throw refuse("a newline")
            case ";":
                throw refuse("';'")
            case "(", ")":
                throw refuse("a subshell '\(character)'")
            case "&":
                if next == "&" { throw refuse("'&&'") }
                // 2>&1, >&2, <&0 and &> are redirections.
                let previous = current.last
                if previous == ">" || previous == "<" || next == ">" {
                    current.append(character)
                    index += 1
                    atWordStart = false
                    continue
                }
                throw refuse("'&'")
            case "|":
                if next == "|" { throw refuse("'||'") }
                let stage = current.trimmingSpaces()
                guard !stage.isEmpty else { throw refuse("an empty stage") }
                stages.append(stage)
                current = ""
                // |& pipes stderr too: still one pipe.
                index += next == "&" ? 2 : 1
                atWordStart = true
                continue
            default:
                break
            }
            if character == " " || character == "\t" {
                atWordStart = true
            } else {
                atWordStart = false
            }
            current.append(character)
            index += 1
        }
        let last = current.trimmingSpaces()
        guard !last.isEmpty else { throw refuse(stages.isEmpty ? "no command" : "an empty stage") }
        stages.append(last)
        for stage in stages {
            let word = Self.commandWord(of: stage)
            if Self.compoundWords.contains(word) || word.hasPrefix("(") {
                throw refuse("'\(word)' at the start of a stage")
            }
        }
        self.stages = stages
    }

    /// Whether `command` appears as a word of `stage`, quoted or not, with or without a path:
    /// `jq`, `"jq"`, `/usr/bin/jq`, `timeout 60 jq`, `env jq`, `nice jq`.
    package static func runs(_ command: String, _ stage: String) -> Bool {
        stage.split(whereSeparator: { $0 == " " || $0 == "\t" }).contains { word in
            let bare = word.filter { $0 != "\"" && $0 != "'" && $0 != "\\" }
            return bare == command || bare.hasSuffix("/" + command)
        }
    }

    /// The command a stage runs: its first word after `NAME=value` assignments, without a path
    /// (`/usr/bin/jq -c .` → `jq`).
    package static func commandWord(of stage: String) -> String {
        for word in stage.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            let text = String(word)
            if let equals = text.firstIndex(of: "="), !text[..<equals].isEmpty,
                text[..<equals].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
            {
                continue
            }
            return text.split(separator: "/").last.map(String.init) ?? text
        }
        return ""
    }

    private static func unclosed(_ what: String, _ text: String) -> ConduitError {
        .usage("--from: \(what) is not closed in \(JSONEscaping.quoted(text))")
    }

    static func skipSingleQuoted(_ characters: [Character], from start: Int, text: String) throws(ConduitError) -> Int {
        var index = start
        while index < characters.count {
            if characters[index] == "'" { return index }
            index += 1
        }
        throw unclosed("a ' quote", text)
    }

    static func skipDoubleQuoted(_ characters: [Character], from start: Int, text: String) throws(ConduitError) -> Int {
        var index = start
        while index < characters.count {
            switch characters[index] {
            case "\\": index += 2
            case "\"": return index
            case "$" where index + 1 < characters.count && characters[index + 1] == "(":
                index = try skipParenthesized(characters, from: index + 2, text: text) + 1
            case "`": index = try skipBackquoted(characters, from: index + 1, text: text) + 1
            default: index += 1
            }
        }
        throw unclosed("a \" quote", text)
    }

    static func skipBackquoted(_ characters: [Character], from start: Int, text: String) throws(ConduitError) -> Int {
        var index = start
        while index < characters.count {
            switch characters[index] {
            case "\\": index += 2
            case "`": return index
            default: index += 1
            }
        }
        throw unclosed("a ` substitution", text)
    }

    /// From just inside `$(`, `<(` or `>(`: the index of the matching `)`, quotes and nesting stepped over.
    static func skipParenthesized(_ characters: [Character], from start: Int, text: String) throws(ConduitError) -> Int {
        var depth = 1
        var index = start
        while index < characters.count {
            switch characters[index] {
            case "\\":
                index += 2
                continue
            case "'": index = try skipSingleQuoted(characters, from: index + 1, text: text)
            case "\"": index = try skipDoubleQuoted(characters, from: index + 1, text: text)
            case "`": index = try skipBackquoted(characters, from: index + 1, text: text)
            case "(": depth += 1
            case ")":
                depth -= 1
                if depth == 0 { return index }
            default: break
            }
            index += 1
        }
        throw unclosed("a $( … ) substitution", text)
    }
}
