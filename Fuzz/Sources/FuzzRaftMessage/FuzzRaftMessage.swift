import ChorusCore
import ChorusRaft
import FuzzedChorusWire
import FuzzSupport

/// Every Raft message's binary form (`MessageCodec`): decode, round trip, and
/// then step the decoded message into a `RaftNode`, as the node's transport
/// does. The codec's contract is that it "keeps the core's preconditions out
/// of a peer's reach": a message it accepts must never make the core trap.
///
/// Input: a state selector byte (which prepared node receives the message),
/// a tick count byte, then the message bytes. The message's addresses are
/// mapped onto the prepared cluster (to node 1, from node 2 or 3), as the
/// transport only passes on messages from the handshaken peer to this node.
enum RaftMessageHarness {
    static let limits = WireLimits(maximumFrameBytes: 1 << 20, maximumSnapshotBytes: 1 << 19)

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let selector = Int(input.byte())
        let ticks = Int(input.byte() % 24)
        let body = input.rest()
        guard var message = try? MessageCodec.decode(body, limits: limits) else { return }
        Check.roundTrip(
            message, "RaftMessage", encode: { value in try! MessageCodec.encoded(value, limits: limits) },
            decode: { (bytes: [UInt8]) throws(WireError) in try MessageCodec.decode(bytes, limits: limits) })

        let states = PreparedNodes.all
        var node = states[selector % states.count]
        message.to = node.id
        if message.from != NodeID(2) && message.from != NodeID(3) { message.from = NodeID(2 + message.from.rawValue % 2) }
        node.step(message)
        PreparedNodes.drain(&node)
        for _ in 0..<ticks {
            node.tick()
            PreparedNodes.drain(&node)
        }
    }

    static func seeds() -> [Seed] {
        func message(_ term: UInt64, _ payload: RaftMessage.Payload) -> [UInt8] {
            try! MessageCodec.encoded(RaftMessage(from: NodeID(2), to: NodeID(1), term: Term(term), payload: payload))
        }
        let configuration = MembershipConfiguration(voters: [NodeID(1), NodeID(2), NodeID(3)])
        let messages: [(String, [UInt8])] = [
            ("append", message(4, .appendEntries(.init(
                previousIndex: LogIndex(3), previousTerm: Term(2),
                entries: [
                    LogEntry(term: Term(4), index: LogIndex(4), payload: .empty),
                    LogEntry(term: Term(4), index: LogIndex(5), payload: .command([1, 0, 1, 1, 120, 1, 49])),
                    LogEntry(term: Term(4), index: LogIndex(6), payload: .configuration(configuration)),
                ],
                commit: LogIndex(4))))),
            ("append-response", message(2, .appendEntriesResponse(.init(index: LogIndex(3), rejected: false)))),
            ("append-reject", message(2, .appendEntriesResponse(.init(
                index: LogIndex(3), rejected: true, rejectHintIndex: LogIndex(1), rejectHintTerm: Term(1))))),
            ("vote", message(5, .requestVote(.init(
                isPreVote: false, lastLogIndex: LogIndex(9), lastLogTerm: Term(4), isLeadershipTransfer: false)))),
            ("pre-vote", message(5, .requestVote(.init(
                isPreVote: true, lastLogIndex: LogIndex(9), lastLogTerm: Term(4), isLeadershipTransfer: false)))),
            ("vote-response", message(1, .requestVoteResponse(.init(isPreVote: false, granted: true)))),
            ("heartbeat", message(2, .heartbeat(.init(commit: LogIndex(3), round: 7)))),
            ("heartbeat-response", message(2, .heartbeatResponse(.init(round: 1)))),
            ("snapshot", message(3, .installSnapshot(Snapshot(
                metadata: SnapshotMetadata(index: LogIndex(8), term: Term(3), configuration: configuration),
                data: Array("CHSM".utf8) + [1, 8, 0])))),
            ("timeout-now", message(2, .timeoutNow)),
            ("proposal", message(0, .proposal([[1, 0, 1, 1, 120, 1, 49], [1, 0, 2, 1, 121]]))),
            ("read-index", message(0, .readIndex(context: 42))),
            ("read-index-response", message(2, .readIndexResponse(index: LogIndex(3), context: 42))),
        ]
        var seeds: [Seed] = []
        for (position, (name, bytes)) in messages.enumerated() {
            seeds.append(Seed(name, [UInt8(position % PreparedNodes.all.count), UInt8(position % 3)] + bytes))
        }
        return seeds
    }
}

