/// Counts with their noun, for messages: `1 row`, `2 rows`, `0 rows`.
package enum Plural {
    /// `count` and `noun`, with `plural` (default: noun + "s") unless the count is exactly 1.
    package static func count(_ count: Int, _ noun: String, plural: String? = nil) -> String {
        "\(count) \(count == 1 ? noun : plural ?? noun + "s")"
    }
}
