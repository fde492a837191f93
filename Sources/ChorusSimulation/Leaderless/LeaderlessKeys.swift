import ChorusCRDT
import ChorusReplication

/// The keys the leaderless workload uses.
///
/// - Shared versioned keys (`v<i>` eventual, `c<i>` causal): every client
///   puts with contexts, puts blind and (eventual only) deletes; siblings
///   arise, and the no-lost-write and causal checkers judge them.
/// - Chain keys (`s<client>.<slot>.<generation>`, both keyspaces): one
///   writer, each write with the context of the writer's previous one, so
///   their writes are totally ordered and the session checker can judge
///   reads of them (`LeaderlessHistoryExport`).
/// - Fresh keys (`f<client>.<n>`, eventual): written once each, so a write
///   is held only where it went (the durability check's sharpest case).
/// - CRDT keys: a counter per keyspace, an OR-set, a map and a
///   multi-value register in the eventual keyspace.
enum LeaderlessKeys {
    static let eventual = LeaderlessParameters.eventualKeyspace
    static let causal = LeaderlessParameters.causalKeyspace
    /// Chain keys each client writes at once, per keyspace.
    static let chainSlots = 2

    static func shared(_ keyspace: KeyspaceID, _ index: Int) -> ObjectKey {
        ObjectKey(keyspace: keyspace, kind: .versioned, keyspace == eventual ? "v\(index)" : "c\(index)")
    }

    /// A key written once (`f<client>.<n>`): until anti-entropy spreads it,
    /// only the write's own replicas and hints hold it.
    static func fresh(client: Int, number: Int) -> ObjectKey {
        ObjectKey(keyspace: eventual, kind: .versioned, "f\(client + 1).\(number)")
    }

    static func chain(_ keyspace: KeyspaceID, client: Int, slot: Int, generation: Int) -> ObjectKey {
        ObjectKey(keyspace: keyspace, kind: .versioned, "s\(client + 1).\(slot).\(generation)")
    }

    static func isChain(_ key: ObjectKey) -> Bool { key.kind == .versioned && key.key.first == UInt8(ascii: "s") }

    /// The client number a chain key names (`s<client>.…`).
    static func chainWriter(of key: ObjectKey) -> Substring? {
        String(decoding: key.key, as: UTF8.self).dropFirst().split(separator: ".").first
    }

    static let hits = ObjectKey(keyspace: eventual, kind: .counter, "hits")
    static let likes = ObjectKey(keyspace: causal, kind: .counter, "likes")
    static let tags = ObjectKey(keyspace: eventual, kind: .set, "tags")
    static let profile = ObjectKey(keyspace: eventual, kind: .map, "profile")
    static let title = ObjectKey(keyspace: eventual, kind: .register, "title")

    // The map's fields.
    static let visits = FieldKey("visits", .counter)
    static let labels = FieldKey("labels", .set)
    static let name = FieldKey("name", .register)
    static let active = FieldKey("active", .flag)

    static func mapOperation(_ action: LeaderlessMapAction) -> MapOperation {
        switch action {
        case .increment(let amount): .update(visits, .increment(amount))
        case .insertLabel(let label): .update(labels, .insert(label))
        case .assignName(let name): .update(Self.name, .assign(name))
        case .enable: .update(active, .enable)
        case .disable: .update(active, .disable)
        case .removeName: .remove(name)
        }
    }
}
