package import Config
package import Core

/// One kind of destination, as the destination-independent code sees it: how `ingest.yml`
/// describes it and how it opens. Each destination's target declares one; `CLI/Connectors`
/// lists them (docs/ARCHITECTURE.md, "Adding a destination").
package protocol DestinationConnector: Sendable {
    /// Its `type:` and keys in `ingest.yml`.
    var schema: ConnectionSchema { get }

    /// Opens (connects to) a destination of this kind for `table`. The server's notices and
    /// warnings go to `reporter`; `environment` is the tool's (settings a destination reads from
    /// the environment come from it, never from the process directly).
    func open(
        _ config: DestinationConfig, table: String, reporter: Reporter, environment: [String: String]
    ) throws(ConduitError) -> any LoadDestination
}
