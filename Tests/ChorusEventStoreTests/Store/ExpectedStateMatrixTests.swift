import ChorusCore
import Testing

@testable import ChorusEventStore

/// Every expected state × stream state × idempotency case, each with the
/// exact result and what a read returns afterwards.
///
/// Setups (stream `s`): absent; existing = `no_stream` append of ids 1, 2
/// (revisions 0–1, positions 0–1); soft-deleted = existing + soft delete;
/// hard-deleted = existing + hard delete. The original append A is ids
/// 10, 11 under the cell's expected state. The window holds 8 ids, so eight
/// events appended to another stream push A's ids out of it.
@Suite struct ExpectedStateMatrixTests {
    enum Setup: String, CaseIterable { case absent, existing, softDeleted, hardDeleted }

    enum Case: String, CaseIterable {
        /// A alone.
        case fresh
        /// A, then A again.
        case exactRetry
        /// A, then ids 11, 12.
        case partialOverlap
        /// A, then ids 99, 11.
        case firstIDDiffers
        /// Ids 20, 20 instead of A.
        case duplicateInBatch
        /// A, eight events elsewhere, then A again.
        case retryPastWindow
    }

    enum Expect: Equatable, CustomStringConvertible {
        case placed(Placement)
        case wrong(ActualStreamState, WrongExpectedVersionCause)
        case deleted
        case duplicate

        var description: String {
            switch self {
            case .placed(let placement): "\(placement)"
            case .wrong(let actual, let cause): "wev(\(actual), \(cause))"
            case .deleted: "deleted"
            case .duplicate: "duplicate"
            }
        }
    }

    enum ReadExpect: Equatable {
        case pairs([Pair])
        case notFound
        case deleted
    }

    static let expectations: [(String, ExpectedState)] = [
        ("any", .any), ("no_stream", .noStream), ("stream_exists", .streamExists), ("rev1", .revision(1)),
        ("rev5", .revision(5)),
    ]

    static let stream: StreamName = "s"

    func prepare(_ setup: Setup) -> Harness {
        var harness = Harness()
        if setup == .absent { return harness }
        #expect(harness.append(Self.stream, .noStream, [1, 2]).isSuccess)
        switch setup {
        case .softDeleted: #expect(harness.run(.softDelete(stream: Self.stream, expected: .any)).isSuccess)
        case .hardDeleted: #expect(harness.run(.hardDelete(stream: Self.stream, expected: .any)).isSuccess)
        default: break
        }
        return harness
    }

    func reduce(_ result: EventStoreResult) -> Expect? {
        switch result {
        case .appended(let outcome): return .placed(Placement(outcome))
        case .wrongExpectedVersion(let failure): return .wrong(failure.actual, failure.cause)
        case .streamDeleted: return .deleted
        case .invalidEvent(let invalid) where invalid.problem == .duplicateEventID(EventID(high: 0, low: 20)):
            return invalid.eventIndex == 1 ? .duplicate : nil
        default: return nil
        }
    }

