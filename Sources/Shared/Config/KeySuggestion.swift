import Core

/// Suggests the known word a misspelt one was meant to be: `incremental_colum` → `incremental_column`.
enum KeySuggestion {
    /// The closest candidate, or nil when none is close enough to be a plausible typo.
    ///
    /// Case is ignored. `aliases` maps words people commonly write to the intended one
    /// (`postgres` → `postgresql`, `username` → `user`); an alias only counts when its target is a
    /// candidate. Otherwise the candidate with the smallest Damerau–Levenshtein distance wins
    /// (the first one on a tie), if that distance is at most a third of the word's length (at
    /// least 1, at most 3); failing that, a candidate that starts with the word (4+ characters).
    static func closest(to word: String, among candidates: [String], aliases: [String: String] = [:]) -> String? {
        let lowered = word.lowercased()
        if let target = aliases[lowered], candidates.contains(target) { return target }
        let limit = maximumDistance(for: lowered)
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let other = candidate.lowercased()
            if abs(other.count - lowered.count) > limit { continue }
            let distance = editDistance(lowered, other)
            if distance <= limit, distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        if let best { return best.candidate }
        if lowered.count >= 4, let extended = candidates.first(where: { $0.lowercased().hasPrefix(lowered) }) {
            return extended
        }
        return nil
    }

    /// How many edits still look like a typo: a third of the length, between 1 and 3.
    static func maximumDistance(for word: String) -> Int {
        max(1, min(3, (word.count + 1) / 3))
    }

    /// The optimal-string-alignment (restricted Damerau–Levenshtein) distance: insertions,
    /// deletions, substitutions and transpositions of neighbours each cost 1.
    static func editDistance(_ left: String, _ right: String) -> Int {
        let a = Array(left.unicodeScalars)
        let b = Array(right.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        let width = b.count + 1
        var previousRow = [Int](repeating: 0, count: width)
        var row = Array(0...b.count)
        var current = [Int](repeating: 0, count: width)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var value = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    value = min(value, previousRow[j - 2] + 1)
                }
                current[j] = value
            }
            (previousRow, row, current) = (row, current, previousRow)
        }
        return row[b.count]
    }

    /// `a`, `a or b`, `a, b or c`.
    static func alternatives(_ words: [String], conjunction: String = "or") -> String {
        guard let last = words.last else { return "" }
        if words.count == 1 { return last }
        return words.dropLast().joined(separator: ", ") + " \(conjunction) " + last
    }
}
