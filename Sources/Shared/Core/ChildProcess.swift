import Glibc

/// A child process started with a pipe on its stdin, in a process group of its own so that a
/// signal reaches it and everything it started. One `final class` owns the pid and the pipe's
/// write end; `deinit` closes the pipe.
package final class ChildProcess {
    /// How a child ended.
    package enum Termination: Equatable {
        case exited(Int32)
        case signaled(Int32)

        /// The shell's convention: the exit code, or 128 + the signal number.
        package var exitStatus: ExitStatus {
            switch self {
            case .exited(let code): ExitStatus(rawValue: code)
            case .signaled(let signal): ExitStatus(rawValue: 128 + signal)
            }
        }

        package var isSuccess: Bool { self == .exited(0) }

        package var description: String {
            switch self {
            case .exited(let code): "exited with status \(code)"
            case .signaled(let signal): "was killed by signal \(signal) (\(ChildProcess.signalName(signal)))"
            }
        }
    }

    /// Where the child's stdin comes from.
    package enum Input {
        /// A new pipe, written through ``write(_:)`` and closed by ``closeInput()``.
        case pipe
        /// This process's own stdin.
        case inherited
    }

    package let pid: Int32
    let command: String
    private var inputFD: Int32
    /// The read end of the child's stdout when it was spawned with `capturingOutput`, else -1.
    package let outputFD: Int32
    private(set) var termination: Termination?

    private init(pid: pid_t, inputFD: Int32, outputFD: Int32, command: String) {
        self.pid = pid
        self.inputFD = inputFD
        self.outputFD = outputFD
        self.command = command
    }

    deinit {
        closeInput()
        if outputFD >= 0 { close(outputFD) }
    }

    /// Starts `arguments[0]` (searched in PATH) with `arguments` as its argv, exactly
    /// `environment` as its environment, stdin as `input` says, and stdout on a new pipe
    /// (``outputFD``) when `capturingOutput`, else inherited; stderr is inherited. The child
    /// gets a process group of its own and default signal handling. The corresponding call is
    /// `posix_spawnp`.
    package static func spawn(
        _ arguments: [String], environment: [String: String], input: Input = .pipe, capturingOutput: Bool = false
    ) throws(ConduitError) -> ChildProcess {
        guard let program = arguments.first else { throw .usage("no command to run") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Ends the child uses; ours are returned, the child's closed here once it has them.
        var childEnds: [Int32] = []
        defer { for fd in childEnds { close(fd) } }
        var inputWriteEnd: Int32 = -1
        var outputReadEnd: Int32 = -1
        func closeOurEnds() {
            if inputWriteEnd >= 0 { close(inputWriteEnd) }
            if outputReadEnd >= 0 { close(outputReadEnd) }
        }
        if case .pipe = input {
            switch SystemCall.makePipe() {
            case .success(let ends):
                childEnds.append(ends.0)
                inputWriteEnd = ends.1
                posix_spawn_file_actions_adddup2(&actions, ends.0, STDIN_FILENO)
            case .failure(let error):
                throw .io("creating a pipe for \(program): \(error)")
            }
        }
        if capturingOutput {
            switch SystemCall.makePipe() {
            case .success(let ends):
                childEnds.append(ends.1)
                outputReadEnd = ends.0
                posix_spawn_file_actions_adddup2(&actions, ends.1, STDOUT_FILENO)
            case .failure(let error):
                closeOurEnds()
                throw .io("creating a pipe for \(program): \(error)")
            }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGHUP, SIGQUIT] { sigaddset(&defaultSignals, signal) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = CStringArray(arguments)
        let envp = CStringArray(environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        guard argv.isComplete, envp.isComplete else {
            closeOurEnds()
            throw .internalError("out of memory preparing to run \(program)")
        }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, program, &actions, &attributes, argv.pointers, envp.pointers)
        guard result == 0 else {
            closeOurEnds()
            throw .usage("cannot run \(program): \(SystemCall.describe(result))")
        }
        return ChildProcess(pid: pid, inputFD: inputWriteEnd, outputFD: outputReadEnd, command: program)
    }

    /// Writes bytes to the child's stdin. Returns false when the child no longer reads (EPIPE).
    package func write(_ buffer: UnsafeRawBufferPointer) throws(ConduitError) -> Bool {
        guard inputFD >= 0 else { return false }
        do {
            try FileIO.writeAll(buffer, to: inputFD)
            return true
        } catch  where error.code == EPIPE {
            return false
        } catch {
            throw .io("writing to \(command): \(error)")
        }
    }

    /// Closes the child's stdin, so it reads end-of-file.
    package func closeInput() {
        if inputFD >= 0 {
            close(inputFD)
            inputFD = -1
        }
    }

    /// Sends `signal` to the child's whole process group.
    func signalGroup(_ signal: Int32) {
        guard termination == nil else { return }
        kill(-pid, signal)
    }

    /// The child's termination if it has ended, without waiting.
    package func poll() -> Termination? {
        if let termination { return termination }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return nil }
        termination = Self.decode(status)
        return termination
    }

    /// Waits for the child to end. A failing `waitpid` is an error, never a guess: an outcome
    /// read as success could commit state for a loader that failed.
    package func wait() throws(ConduitError) -> Termination {
        if let termination { return termination }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno == EINTR { continue }
            throw .internalError("waiting for \(command) (pid \(pid)): \(SystemCall.describe(errno)); its outcome is unknown")
        }
        let ended = Self.decode(status)
        termination = ended
        return ended
    }

    /// Asks the child to stop (SIGTERM to its group) and waits; after `grace` seconds it is killed.
    /// The pipe stays open until it has ended, so it can never read a clean end of stream.
    package func stop(grace: Double = 10) throws(ConduitError) -> Termination {
        signalGroup(SIGTERM)
        return try waitOrKill(grace: grace)
    }

    /// Waits up to `grace` seconds, then kills the group (SIGKILL) and waits for it.
    package func waitOrKill(grace: Double) throws(ConduitError) -> Termination {
        let deadline = MonotonicClock.now + grace
        while MonotonicClock.now < deadline {
            if let ended = poll() {
                closeInput()
                return ended
            }
            usleep(20_000)
        }
        signalGroup(SIGKILL)
        let ended = try wait()
        closeInput()
        return ended
    }

    private static func decode(_ status: Int32) -> Termination {
        // The <sys/wait.h> macros are not imported into Swift; these are their glibc definitions.
        let signal = status & 0x7F
        if signal == 0 { return .exited((status >> 8) & 0xFF) }
        return .signaled(signal)
    }

    package static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        case SIGKILL: "SIGKILL"
        case SIGPIPE: "SIGPIPE"
        case SIGHUP: "SIGHUP"
        case SIGSEGV: "SIGSEGV"
        case SIGABRT: "SIGABRT"
        default: "signal \(signal)"
        }
    }
}

@available(*, unavailable)
extension ChildProcess: Sendable {}

/// A NULL-terminated array of C strings for `posix_spawn`'s argv and envp; frees them in `deinit`.
private final class CStringArray {
    private(set) var pointers: [UnsafeMutablePointer<CChar>?]
    /// False when a `strdup` failed (out of memory).
    let isComplete: Bool

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0) }
        isComplete = !pointers.contains(nil)
        pointers.append(nil)
    }

    deinit {
        for pointer in pointers { free(pointer) }
    }
}

/// Seconds on the monotonic clock.
package enum MonotonicClock {
    package static var now: Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