    /// (setup, expectation, case) → (result of the last append, read afterwards).
    static let table: [String: (Expect, ReadExpect)] = {
        let w = { (revisions: ClosedRange<UInt64>, positions: ClosedRange<UInt64>) in Expect.placed(Placement(revisions, at: positions)) }
        let r = { (revisions: ClosedRange<UInt64>, positions: ClosedRange<UInt64>) in
            Expect.placed(Placement(revisions, at: positions, .alreadyWritten))
        }
        let mismatch = { (actual: ActualStreamState) in Expect.wrong(actual, .stateMismatch) }
        let partial = { (actual: ActualStreamState) in Expect.wrong(actual, .partialRetry) }
        let absentA: ReadExpect = .pairs([Pair(0, 10), Pair(1, 11)])
        let existing: ReadExpect = .pairs([Pair(0, 1), Pair(1, 2)])
        let existingA: ReadExpect = .pairs([Pair(0, 1), Pair(1, 2), Pair(2, 10), Pair(3, 11)])
        let softA: ReadExpect = .pairs([Pair(2, 10), Pair(3, 11)])
        var table: [String: (Expect, ReadExpect)] = [:]
        func row(_ setup: Setup, _ expected: String, _ rows: [Case: (Expect, ReadExpect)]) {
            for (kase, value) in rows { table["\(setup.rawValue) \(expected) \(kase.rawValue)"] = value }
        }

        // MARK: absent
        for expected in ["any", "no_stream"] {
            row(.absent, expected, [
                .fresh: (w(0...1, 0...1), absentA),
                .exactRetry: (r(0...1, 0...1), absentA),
                .partialOverlap: (partial(.revision(1)), absentA),
                .firstIDDiffers: (partial(.revision(1)), absentA),
                .duplicateInBatch: (.duplicate, .notFound),
            ])
        }
        // With any, the ids are forgotten: the retry is appended again.
        row(.absent, "any", [.retryPastWindow: (w(2...3, 10...11), .pairs([Pair(0, 10), Pair(1, 11), Pair(2, 10), Pair(3, 11)]))])
        // With no_stream, the retained events are checked where the stream began.
        row(.absent, "no_stream", [.retryPastWindow: (r(0...1, 0...1), absentA)])
        for expected in ["stream_exists", "rev1", "rev5"] {
            row(.absent, expected, [
                .fresh: (mismatch(.absent), .notFound),
                .exactRetry: (mismatch(.absent), .notFound),
                .partialOverlap: (mismatch(.absent), .notFound),
                .firstIDDiffers: (mismatch(.absent), .notFound),
                .duplicateInBatch: (.duplicate, .notFound),
                .retryPastWindow: (mismatch(.absent), .notFound),
            ])
        }

        // MARK: existing (last revision 1)
        for expected in ["any", "stream_exists", "rev1"] {
            row(.existing, expected, [
                .fresh: (w(2...3, 2...3), existingA),
                .exactRetry: (r(2...3, 2...3), existingA),
                .partialOverlap: (partial(.revision(3)), existingA),
                .firstIDDiffers: (partial(.revision(3)), existingA),
                .duplicateInBatch: (.duplicate, existing),
            ])
        }
        let twice: ReadExpect = .pairs([Pair(0, 1), Pair(1, 2), Pair(2, 10), Pair(3, 11), Pair(4, 10), Pair(5, 11)])
        row(.existing, "any", [.retryPastWindow: (w(4...5, 12...13), twice)])
        row(.existing, "stream_exists", [.retryPastWindow: (w(4...5, 12...13), twice)])
        row(.existing, "rev1", [.retryPastWindow: (r(2...3, 2...3), existingA)])
        for expected in ["no_stream", "rev5"] {
            row(.existing, expected, [
                .fresh: (mismatch(.revision(1)), existing),
                .exactRetry: (mismatch(.revision(1)), existing),
                .partialOverlap: (mismatch(.revision(1)), existing),
                .firstIDDiffers: (mismatch(.revision(1)), existing),
                .duplicateInBatch: (.duplicate, existing),
                .retryPastWindow: (mismatch(.revision(1)), existing),
            ])
        }

        // MARK: soft-deleted (last revision 1; reads as absent; numbering continues)
        for expected in ["any", "no_stream", "rev1"] {
            row(.softDeleted, expected, [
                .fresh: (w(2...3, 2...3), softA),
                .exactRetry: (r(2...3, 2...3), softA),
                .partialOverlap: (partial(.revision(3)), softA),
                .firstIDDiffers: (partial(.revision(3)), softA),
                .duplicateInBatch: (.duplicate, .notFound),
            ])
        }
        row(.softDeleted, "any", [.retryPastWindow: (w(4...5, 12...13), .pairs([Pair(2, 10), Pair(3, 11), Pair(4, 10), Pair(5, 11)]))])
        row(.softDeleted, "no_stream", [.retryPastWindow: (r(2...3, 2...3), softA)])
        row(.softDeleted, "rev1", [.retryPastWindow: (r(2...3, 2...3), softA)])
        for expected in ["stream_exists", "rev5"] {
            let soft = ActualStreamState.softDeleted(lastRevision: 1)
            row(.softDeleted, expected, [
                .fresh: (mismatch(soft), .notFound),
                .exactRetry: (mismatch(soft), .notFound),
                .partialOverlap: (mismatch(soft), .notFound),
                .firstIDDiffers: (mismatch(soft), .notFound),
                .duplicateInBatch: (.duplicate, .notFound),
                .retryPastWindow: (mismatch(soft), .notFound),
            ])
        }

        // MARK: hard-deleted: every append is refused, retries included
        for (expected, _) in expectations {
            row(.hardDeleted, expected, [
                .fresh: (.deleted, .deleted), .exactRetry: (.deleted, .deleted), .partialOverlap: (.deleted, .deleted),
                .firstIDDiffers: (.deleted, .deleted), .duplicateInBatch: (.duplicate, .deleted),
                .retryPastWindow: (.deleted, .deleted),
            ])
        }
        return table
    }()

