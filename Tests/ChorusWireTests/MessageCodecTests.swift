import ChorusCore
import ChorusRaft
import Testing

@testable import ChorusWire

@Suite struct MessageCodecTests {
    @Test(arguments: 1...20 as ClosedRange<UInt64>)
    func everyMessageRoundTrips(seed: UInt64) throws {
        var generator = WireValueGenerator(seed: seed)
        var shared = ByteWriter(capacity: 256)
        for round in 0..<300 {
            let message = generator.message()
            let bytes = try MessageCodec.encoded(message)
            let decoded = try MessageCodec.decode(bytes)
            #expect(decoded == message, "seed \(seed) round \(round): \(message.kindName)")
            // Encoding into a reused writer appends exactly the same bytes.
            let start = shared.count
            try MessageCodec.encode(message, into: &shared)
            #expect(Array(shared.bytes[start...]) == bytes, "seed \(seed) round \(round)")
            if shared.count > 4_096 { shared.bytes.removeAll(keepingCapacity: true) }
        }
    }

    @Test func everyKindIsCovered() throws {
        var generator = WireValueGenerator(seed: 99)
        var kinds: Set<String> = []
        for _ in 0..<2_000 { kinds.insert(generator.message().kindName) }
        // 11 payload kinds; vote and pre-vote print differently, so 13 names.
        #expect(kinds.count == 13, "kinds seen: \(kinds.sorted())")
    }

    @Test func knownBytesForAHeartbeat() throws {
        let message = RaftMessage(from: 1, to: 2, term: 3, payload: .heartbeat(.init(commit: 300, round: 5)))
        // kind 5, from 1, to 2, term 3, commit 300 = 0xAC 0x02, round 5.
        #expect(try MessageCodec.encoded(message) == [5, 1, 2, 3, 0xAC, 0x02, 5])
    }

    @Test func semanticDamageIsRefusedNotTrapped() throws {
        func refuses(_ message: RaftMessage, _ comment: Comment) {
            let bytes = try! MessageCodec.encoded(message)
            #expect(throws: WireError.self, comment) { try MessageCodec.decode(bytes) }
        }
        let gap = RaftMessage(
            from: 1, to: 2, term: 5,
            payload: .appendEntries(
                .init(
                    previousIndex: 3, previousTerm: 1,
                    entries: [LogEntry(term: 2, index: 5, payload: .empty)], commit: 0)))
        refuses(gap, "entries must start right after previousIndex")
        let future = RaftMessage(
            from: 1, to: 2, term: 2,
            payload: .appendEntries(
                .init(previousIndex: 0, previousTerm: 0, entries: [LogEntry(term: 3, index: 1, payload: .empty)], commit: 0)))
        refuses(future, "an entry newer than the message's term")
        refuses(RaftMessage(from: 0, to: 2, term: 1, payload: .timeoutNow), "from node 0")
        refuses(RaftMessage(from: 2, to: 2, term: 1, payload: .timeoutNow), "to itself")
        refuses(RaftMessage(from: 1, to: 2, term: 0, payload: .proposal([])), "an empty proposal")
        // Only forwarded requests go without a term, and they always do.
        refuses(RaftMessage(from: 3, to: 2, term: 0, payload: .heartbeat(.init(commit: 0, round: 1))), "a heartbeat at term 0")
        refuses(
            RaftMessage(from: 2, to: 1, term: 0, payload: .appendEntriesResponse(.init(index: 1_000, rejected: false))),
            "an append response at term 0")
        refuses(RaftMessage(from: 1, to: 2, term: 3, payload: .readIndex(context: 1)), "a forwarded read with a term")
    }

    @Test func limitsAreEnforcedOnBothSides() throws {
        var limits = WireLimits.default
        limits.maximumEntriesPerMessage = 2
        let entries = (1...3).map { LogEntry(term: 1, index: LogIndex(UInt64($0)), payload: .empty) }
        let message = RaftMessage(
            from: 1, to: 2, term: 1, payload: .appendEntries(.init(previousIndex: 0, previousTerm: 0, entries: entries, commit: 0)))
        #expect(throws: WireError.tooLarge(what: "entry count", size: 3, limit: 2)) {
            try MessageCodec.encoded(message, limits: limits)
        }
        let bytes = try MessageCodec.encoded(message)
        do {
            _ = try MessageCodec.decode(bytes, limits: limits)
            Issue.record("three entries decoded under a limit of two")
        } catch {
            guard case .malformed(let reason) = error, case .lengthOutOfBounds(3, 2) = reason.reason else {
                Issue.record("unexpected error \(error)")
                return
            }
        }
        var commandLimits = WireLimits.default
        commandLimits.maximumCommandBytes = 8
        let big = RaftMessage(from: 1, to: 2, term: 1, payload: .proposal([Array(repeating: 7, count: 9)]))
        #expect(throws: WireError.self) { try MessageCodec.encoded(big, limits: commandLimits) }
        #expect(throws: WireError.self) { try MessageCodec.decode(try MessageCodec.encoded(big), limits: commandLimits) }
    }

    @Test func aForgedCountCannotForceAnAllocation() throws {
        // kind 1 (appendEntries), from 1, to 2, term 1, prev 0/0, commit 0, then a
        // count of 2^62 entries with nothing behind it.
        var writer = ByteWriter()
        for byte: UInt8 in [1, 1, 2, 1, 0, 0, 0] { writer.write(byte) }
        writer.writeVarint(UInt64(1) << 62)
        #expect(throws: WireError.self) { try MessageCodec.decode(writer.bytes) }
    }

    @Test func termsAndIndicesBeyondTwoToTheSixtyTwoAreRefused() throws {
        let huge = UInt64.max
        let messages: [RaftMessage] = [
            RaftMessage(from: 1, to: 2, term: Term(huge), payload: .timeoutNow),
            RaftMessage(from: 1, to: 2, term: 1, payload: .heartbeat(.init(commit: LogIndex(huge), round: 1))),
            RaftMessage(
                from: 1, to: 2, term: 1,
                payload: .appendEntries(.init(previousIndex: LogIndex(huge), previousTerm: 0, entries: [], commit: 0))),
            RaftMessage(from: 1, to: 2, term: 1, payload: .readIndexResponse(index: LogIndex(huge), context: 1)),
        ]
        for message in messages {
            #expect(throws: WireError.self, "\(message.kindName)") { try MessageCodec.decode(try MessageCodec.encoded(message)) }
        }
        #expect(throws: WireError.self) {
            try PersistenceRecord(decoding: PersistenceRecord.entries([LogEntry(term: 1, index: LogIndex(huge), payload: .empty)]).encoded())
        }
    }

    @Test func unknownKindsAndTrailingBytesAreRefused() throws {
        #expect(throws: WireError.unknownMessageKind(200)) { try MessageCodec.decode([200, 1, 2, 1]) }
        var bytes = try MessageCodec.encoded(RaftMessage(from: 1, to: 2, term: 1, payload: .timeoutNow))
        bytes.append(0)
        #expect(throws: WireError.self) { try MessageCodec.decode(bytes) }
        #expect(throws: WireError.self) { try MessageCodec.decode([]) }
    }
}
