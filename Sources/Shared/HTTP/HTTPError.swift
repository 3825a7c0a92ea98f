/// Why an HTTP exchange produced no response.
package struct HTTPError: Error, Sendable {
    /// What went wrong, for the caller to put after the URL it asked for:
    /// `could not connect (connection refused)`.
    package var message: String
    /// The service could not be reached or was not heard (refused, reset, timed out): a retry
    /// may help.
    package var isUnreachable: Bool
    /// SIGINT or SIGTERM arrived while the request was under way: the run is being stopped.
    package var stoppedBySignal: Int32?

    package init(message: String, isUnreachable: Bool, stoppedBySignal: Int32? = nil) {
        self.message = message
        self.isUnreachable = isUnreachable
        self.stoppedBySignal = stoppedBySignal
    }
}
