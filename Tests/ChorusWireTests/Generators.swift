import ChorusCore
import ChorusRaft

@testable import ChorusWire

/// Seeded random values for the codec's property tests.
struct WireValueGenerator {
    var random: SeededGenerator

    init(seed: UInt64) { random = SeededGenerator(seed: seed) }

    mutating func below(_ bound: UInt64) -> UInt64 { random.next() % bound }
    mutating func coin() -> Bool { random.next() & 1 == 1 }

    /// Mostly small numbers (the common case), sometimes huge ones (varint edges).
    mutating func number() -> UInt64 {
        switch below(4) {
        case 0: return below(128)
        case 1: return below(1 << 14)
        case 2: return below(1 << 40)
        default: return (random.next() >> below(64)) % (MessageCodec.maximumTermOrIndex + 1)
        }
    }

    mutating func node() -> NodeID { NodeID(1 + below(7)) }

    mutating func bytes(maximum: Int) -> [UInt8] {
        let count = Int(below(UInt64(maximum + 1)))
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    mutating func configuration() -> MembershipConfiguration {
        var voters: [NodeID] = []
        var learners: [NodeID] = []
        for id in 1...7 where below(3) > 0 {
            if coin() { voters.append(NodeID(UInt64(id))) } else { learners.append(NodeID(UInt64(id))) }
        }
        if voters.isEmpty { voters = [NodeID(9)] }
        return MembershipConfiguration(voters: voters, learners: learners)
    }

    mutating func entries(after previous: LogIndex, previousTerm: Term, maximumTerm: Term) -> [LogEntry] {
        var result: [LogEntry] = []
        var index = previous
        var term = previousTerm
        for _ in 0..<below(6) {
            index = index.next
            if coin() && term < maximumTerm { term = Term(term.rawValue + 1 + below(maximumTerm.rawValue - term.rawValue)) }
            let payload: LogEntry.Payload
            switch below(3) {
            case 0: payload = .empty
            case 1: payload = .command(bytes(maximum: 40))
            default: payload = .configuration(configuration())
            }
            result.append(LogEntry(term: term, index: index, payload: payload))
        }
        return result
    }

    mutating func snapshot(maximumTerm: Term) -> Snapshot {
        Snapshot(
            metadata: SnapshotMetadata(
                index: LogIndex(number()), term: Term(below(maximumTerm.rawValue + 1)), configuration: configuration()),
            data: bytes(maximum: 200))
    }

    mutating func message() -> RaftMessage {
        let from = node()
        var to = node()
        if to == from { to = NodeID(from.rawValue % 7 + 1) }
        let term = Term(1 + number() % (1 << 40))
        let payload: RaftMessage.Payload
        switch below(11) {
        case 0:
            let previousIndex = LogIndex(number() % (1 << 40))
            let previousTerm = Term(below(term.rawValue + 1))
            payload = .appendEntries(
                .init(
                    previousIndex: previousIndex, previousTerm: previousTerm,
                    entries: entries(after: previousIndex, previousTerm: previousTerm, maximumTerm: term),
                    commit: LogIndex(number())))
        case 1:
            payload = .appendEntriesResponse(
                .init(index: LogIndex(number()), rejected: coin(), rejectHintIndex: LogIndex(number()), rejectHintTerm: Term(number())))
        case 2:
            payload = .requestVote(
                .init(isPreVote: coin(), lastLogIndex: LogIndex(number()), lastLogTerm: Term(number()), isLeadershipTransfer: coin()))
        case 3: payload = .requestVoteResponse(.init(isPreVote: coin(), granted: coin()))
        case 4: payload = .heartbeat(.init(commit: LogIndex(number()), round: number()))
        case 5: payload = .heartbeatResponse(.init(round: number()))
        case 6: payload = .installSnapshot(snapshot(maximumTerm: term))
        case 7: payload = .timeoutNow
        case 8: payload = .proposal((0...below(4)).map { _ in bytes(maximum: 30) })
        case 9: payload = .readIndex(context: number())
        default: payload = .readIndexResponse(index: LogIndex(number()), context: number())
        }
        switch payload {
        case .proposal, .readIndex: return RaftMessage(from: from, to: to, term: .zero, payload: payload)
        default: return RaftMessage(from: from, to: to, term: term, payload: payload)
        }
    }
}