    @Test func tableCoversEveryCell() {
        #expect(Self.table.count == Setup.allCases.count * Self.expectations.count * Case.allCases.count)
    }

    @Test(arguments: Setup.allCases, Case.allCases)
    func scenario(setup: Setup, kase: Case) throws {
        for (name, expected) in Self.expectations {
            let cell = "\(setup.rawValue) \(name) \(kase.rawValue)"
            let (want, wantRead) = try #require(Self.table[cell], "no expectation for \(cell)")
            var harness = prepare(setup)
            let original = StreamAppend(stream: Self.stream, expected: expected, events: [event(10), event(11)])
            let result: EventStoreResult
            switch kase {
            case .fresh:
                result = harness.run(.append(original))
            case .exactRetry:
                let first = harness.run(.append(original))
                result = harness.run(.append(original))
                if case .appended(let outcome) = first {
                    #expect(outcome.disposition == .written, "\(cell)")
                    #expect(Placement(outcome).revisions == (try #require(reduce(result).flatMap(placement))).revisions, "\(cell)")
                } else {
                    #expect(first == result, "\(cell): a failed append's retry fails the same way")
                }
            case .partialOverlap:
                harness.run(.append(original))
                result = harness.append(Self.stream, expected, [11, 12])
            case .firstIDDiffers:
                harness.run(.append(original))
                result = harness.append(Self.stream, expected, [99, 11])
            case .duplicateInBatch:
                result = harness.append(Self.stream, expected, [20, 20])
            case .retryPastWindow:
                harness.run(.append(original))
                harness.append("other", .any, [100, 101, 102, 103])
                harness.append("other", .any, [104, 105, 106, 107])
                result = harness.run(.append(original))
            }
            #expect(reduce(result) == want, "\(cell): got \(result)")
            if case .wrongExpectedVersion(let failure) = result {
                #expect(failure.expected == expected && failure.stream == Self.stream, "\(cell)")
            }
            let read: ReadExpect
            switch harness.read(Self.stream) {
            case .events(let page): read = .pairs(page.events.map { Pair($0.revision.rawValue, $0.id.low) })
            case .streamNotFound: read = .notFound
            case .streamDeleted: read = .deleted
            case .asOfNotRetained: read = .notFound
            }
            #expect(read == wantRead, "\(cell): read \(read)")
        }
    }

    func placement(_ expect: Expect) -> Placement? {
        if case .placed(let placement) = expect { return placement }
        return nil
    }

    /// The window also forgets by age: past `idempotencyWindowMaxAge` an `any`
    /// retry is appended again, and the result's horizon says how far back it looked.
    @Test func retryPastTheWindowAge() {
        var harness = Harness()
        let original = StreamAppend(stream: "s", expected: .any, events: [event(10)])
        guard case .appended(let first) = harness.run(.append(original)) else {
            Issue.record("first append failed")
            return
        }
        #expect(first.idempotencyHorizon == nil, "the window was empty")
        guard case .appended(let retry) = harness.run(.append(original), advancing: 59_000_000) else {
            Issue.record("retry failed")
            return
        }
        #expect(retry.disposition == .alreadyWritten)
        #expect(retry.idempotencyHorizon == IdempotencyHorizon(oldestPosition: 0, oldestRecordedTime: first.firstPositionTime(harness)))
        guard case .appended(let late) = harness.run(.append(original), advancing: 2_000_000) else {
            Issue.record("late retry failed")
            return
        }
        #expect(late.disposition == .written)
        #expect(Placement(late) == Placement(1...1, at: 1...1))
        #expect(late.idempotencyHorizon == nil, "everything older than a minute was forgotten")
        #expect(harness.revisionsAndIDs("s") == [Pair(0, 10), Pair(1, 10)])
    }

