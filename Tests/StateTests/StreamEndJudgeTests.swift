import Foundation
import Testing
@testable import Core
@testable import State

/// How `conduit-state commit` judges the end of a plain pipe (SPEC section 5: a stream that ends
/// early is never committed as complete): `StreamEnd.judge` over the `EndConfirmation` records
/// the extract leaves, written and read through a real state file and run lock in a temporary folder.
@Suite struct StreamEndJudgeTests {
    static let resource = "sync_events"

    /// A state file in a fresh folder, and the confirmation records of the test resource beside it.
    struct Fixture {
        let folder: TemporaryFolder
        let state: StateFile
        let confirmation: EndConfirmation

        init() throws {
            folder = try TemporaryFolder()
            state = StateFile(path: folder.file(".conduit_state.json"))
            confirmation = EndConfirmation(stateFile: state, resource: StreamEndJudgeTests.resource)
        }

        /// The judgement for what the commit received, from the records naming `run`.
        func judge(run: RunLock, rows: Int, lastValue: StateValue?) -> StreamEnd {
            StreamEnd.judge(confirmation.records(for: run.run.id), rows: rows, lastValue: lastValue, resource: StreamEndJudgeTests.resource)
        }

        /// conduit-extract's end, confirmed to the run in progress without waiting.
        @discardableResult
        func extractEnds(rows: Int, lastValue: StateValue?) throws -> EndConfirmation.Outcome {
            try confirmation.confirm(rows: rows, lastValue: lastValue, wait: 0)
        }
    }

    static func isConfirmed(_ end: StreamEnd) -> Bool { end == .confirmed }

    /// The reason of an unconfirmed end, or nil for any other judgement.
    static func unconfirmedReason(_ end: StreamEnd) -> String? {
        guard case .unconfirmed(let reason, let status) = end else { return nil }
        // Unconfirmed is not a failure of this run: the complete groups still commit.
        #expect(status == .success)
        return reason
    }

    /// Guards that an extract that wrote no record (failed, stopped, cut off) leaves the end unconfirmed.
    @Test func noRecordIsUnconfirmed() throws {
        let fixture = try Fixture()
        let lock = try fixture.state.acquireRunLock(for: Self.resource)
        let end = fixture.judge(run: lock, rows: 3, lastValue: .number("3"))
        let reason = try #require(Self.unconfirmedReason(end))
        #expect(reason.contains("no conduit-extract of \(Self.resource) confirmed the end"), "\(reason)")
    }

    /// Guards that exactly one record of this run, with the rows and last value received, confirms the end.
    @Test(arguments: [StateValue.number("9007199254740993"), .string("2024-05-01T12:00:00.123456Z"), .string("b")])
    func oneMatchingRecordConfirms(lastValue: StateValue) throws {
        let fixture = try Fixture()
        let lock = try fixture.state.acquireRunLock(for: Self.resource)
        #expect(try fixture.extractEnds(rows: 7, lastValue: lastValue) == .confirmed(run: lock.run.id))
        let records = fixture.confirmation.records(for: lock.run.id)
        #expect(records.count == 1)
        #expect(records.first?.rows == 7)
        #expect(records.first?.lastValue == lastValue)
        #expect(records.first?.pid == Int(getpid()))
        #expect(fixture.judge(run: lock, rows: 7, lastValue: lastValue) == .confirmed)
    }

    /// Guards that the last values compare as values (SPEC 5: timestamps by instant, numbers numerically), not as text.
    @Test func sameValueWrittenDifferentlyConfirms() throws {
        let fixture = try Fixture()
        let lock = try fixture.state.acquireRunLock(for: Self.resource)
        try fixture.extractEnds(rows: 2, lastValue: .string("2024-05-01T12:00:00Z"))
        #expect(fixture.judge(run: lock, rows: 2, lastValue: .string("2024-05-01T14:00:00+02:00")) == .confirmed)
    }

    /// Guards that an empty extract (no rows, no last value) confirms an empty stream.
    @Test func emptyStreamConfirms() throws {
        let fixture = try Fixture()
        let lock = try fixture.state.acquireRunLock(for: Self.resource)
        try fixture.extractEnds(rows: 0, lastValue: nil)
        #expect(fixture.judge(run: lock, rows: 0, lastValue: nil) == .confirmed)
    }

    /// Guards that two records for the run (a second pipeline beside the first) leave the end unconfirmed, naming both pids.
    @Test func twoRecordsAreUnconfirmed() throws {
        let fixture = try Fixture()
        let lock = try fixture.state.acquireRunLock(for: Self.resource)
        try fixture.extractEnds(rows: 7, lastValue: .number("7"))
        try fixture.extractEnds(rows: 7, lastValue: .number("7"))
        let reason = try #require(Self.unconfirmedReason(fixture.judge(run: lock, rows: 7, lastValue: .number("7"))))
        #expect(reason.contains("2 runs of conduit-extract \(Self.resource)"), "\(reason)")
        #expect(reason.contains("\(getpid()), \(getpid())"), "\(reason)")
    }

