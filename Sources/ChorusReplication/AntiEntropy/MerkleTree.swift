import ChorusCore

/// A hash tree over the keys of one ring range (Merkle, "A digital
/// signature based on a conventional encryption function", CRYPTO 1987; its
/// use for replica synchronization in Dynamo §4.7 and Riak's active
/// anti-entropy).
///
/// The shape is fixed: `branching`^`depth` leaf segments, and a key's
/// segment comes from a stable hash of the key, so two replicas' trees for
/// one range are comparable node by node. A leaf's hash is the wrapping sum
/// of its entries' hashes (entry = hash of key and value digest), so a write
/// updates it in O(1), without reading the other keys; inner nodes are
/// recomputed lazily, only along paths below which a leaf changed, the next
/// time a hash is asked for. Nothing ever rescans the keys.
///
/// An empty subtree hashes to 0, so a range holding nothing costs nothing
/// to compare.
public struct MerkleTree: Sendable, Equatable {
    public let branching: Int
    public let depth: Int
    /// `levels[0]` is the root; `levels[depth]` the leaves.
    private var levels: [[UInt64]]
    /// Each leaf's entries: key → entry hash.
    private var leafEntries: [[ObjectKey: UInt64]]
    private var dirtyLeaves: Set<Int> = []

    public static let maximumBranching = 64
    public static let maximumLeafCount = 1 << 16

    public init(branching: Int, depth: Int) {
        precondition(branching >= 2 && branching <= Self.maximumBranching, "Merkle branching out of range")
        var leafCount = 1
        for _ in 0..<depth { leafCount *= branching }
        precondition(depth >= 1 && leafCount <= Self.maximumLeafCount, "Merkle tree too deep")
        self.branching = branching
        self.depth = depth
        var levels: [[UInt64]] = []
        var width = 1
        for _ in 0...depth {
            levels.append(Array(repeating: 0, count: width))
            width *= branching
        }
        self.levels = levels
        leafEntries = Array(repeating: [:], count: leafCount)
    }

    public var leafCount: Int { leafEntries.count }

    /// The leaf a key belongs to: independent of the ring position's hash.
    public func segment(of key: ObjectKey) -> Int {
        Int(StableHash.hash(key.encodedBytes, seed: 0x5345_474D_454E_5453) % UInt64(leafCount))
    }

    /// The entry hash of a key holding a value whose digest is `digest`.
    public static func entryHash(key: ObjectKey, digest: UInt64) -> UInt64 {
        var writer = ByteWriter()
        key.encode(into: &writer)
        writer.writeFixed(digest)
        return StableHash.hash(writer.bytes, seed: 0x454E_5452_5948_4153)
    }

    /// Records that `key` now hashes to `entryHash`: O(1).
    public mutating func update(_ key: ObjectKey, entryHash: UInt64) {
        let leaf = segment(of: key)
        let previous = leafEntries[leaf].updateValue(entryHash, forKey: key)
        if previous == entryHash { return }
        levels[depth][leaf] = levels[depth][leaf] &- (previous ?? 0) &+ entryHash
        dirtyLeaves.insert(leaf)
    }

    /// Recomputes the inner nodes above changed leaves.
    private mutating func refresh() {
        if dirtyLeaves.isEmpty { return }
        var dirty = Set(dirtyLeaves.map { $0 / branching })
        dirtyLeaves = []
        var level = depth - 1
        while level >= 0 {
            var parents: Set<Int> = []
            for index in dirty {
                let children = levels[level + 1][(index * branching)..<((index + 1) * branching)]
                levels[level][index] = children.allSatisfy({ $0 == 0 }) ? 0 : StableHash.hash(words: Array(children), seed: UInt64(level))
                parents.insert(index / branching)
            }
            dirty = parents
            level -= 1
        }
    }

    public mutating func rootHash() -> UInt64 {
        refresh()
        return levels[0][0]
    }

    /// The hashes of the children of node `index` at `level` (< depth).
    public mutating func childHashes(level: Int, index: Int) -> [UInt64]? {
        guard level >= 0, level < depth, index >= 0, index < levels[level].count else { return nil }
        refresh()
        return Array(levels[level + 1][(index * branching)..<((index + 1) * branching)])
    }

    /// A leaf's entries, sorted by key.
    public func entries(ofSegment segment: Int) -> [(key: ObjectKey, entryHash: UInt64)]? {
        guard segment >= 0, segment < leafCount else { return nil }
        return leafEntries[segment].sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    public func entryHash(of key: ObjectKey) -> UInt64? { leafEntries[segment(of: key)][key] }

    public static func == (lhs: MerkleTree, rhs: MerkleTree) -> Bool {
        lhs.branching == rhs.branching && lhs.depth == rhs.depth && lhs.leafEntries == rhs.leafEntries
    }
}
