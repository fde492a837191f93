import ChorusCore

/// What a leader knows about one follower's log, and how it is sending to it
/// (etcd raft's `tracker.Progress`; thesis §3.5 nextIndex/matchIndex, §10.2.2
/// pipelining).
///
///     probe ──(append accepted)──▶ replicate ──(append rejected)──▶ probe
///       │                                                              ▲
///       └──(needed entries compacted)──▶ snapshot ──(acknowledged / retry timeout)
///
/// * probe: one AppendEntries at a time, until one is accepted and the match
///   point is known; fast backtracking moves `next` back a whole term at a time.
/// * replicate: optimistic; `next` advances as soon as entries are sent, with
///   at most `maximumInflightMessages` unacknowledged messages in flight.
/// * snapshot: an InstallSnapshot is outstanding; nothing else is sent.
///
/// Invariant: `match < next`.
struct Progress: Sendable, Hashable {
    enum State: Sendable, Hashable, CustomStringConvertible {
        case probe
        case replicate
        case snapshot(pendingIndex: LogIndex)

        var description: String {
            switch self {
            case .probe: "StateProbe"
            case .replicate: "StateReplicate"
            case .snapshot(let index): "StateSnapshot(\(index.rawValue))"
            }
        }
    }

    let node: NodeID
    var match: LogIndex
    var next: LogIndex
    var state: State = .probe
    /// In probe state, an append is outstanding; the next one waits for its
    /// answer or for a heartbeat response.
    var probeSent = false
    var inflights: InflightWindow
    /// Heard from since the last CheckQuorum period.
    var recentActive = false
    /// The latest heartbeat round this follower acknowledged in this term.
    var acknowledgedRound: UInt64 = 0
    /// Ticks since the outstanding snapshot was sent (snapshot state only).
    var snapshotElapsedTicks = 0

    init(node: NodeID, next: LogIndex, inflightCapacity: Int) {
        self.node = node
        self.match = .zero
        self.next = next
        self.inflights = InflightWindow(capacity: inflightCapacity)
    }

    var isPaused: Bool {
        switch state {
        case .probe: probeSent
        case .replicate: inflights.isFull
        case .snapshot: true
        }
    }

    mutating func becomeProbe() {
        // After a snapshot, continue right after it; otherwise right after the match.
        if case .snapshot(let pendingIndex) = state {
            next = max(match.next, pendingIndex.next)
        } else {
            next = match.next
        }
        state = .probe
        probeSent = false
        inflights.reset()
    }

    mutating func becomeReplicate() {
        state = .replicate
        next = match.next
        probeSent = false
        inflights.reset()
    }

    mutating func becomeSnapshot(at index: LogIndex) {
        state = .snapshot(pendingIndex: index)
        probeSent = false
        snapshotElapsedTicks = 0
        inflights.reset()
    }

    /// Records an acceptance up to `index`. Returns whether the match advanced.
    mutating func acknowledge(upTo index: LogIndex) -> Bool {
        var advanced = false
        if index > match {
            match = index
            advanced = true
            probeSent = false
        }
        if next <= index { next = index.next }
        return advanced
    }

    /// Handles a rejection of `rejectedIndex` with the leader-computed probe
    /// point `probeIndex`. Returns false if the rejection is stale (answers an
    /// earlier message than the current probe).
    mutating func backtrack(rejectedIndex: LogIndex, probeIndex: LogIndex) -> Bool {
        if state == .replicate {
            // A rejection at or below the match is an old message's answer.
            guard rejectedIndex > match else { return false }
            next = match.next
            return true
        }
        // In probe state only the answer to the outstanding probe counts.
        guard next.rawValue > 0, next.previous == rejectedIndex else { return false }
        next = max(min(rejectedIndex, probeIndex.next), match.next)
        probeSent = false
        return true
    }

    /// Notes that entries through `lastIndex` went out in one message.
    mutating func sentEntries(through lastIndex: LogIndex) {
        switch state {
        case .replicate:
            next = lastIndex.next
            inflights.add(lastIndex)
        case .probe:
            probeSent = true
        case .snapshot:
            preconditionFailure("sent entries to \(node) in snapshot state")
        }
    }
}

/// A bounded ring of the last index of each unacknowledged AppendEntries to
/// one follower: the replication pipeline's window (thesis §10.2.2).
struct InflightWindow: Sendable, Hashable {
    /// Allocated on first use: most followers in probe state never need it.
    private var buffer: [LogIndex] = []
    private var start = 0
    private(set) var count = 0
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0, "an inflight window needs room for one message")
        self.capacity = capacity
    }

    var isFull: Bool { count == capacity }

    mutating func add(_ index: LogIndex) {
        precondition(!isFull, "inflight window overflow")
        if buffer.isEmpty { buffer = Array(repeating: .zero, count: capacity) }
        let newest = (start + count + capacity - 1) % capacity
        precondition(count == 0 || buffer[newest] < index, "inflight indices must increase")
        buffer[(start + count) % capacity] = index
        count += 1
    }

    /// Frees every message whose last index is at or below `index`.
    mutating func free(upTo index: LogIndex) {
        while count > 0 && buffer[start] <= index {
            start = (start + 1) % capacity
            count -= 1
        }
        if count == 0 { start = 0 }
    }

    /// Frees the oldest message (the leader's way to unstick a window whose
    /// acknowledgements were lost).
    mutating func freeFirst() {
        guard count > 0 else { return }
        start = (start + 1) % capacity
        count -= 1
        if count == 0 { start = 0 }
    }

    mutating func reset() {
        start = 0
        count = 0
    }
}
