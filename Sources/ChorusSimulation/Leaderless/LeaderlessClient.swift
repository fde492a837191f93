import ChorusCRDT
import ChorusClocks
import ChorusCore
import ChorusReplication

/// A client process with its session, one operation at a time (so its
/// history is a sequence, as the session and causal checkers need). It plays
/// the front end too: it stamps writes with its hybrid logical clock, keeps
/// the causal session token of the causal keyspace, the contexts it read,
/// and, for `session` reads, checks replies against what it has seen.
struct LeaderlessClient {
    let index: Int
    /// This client's clock runs this many parts per thousand fast (or slow).
    let clockDriftPartsPerThousand: Int
    var writesIssued = 0
    /// Stamps versioned and register writes. It observes every timestamp the
    /// client reads, so a write is stamped after everything in its causal
    /// past (hybrid logical clocks keep Lamport's rule): the timestamp order
    /// that picks one of several siblings then never contradicts causality.
    var clock = HybridLogicalClock()
    /// The causal keyspace's session (issue 13's token, leaderless half).
    var causalSession = LeaderlessSessionState()
    /// The latest context read or written per versioned key: what the next
    /// write with a context sends.
    var contexts: [ObjectKey: VersionVector] = [:]
    /// Everything the session has seen per key: a `session` read must cover it.
    var sessionContexts: [ObjectKey: VersionVector] = [:]
    /// Set elements this client has seen, candidates for its removes.
    var seenElements: [[UInt8]] = []
    /// The generation of each of this client's single-writer (chain) keys,
    /// per keyspace and slot: a chain whose write got no definite answer is
    /// retired (see `LeaderlessHistoryExport`).
    var chainGenerations: [KeyspaceID: [Int]] = [:]
    var chainWrites: [KeyspaceID: Int] = [:]
    var current: InFlight?
    /// The second read of a probe (`chainToRead`): the key written before the one just read.
    var probeFollowUp: ObjectKey?
    /// The keyspace whose other chain this client writes next (a cause, then its effect).
    var pairedChainWrite: KeyspaceID?

    struct InFlight {
        var historyIndex: Int
        var request: ClientRequestID
        var attempts: Int
    }

    init(index: Int, clockDriftPartsPerThousand: Int) {
        self.index = index
        self.clockDriftPartsPerThousand = clockDriftPartsPerThousand
    }

    /// The client's physical clock at simulated time `now`.
    func physicalTime(at now: UInt64) -> UInt64 {
        UInt64(Int64(now) + Int64(now) * Int64(clockDriftPartsPerThousand) / 1_000)
    }

    /// A fresh unique value, `c<client>-<n>`.
    mutating func nextValue() -> String {
        writesIssued += 1
        return "c\(index + 1)-\(writesIssued)"
    }

    mutating func stamp(at now: UInt64) -> HybridTimestamp {
        (try? clock.now(physical: physicalTime(at: now))) ?? clock.latest
    }

    mutating func observe(_ timestamp: HybridTimestamp, at now: UInt64) {
        _ = try? clock.receive(timestamp, physical: physicalTime(at: now))
    }

    /// Learns from a value read or returned by a write: its context and its timestamps.
    mutating func observe(_ value: ReplicatedValue?, key: ObjectKey, context: VersionVector?, at now: UInt64) {
        if let context {
            contexts[key, default: VersionVector()].merge(context)
            sessionContexts[key, default: VersionVector()].merge(context)
        }
        switch value {
        case .versioned(let siblings)?:
            for sibling in siblings.siblings { observe(sibling.timestamp, at: now) }
        case .register(let register)?:
            for value in register.values { observe(value.timestamp, at: now) }
        case .set(let set)?:
            seenElements = set.elements.sorted { $0.lexicographicallyPrecedes($1) }
        default:
            break
        }
    }

    func chainGeneration(_ keyspace: KeyspaceID, slot: Int) -> Int {
        chainGenerations[keyspace]?[slot] ?? 0
    }

    mutating func nextChainSlot(_ keyspace: KeyspaceID) -> Int {
        chainWrites[keyspace, default: 0] += 1
        return chainWrites[keyspace]! % LeaderlessKeys.chainSlots
    }

    mutating func retireChain(_ keyspace: KeyspaceID, slot: Int) {
        var generations = chainGenerations[keyspace] ?? Array(repeating: 0, count: LeaderlessKeys.chainSlots)
        generations[slot] += 1
        chainGenerations[keyspace] = generations
    }
}
