/// The ingest.yml the tests build on: SQLite source `app` reading app.db, SQLite destination
/// `warehouse`; nothing connects until a test runs it.
package enum BaseConfiguration {
    /// Source `app` (lines 1–4) and destination `warehouse` writing to `destinationPath` (lines
    /// 5–8) with `destinationKeys` (`key: value`, a line each), then `resources:` and `resources`
    /// as given, from the next line on.
    package static func text(destinationPath: String = "w.db", destinationKeys: [String] = [], resources: String) -> String {
        """
        sources:
          - name: app
            type: sqlite
            path: app.db
        destinations:
          - name: warehouse
            type: sqlite
            path: \(destinationPath)
        \(destinationKeys.map { "    \($0)\n" }.joined())resources:
        \(resources)
        """
    }

    /// Resource `users` (lines 10–14 of `text`), incremental on `id` unless `incrementalColumn`
    /// is nil, reading with `query` (YAML text).
    package static func users(
        incrementalColumn: String? = "id", query: String = #""SELECT * FROM users WHERE id > :last_value ORDER BY id""#
    ) -> String {
        """
          - name: users
            source: app
            destination: warehouse
        \(incrementalColumn.map { "    incremental_column: \($0)\n" } ?? "")    query: \(query)

        """
    }

    /// The base with resource `users`: one SQLite source (lines 1–4), one SQLite destination
    /// (5–8), one incremental resource (9–14). Text appended to it starts at line 15, inside the
    /// resource.
    package static let standard = text(resources: users())
}
