import ChorusCore
import ChorusKeyValue
import Testing

@Suite struct KeyValueCommandTests {
    @Test func commandsRoundTrip() throws {
        let commands: [KeyValueCommand] = [
            KeyValueCommand(clientID: 7, sequence: 1, operation: .put(key: "a", value: Array("x".utf8))),
            KeyValueCommand(clientID: 0, sequence: 0, operation: .delete(key: "ключ")),
            KeyValueCommand(
                clientID: .max, sequence: 99, operation: .compareAndSet(key: "", expectedVersion: 12, value: [])),
        ]
        for command in commands {
            #expect(try KeyValueCommand(decoding: command.encoded()) == command)
        }
    }

    /// Seeded property: random commands survive encode/decode unchanged.
    @Test func randomCommandsRoundTrip() throws {
        let seed: UInt64 = 0xC0FFEE
        var random = SeededGenerator(seed: seed)
        for round in 0..<500 {
            let key = String(repeating: "k", count: Int(random.next() % 8)) + String(random.next() % 1_000)
            let value = (0..<Int(random.next() % 40)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let operation: KeyValueOperation
            switch random.next() % 3 {
            case 0: operation = .put(key: key, value: value)
            case 1: operation = .delete(key: key)
            default: operation = .compareAndSet(key: key, expectedVersion: LogIndex(random.next() % 10_000), value: value)
            }
            let command = KeyValueCommand(clientID: random.next(), sequence: random.next() >> 3, operation: operation)
            #expect(try KeyValueCommand(decoding: command.encoded()) == command, "seed \(seed) round \(round)")
        }
    }

    @Test func malformedCommandsAreErrorsNotCrashes() {
        let good = KeyValueCommand(clientID: 1, sequence: 1, operation: .put(key: "a", value: [1, 2, 3])).encoded()
        #expect(throws: BinaryDecodingError.self) { try KeyValueCommand(decoding: []) }
        #expect(throws: BinaryDecodingError.self) { try KeyValueCommand(decoding: [9, 1, 1, 0]) }
        for cut in 0..<good.count {
            #expect(throws: BinaryDecodingError.self) { try KeyValueCommand(decoding: Array(good.prefix(cut))) }
        }
        #expect(throws: BinaryDecodingError.self) { try KeyValueCommand(decoding: good + [0]) }
        let limits = KeyValueLimits(maximumKeyBytes: 4, maximumValueBytes: 2, maximumSessions: 4, maximumKeys: 4)
        #expect(throws: BinaryDecodingError.self) { try KeyValueCommand(decoding: good, limits: limits) }
    }
}

@Suite struct KeyValueStoreTests {
    func command(_ client: UInt64, _ sequence: UInt64, _ operation: KeyValueOperation) -> [UInt8] {
        KeyValueCommand(clientID: client, sequence: sequence, operation: operation).encoded()
    }

    @Test func putGetDeleteAndVersions() {
        var store = KeyValueStore()
        #expect(store.get("a") == nil)
        let put = store.apply(commandBytes: command(1, 1, .put(key: "a", value: [1])), at: 3)
        #expect(put.result == .written(version: 3))
        #expect(store.get("a") == KeyValueStore.Record(value: [1], version: 3))
        store.skip(index: 4)
        let overwrite = store.apply(commandBytes: command(1, 2, .put(key: "a", value: [2])), at: 5)
        #expect(overwrite.result == .written(version: 5))
        let delete = store.apply(commandBytes: command(1, 3, .delete(key: "a")), at: 6)
        #expect(delete.result == .deleted(existed: true, index: 6))
        #expect(store.get("a") == nil)
        let again = store.apply(commandBytes: command(1, 4, .delete(key: "a")), at: 7)
        #expect(again.result == .deleted(existed: false, index: 7))
        #expect(store.appliedIndex == 7)
    }

