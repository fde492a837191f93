import ChorusClocks
import ChorusCore

/// Which Merkle tree a key belongs to: its keyspace and ring range.
public struct TreeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var keyspace: KeyspaceID
    public var range: RingRangeIndex
    public init(keyspace: KeyspaceID, range: RingRangeIndex) {
        self.keyspace = keyspace
        self.range = range
    }
    public static func < (lhs: TreeID, rhs: TreeID) -> Bool { (lhs.keyspace, lhs.range) < (rhs.keyspace, rhs.range) }
    public var description: String { "\(keyspace)/\(range)" }
}

/// A write not yet visible here: its value (a whole object or a delta),
/// the dependencies that must be visible first (COPS's delayed visibility),
/// and what it adds to the key's dependency summary once joined (its
/// dependencies and its own causal stamp).
public struct PendingUnit: Equatable, Sendable {
    public var value: ReplicatedValue
    public var condition: VersionVector
    public var summary: VersionVector
}

/// What a replica holds for one key: the visible value (what reads see),
/// the union of the dependencies of everything joined into it (causal
/// keyspaces: a reader of the value inherits them), and writes still
/// waiting for their dependencies.
public struct ReplicaEntry: Equatable, Sendable {
    public internal(set) var visible: ReplicatedValue
    public internal(set) var dependencies: VersionVector
    public internal(set) var pending: [PendingUnit]

    /// What a coordinating replica mints against: everything it holds,
    /// pending writes included, so a new dot follows every dot it minted.
    public var mintBase: ReplicatedValue {
        pending.reduce(visible) { $0.merging($1.value) }
    }
}

/// The primary store of one replica: every key it replicates, with one
/// Merkle tree per (keyspace, ring range) kept up to date on every change.
///
/// Values only ever grow in their lattice (a deletion is a tombstone or an
/// observed-remove delta), so keys are never removed and a tree entry only
/// changes hash.
public struct ReplicaStore: Sendable {
    public let ring: HashRing
    public let merkleBranching: Int
    public let merkleDepth: Int
    public private(set) var entries: [ObjectKey: ReplicaEntry] = [:]
    private var trees: [TreeID: MerkleTree] = [:]
    /// Keys with at least one pending unit.
    public private(set) var pendingKeys: Set<ObjectKey> = []
    public private(set) var pendingUnitCount = 0

    public init(ring: HashRing, merkleBranching: Int = 16, merkleDepth: Int = 2) {
        self.ring = ring
        self.merkleBranching = merkleBranching
        self.merkleDepth = merkleDepth
    }

    public func treeID(for key: ObjectKey) -> TreeID {
        TreeID(keyspace: key.keyspace, range: ring.range(containing: key.ringPosition))
    }

    public func value(of key: ObjectKey) -> ReplicatedValue? { entries[key]?.visible }

    /// Joins `value` into the visible value of `key`; returns whether the
    /// visible value changed.
    @discardableResult
    public mutating func join(_ key: ObjectKey, _ value: ReplicatedValue, summary dependencies: VersionVector = VersionVector()) -> Bool {
        precondition(value.kind == key.kind, "a \(value.kind) value for a \(key.kind) key")
        var entry = entries[key] ?? ReplicaEntry(visible: .empty(key.kind), dependencies: VersionVector(), pending: [])
        let before = entry.visible
        entry.visible.merge(value)
        entry.dependencies.merge(dependencies)
        let changed = entry.visible != before
        let isNew = entries.updateValue(entry, forKey: key) == nil
        if changed || isNew { updateTree(key, entry.visible) }
        return changed
    }

    /// Keeps `value` aside until `condition` is visible here.
    public mutating func addPending(_ key: ObjectKey, _ value: ReplicatedValue, condition: VersionVector, summary: VersionVector) {
        precondition(value.kind == key.kind, "a \(value.kind) value for a \(key.kind) key")
        var entry = entries[key] ?? ReplicaEntry(visible: .empty(key.kind), dependencies: VersionVector(), pending: [])
        let unit = PendingUnit(value: value, condition: condition, summary: summary)
        if entry.pending.contains(unit) { return }
        entry.pending.append(unit)
        entries[key] = entry
        pendingKeys.insert(key)
        pendingUnitCount += 1
    }

    /// Makes visible every pending unit whose dependencies `frontier`
    /// covers; returns the keys whose visible value changed, sorted.
    public mutating func promote(frontier: VersionVector) -> [ObjectKey] {
        var changed: [ObjectKey] = []
        for key in pendingKeys.sorted() {
            guard var entry = entries[key] else { continue }
            let ready = entry.pending.filter { frontier.dominates($0.condition) }
            if ready.isEmpty { continue }
            entry.pending.removeAll { frontier.dominates($0.condition) }
            pendingUnitCount -= ready.count
            if entry.pending.isEmpty { pendingKeys.remove(key) }
            entries[key] = entry
            var visibleChanged = false
            for unit in ready where join(key, unit.value, summary: unit.summary) { visibleChanged = true }
            if visibleChanged { changed.append(key) }
        }
        return changed
    }

    private mutating func updateTree(_ key: ObjectKey, _ value: ReplicatedValue) {
        let entryHash = MerkleTree.entryHash(key: key, digest: value.digest)
        // Mutated in place: a copy of the tree per write would cost a scan.
        trees[treeID(for: key), default: MerkleTree(branching: merkleBranching, depth: merkleDepth)]
            .update(key, entryHash: entryHash)
    }

    public mutating func rootHash(of tree: TreeID) -> UInt64 {
        guard trees[tree] != nil else { return 0 }
        return trees[tree]!.rootHash()
    }

    mutating func childHashes(of tree: TreeID, level: Int, index: Int) -> [UInt64] {
        guard trees[tree] != nil else { return Array(repeating: 0, count: merkleBranching) }
        return trees[tree]!.childHashes(level: level, index: index) ?? Array(repeating: 0, count: merkleBranching)
    }

    func segmentEntries(of tree: TreeID, segment: Int) -> [(key: ObjectKey, entryHash: UInt64)] {
        trees[tree]?.entries(ofSegment: segment) ?? []
    }

    /// Every tree this store holds, sorted.
    public var treeIDs: [TreeID] { trees.keys.sorted() }
}
