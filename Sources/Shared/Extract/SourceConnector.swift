package import Config
package import Core

/// One kind of source, as the source-independent code sees it: how `ingest.yml` describes it,
/// what is known of it before connecting (`--dry-run` connects to nothing), and how it opens.
/// Each source's target declares one; `CLI/Connectors` lists them.
package protocol SourceConnector: Sendable {
    /// Its `type:`, keys and SQL dialect in `ingest.yml`.
    var schema: ConnectionSchema { get }

    /// How a message shows the bound `:last_value` in the query (`$1`, `?1`).
    var placeholderShown: String { get }

    /// Whether transactions in flight can commit rows below the value an extract reads up to,
    /// so the extract holds such rows back (`safe_horizon`, docs/INCREMENTAL.md). False for a
    /// database with one writer at a time.
    var hasSafeHorizon: Bool { get }

    /// Whether the database compares a `:last_value` of the wrong type with the incremental
    /// column silently, finding nothing (SQLite: text against an INTEGER column), so the extract
    /// refuses such a value first. A database that refuses it itself when it binds it
    /// (PostgreSQL: `invalid input syntax for type bigint`) needs no check.
    var comparesMismatchedValuesSilently: Bool { get }

    /// Whether a column read back from `conduit-extract --describe` output (`conduit-load
    /// --schema`) has a `source_type` a destination of this same kind may create as written
    /// (``SourceColumn/sourceTypeIsPortable``).
    func describedTypeIsPortable(sourceType: String, kind: ColumnKind?) -> Bool

    /// Opens (connects to) a source of this kind; the server's notices and warnings go to `reporter`.
    func open(_ config: SourceConfig, reporter: Reporter) throws(ConduitError) -> any Source
}
