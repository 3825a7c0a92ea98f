// Public: the byte helpers the hot loops call (memchr, memcmp, memmove) are inlinable into them.
public import Glibc

/// The single place that turns failed system calls into messages: `strerror` of errno.
@usableFromInline
package enum SystemCall {
    /// The text of an errno value, e.g. "No such file or directory".
    package static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }

    /// Retries `body` while it fails with EINTR; returns its result or throws the errno.
    package static func retrying<T: BinaryInteger>(_ body: () -> T) -> Result<T, SystemCallError> {
        while true {
            let result = body()
            if result >= 0 { return .success(result) }
            let code = errno
            if code != EINTR { return .failure(SystemCallError(code: code)) }
        }
    }
}

/// A failed system call's errno.
package struct SystemCallError: Error, Equatable, CustomStringConvertible {
    package var code: Int32
    package var description: String { SystemCall.describe(code) }
}

extension SystemCall {
    /// A pipe whose two ends close on exec: (read end, write end).
    package static func makePipe(nonBlocking: Bool = false) -> Result<(Int32, Int32), SystemCallError> {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return .failure(SystemCallError(code: errno)) }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            if nonBlocking { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        }
        return .success((fds[0], fds[1]))
    }
}

/// Whole-file reads and crash-safe whole-file writes.
package enum FileIO {
    /// The file's bytes, or nil when it does not exist.
    package static func readIfExists(_ path: String) throws(SystemCallError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw SystemCallError(code: errno)
        }
        defer { close(fd) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                SystemCall.retrying { read(fd, buffer.baseAddress, buffer.count) }
            }
            switch count {
            case .failure(let error): throw error
            case .success(0): return contents
            case .success(let n): contents.append(contentsOf: chunk[0..<n])
            }
        }
    }

    /// The whole file at `path`; a missing or unreadable one is an I/O error naming it as `what`.
    package static func contents(of path: String, what: String) throws(ConduitError) -> [UInt8] {
        do {
            guard let bytes = try readIfExists(path) else { throw ConduitError.io("\(what) \(path) does not exist") }
            return bytes
        } catch let error as ConduitError {
            throw error
        } catch {
            throw .io("reading \(what) \(path): \(error)")
        }
    }

    /// Writes `bytes` to `path` so that a crash at any moment leaves either the old file or the
    /// new one: a temporary file in the same folder, fsync, rename over the old, fsync the folder.
    /// `durable: false` skips the fsyncs, for notes whose loss in a crash costs nothing (readers
    /// still see the old file or the new one, never a mix).
    package static func writeAtomically(_ bytes: [UInt8], to path: String, durable: Bool = true) throws(SystemCallError) {
        let folder = directory(of: path)
        let temporary = "\(path).tmp.\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw SystemCallError(code: errno) }
        do throws(SystemCallError) {
            try writeAll(bytes, to: fd)
            if durable && fsync(fd) != 0 { throw SystemCallError(code: errno) }
            if close(fd) != 0 { throw SystemCallError(code: errno) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        if rename(temporary, path) != 0 {
            let code = errno
            unlink(temporary)
            throw SystemCallError(code: code)
        }
        guard durable else { return }
        let folderFD = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folderFD < 0 { throw SystemCallError(code: errno) }
        defer { close(folderFD) }
        if fsync(folderFD) != 0 { throw SystemCallError(code: errno) }
    }

    /// Writes every byte, retrying short writes and EINTR.
    package static func writeAll(_ bytes: [UInt8], to fd: Int32) throws(SystemCallError) {
        let failure: SystemCallError? = bytes.withUnsafeBytes { buffer in
            do throws(SystemCallError) {
                try writeAll(buffer, to: fd)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    package static func writeAll(_ buffer: UnsafeRawBufferPointer, to fd: Int32) throws(SystemCallError) {
        var offset = 0
        while offset < buffer.count {
            let result = SystemCall.retrying { write(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset) }
            switch result {
            case .success(let written): offset += written
            case .failure(let error): throw error
            }
        }
    }

    /// Creates a new empty file `<folder>/<prefix>-XXXXXX` (close-on-exec); returns its descriptor and path.
    package static func makeTemporaryFile(in folder: String, prefix: String) -> Result<(Int32, String), SystemCallError> {
        var template = Array("\(folder)/\(prefix)-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.map { mkstemp($0) } ?? -1
        }
        guard fd >= 0 else { return .failure(SystemCallError(code: errno)) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return .success((fd, path))
    }

    /// The folder part of a path ("." for a bare file name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }
}

/// An advisory lock (`flock`) on a lock file: one `final class` owns the descriptor and
/// releases the lock by closing it in `deinit`. The kernel drops the lock when the holder dies,
/// so a lock left by a dead process is simply taken over.
package final class FileLock {
    private let fd: Int32
    let path: String

    package enum Outcome {
        case acquired(FileLock)
        /// Someone else holds it; the file's contents describe the holder.
        case held(holder: String)
    }

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Takes the lock, waiting for it when `wait` is true, else failing at once when it is held.
    package static func acquire(_ path: String, wait: Bool) throws(SystemCallError) -> Outcome {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { throw SystemCallError(code: errno) }
        let operation = LOCK_EX | (wait ? 0 : LOCK_NB)
        switch SystemCall.retrying({ flock(fd, operation) }) {
        case .success:
            return .acquired(FileLock(fd: fd, path: path))
        case .failure(let error) where error.code == EWOULDBLOCK:
            close(fd)
            let holder = (try? FileIO.readIfExists(path)).flatMap { $0 }.map {
                String(decoding: $0, as: UTF8.self).trimmingTrailingNewlines()
            }
            return .held(holder: holder ?? "")
        case .failure(let error):
            close(fd)
            throw error
        }
    }

    /// Runs `body` holding the exclusive lock on `path` (waiting for it); `what` names the file in errors.
    package static func withExclusiveLock<T>(
        on path: String, for what: String, _ body: () throws(ConduitError) -> T
    ) throws(ConduitError) -> T {
        let lock: FileLock
        do {
            switch try acquire(path, wait: true) {
            case .acquired(let acquired): lock = acquired
            case .held: throw ConduitError.internalError("a blocking lock on \(path) returned without the lock")
            }
        } catch let error as ConduitError {
            throw error
        } catch {
            throw .io("locking \(what) \(path): \(error)")
        }
        return try withExtendedLifetime(lock) { () throws(ConduitError) -> T in try body() }
    }

    /// Lets child processes inherit the descriptor, and with it the lock: it is then held until
    /// this process and every such child are gone.
    package func shareWithChildProcesses() {
        _ = fcntl(fd, F_SETFD, 0)
    }

    /// Replaces the lock file's contents with `text` (who holds it), for the next contender's message.
    package func describeHolder(_ text: String) {
        _ = ftruncate(fd, 0)
        _ = lseek(fd, 0, SEEK_SET)
        try? FileIO.writeAll(Array(text.utf8), to: fd)
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var text = Substring(self)
        while text.last == "\n" || text.last == "\r" { text.removeLast() }
        return String(text)
    }
}

extension FileIO {
    /// Whether anything exists at `path`.
    package static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }
}

extension SystemCall {
    /// "No such file or directory".
    package static var noSuchFileText: String { describe(ENOENT) }

    /// What one `read` of a descriptor gave.
    package enum ReadOutcome: Equatable {
        /// This many bytes, at least one.
        case bytes(Int)
        /// The end of the input.
        case end
        /// A signal arrived first (`EINTR`).
        case interrupted
        /// A non-blocking descriptor had nothing yet (`EAGAIN`).
        case wouldBlock
        case failed(SystemCallError)
    }

    /// One `read` of up to `buffer.count` bytes from `fd` into `buffer`.
    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> ReadOutcome {
        let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
        if count > 0 { return .bytes(count) }
        if count == 0 { return .end }
        let code = errno
        if code == EINTR { return .interrupted }
        return code == EAGAIN ? .wouldBlock : .failed(SystemCallError(code: code))
    }

    /// Copies `count` bytes within one buffer, the ranges possibly overlapping (`memmove`).
    @inlinable
    package static func moveBytes(in buffer: UnsafeMutableRawBufferPointer, from source: Int, to target: Int, count: Int) {
        guard let base = buffer.baseAddress, count > 0 else { return }
        memmove(base + target, base + source, count)
    }

    /// The offset of the first newline in `buffer[from..<to]`, or nil (`memchr`: the line
    /// reader's hot path).
    @inlinable
    package static func firstNewline(in buffer: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int? {
        guard let base = buffer.baseAddress, start < end,
            let found = memchr(base + start, 0x0A, end - start)
        else { return nil }
        return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }

    /// Whether two byte buffers hold the same bytes (`memcmp`: the loader compares every row's
    /// keys with the previous row's).
    @inlinable
    package static func sameBytes(_ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>) -> Bool {
        guard left.count == right.count else { return false }
        guard let leftBase = left.baseAddress, let rightBase = right.baseAddress else { return true }
        return memcmp(leftBase, rightBase, left.count) == 0
    }

    /// What waiting for input gave.
    package enum InputReadiness { case ready, wokenUp }

    /// Waits until `fd` is readable, `wakeUp` (if not negative) is readable — then it is
    /// drained by the caller, reported as woken up — or `timeout` seconds pass (nil: no limit).
    /// A signal is a wake-up too.
    package static func waitForInput(
        _ fd: Int32, wakeUp: Int32, timeout: Double?
    ) -> Result<(readiness: InputReadiness, wakeUpFired: Bool), SystemCallError> {
        var pollSet = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        if wakeUp >= 0 { pollSet.append(pollfd(fd: wakeUp, events: Int16(POLLIN), revents: 0)) }
        let milliseconds = timeout.map { Int32(max(1, min($0 * 1000, 3_600_000))) } ?? -1
        let ready = poll(&pollSet, nfds_t(pollSet.count), milliseconds)
        if ready < 0 {
            if errno == EINTR { return .success((.wokenUp, false)) }
            return .failure(SystemCallError(code: errno))
        }
        if ready == 0 { return .success((.wokenUp, false)) }
        if pollSet.count > 1, pollSet[1].revents != 0 { return .success((.wokenUp, true)) }
        return .success((pollSet[0].revents != 0 ? .ready : .wokenUp, false))
    }
}

extension FileIO {
    /// Lets child processes inherit `fd` (clears close-on-exec).
    package static func shareWithChildProcesses(_ fd: Int32) {
        _ = fcntl(fd, F_SETFD, 0)
    }

    /// Writes one byte (a signal to a reader that may be gone); returns whether it was written.
    @discardableResult
    package static func writeByte(_ byte: UInt8, to fd: Int32) -> Bool {
        var value = byte
        return write(fd, &value, 1) == 1
    }

    /// Appends `bytes` to the file at `path` (created if missing) with one write: a short line
    /// lands whole even beside another writer.
    package static func append(_ bytes: [UInt8], to path: String) throws(SystemCallError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemCallError(code: errno) }
        defer { close(fd) }
        try writeAll(bytes, to: fd)
    }

    /// The size in bytes of the file at `path`; nil when it cannot be read.
    package static func size(_ path: String) -> Int? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Int(status.st_size)
    }

    /// Removes the file at `path`; a file already gone is no error.
    package static func remove(_ path: String) {
        _ = unlink(path)
    }

    /// Closes a descriptor this process owns.
    package static func closeDescriptor(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// `folder` with its symbolic links resolved, absolute; nil when it cannot be resolved.
    package static func resolvedFolder(_ folder: String) -> String? {
        guard let resolved = realpath(folder, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// The wall clock, for records people read.
package enum WallClock {
    /// Now as RFC 3339 UTC, to the second: `2026-12-05T19:21:59Z`.
    package static func nowRFC3339() -> String {
        var seconds = time(nil)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}

extension SystemCallError {
    /// `EPIPE`: the reader of a pipe went away.
    package var isBrokenPipe: Bool { code == EPIPE }
}

/// A pipe's write end, as a writer that must know whether its reader took every byte sees it.
package enum PipeWriteEnd {
    /// Whether `fd` is a pipe (a FIFO), not a file or a terminal.
    package static func isPipe(_ fd: Int32) -> Bool {
        var status = stat()
        return fstat(fd, &status) == 0 && (status.st_mode & S_IFMT) == S_IFIFO
    }

    /// Bytes written to the pipe its reader has not taken yet; nil when the system cannot say.
    package static func unreadBytes(_ fd: Int32) -> Int? {
        var unread: Int32 = 0
        guard ioctl(fd, UInt(FIONREAD), &unread) == 0 else { return nil }
        return Int(unread)
    }

    /// Waits up to `seconds` and says whether every reader of the pipe is gone (`POLLERR` on
    /// the write end).
    package static func readersGone(_ fd: Int32, within seconds: Double) -> Bool {
        var watch = pollfd(fd: fd, events: 0, revents: 0)
        return poll(&watch, 1, Int32(seconds * 1000)) > 0 && watch.revents & Int16(POLLERR) != 0
    }
}

extension SignalForwarding {
    /// A reader that goes away becomes a write error (`EPIPE`) with a message, not a silent
    /// death by `SIGPIPE`.
    package static func ignoreBrokenPipes() {
        signal(SIGPIPE, SIG_IGN)
    }
}