    /// One way what arrived can differ from what the extract wrote.
    struct Mismatch: Sendable, CustomTestStringConvertible {
        var writtenRows: Int
        var writtenLast: StateValue?
        var receivedRows: Int
        var receivedLast: StateValue?
        var testDescription: String {
            "wrote \(writtenRows) to \(writtenLast?.plainText ?? "nil"), got \(receivedRows) to \(receivedLast?.plainText ?? "nil")"
        }
    }

    /// Guards that a record whose rows or last value differ from what arrived (a stage between cut
    /// or dropped rows) leaves the end unconfirmed.
    @Test(arguments: [
        Mismatch(writtenRows: 10, writtenLast: .number("10"), receivedRows: 9, receivedLast: .number("10")),
        Mismatch(writtenRows: 10, writtenLast: .number("10"), receivedRows: 11, receivedLast: .number("10")),
        Mismatch(writtenRows: 10, writtenLast: .number("10"), receivedRows: 10, receivedLast: .number("9")),
        Mismatch(writtenRows: 10, writtenLast: .number("10"), receivedRows: 10, receivedLast: nil),
        Mismatch(writtenRows: 10, writtenLast: nil, receivedRows: 10, receivedLast: .number("10")),
        Mismatch(writtenRows: 10, writtenLast: .number("10"), receivedRows: 10, receivedLast: .string("10")),
        Mismatch(writtenRows: 3, writtenLast: .string("2024-05-01T12:00:00Z"), receivedRows: 3, receivedLast: .string("2024-05-01T12:00:00+02:00")),
    ])
    func differingRecordIsUnconfirmed(_ mismatch: Mismatch) throws {
        let fixture = try Fixture()
        let lock = try fixture.state.acquireRunLock(for: Self.resource)
        try fixture.extractEnds(rows: mismatch.writtenRows, lastValue: mismatch.writtenLast)
        let end = fixture.judge(run: lock, rows: mismatch.receivedRows, lastValue: mismatch.receivedLast)
        let reason = try #require(Self.unconfirmedReason(end))
        #expect(reason.contains("wrote \(mismatch.writtenRows) rows"), "\(reason)")
        #expect(reason.contains("but \(mismatch.receivedRows) rows"), "\(reason)")
    }

    /// Guards that a record of another run (an earlier run's extract) is ignored: alone it
    /// confirms nothing, and beside this run's own record it does not make two.
    @Test func recordOfAnotherRunIsIgnored() throws {
        let fixture = try Fixture()
        let earlierRun: String
        do {
            let earlier = try fixture.state.acquireRunLock(for: Self.resource)
            earlierRun = earlier.run.id
            try fixture.extractEnds(rows: 5, lastValue: .number("5"))
            // That run ends here: its lock is released before the next run takes it.
            withExtendedLifetime(earlier) {}
        }
        let lock = try fixture.state.acquireRunLock(for: Self.resource)
        try #require(lock.run.id != earlierRun)
        #expect(fixture.confirmation.records(for: earlierRun).count == 1)
        #expect(Self.unconfirmedReason(fixture.judge(run: lock, rows: 5, lastValue: .number("5"))) != nil)

        try fixture.extractEnds(rows: 5, lastValue: .number("5"))
        #expect(fixture.confirmation.records(for: lock.run.id).count == 1)
        #expect(fixture.judge(run: lock, rows: 5, lastValue: .number("5")) == .confirmed)
    }

    /// Guards that lines in the records file that are not records (garbage, no rows, another
    /// run's id written by hand) neither confirm nor spoil this run's one record.
    @Test func malformedLinesAreNotRecords() throws {
        let fixture = try Fixture()
        let lock = try fixture.state.acquireRunLock(for: Self.resource)
        let id = lock.run.id
        let junk = "not json\n{\"run\":\"\(id)\",\"pid\":1}\n{\"run\":\"\(id)\",\"rows\":\"5\"}\n[\"\(id)\"]\n{\"run\":\"x\(id)\",\"rows\":5,\"last_value\":5}\n"
        try Data(junk.utf8).write(to: URL(fileURLWithPath: fixture.confirmation.path))
        #expect(fixture.confirmation.records(for: id).isEmpty)
        try fixture.extractEnds(rows: 5, lastValue: .number("5"))
        #expect(fixture.judge(run: lock, rows: 5, lastValue: .number("5")) == .confirmed)
    }

    /// Guards that an extract with no run in progress (no commit holds the run lock) writes no record.
    @Test func noRunInProgressWritesNothing() throws {
        let fixture = try Fixture()
        #expect(try fixture.extractEnds(rows: 5, lastValue: .number("5")) == .noRunInProgress)
        #expect(!FileManager.default.fileExists(atPath: fixture.confirmation.path))
    }

    /// Guards that `clear` removes the records, so a new run starts with none.
    @Test func clearRemovesRecords() throws {
        let fixture = try Fixture()
        let lock = try fixture.state.acquireRunLock(for: Self.resource)
        try fixture.extractEnds(rows: 1, lastValue: .number("1"))
        fixture.confirmation.clear()
        #expect(fixture.confirmation.records(for: lock.run.id).isEmpty)
    }
}