    /// A retry under an expectation the original did not meet is refused with
    /// the actual revision, even though the ids match.
    @Test func retryWithADifferentExpectedRevision() {
        var harness = Harness()
        harness.append("s", .noStream, [1, 2])
        harness.append("s", .revision(1), [3])
        #expect(
            harness.append("s", .revision(0), [3])
                == .wrongExpectedVersion(
                    WrongExpectedVersion(stream: "s", expected: .revision(0), actual: .revision(2), cause: .retryWithDifferentExpectation)))
        #expect(
            harness.append("s", .noStream, [3])
                == .wrongExpectedVersion(
                    WrongExpectedVersion(stream: "s", expected: .noStream, actual: .revision(2), cause: .retryWithDifferentExpectation)))
        // stream_exists held when [3] was written; no_stream held when [1, 2] was.
        guard case .appended(let exists) = harness.append("s", .streamExists, [3]),
            case .appended(let created) = harness.append("s", .noStream, [1, 2])
        else {
            Issue.record("expected two retries")
            return
        }
        #expect(Placement(exists) == Placement(2...2, at: 2...2, .alreadyWritten))
        #expect(Placement(created) == Placement(0...1, at: 0...1, .alreadyWritten))
        // A part of an earlier batch is not that batch.
        #expect(
            harness.append("s", .noStream, [1])
                == .wrongExpectedVersion(
                    WrongExpectedVersion(stream: "s", expected: .noStream, actual: .revision(2), cause: .partialRetry)))
        #expect(harness.revisionsAndIDs("s") == [Pair(0, 1), Pair(1, 2), Pair(2, 3)])
    }

    /// Past the window, after a soft delete: `no_stream` holds again, so its
    /// retry is written again; `revision r` is recognised while the events are
    /// retained and refused once they are scavenged (README, "Past the window").
    @Test func retriesPastTheWindowAfterASoftDelete() {
        var harness = Harness()
        harness.append("s", .noStream, [10])
        harness.append("t", .noStream, [1])
        harness.append("t", .revision(0), [20])
        harness.run(.softDelete(stream: "s", expected: .any))
        harness.run(.softDelete(stream: "t", expected: .any))
        harness.append("other", .any, [100, 101, 102, 103])
        harness.append("other", .any, [104, 105, 106, 107])
        guard case .appended(let again) = harness.append("s", .noStream, [10]),
            case .appended(let recognised) = harness.append("t", .revision(0), [20])
        else {
            Issue.record("expected two successes")
            return
        }
        #expect(Placement(again) == Placement(1...1, at: 11...11))
        #expect(Placement(recognised) == Placement(1...1, at: 2...2, .alreadyWritten))
        harness.append("other", .any, [108, 109, 110, 111])
        harness.append("other", .any, [112, 113, 114, 115])
        harness.run(.scavenge)
        #expect(
            harness.append("t", .revision(0), [20])
                == .wrongExpectedVersion(
                    WrongExpectedVersion(stream: "t", expected: .revision(0), actual: .softDeleted(lastRevision: 1), cause: .stateMismatch)))
    }

    /// Ids are scoped by stream: the same ids in another stream are a new write.
    @Test func idsAreScopedByStream() {
        var harness = Harness()
        harness.append("a", .any, [1, 2])
        guard case .appended(let other) = harness.append("b", .any, [1, 2]) else {
            Issue.record("append to b failed")
            return
        }
        #expect(Placement(other) == Placement(0...1, at: 2...3))
    }

    /// A retry is recognised after the original events were deleted and
    /// scavenged, while the ids are in the window (positions come from it).
    @Test func retryAfterSoftDeleteAndScavenge() {
        var harness = Harness()
        harness.append("s", .any, [1, 2])
        harness.run(.softDelete(stream: "s", expected: .any))
        #expect(harness.run(.scavenge) == .scavenged(ScavengeReport(removedEvents: 2, removedPayloadBytes: 24, retainedEvents: 0, automatic: false)))
        guard case .appended(let retry) = harness.append("s", .any, [1, 2]) else {
            Issue.record("retry refused")
            return
        }
        #expect(Placement(retry) == Placement(0...1, at: 0...1, .alreadyWritten))
        #expect(harness.read("s") == .streamNotFound("s"))
    }
}

extension AppendOutcome {
    func firstPositionTime(_ harness: Harness) -> RecordedTime {
        guard case .events(let page) = harness.store.readAll(AllReadRequest(from: .position(firstPosition), maximumCount: 1)) else {
            return .epoch
        }
        return page.events.first?.recordedTime ?? .epoch
    }
}
