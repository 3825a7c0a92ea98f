import Glibc

/// stdout, which carries data only.
package enum StandardOutput {
    /// Writes all of `text`; a closed pipe or full disk is an I/O error (exit 74).
    package static func write(_ text: String) throws(ConduitError) {
        do {
            try FileIO.writeAll(Array(text.utf8), to: STDOUT_FILENO)
        } catch {
            throw .io("writing to stdout: \(error)")
        }
    }
}
