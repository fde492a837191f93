import ChorusCore

/// The index of one range of the ring: the positions from the previous token
/// (exclusive) up to this range's token (inclusive), wrapping past zero for
/// range 0. A range is the unit of placement and of anti-entropy: every key
/// in it has the same preference list, so a Merkle tree per range compares
/// like with like.
public struct RingRangeIndex: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    public static func < (lhs: RingRangeIndex, rhs: RingRangeIndex) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "range\(rawValue)" }
}

/// A consistent-hash ring with virtual nodes (Karger et al., "Consistent
/// hashing and random trees", STOC 1997; DeCandia et al., "Dynamo: Amazon's
/// highly available key-value store", SOSP 2007, §4.2–4.3).
///
/// Each member owns `virtualNodesPerMember` tokens, placed by hashing
/// (member, index) with `StableHash`, so every process computes the same
/// ring from the same configuration. A key's position is the stable hash of
/// its keyspace and bytes; its preference list is the first N *distinct*
/// members met walking clockwise from that position (Dynamo §4.3), and the
/// members after them, in ring order, are its fallbacks for sloppy quorum
/// (§4.6).
///
/// What moves when membership changes (measured by a test, see README):
/// adding a member inserts its tokens; only the ranges its tokens split
/// change owner, about 1/(n+1) of the key space, and every key whose
/// preference list changes gains the new member and loses exactly one old
/// one. Removing a member is the reverse: only keys that listed it change,
/// each gaining the next distinct successor.
public struct HashRing: Sendable, Hashable {
    /// Members in ascending order.
    public let members: [NodeID]
    public let virtualNodesPerMember: Int
    /// Token positions, ascending; ties broken by member.
    public let tokens: [UInt64]
    /// The member owning each token.
    public let tokenOwners: [NodeID]
    /// For each range, every member in the order the ring walk meets them.
    private let successorsByRange: [[NodeID]]

    public static let maximumMemberCount = 1024
    public static let maximumVirtualNodesPerMember = 1024
    /// The seed of token placement: fixed, part of the placement format.
    static let tokenSeed: UInt64 = 0x43_68_6F_72_75_73_52_67  // "ChorusRg"

    public init(members: [NodeID], virtualNodesPerMember: Int) {
        let distinct = Array(Set(members)).sorted()
        precondition(!distinct.isEmpty, "a ring needs at least one member")
        precondition(distinct.count <= Self.maximumMemberCount, "more than \(Self.maximumMemberCount) members")
        precondition(
            (1...Self.maximumVirtualNodesPerMember).contains(virtualNodesPerMember),
            "virtual nodes per member must be in 1...\(Self.maximumVirtualNodesPerMember)")
        self.members = distinct
        self.virtualNodesPerMember = virtualNodesPerMember
        var placed: [(UInt64, NodeID)] = []
        placed.reserveCapacity(distinct.count * virtualNodesPerMember)
        for member in distinct {
            for index in 0..<virtualNodesPerMember {
                placed.append((StableHash.hash(words: [member.rawValue, UInt64(index)], seed: Self.tokenSeed), member))
            }
        }
        placed.sort { lhs, rhs in lhs.0 != rhs.0 ? lhs.0 < rhs.0 : lhs.1 < rhs.1 }
        tokens = placed.map(\.0)
        tokenOwners = placed.map(\.1)
        var successors: [[NodeID]] = []
        successors.reserveCapacity(placed.count)
        for start in 0..<placed.count {
            var seen: [NodeID] = []
            var offset = 0
            while seen.count < distinct.count {
                let owner = placed[(start + offset) % placed.count].1
                if !seen.contains(owner) { seen.append(owner) }
                offset += 1
            }
            successors.append(seen)
        }
        successorsByRange = successors
    }

    public var rangeCount: Int { tokens.count }
    public var rangeIndices: [RingRangeIndex] { (0..<tokens.count).map { RingRangeIndex($0) } }

    /// The range holding `position`: the first token at or after it, wrapping.
    public func range(containing position: UInt64) -> RingRangeIndex {
        var low = 0
        var high = tokens.count
        while low < high {
            let middle = (low + high) / 2
            if tokens[middle] < position { low = middle + 1 } else { high = middle }
        }
        return RingRangeIndex(low == tokens.count ? 0 : low)
    }

    /// The first `count` distinct members from `range` clockwise (all members
    /// if there are fewer).
    public func preferenceList(for range: RingRangeIndex, count: Int) -> [NodeID] {
        Array(successorsByRange[range.rawValue].prefix(count))
    }

    public func preferenceList(forPosition position: UInt64, count: Int) -> [NodeID] {
        preferenceList(for: range(containing: position), count: count)
    }

    /// The members after the preference list, in ring order: where a sloppy
    /// quorum sends a write meant for an unreachable member.
    public func fallbacks(for range: RingRangeIndex, count: Int) -> [NodeID] {
        Array(successorsByRange[range.rawValue].dropFirst(count))
    }

    /// The ranges whose first `count` members include every node of `nodes`.
    public func rangesReplicated(byAll nodes: [NodeID], count: Int) -> [RingRangeIndex] {
        rangeIndices.filter { range in
            let list = preferenceList(for: range, count: count)
            return nodes.allSatisfy(list.contains)
        }
    }
}
