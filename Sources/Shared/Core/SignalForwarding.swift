import Glibc

// Signal handlers may only touch async-signal-safe state: these globals are written before the
// handlers are installed (or atomically enough for a pid_t) and read in the handler.
nonisolated(unsafe) private var forwardingTargetGroup: pid_t = 0
nonisolated(unsafe) private var forwardingSecondGroup: pid_t = 0
nonisolated(unsafe) private var receivedStopSignal: Int32 = 0
nonisolated(unsafe) private var wakeUpWriteFD: Int32 = -1

/// Forwards SIGINT and SIGTERM to a child's process group as they arrive, remembers the first,
/// and wakes a `poll` loop through a self-pipe (SIGCHLD too), so the caller can stop cleanly.
package enum SignalForwarding {
    /// The read end of the self-pipe: readable after any handled signal.
    package private(set) nonisolated(unsafe) static var wakeUpFD: Int32 = -1

    /// Installs the handlers (once per process) and ignores SIGPIPE, so a reader that goes away
    /// is an EPIPE error to handle rather than a silent death.
    package static func install() {
        guard wakeUpFD < 0 else { return }
        if case .success(let (readEnd, writeEnd)) = SystemCall.makePipe(nonBlocking: true) {
            wakeUpFD = readEnd
            wakeUpWriteFD = writeEnd
        }
        signal(SIGPIPE, SIG_IGN)
        for signalNumber in [SIGINT, SIGTERM, SIGCHLD] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signalNumber in
                let savedErrno = errno
                if signalNumber != SIGCHLD {
                    if receivedStopSignal == 0 { receivedStopSignal = signalNumber }
                    if forwardingTargetGroup > 0 { kill(-forwardingTargetGroup, signalNumber) }
                    if forwardingSecondGroup > 0 { kill(-forwardingSecondGroup, signalNumber) }
                }
                var byte: UInt8 = 1
                _ = write(wakeUpWriteFD, &byte, 1)
                errno = savedErrno
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0  // no SA_RESTART: a blocked poll returns EINTR
            sigaction(signalNumber, &action, nil)
        }
        // A parent may have spawned us with these blocked (Foundation's Process does); unblock
        // them or a stop request would never arrive.
        var handled = sigset_t()
        sigemptyset(&handled)
        for signalNumber in [SIGINT, SIGTERM, SIGCHLD] { sigaddset(&handled, signalNumber) }
        sigprocmask(SIG_UNBLOCK, &handled, nil)
    }

    /// Makes later SIGINT/SIGTERM go to `group`, and to `otherGroup` when given (the upstream
    /// pipeline of `commit --from`); forwards one that already arrived.
    package static func forward(to group: Int32, and otherGroup: Int32? = nil) {
        forwardingTargetGroup = group
        forwardingSecondGroup = otherGroup ?? 0
        if receivedStopSignal != 0 {
            kill(-group, receivedStopSignal)
            if let otherGroup { kill(-otherGroup, receivedStopSignal) }
        }
    }

    /// The first SIGINT or SIGTERM received, or nil.
    package static var stopSignal: Int32? {
        receivedStopSignal == 0 ? nil : receivedStopSignal
    }

    /// Empties the self-pipe after a wake-up.
    package static func drainWakeUps() {
        var scratch = [UInt8](repeating: 0, count: 64)
        while read(wakeUpFD, &scratch, scratch.count) > 0 {}
    }
}
