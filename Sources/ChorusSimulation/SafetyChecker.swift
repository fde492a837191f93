import ChorusCore
import ChorusRaft

/// A property that failed, with enough detail to start debugging from the seed.
public struct Violation: Sendable, Hashable, CustomStringConvertible {
    public enum Property: String, Sendable, Hashable, CaseIterable {
        case electionSafety = "election-safety"
        case logMatching = "log-matching"
        case leaderCompleteness = "leader-completeness"
        case stateMachineSafety = "state-machine-safety"
        case monotonicCommitIndex = "monotonic-commit-index"
        case linearizability = "linearizability"
        /// An event-store property (`ChorusCheck.EventStoreProperty`), named in the detail.
        case eventStore = "event-store"
        /// The guarantee of a weaker read level (session, staleness, prefix,
        /// sequential), named in the detail.
        case consistencyLevel = "consistency-level"
        /// A saga guarantee (`ChorusSagas.SagaChecker`, or the saga workload's own checks), named in the detail.
        case sagas = "sagas"
        case convergence = "convergence"
        case liveness = "liveness"
        case recovery = "recovery"
        // Leaderless keyspaces (`LeaderlessSimulation`).
        /// An acknowledged write is neither current nor superseded by a write that saw it.
        case lostWrite = "no-lost-acknowledged-write"
        /// A write acknowledged by d durable replicas is in fewer than d durable logs.
        case durability = "durability"
        /// The causal keyspace's history is not causally consistent (CC).
        case causalConsistency = "causal-consistency"
        /// A session guarantee failed on the keys that can be judged (`LeaderlessHistoryExport`).
        case sessionGuarantees = "session-guarantees"
    }

    public var property: Property
    public var detail: String
    /// Virtual microseconds at which it was detected.
    public var time: UInt64

    public var description: String { "\(property.rawValue) at \(Double(time) / 1_000_000)s: \(detail)" }
}

/// Raft's safety properties (thesis §3.6.3, figure 3.2), checked as the
/// simulation runs, on what each server's `Ready`s reveal:
///
/// * election safety: at most one leader per term, and (its premise) at most
///   one vote per server per term, even across crashes;
/// * log matching: two logs with an entry of the same index and term hold the
///   same entry there and the same entries before it;
/// * leader completeness: a leader of term T holds every entry committed in a
///   term before T;
/// * state-machine safety: no two servers apply different entries at one index;
/// * monotonic commit index: within one run of a server, its commit index never
///   decreases.
struct SafetyChecker {
    /// term → leader.
    private var leaders: [Term: NodeID] = [:]
    /// (voter, term) → the candidate it granted its vote to.
    private var votes: [VoteKey: NodeID] = [:]
    /// (index, term) → payload digest, for every entry any server persisted.
    private var persisted: [EntryKey: UInt32] = [:]
    /// index → (term, digest, the lowest term in which a server knew it committed).
    private var committed: [LogIndex: CommittedRecord] = [:]
    private(set) var highestCommitted: LogIndex = .zero
    /// Per server (index = number − 1): the last commit index seen in this run.
    private var lastCommit: [LogIndex]
    private(set) var violation: Violation?

    struct EntryKey: Hashable { var index: LogIndex; var term: Term }
    struct VoteKey: Hashable { var voter: NodeID; var term: Term }
    struct CommittedRecord { var term: Term; var digest: UInt32; var knownInTerm: Term }

    init(serverCount: Int) {
        lastCommit = Array(repeating: .zero, count: serverCount)
    }

    static func digest(_ entry: LogEntry) -> UInt32 {
        var writer = ByteWriter(capacity: 32)
        RaftCoding.write(entry, to: &writer)
        return CRC32C.checksum(writer.bytes)
    }

    private mutating func fail(_ property: Violation.Property, _ detail: String, at time: UInt64) {
        if violation == nil { violation = Violation(property: property, detail: detail, time: time) }
    }

    mutating func recordRecoveryFailure(_ detail: String, at time: UInt64) { fail(.recovery, detail, at: time) }
    mutating func recordConvergenceFailure(_ detail: String, at time: UInt64) { fail(.convergence, detail, at: time) }
    mutating func recordLivenessFailure(_ detail: String, at time: UInt64) { fail(.liveness, detail, at: time) }
    mutating func recordLinearizabilityFailure(_ detail: String, at time: UInt64) { fail(.linearizability, detail, at: time) }
    mutating func recordEventStoreFailure(_ detail: String, at time: UInt64) { fail(.eventStore, detail, at: time) }
    mutating func recordLevelFailure(_ detail: String, at time: UInt64) { fail(.consistencyLevel, detail, at: time) }
    mutating func recordSagaFailure(_ detail: String, at time: UInt64) { fail(.sagas, detail, at: time) }

    /// A server restarted: its commit index may legitimately restart lower.
    mutating func serverRestarted(_ server: Int) { lastCommit[server - 1] = .zero }

