import Config
public import Core
import Glibc
import Stream

/// Which run of `conduit-state commit` a resource has in progress: a random id drawn when the run
/// took its run lock, with the pid and the kernel's start time of the process that holds it, so
/// that neither a finished run nor a reused pid can pass for it. The run lock file carries it on
/// its second line: `run <id> <pid> <start time>`.
public struct RunIdentity: Sendable, Equatable {
    public let id: String
    public let pid: Int32
    /// Field 22 of `/proc/<pid>/stat`: clock ticks from boot to the process's start.
    public let startTime: UInt64

    static func ofThisProcess() -> RunIdentity {
        var generator = SystemRandomNumberGenerator()
        let id = String(generator.next() as UInt64, radix: 16) + String(generator.next() as UInt64, radix: 16)
        return RunIdentity(id: id, pid: getpid(), startTime: Self.startTime(of: getpid()) ?? 0)
    }

    init(id: String, pid: Int32, startTime: UInt64) {
        self.id = id
        self.pid = pid
        self.startTime = startTime
    }

    /// Parses the run line of a run lock file.
    init?(lockFileContents text: String) {
        for line in text.split(separator: "\n") where line.hasPrefix("run ") {
            let fields = line.split(separator: " ")
            guard fields.count == 4, let pid = Int32(fields[2]), let startTime = UInt64(fields[3]) else { return nil }
            self.init(id: String(fields[1]), pid: pid, startTime: startTime)
            return
        }
        return nil
    }

    var serialized: String { "run \(id) \(pid) \(startTime)" }

    /// Whether the process that drew this identity is still running (its pid is alive and
    /// started when it did).
    var isAlive: Bool {
        guard startTime != 0, let current = Self.startTime(of: pid) else { return false }
        return current == startTime
    }

    /// The start time of `pid` from `/proc/<pid>/stat`, or nil when there is no such process.
    static func startTime(of pid: Int32) -> UInt64? {
        guard let bytes = try? FileIO.readIfExists("/proc/\(pid)/stat") else { return nil }
        // The command name (field 2) is in parentheses and may hold spaces: count from its end.
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        // After ")" come fields 3, 4, …: the start time, field 22, is the 20th of them.
        guard fields.count >= 20 else { return nil }
        return UInt64(String(decoding: fields[19], as: UTF8.self))
    }
}

/// How `conduit-extract` tells `conduit-state commit` that the stream really ended, without a
/// byte of its own on stdout (which stays plain NDJSON for whatever stands between the stages).
///
/// After writing its last row, and before it exits (so before any reader downstream can see the
/// end of input), the extract appends one record to `<state file>.<resource>.run.ends`: the id of
/// the resource's run in progress (read from the run lock, checked alive), its pid, the rows it
/// wrote and the last incremental value (waiting, up to 3 s after its own start, for a run to
/// begin when none has yet). At the end of its input, the commit takes the end as
/// confirmed only when exactly one record names its own run and that record's rows and last value
/// are what it received. An earlier run's record names another id; a second pipeline started by
/// mistake makes a second record (two records: unconfirmed); a stage that cut or dropped rows
/// (`head -n K`, a failing filter) leaves a count that differs. See docs/STREAM-END.md.
public struct EndConfirmation {
    /// One extract's record.
    public struct Record: Sendable, Equatable {
        public var run: String
        public var pid: Int
        public var rows: Int
        public var lastValue: StateValue?
    }

    /// What the extract did at its end.
    public enum Outcome: Sendable, Equatable {
        case confirmed(run: String)
        /// No run of the resource was in progress before the wait ended (or stdout is not a pipe).
        case noRunInProgress
    }

    public let path: String
    let lockPath: String

    public init(stateFile: StateFile, resource: String) {
        path = stateFile.runFilePath(for: resource, suffix: "ends")
        lockPath = stateFile.runLockPath(for: resource)
    }

    /// How long after its start the extract waits for the commit to start, when none has yet.
    public static let defaultWait = 3.0

    /// The run in progress, if its lock file names one that is alive on this host.
    func runInProgress() -> RunIdentity? {
        guard let bytes = try? FileIO.readIfExists(lockPath) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.hasSuffix("\n"), text.contains(" on \(RunLock.hostName)\n"),
              let run = RunIdentity(lockFileContents: text), run.isAlive else { return nil }
        return run
    }

    /// conduit-extract, after its last row: records the end for the run in progress, waiting up
    /// to `wait` seconds for one to start.
    public func confirm(rows: Int, lastValue: StateValue?, wait: Double = EndConfirmation.defaultWait) throws(ConduitError) -> Outcome {
        let deadline = MonotonicClock.now + wait
        var run = runInProgress()
        while run == nil && MonotonicClock.now < deadline {
            usleep(10_000)
            run = runInProgress()
        }
        guard let run else { return .noRunInProgress }
        var fields = [
            JSONMember(key: "run", value: .string(run.id)),
            JSONMember(key: "pid", value: .number(String(getpid()))),
            JSONMember(key: "rows", value: .number(String(rows))),
        ]
        if let lastValue { fields.append(JSONMember(key: "last_value", value: lastValue.jsonValue)) }
        let line = Array((JSONValue.object(fields).serialized() + "\n").utf8)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io("confirming the end of the stream in \(path): \(SystemCall.describe(errno))") }
        defer { close(fd) }
        // One write of one short line: appended whole, even beside another writer.
        do {
            try FileIO.writeAll(line, to: fd)
        } catch {
            throw .io("confirming the end of the stream in \(path): \(error)")
        }
        return .confirmed(run: run.id)
    }

    /// The records naming `run`.
    public func records(for run: String) -> [Record] {
        guard let bytes = (try? FileIO.readIfExists(path)) ?? nil else { return [] }
        var records: [Record] = []
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            guard case .object(let members)? = try? JSONParser.parse(Array(line)) else { continue }
            var record = Record(run: "", pid: 0, rows: -1, lastValue: nil)
            for member in members {
                switch (member.key, member.value) {
                case ("run", .string(let text)): record.run = text
                case ("pid", .number(let text)): record.pid = Int(text) ?? 0
                case ("rows", .number(let text)): record.rows = Int(text) ?? -1
                case ("last_value", .number(let text)): record.lastValue = .number(text)
                case ("last_value", .string(let text)): record.lastValue = .string(text)
                default: break
                }
            }
            if record.run == run && record.rows >= 0 { records.append(record) }
        }
        return records
    }

    /// Removes the records file (at the start and the end of a run: records name their run, so
    /// this only keeps the file from growing).
    public func clear() {
        _ = unlink(path)
    }
}
