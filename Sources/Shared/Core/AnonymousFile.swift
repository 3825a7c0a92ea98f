import Glibc

/// A temporary file without a name, for bytes that outgrow memory: `O_TMPFILE` where the file
/// system has it, else `mkstemp` and an immediate `unlink`. Gone when closed, even after a crash.
package final class AnonymousFile {
    private let fd: Int32

    /// Creates the file in `folder`.
    package init(in folder: String, prefix: String) throws(SystemCallError) {
        // O_TMPFILE is a macro Swift does not import: __O_TMPFILE | O_DIRECTORY.
        let temporaryFileFlag: Int32 = 0o20000000 | O_DIRECTORY
        let opened = open(folder, temporaryFileFlag | O_RDWR | O_CLOEXEC, 0o600)
        if opened >= 0 {
            fd = opened
            return
        }
        switch FileIO.makeTemporaryFile(in: folder, prefix: prefix) {
        case .success(let (fallback, path)):
            _ = unlink(path)
            fd = fallback
        case .failure(let error):
            throw error
        }
    }

    deinit { _ = close(fd) }

    /// Writes `bytes` at the end.
    package func append(_ bytes: UnsafeRawBufferPointer) throws(SystemCallError) {
        _ = lseek(fd, 0, SEEK_END)
        try FileIO.writeAll(bytes, to: fd)
    }

    /// Moves back to the first byte, for reading.
    package func rewind() throws(SystemCallError) {
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw SystemCallError(code: errno) }
    }

    /// Reads up to `buffer.count` bytes at the current position; 0 at the end.
    package func read(into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, SystemCallError> {
        SystemCall.retrying { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Forgets every byte.
    package func truncate() {
        _ = ftruncate(fd, 0)
        _ = lseek(fd, 0, SEEK_SET)
    }
}