    /// Called when a `Ready`'s messages actually leave (after its fsync): a
    /// vote counts only once its response is sent.
    mutating func observeSent(_ messages: [RaftMessage], server: Int, time: UInt64) {
        let node = NodeID(UInt64(server))
        for message in messages {
            // Each server votes for at most one candidate per term (thesis §3.4),
            // the premise of election safety, across crashes too (§3.8).
            guard case .requestVoteResponse(let response) = message.payload, response.granted, !response.isPreVote else {
                continue
            }
            let key = VoteKey(voter: node, term: message.term)
            if let earlier = votes[key], earlier != message.to {
                fail(
                    .electionSafety,
                    "\(node) voted for \(earlier) and for \(message.to) in term \(message.term.rawValue)", at: time)
            }
            votes[key] = message.to
        }
    }

    /// Called for every `Ready`, before any of its messages leave.
    mutating func observe(ready: Ready, server: Int, raft: RaftNode, time: UInt64) {
        let node = NodeID(UInt64(server))
        if let soft = ready.softState, soft.role == .leader {
            if let existing = leaders[raft.term], existing != node {
                fail(.electionSafety, "\(existing) and \(node) both lead term \(raft.term.rawValue)", at: time)
            }
            leaders[raft.term] = node
            checkLeaderCompleteness(raft: raft, node: node, time: time)
        }
        for entry in ready.entries {
            let key = EntryKey(index: entry.index, term: entry.term)
            let digest = Self.digest(entry)
            if let existing = persisted[key], existing != digest {
                fail(.logMatching, "\(node) persisted a different entry at \(entry.index) in term \(entry.term.rawValue)", at: time)
            }
            persisted[key] = digest
        }
        if raft.commitIndex < lastCommit[server - 1] {
            fail(
                .monotonicCommitIndex,
                "\(node) commit index went from \(lastCommit[server - 1].rawValue) to \(raft.commitIndex.rawValue)", at: time)
        }
        lastCommit[server - 1] = raft.commitIndex
        for entry in ready.committedEntries {
            recordCommitted(entry, knownInTerm: raft.term, node: node, time: time)
        }
    }

    private mutating func recordCommitted(_ entry: LogEntry, knownInTerm: Term, node: NodeID, time: UInt64) {
        let digest = Self.digest(entry)
        if let existing = committed[entry.index] {
            if existing.term != entry.term || existing.digest != digest {
                fail(
                    .stateMachineSafety,
                    "\(node) applies \(entry.term.rawValue)/\(entry.index.rawValue) where another server applied \(existing.term.rawValue)/\(entry.index.rawValue)",
                    at: time)
            }
            if knownInTerm < existing.knownInTerm { committed[entry.index]!.knownInTerm = knownInTerm }
        } else {
            committed[entry.index] = CommittedRecord(term: entry.term, digest: digest, knownInTerm: knownInTerm)
            if entry.index > highestCommitted { highestCommitted = entry.index }
        }
    }

    /// A new leader of term T must hold every entry known committed before T.
    private mutating func checkLeaderCompleteness(raft: RaftNode, node: NodeID, time: UInt64) {
        guard highestCommitted > raft.snapshotMetadata.index else { return }
        var index = raft.snapshotMetadata.index.next
        while index <= highestCommitted {
            defer { index = index.next }
            guard let record = committed[index], record.knownInTerm < raft.term else { continue }
            guard let entry = raft.entry(at: index), entry.term == record.term, Self.digest(entry) == record.digest else {
                fail(
                    .leaderCompleteness,
                    "\(node) leads term \(raft.term.rawValue) without entry \(record.term.rawValue)/\(index.rawValue), committed in term \(record.knownInTerm.rawValue)",
                    at: time)
                return
            }
        }
    }

    /// The full log-matching check across live servers: wherever two logs hold
    /// an entry with the same index and term, they agree on it and on every
    /// earlier entry both still hold.
    mutating func checkLogMatching(_ rafts: [(Int, RaftNode)], time: UInt64) {
        for first in 0..<rafts.count {
            for second in (first + 1)..<max(first + 1, rafts.count) {
                let (a, left) = rafts[first]
                let (b, right) = rafts[second]
                let low = max(left.firstIndex, right.firstIndex)
                var high = min(left.lastIndex, right.lastIndex)
                // Find the highest index where both hold the same term.
                while high >= low, high > .zero, left.term(at: high) != right.term(at: high) { high = high.previous }
                guard high >= low, high > .zero else { continue }
                var index = low
                while index <= high {
                    guard let x = left.entry(at: index), let y = right.entry(at: index), x == y else {
                        fail(
                            .logMatching,
                            "n\(a) and n\(b) agree on the term at \(high.rawValue) but differ at \(index.rawValue)", at: time)
                        return
                    }
                    index = index.next
                }
            }
        }
    }
}
