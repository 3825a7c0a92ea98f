package import Config
package import Core
package import Stream

/// What `conduit-extract` — and `conduit-load`, when it creates columns — needs from a source
/// database. PostgreSQL and SQLite implement it; the CLI target picks one by the source's `type:`.
package protocol Source: AnyObject {
    /// The resource's result columns and their types, without running the query.
    func describe(resource: ResourceConfig) throws(ConduitError) -> [SourceColumn]

    /// Runs the resource's query with `:last_value` bound to `lastValue` (nil: the first run's
    /// default, `0` or the minimum of a time type) and writes its rows to `output`, following the
    /// incremental column for value groups (see ``GroupSafeOutput``). `horizonMemory` is what the
    /// previous run's safe horizon kept (``ExtractedRows/horizonMemory``), nil on a first run.
    func extract(
        resource: ResourceConfig, lastValue: StateValue?, horizonMemory: JSONValue?, output: GroupSafeOutput
    ) throws(ConduitError) -> ExtractedRows
}
