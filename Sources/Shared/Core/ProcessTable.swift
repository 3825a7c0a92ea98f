import Glibc

/// The running process, as the tools describe themselves in records and lock files.
package enum ThisProcess {
    package static var id: Int32 { getpid() }

    package static var parentID: Int32 { getppid() }

    /// The machine's host name, or `unknown host`.
    package static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown host" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The value of an environment variable of this process, nil when unset. Tools pass their
    /// environment down where they can; this is for the settings read deep inside a stage.
    package static func environmentValue(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// Sleeps for `seconds` (to the microsecond).
    package static func sleep(seconds: Double) {
        _ = usleep(UInt32(max(0, seconds) * 1_000_000))
    }
}

/// Other processes on this machine, from `/proc`.
package enum ProcessTable {
    /// Whether a process `pid` exists (and may be signalled by this one).
    package static func exists(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

    /// Every process id in `/proc`.
    package static func processIDs() -> [Int32] {
        entries(of: "/proc").compactMap { Int32($0) }
    }

    /// The command-line arguments of `pid` (`/proc/<pid>/cmdline`), nil when it is gone.
    package static func arguments(of pid: Int32) -> [String]? {
        guard let bytes = try? FileIO.readIfExists("/proc/\(pid)/cmdline") else { return nil }
        return bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The paths of the files `pid` has open (`/proc/<pid>/fd`), as far as this process may see them.
    package static func openFilePaths(of pid: Int32) -> [String] {
        var target = [CChar](repeating: 0, count: 4096)
        return entries(of: "/proc/\(pid)/fd").compactMap { name in
            guard Int(name) != nil else { return nil }
            let count = readlink("/proc/\(pid)/fd/\(name)", &target, target.count - 1)
            guard count > 0 else { return nil }
            return String(decoding: target[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// The parent of `pid` from `/proc/<pid>/stat` (field 4), or nil when there is no such process.
    package static func parent(of pid: Int32) -> Int32? {
        guard let fields = statFields(of: pid), fields.count >= 2 else { return nil }
        return Int32(String(decoding: fields[1], as: UTF8.self))
    }

    /// The start time of `pid` (field 22 of `/proc/<pid>/stat`: clock ticks from boot), or nil
    /// when there is no such process.
    package static func startTime(of pid: Int32) -> UInt64? {
        guard let fields = statFields(of: pid) else { return nil }
        // After ")" come fields 3, 4, …: the start time, field 22, is the 20th of them.
        guard fields.count >= 20 else { return nil }
        return UInt64(String(decoding: fields[19], as: UTF8.self))
    }

    /// The fields of `/proc/<pid>/stat` after the command name: field 3 first.
    static func statFields(of pid: Int32) -> [ArraySlice<UInt8>]? {
        guard let bytes = try? FileIO.readIfExists("/proc/\(pid)/stat") else { return nil }
        // The command name (field 2) is in parentheses and may hold spaces: count from its end.
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        return bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
    }

    /// The names in a folder, nil entries skipped; none when it cannot be opened.
    private static func entries(of path: String) -> [String] {
        guard let folder = opendir(path) else { return [] }
        defer { closedir(folder) }
        var names: [String] = []
        while let entry = readdir(folder) {
            names.append(
                withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                })
        }
        return names
    }
}
