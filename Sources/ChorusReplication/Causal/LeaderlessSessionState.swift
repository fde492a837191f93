import ChorusClocks
import ChorusCore

/// The leaderless half of a client's session token (issue 13's one token
/// for both replication modes): the causal dependencies of everything the
/// session has read or written, as a version vector over the replicas that
/// coordinate writes, each entry the highest causal sequence number of that
/// replica the session depends on (COPS's client context, Lloyd et al.,
/// SOSP 2011, §3–4, summarized per origin instead of per key).
///
/// A replica serves a `causal` read for the session only once its causal
/// frontier covers these dependencies, and every write the session makes
/// carries them, so its effect is never visible before its causes.
///
/// Bounded: one entry per coordinating replica, so a token of one cluster
/// names at most its members (validated ≤ `maximumDependencyCount`); the
/// coordinator ignores dependencies on replicas outside the membership, and
/// `pruned(stableFrontier:)` drops entries every replica already covers, so
/// a token names only the recent past. Decoding refuses a larger token. Tokens
/// merge (a process handing its session to another merges the two), and
/// the encoding is versioned and canonical.
public struct LeaderlessSessionState: Hashable, Sendable, CompactCodable {
    public private(set) var dependencies: VersionVector

    public static let maximumDependencyCount = ReplicationLimits.maximumReplicaCount
    static let formatVersion: UInt8 = 1

    public init(dependencies: VersionVector = VersionVector()) {
        self.dependencies = dependencies
    }

    public var isEmpty: Bool { dependencies.isEmpty }

    /// Both sessions' dependencies (the token merge of issue 13).
    public mutating func merge(_ other: LeaderlessSessionState) {
        dependencies.merge(other.dependencies)
    }

    /// Only the dependencies on `members`: a replica outside the cluster
    /// never coordinated a write of it.
    public func restricted(to members: [NodeID]) -> LeaderlessSessionState {
        let allowed = Set(members.map { ReplicaID($0.rawValue) })
        return LeaderlessSessionState(dependencies: VersionVector(dependencies.entries.filter { allowed.contains($0.replica) }.map { ($0.replica, $0.counter) }))
    }

    public func merging(_ other: LeaderlessSessionState) -> LeaderlessSessionState {
        var copy = self
        copy.merge(other)
        return copy
    }

    mutating func observe(_ vector: VersionVector, members: [NodeID]) {
        dependencies.merge(LeaderlessSessionState(dependencies: vector).restricted(to: members).dependencies)
    }

    /// Drops every dependency the stable frontier (the pointwise minimum of
    /// all replicas' frontiers) covers: every replica can already serve it.
    public func pruned(stableFrontier: VersionVector) -> LeaderlessSessionState {
        let kept = dependencies.entries.filter { $0.counter > stableFrontier[$0.replica] }
        return LeaderlessSessionState(dependencies: VersionVector(kept.map { ($0.replica, $0.counter) }))
    }

    public func encode(into writer: inout ByteWriter) {
        writer.write(Self.formatVersion)
        dependencies.encode(into: &writer)
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let start = reader.offset
        let version = try reader.readByte()
        guard version == Self.formatVersion else {
            throw BinaryDecodingError(.invalidValue("leaderless session format \(version)"), at: start)
        }
        // The vector's own decoder allows far more replicas; a token is
        // bounded tighter, checked on a copy before the vector is read.
        var peek = reader
        _ = try peek.readCount(limit: Self.maximumDependencyCount, minimumElementBytes: 2)
        dependencies = try VersionVector(decoding: &reader)
    }
}
