import Stream

/// Conduit's `OutputStream`, under a name Foundation's `OutputStream` does not shadow in files
/// that import both.
typealias ConduitOutputStream = OutputStream
