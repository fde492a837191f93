import ChorusCore
import Testing

@testable import ChorusKeyValue

/// Keyspaces, the catalog, range reads, the epoch, and the ordered key index.
@Suite struct KeyspaceTests {
    static func apply(_ store: inout KeyValueStore, _ keyspace: String, _ operation: KeyValueOperation, at index: UInt64)
        -> KeyValueResult
    {
        store.apply(KeyValueCommand(clientID: 0, sequence: 0, keyspace: keyspace, operation: operation), at: LogIndex(index)).result
    }

    @Test func keyspacesAreCreatedOnceAndHoldTheirOwnKeys() {
        var store = KeyValueStore()
        #expect(Self.apply(&store, "carts", .put(key: "a", value: [1]), at: 1) == .keyspaceNotFound("carts"))
        let carts = KeyspaceDefinition(mode: .raft, defaultLevel: "session")
        #expect(Self.apply(&store, "carts", .createKeyspace(carts), at: 2) == .keyspaceCreated("carts"))
        #expect(Self.apply(&store, "carts", .createKeyspace(carts), at: 3) == .keyspaceCreated("carts"), "idempotent")
        let other = KeyspaceDefinition(mode: .raft, defaultLevel: "eventual")
        #expect(Self.apply(&store, "carts", .createKeyspace(other), at: 4) == .keyspaceExists("carts", carts))
        #expect(Self.apply(&store, "Bad Name", .createKeyspace(carts), at: 5) == .rejected(KeyspaceName.problem("Bad Name")!))
        #expect(Self.apply(&store, "carts", .put(key: "a", value: [1]), at: 6) == .written(version: 6))
        #expect(Self.apply(&store, "default", .put(key: "a", value: [2]), at: 7) == .written(version: 7))
        #expect(store.get("a", keyspace: "carts")?.value == [1])
        #expect(store.get("a")?.value == [2])
        let cache = KeyspaceDefinition(mode: .leaderless, defaultLevel: "eventual")
        #expect(Self.apply(&store, "cache", .createKeyspace(cache), at: 8) == .keyspaceCreated("cache"))
        #expect(Self.apply(&store, "cache", .put(key: "x", value: [1]), at: 9) == .wrongReplicationMode(keyspace: "cache", mode: .leaderless))
        #expect(Self.apply(&store, "default", .deleteKeyspace, at: 10) == .rejected("the default keyspace cannot be deleted"))
        #expect(Self.apply(&store, "carts", .deleteKeyspace, at: 11) == .keyspaceDeleted("carts", keys: 1))
        #expect(store.get("a", keyspace: "carts") == nil)
        #expect(store.get("a")?.value == [2], "other keyspaces are untouched")
        #expect(store.keyspaceDefinitions.map(\.name) == ["default", "cache"])
    }

    @Test func rangeReadsPageThroughOnePrefixOfOneKeyspace() {
        var store = KeyValueStore()
        _ = Self.apply(&store, "b", .createKeyspace(KeyspaceDefinition(mode: .raft, defaultLevel: "linearizable")), at: 1)
        var index: UInt64 = 2
        for key in ["user/3", "user/1", "user/2", "users", "user0", "item/1"] {
            _ = Self.apply(&store, "default", .put(key: key, value: Array(key.utf8)), at: index)
            _ = Self.apply(&store, "b", .put(key: key, value: [0]), at: index + 1)
            index += 2
        }
        var keys: [String] = []
        var after: String?
        repeat {
            guard case .range(let page?) = store.read(.range(keyspace: "default", prefix: "user/", after: after, limit: 2)) else {
                Issue.record("no page")
                return
            }
            keys += page.entries.map(\.key)
            after = page.continuation
        } while after != nil
        #expect(keys == ["user/1", "user/2", "user/3"])
        guard case .range(let all?) = store.read(.range(keyspace: "default", prefix: "", after: nil, limit: 100)) else { return }
        #expect(all.entries.map(\.key) == ["item/1", "user/1", "user/2", "user/3", "user0", "users"], "byte order, one keyspace")
        #expect(store.read(.range(keyspace: "nope", prefix: "", after: nil, limit: 10)) == .range(nil))
    }

    @Test func theFirstEpochWinsAndEverythingSurvivesASnapshot() throws {
        var store = KeyValueStore()
        #expect(Self.apply(&store, "default", .establishEpoch(42), at: 1) == .epoch(42))
        #expect(Self.apply(&store, "default", .establishEpoch(7), at: 2) == .epoch(42))
        _ = Self.apply(&store, "s", .createKeyspace(KeyspaceDefinition(mode: .leaderless, defaultLevel: "causal", causal: true)), at: 3)
        _ = Self.apply(&store, "default", .put(key: "k", value: [9]), at: 4)
        let restored = try KeyValueStore(restoring: store.snapshot())
        #expect(restored.epoch == 42)
        #expect(restored.definition(of: "s")?.causal == true)
        #expect(restored.get("k")?.value == [9])
        #expect(restored.snapshot() == store.snapshot())
        #expect(restored.stateDigest == store.stateDigest)
    }

    @Test func theOrderedIndexMatchesASortedReference() {
        var random = SeededGenerator(seed: 0x0DE7)
        var index = OrderedKeys()
        var reference: Set<String> = []
        for step in 0..<20_000 {
            let key = "k\(random.next() % 3_000)"
            if random.chance(0.6) {
                index.insert(StoreKey(keyspace: "default", key: key))
                reference.insert(key)
            } else {
                index.remove(StoreKey(keyspace: "default", key: key))
                reference.remove(key)
            }
            if step % 2_000 == 0 { index.checkInvariants() }
        }
        index.checkInvariants()
        let sorted = reference.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        #expect(index.all.map(\.key) == sorted)
        let from = index.keys(from: StoreKey(keyspace: "default", key: "k2"), inclusive: true, limit: 50) {
            $0.belongs(to: "default", prefix: "k2")
        }
        #expect(from.map(\.key) == Array(sorted.filter { $0.hasPrefix("k2") }.prefix(50)))
    }
}