/// Nodes of the cluster {1, 2, 3} in the states a message can meet, built
/// once through the real protocol (so each is a state the core can reach)
/// and copied for every input.
enum PreparedNodes {
    static let all: [RaftNode] = [follower(), followerWithLog(), candidate(), leader(), learner()]

    static var configuration: RaftConfiguration {
        var configuration = RaftConfiguration(nodeID: NodeID(1))
        configuration.proposalForwardingEnabled = true
        return configuration
    }

    static func drain(_ node: inout RaftNode) {
        var rounds = 0
        while node.hasReady && rounds < 8 {
            node.advance(node.ready())
            rounds += 1
        }
    }

    static func follower() -> RaftNode {
        try! RaftNode(
            configuration: configuration,
            persistentState: .bootstrap(voters: [NodeID(1), NodeID(2), NodeID(3)]), randomSeed: 1)
    }

    /// A follower of node 2 in term 2 holding entries 1...3, 2 of them committed.
    static func followerWithLog() -> RaftNode {
        var node = follower()
        node.step(RaftMessage(
            from: NodeID(2), to: NodeID(1), term: Term(2),
            payload: .appendEntries(.init(
                previousIndex: .zero, previousTerm: .zero,
                entries: [
                    LogEntry(term: Term(1), index: LogIndex(1), payload: .empty),
                    LogEntry(term: Term(2), index: LogIndex(2), payload: .empty),
                    LogEntry(term: Term(2), index: LogIndex(3), payload: .command([1, 2, 3])),
                ],
                commit: LogIndex(2)))))
        drain(&node)
        precondition(node.lastIndex == LogIndex(3) && node.commitIndex == LogIndex(2), "follower setup")
        return node
    }

    /// A node that has started a (pre-)election.
    static func candidate() -> RaftNode {
        var node = follower()
        node.campaign()
        drain(&node)
        return node
    }

    /// Node 1 elected with node 2's votes, with a command appended.
    static func leader() -> RaftNode {
        var node = follower()
        node.campaign()
        var rounds = 0
        while node.role != .leader && rounds < 8 {
            rounds += 1
            guard node.hasReady else { break }
            let ready = node.ready()
            node.advance(ready)
            for message in ready.messages where message.to == NodeID(2) {
                if case .requestVote(let request) = message.payload {
                    node.step(RaftMessage(
                        from: NodeID(2), to: NodeID(1), term: message.term,
                        payload: .requestVoteResponse(.init(isPreVote: request.isPreVote, granted: true))))
                }
            }
        }
        drain(&node)
        precondition(node.role == .leader, "leader setup ended as \(node.role)")
        _ = try! node.propose([1, 0, 1, 1, 120, 1, 49])
        drain(&node)
        return node
    }

    /// Node 1 as a learner of the voters {2, 3}.
    static func learner() -> RaftNode {
        try! RaftNode(
            configuration: configuration,
            persistentState: .bootstrap(voters: [NodeID(2), NodeID(3)], learners: [NodeID(1)]), randomSeed: 1)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRaftMessage(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    RaftMessageHarness.run(FuzzMain.bytes(start, count))
    return 0
}

@main
struct FuzzRaftMessageMain {
    static func main() { FuzzMain.run(seeds: RaftMessageHarness.seeds, testOneInput: fuzzRaftMessage) }
}
