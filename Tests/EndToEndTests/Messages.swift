import Foundation

/// Conduit's messages are part of the product: tests compare them whole. Only what changes from
/// run to run — a summary's timing, process ids, a host — is replaced by a placeholder first, and
/// everything else compares exactly.
enum Messages {
    /// What a summary's timing ("0.004s (750 rows/s)") reads as after ``stable(_:ignoringBytes:)``.
    static let timing = "<s>s (<n> rows/s)"

    /// What a lock holder ("pid 1234 on host") reads as after ``stable(_:ignoringBytes:)``.
    static let holder = "pid <pid> on <host>"

    /// What a list of process ids ("pids 1234, 1240") reads as after ``stable(_:ignoringBytes:)``.
    static let pids = "pids <pids>"

    /// What a summary's byte count reads as with `ignoringBytes`: for streams holding `now()`,
    /// whose timestamps print with as many digits as they need.
    static let bytes = "<b> bytes"

    /// `text` with every timing replaced by ``timing``, every lock holder by ``holder``, every
    /// list of process ids by ``pids``, and, with `ignoringBytes`, every byte count by ``bytes``.
    static func stable(_ text: String, ignoringBytes: Bool = false) -> String {
        var text = text.replacing(#/\d+\.\d{3}s \(\d+ rows/s\)/#, with: timing)
            .replacing(#/pid \d+ on [^;)\n]+/#, with: holder)
            .replacing(#/pids \d+(, \d+)+/#, with: pids)
        if ignoringBytes {
            text = text.replacing(#/\d+ bytes in /#, with: bytes + " in ")
        }
        return text
    }

    /// The lines of ``stable(_:ignoringBytes:)``, sorted: the messages of a pipeline's stages,
    /// which may arrive in any order, each compared exactly.
    static func stableLines(_ text: String, ignoringBytes: Bool = false) -> [String] {
        stable(text, ignoringBytes: ignoringBytes).split(separator: "\n").map(String.init).sorted()
    }

    /// The warning every run of a PostgreSQL resource whose integer cursor draws from no sequence
    /// (ids given explicitly) prints: the safe horizon cannot bound it.
    static func noSequence(_ resource: String, column: String = "id") -> String {
        "conduit-extract: warning: \(resource): the safe horizon holds back nothing: \(column) draws from no sequence (serial, identity or DEFAULT nextval), so the extract cannot tell which ids transactions in flight hold; lookback covers what it cannot see, safe_horizon: false silences this"
    }

    /// Whether all of `text` matches the regular expression `pattern`.
    static func matches(_ text: String, _ pattern: String) -> Bool {
        guard let regex = try? Regex(pattern) else { return false }
        return text.wholeMatch(of: regex) != nil
    }
}