    /// Keys are their bytes: canonically equivalent spellings are two keys,
    /// and a snapshot keeps both.
    @Test func keysThatDifferInBytesAreDifferentKeys() throws {
        let precomposed = "\u{E9}"
        let decomposed = "e\u{301}"
        #expect(precomposed == decomposed, "Swift's String equality is canonical equivalence")
        var store = KeyValueStore()
        _ = store.apply(commandBytes: command(0, 0, .put(key: precomposed, value: [1])), at: 1)
        _ = store.apply(commandBytes: command(0, 0, .put(key: decomposed, value: [2])), at: 2)
        #expect(store.keyCount == 2)
        #expect(store.get(precomposed)?.value == [1])
        #expect(store.get(decomposed)?.value == [2])
        let restored = try KeyValueStore(restoring: store.snapshot())
        #expect(restored.get(precomposed)?.value == [1])
        #expect(restored.get(decomposed)?.value == [2])
        #expect(restored.snapshot() == store.snapshot())
    }

    @Test func compareAndSetByVersion() {
        var store = KeyValueStore()
        // Version 0 means "absent": create-if-absent.
        #expect(
            store.apply(commandBytes: command(1, 1, .compareAndSet(key: "k", expectedVersion: 0, value: [1])), at: 1).result
                == .written(version: 1))
        #expect(
            store.apply(commandBytes: command(1, 2, .compareAndSet(key: "k", expectedVersion: 0, value: [2])), at: 2).result
                == .compareAndSetMismatch(currentVersion: 1))
        #expect(
            store.apply(commandBytes: command(1, 3, .compareAndSet(key: "k", expectedVersion: 1, value: [3])), at: 3).result
                == .written(version: 3))
        #expect(store.get("k")?.value == [3])
    }

    /// Ongaro §6.3: a retried command applies at most once and gets the first answer.
    @Test func sessionsDeduplicateRetries() {
        var store = KeyValueStore()
        let first = store.apply(commandBytes: command(5, 1, .put(key: "a", value: [1])), at: 1)
        #expect(!first.duplicate)
        store.apply(commandBytes: command(6, 1, .put(key: "a", value: [2])), at: 2)
        let retry = store.apply(commandBytes: command(5, 1, .put(key: "a", value: [1])), at: 3)
        #expect(retry.duplicate)
        #expect(retry.result == .written(version: 1))
        #expect(store.get("a")?.value == [2], "the retry must not overwrite the later write")
        // An older sequence than the session's latest is stale.
        store.apply(commandBytes: command(5, 2, .delete(key: "a")), at: 4)
        #expect(store.apply(commandBytes: command(5, 1, .put(key: "a", value: [9])), at: 5).result == .sessionExpired)
        // No session: applied every time.
        store.apply(commandBytes: command(0, 0, .put(key: "b", value: [1])), at: 6)
        #expect(store.apply(commandBytes: command(0, 0, .put(key: "b", value: [1])), at: 7).result == .written(version: 7))
    }

    @Test func evictedSessionsAreRefusedNotReapplied() {
        var store = KeyValueStore(limits: KeyValueLimits(maximumKeyBytes: 64, maximumValueBytes: 64, maximumSessions: 2, maximumKeys: 64))
        store.apply(commandBytes: command(1, 1, .put(key: "a", value: [1])), at: 1)
        store.apply(commandBytes: command(2, 1, .put(key: "a", value: [2])), at: 2)
        store.apply(commandBytes: command(3, 1, .put(key: "a", value: [3])), at: 3)  // evicts client 1
        let late = store.apply(commandBytes: command(1, 2, .put(key: "a", value: [4])), at: 4)
        #expect(late.result == .sessionExpired)
        #expect(store.get("a")?.value == [3])
    }

    @Test func malformedCommandIsRejectedNotFatal() {
        var store = KeyValueStore()
        let outcome = store.apply(commandBytes: [0xFF, 0x00], at: 1)
        guard case .rejected = outcome.result else {
            Issue.record("expected a rejection, got \(outcome.result)")
            return
        }
        #expect(store.appliedIndex == 1)
    }

    @Test func snapshotRestoresEverything() throws {
        var store = KeyValueStore()
        var random = SeededGenerator(seed: 77)
        for index in 1...300 {
            let key = "k\(random.next() % 20)"
            let client = 1 + random.next() % 5
            switch random.next() % 3 {
            case 0: store.apply(commandBytes: command(client, UInt64(index), .put(key: key, value: [UInt8(index % 256)])), at: LogIndex(UInt64(index)))
            case 1: store.apply(commandBytes: command(client, UInt64(index), .delete(key: key)), at: LogIndex(UInt64(index)))
            default:
                let expected = store.get(key)?.version ?? .zero
                store.apply(
                    commandBytes: command(client, UInt64(index), .compareAndSet(key: key, expectedVersion: expected, value: [1])),
                    at: LogIndex(UInt64(index)))
            }
        }
        let bytes = store.snapshot()
        let restored = try KeyValueStore(restoring: bytes)
        #expect(restored.snapshot() == bytes, "seed 77")
        #expect(restored.appliedIndex == store.appliedIndex)
        #expect(restored.stateDigest == store.stateDigest)
        for key in (0..<20).map({ "k\($0)" }) { #expect(restored.get(key) == store.get(key)) }
        #expect(restored.keyCount == store.keyCount)
        // Sessions survive: a retry of client 1's latest command after restore is a duplicate.
        var again = restored
        var original = store
        let probe = command(9, 1, .put(key: "z", value: [7]))
        #expect(again.apply(commandBytes: probe, at: 301) == original.apply(commandBytes: probe, at: 301))
        #expect(again.apply(commandBytes: probe, at: 302).duplicate)
    }

    @Test func corruptSnapshotsAreErrors() {
        var store = KeyValueStore()
        store.apply(commandBytes: command(1, 1, .put(key: "a", value: [1, 2])), at: 1)
        store.apply(commandBytes: command(2, 1, .put(key: "b", value: [3])), at: 2)
        let bytes = store.snapshot()
        for cut in 0..<bytes.count {
            #expect(throws: BinaryDecodingError.self) { try KeyValueStore(restoring: Array(bytes.prefix(cut))) }
        }
        var wrongFormat = bytes
        wrongFormat[0] = 9
        #expect(throws: BinaryDecodingError.self) { try KeyValueStore(restoring: wrongFormat) }
        #expect(throws: BinaryDecodingError.self) { try KeyValueStore(restoring: bytes + [0]) }
    }
}

