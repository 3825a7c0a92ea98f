import TestSupport

extension Sandbox {
    /// An ingest.yml with SQLite source and destination (nothing connects in these tests) and
    /// resources `users` (id), `events` (created_at, a timestamp) and `loose` (ordered: false).
    func writeStandardConfig() throws {
        try write(
            BaseConfiguration.text(
                destinationPath: "warehouse.db",
                resources: """
                      - name: users
                        source: app
                        destination: warehouse
                        incremental_column: id
                        query: "SELECT id, name FROM users WHERE id > :last_value ORDER BY id"
                      - name: events
                        source: app
                        destination: warehouse
                        incremental_column: created_at
                        query: "SELECT * FROM events WHERE created_at > :last_value ORDER BY created_at"
                      - name: loose
                        source: app
                        destination: warehouse
                        incremental_column: id
                        ordered: false
                        query: "SELECT * FROM loose WHERE id > :last_value"
                      - name: other
                        source: app
                        destination: warehouse
                        incremental_column: id
                        query: "SELECT * FROM other WHERE id > :last_value ORDER BY id"
                    """), to: "ingest.yml")
    }
}
