package import Core

/// Bytes held back until they may be written on: kept in memory up to `memoryLimit`, and beyond
/// it in an unlinked temporary file, so memory stays flat however large the held part grows.
/// `conduit-extract` and `conduit-state commit` hold the open value group in one.
///
/// One `final class` owns the temporary file's descriptor and closes it in `deinit`; the file has
/// no name from the moment it is created, so nothing is left behind whatever ends the process.
package final class SpillBuffer {
    /// What stays in memory before the held bytes move to the temporary file.
    package static let defaultMemoryLimit = 16 << 20
    /// The size of the pieces the temporary file is read back in.
    static let readBackChunk = 1 << 20

    /// `$CONDUIT_GROUP_MEMORY` (bytes), else ``defaultMemoryLimit``: the most of one value group
    /// a tool keeps in memory before it spills to a temporary file.
    package static var configuredMemoryLimit: Int {
        guard let text = ThisProcess.environmentValue("CONDUIT_GROUP_MEMORY"),
            let bytes = Int(text), bytes > 0
        else { return defaultMemoryLimit }
        return bytes
    }

    package let memoryLimit: Int
    private var memory: [UInt8] = []
    private var file: AnonymousFile?
    /// Bytes in the temporary file (written before everything in `memory`).
    package private(set) var spilledBytes = 0

    package init(memoryLimit: Int = SpillBuffer.defaultMemoryLimit) {
        self.memoryLimit = max(memoryLimit, 1)
    }

    /// Bytes held, in memory and spilled.
    package var count: Int { spilledBytes + memory.count }
    package var isEmpty: Bool { count == 0 }

    /// Holds `bytes` after everything already held.
    package func append(_ bytes: UnsafeRawBufferPointer) throws(ConduitError) {
        guard !bytes.isEmpty else { return }
        if memory.count + bytes.count > memoryLimit {
            try memory.withBytes { (raw) throws(ConduitError) in try spill(raw) }
            memory.removeAll(keepingCapacity: false)
            if bytes.count > memoryLimit {
                try spill(bytes)
                return
            }
        }
        memory.append(contentsOf: bytes)
    }

    /// Hands every held byte, in order, to `write` (in pieces of at most a megabyte), then
    /// forgets them.
    package func drain(_ write: (UnsafeRawBufferPointer) throws(ConduitError) -> Void) throws(ConduitError) {
        if spilledBytes > 0, let file {
            do {
                try file.rewind()
            } catch {
                throw .io("reading back held rows from a temporary file: \(error)")
            }
            var chunk = [UInt8](repeating: 0, count: Self.readBackChunk)
            var remaining = spilledBytes
            while remaining > 0 {
                let wanted = min(remaining, chunk.count)
                let result = chunk.withUnsafeMutableBytes { raw in
                    file.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<wanted]))
                }
                let count: Int
                switch result {
                case .success(let read) where read > 0: count = read
                case .success: throw .io("reading back held rows from a temporary file: it ended \(remaining) bytes early")
                case .failure(let error): throw .io("reading back held rows from a temporary file: \(error)")
                }
                try chunk.withBytes { (raw) throws(ConduitError) in
                    try write(UnsafeRawBufferPointer(rebasing: raw[0..<count]))
                }
                remaining -= count
            }
        }
        if !memory.isEmpty {
            try memory.withBytes { (raw) throws(ConduitError) in try write(raw) }
        }
        discard()
    }

    /// Forgets every held byte.
    package func discard() {
        memory.removeAll(keepingCapacity: true)
        if spilledBytes > 0 {
            file?.truncate()
            spilledBytes = 0
        }
    }

    private func spill(_ bytes: UnsafeRawBufferPointer) throws(ConduitError) {
        guard !bytes.isEmpty else { return }
        let file: AnonymousFile
        if let existing = self.file {
            file = existing
        } else {
            file = try Self.makeAnonymousFile()
            self.file = file
        }
        do {
            try file.append(bytes)
        } catch {
            throw .io("holding back rows in a temporary file (\(Self.temporaryFolder)): \(error)")
        }
        spilledBytes += bytes.count
    }

    /// `$TMPDIR`, else /tmp.
    package static var temporaryFolder: String {
        guard let folder = ThisProcess.environmentValue("TMPDIR"), !folder.isEmpty else { return "/tmp" }
        return folder
    }

    /// A file without a name in the temporary folder: `O_TMPFILE` where the file system has it,
    /// else `mkstemp` and an immediate `unlink`.
    private static func makeAnonymousFile() throws(ConduitError) -> AnonymousFile {
        let folder = temporaryFolder
        do {
            return try AnonymousFile(in: folder, prefix: "conduit-held")
        } catch {
            throw .io("creating a temporary file in \(folder) to hold back rows: \(error)")
        }
    }
}

@available(*, unavailable)
extension SpillBuffer: Sendable {}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for a body that throws ``ConduitError``.
    func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws(ConduitError) -> T) throws(ConduitError) -> T {
        try withUnsafeBytes { raw in Result { () throws(ConduitError) -> T in try body(raw) } }.get()
    }
}