@Suite struct KeyValueKeyLimitTests {
    func command(_ sequence: UInt64, _ operation: KeyValueOperation) -> [UInt8] {
        KeyValueCommand(clientID: 1, sequence: sequence, operation: operation).encoded()
    }

    @Test func writesThatWouldAddAKeyBeyondTheLimitAreRefused() throws {
        var store = KeyValueStore(limits: KeyValueLimits(maximumKeyBytes: 8, maximumValueBytes: 8, maximumSessions: 4, maximumKeys: 2))
        #expect(store.apply(commandBytes: command(1, .put(key: "a", value: [1])), at: 1).result == .written(version: 1))
        #expect(store.apply(commandBytes: command(2, .put(key: "b", value: [2])), at: 2).result == .written(version: 2))
        #expect(store.apply(commandBytes: command(3, .put(key: "c", value: [3])), at: 3).result == .storeFull(maximumKeys: 2))
        #expect(
            store.apply(commandBytes: command(4, .compareAndSet(key: "c", expectedVersion: .zero, value: [3])), at: 4).result
                == .storeFull(maximumKeys: 2))
        #expect(store.get("c") == nil)
        #expect(store.keyCount == 2)
        // Existing keys still take writes, and a delete makes room.
        #expect(store.apply(commandBytes: command(5, .put(key: "a", value: [9])), at: 5).result == .written(version: 5))
        #expect(store.apply(commandBytes: command(6, .delete(key: "b")), at: 6).result == .deleted(existed: true, index: 6))
        #expect(store.apply(commandBytes: command(7, .put(key: "c", value: [3])), at: 7).result == .written(version: 7))

        // A session whose last result was storeFull survives a snapshot.
        _ = store.apply(commandBytes: command(8, .put(key: "d", value: [4])), at: 8)
        let restored = try KeyValueStore(restoring: store.snapshot(), limits: store.limits)
        #expect(restored.stateDigest == store.stateDigest)
        var replay = restored
        #expect(replay.apply(commandBytes: command(8, .put(key: "d", value: [4])), at: 9).result == .storeFull(maximumKeys: 2))
    }
}

extension KeyValueStore {
    /// The tests' spelling: a whole command's bytes.
    @discardableResult
    mutating func apply(commandBytes: [UInt8], at index: LogIndex) -> Applied { apply(commandBytes[...], at: index) }
}
