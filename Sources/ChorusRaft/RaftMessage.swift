import ChorusCore

/// A message between two Raft servers (thesis figure 3.1 and chapters 4–6),
/// addressed and stamped with the sender's term.
///
/// Forwarded client requests (`proposal`, `readIndex`) carry `Term.zero`: they
/// are not part of the protocol between terms, only a way to hand a request to
/// the leader, so a stale or future term on them must not move anyone's term.
public struct RaftMessage: Sendable, Hashable {
    public var from: NodeID
    public var to: NodeID
    public var term: Term
    public var payload: Payload

    public init(from: NodeID, to: NodeID, term: Term, payload: Payload) {
        self.from = from
        self.to = to
        self.term = term
        self.payload = payload
    }

    public enum Payload: Sendable, Hashable {
        /// AppendEntries (§3.5), also used as the probe in probe state.
        case appendEntries(AppendEntries)
        case appendEntriesResponse(AppendEntriesResponse)
        /// RequestVote (§3.4) or the PreVote round before it (§9.6).
        case requestVote(VoteRequest)
        case requestVoteResponse(VoteResponse)
        /// An empty AppendEntries that only asserts leadership, carries the
        /// commit index and numbers a ReadIndex/lease round (§6.4).
        case heartbeat(Heartbeat)
        case heartbeatResponse(HeartbeatResponse)
        /// InstallSnapshot (§5.3), sent whole; answered by an `appendEntriesResponse`.
        case installSnapshot(Snapshot)
        /// Tells the leadership-transfer target to start an election now (§3.10).
        case timeoutNow
        /// Client commands forwarded by a follower to the leader.
        case proposal([[UInt8]])
        /// A read request forwarded by a follower to the leader (§6.4, step 1 on a follower).
        case readIndex(context: UInt64)
        /// The leader's answer: the read may be served once `index` is applied.
        case readIndexResponse(index: LogIndex, context: UInt64)
    }

    public struct AppendEntries: Sendable, Hashable {
        /// The index and term of the entry just before `entries` (prevLogIndex, prevLogTerm).
        public var previousIndex: LogIndex
        public var previousTerm: Term
        public var entries: [LogEntry]
        /// The leader's commit index (leaderCommit).
        public var commit: LogIndex

        public init(previousIndex: LogIndex, previousTerm: Term, entries: [LogEntry], commit: LogIndex) {
            self.previousIndex = previousIndex
            self.previousTerm = previousTerm
            self.entries = entries
            self.commit = commit
        }
    }

    public struct AppendEntriesResponse: Sendable, Hashable {
        /// On success, the index of the last entry now known to match the leader's
        /// log. On rejection, the `previousIndex` that did not match.
        public var index: LogIndex
        public var rejected: Bool
        /// On rejection, a hint for fast backtracking (thesis §5.3 end, etcd's
        /// `findConflictByTerm`): the largest index at or below `index` whose term
        /// is at most the leader's `previousTerm`, and that term. The leader skips
        /// back past whole terms instead of one entry per round trip.
        public var rejectHintIndex: LogIndex
        public var rejectHintTerm: Term

        public init(index: LogIndex, rejected: Bool, rejectHintIndex: LogIndex = .zero, rejectHintTerm: Term = .zero) {
            self.index = index
            self.rejected = rejected
            self.rejectHintIndex = rejectHintIndex
            self.rejectHintTerm = rejectHintTerm
        }
    }

    public struct VoteRequest: Sendable, Hashable {
        public var isPreVote: Bool
        public var lastLogIndex: LogIndex
        public var lastLogTerm: Term
        /// Set by a leadership-transfer target: voters grant it even while they
        /// still hear from the current leader (§3.10), which is why a leader that
        /// has sent `timeoutNow` never again trusts its lease in that term.
        public var isLeadershipTransfer: Bool

        public init(isPreVote: Bool, lastLogIndex: LogIndex, lastLogTerm: Term, isLeadershipTransfer: Bool) {
            self.isPreVote = isPreVote
            self.lastLogIndex = lastLogIndex
            self.lastLogTerm = lastLogTerm
            self.isLeadershipTransfer = isLeadershipTransfer
        }
    }

    public struct VoteResponse: Sendable, Hashable {
        public var isPreVote: Bool
        public var granted: Bool

        public init(isPreVote: Bool, granted: Bool) {
            self.isPreVote = isPreVote
            self.granted = granted
        }
    }

    public struct Heartbeat: Sendable, Hashable {
        /// min(leader commit, follower match): a follower never learns a commit
        /// index beyond what it is known to hold.
        public var commit: LogIndex
        /// The leader's heartbeat round, echoed back to confirm reads and leases.
        public var round: UInt64

        public init(commit: LogIndex, round: UInt64) {
            self.commit = commit
            self.round = round
        }
    }

    public struct HeartbeatResponse: Sendable, Hashable {
        public var round: UInt64

        public init(round: UInt64) { self.round = round }
    }

    /// The message's kind in etcd raft's vocabulary, for traces.
    public var kindName: String {
        switch payload {
        case .appendEntries: "MsgApp"
        case .appendEntriesResponse: "MsgAppResp"
        case .requestVote(let request): request.isPreVote ? "MsgPreVote" : "MsgVote"
        case .requestVoteResponse(let response): response.isPreVote ? "MsgPreVoteResp" : "MsgVoteResp"
        case .heartbeat: "MsgHeartbeat"
        case .heartbeatResponse: "MsgHeartbeatResp"
        case .installSnapshot: "MsgSnap"
        case .timeoutNow: "MsgTimeoutNow"
        case .proposal: "MsgProp"
        case .readIndex: "MsgReadIndex"
        case .readIndexResponse: "MsgReadIndexResp"
        }
    }

    /// Whether this message is a vote or pre-vote request.
    var isVoteRequest: Bool {
        if case .requestVote = payload { return true }
        return false
    }
}
