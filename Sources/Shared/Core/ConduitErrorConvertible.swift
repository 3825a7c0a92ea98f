/// An error of one concern (libpq's, SQLite's) that knows the ``ConduitError`` the user sees for
/// it: its message, and the kind that decides the exit status.
package protocol ConduitErrorConvertible: Error {
    /// The error as every Conduit tool reports it.
    var conduitError: ConduitError { get }
}

/// Runs `body` and reports its error as the ``ConduitError`` it stands for: the one adapter
/// between a wrapper's own error type and the tools' error type.
///
/// Name the error type in the closure, which Swift does not infer yet:
/// `try converting { () throws(PostgresError) in try connection.execute(sql, context: context) }`.
package func converting<Result, Failure: ConduitErrorConvertible>(
    _ body: () throws(Failure) -> Result
) throws(ConduitError) -> Result {
    do {
        return try body()
    } catch {
        throw error.conduitError
    }
}
