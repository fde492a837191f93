import ChorusClocks
import ChorusCore

public struct TreeHash: Hashable, Sendable {
    public var tree: TreeID
    public var hash: UInt64

    public init(tree: TreeID, hash: UInt64) {
        self.tree = tree
        self.hash = hash
    }
}

/// The children of one inner node, as the sender sees them.
public struct TreeNodeHashes: Hashable, Sendable {
    public var tree: TreeID
    public var level: Int
    public var index: Int
    public var childHashes: [UInt64]

    public init(tree: TreeID, level: Int, index: Int, childHashes: [UInt64]) {
        self.tree = tree
        self.level = level
        self.index = index
        self.childHashes = childHashes
    }
}

public struct SegmentEntry: Hashable, Sendable {
    public var key: ObjectKey
    public var entryHash: UInt64

    public init(key: ObjectKey, entryHash: UInt64) {
        self.key = key
        self.entryHash = entryHash
    }
}

/// The keys of one leaf segment and their entry hashes.
public struct SegmentEntries: Hashable, Sendable {
    public var tree: TreeID
    public var segment: Int
    public var entries: [SegmentEntry]

    public init(tree: TreeID, segment: Int, entries: [SegmentEntry]) {
        self.tree = tree
        self.segment = segment
        self.entries = entries
    }
}

/// A value sent to repair a replica, with the dependencies a causal
/// keyspace must see visible before showing it.
public struct RepairEntry: Equatable, Sendable {
    public var key: ObjectKey
    public var value: ReplicatedValue
    public var dependencies: VersionVector

    public init(key: ObjectKey, value: ReplicatedValue, dependencies: VersionVector) {
        self.key = key
        self.value = value
        self.dependencies = dependencies
    }
}

/// The active anti-entropy exchange between two replicas (Dynamo §4.7;
/// Riak's AAE), stateless on both sides so a lost message only ends an
/// exchange early and the next one starts over:
///
///     A ── roots(all shared trees) ─────────────▶ B   compares roots
///     A ◀── nodes(children of differing roots) ── B
///     A ── nodes(children of differing children) ▶ B  … down to the leaves
///     ◀──▶ segments(keys and entry hashes of differing leaves)
///          the receiver sends `repair` with its values of keys that differ
///          or that only it has, and `fetch`es the keys only the sender has
///
/// Only differing subtrees are descended and only differing keys' values
/// travel. `exchange` identifies one exchange for metrics.
public enum AntiEntropyMessage: Equatable, Sendable {
    case roots(exchange: UInt64, [TreeHash])
    case nodes(exchange: UInt64, [TreeNodeHashes])
    case segments(exchange: UInt64, [SegmentEntries])
    case fetch(exchange: UInt64, [ObjectKey])
    case repair(exchange: UInt64, [RepairEntry])

    public var exchange: UInt64 {
        switch self {
        case .roots(let exchange, _), .nodes(let exchange, _), .segments(let exchange, _), .fetch(let exchange, _),
            .repair(let exchange, _):
            exchange
        }
    }
}

extension ReplicaStore {
    /// The first message of an exchange over `trees`.
    public mutating func antiEntropyRoots(exchange: UInt64, trees: [TreeID]) -> AntiEntropyMessage {
        .roots(exchange: exchange, trees.map { TreeHash(tree: $0, hash: rootHash(of: $0)) })
    }

    /// Answers one exchange message. Returns the messages to send back
    /// (split to at most `maximumEntries` entries each) and, for a `repair`,
    /// the values the caller must join (through its own causal path).
    public mutating func respond(
        to message: AntiEntropyMessage, maximumEntries: Int
    ) -> (replies: [AntiEntropyMessage], repairs: [RepairEntry]) {
        let levelWidths = (0...merkleDepth).map { level in (0..<level).reduce(1) { value, _ in value * merkleBranching } }
        switch message {
        case .roots(let exchange, let roots):
            var nodes: [TreeNodeHashes] = []
            for root in roots where root.hash != rootHash(of: root.tree) {
                nodes.append(TreeNodeHashes(tree: root.tree, level: 0, index: 0, childHashes: childHashes(of: root.tree, level: 0, index: 0)))
            }
            return (Self.chunk(nodes, maximumEntries).map { .nodes(exchange: exchange, $0) }, [])
        case .nodes(let exchange, let theirNodes):
            var nodes: [TreeNodeHashes] = []
            var segments: [SegmentEntries] = []
            for node in theirNodes {
                guard node.level >= 0, node.level < merkleDepth, node.index >= 0, node.index < levelWidths[node.level],
                    node.childHashes.count == merkleBranching
                else { continue }
                let mine = childHashes(of: node.tree, level: node.level, index: node.index)
                for child in 0..<merkleBranching where mine[child] != node.childHashes[child] {
                    let childIndex = node.index * merkleBranching + child
                    if node.level + 1 == merkleDepth {
                        let entries = segmentEntries(of: node.tree, segment: childIndex).map { SegmentEntry(key: $0.key, entryHash: $0.entryHash) }
                        segments.append(SegmentEntries(tree: node.tree, segment: childIndex, entries: entries))
                    } else {
                        nodes.append(TreeNodeHashes(
                            tree: node.tree, level: node.level + 1, index: childIndex,
                            childHashes: childHashes(of: node.tree, level: node.level + 1, index: childIndex)))
                    }
                }
            }
            var replies = Self.chunk(nodes, maximumEntries).map { AntiEntropyMessage.nodes(exchange: exchange, $0) }
            replies += Self.chunk(segments, maximumEntries).map { AntiEntropyMessage.segments(exchange: exchange, $0) }
            return (replies, [])
        case .segments(let exchange, let theirSegments):
            var repairs: [RepairEntry] = []
            var fetches: [ObjectKey] = []
            for segment in theirSegments {
                guard segment.segment >= 0, segment.segment < levelWidths[merkleDepth] else { continue }
                var mine: [ObjectKey: UInt64] = [:]
                for entry in segmentEntries(of: segment.tree, segment: segment.segment) { mine[entry.key] = entry.entryHash }
                var theirs: [ObjectKey: UInt64] = [:]
                for entry in segment.entries where treeID(for: entry.key) == segment.tree { theirs[entry.key] = entry.entryHash }
                for key in mine.keys.sorted() where theirs[key] != mine[key] {
                    if let entry = entries[key] { repairs.append(RepairEntry(key: key, value: entry.visible, dependencies: entry.dependencies)) }
                }
                for key in theirs.keys.sorted() where mine[key] != theirs[key] { fetches.append(key) }
            }
            var replies = Self.chunk(repairs, maximumEntries).map { AntiEntropyMessage.repair(exchange: exchange, $0) }
            replies += Self.chunk(fetches, maximumEntries).map { AntiEntropyMessage.fetch(exchange: exchange, $0) }
            return (replies, [])
        case .fetch(let exchange, let keys):
            let repairs = keys.compactMap { key in
                entries[key].map { RepairEntry(key: key, value: $0.visible, dependencies: $0.dependencies) }
            }
            return (Self.chunk(repairs, maximumEntries).map { .repair(exchange: exchange, $0) }, [])
        case .repair(_, let repairs):
            return ([], repairs)
        }
    }

    static func chunk<Element>(_ elements: [Element], _ size: Int) -> [[Element]] {
        precondition(size >= 1, "chunks need at least one element")
        return stride(from: 0, to: elements.count, by: size).map { Array(elements[$0..<Swift.min($0 + size, elements.count)]) }
    }
}
