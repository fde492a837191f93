import ChorusClocks
import ChorusCore
import ChorusReplication

/// What one node's durable log holds of versioned writes: per key, the causal
/// context of everything stored (a write is held, or superseded by a write
/// that has seen it, exactly when the context contains its dot), and the same
/// for every hint not yet removed. Built by folding `DurableRecord`s, as
/// recovery does (every store record is a join), so it is what the node
/// would hold if it crashed now.
///
/// The durability check asks it whether a write acknowledged by d durable
/// replicas is still in d durable logs.
struct DurableView: Sendable {
    private(set) var contexts: [ObjectKey: VersionVector] = [:]
    private(set) var hintContexts: [HintID: (key: ObjectKey, context: VersionVector)] = [:]

    init() {}

    init(records: [DurableRecord]) {
        for record in records { fold(record) }
    }

    mutating func fold(_ record: DurableRecord) {
        switch record {
        case .stored(let key, let value, _, _), .minted(let key, let value, _, _, _):
            guard let context = value.versionedContext else { return }
            contexts[key, default: VersionVector()].merge(context)
        case .hint(let hint):
            guard let context = hint.value.versionedContext else { return }
            hintContexts[hint.id] = (hint.key, context)
        case .hintRemoved(let id):
            hintContexts[id] = nil
        case .boot, .originAcknowledged, .frontier, .counter:
            return
        }
    }

    /// Whether the write `dot` of `key` is held here, in the store or in a hint.
    func holds(_ key: ObjectKey, _ dot: Dot) -> Bool {
        if contexts[key]?.contains(dot) == true { return true }
        return hintContexts.values.contains { $0.key == key && $0.context.contains(dot) }
    }
}
