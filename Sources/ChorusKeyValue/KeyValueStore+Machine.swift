import ChorusCore

/// A read of the key-value store, answered from its applied state.
public enum KeyValueQuery: Sendable, Hashable {
    /// The value and version of one key.
    case get(key: String)
}

/// The answer to a `KeyValueQuery`.
public enum KeyValueAnswer: Sendable, Hashable {
    /// The key's record, or nil if it is absent.
    case record(KeyValueStore.Record?)
}

/// The key-value store behind the `ReplicatedStateMachine` seam: commands
/// are `KeyValueCommand`s, reads are `KeyValueQuery`s, the snapshot is
/// `snapshot()`'s encoding.
extension KeyValueStore: ReplicatedStateMachine {
    public func read(_ query: KeyValueQuery) -> KeyValueAnswer {
        switch query {
        case .get(let key): .record(get(key))
        }
    }

    public mutating func restore(from snapshot: [UInt8], at index: LogIndex) throws(BinaryDecodingError) {
        if snapshot.isEmpty {
            self = KeyValueStore(limits: limits)
            appliedIndex = index
            return
        }
        let restored = try KeyValueStore(restoring: snapshot, limits: limits)
        guard restored.appliedIndex == index else {
            throw BinaryDecodingError(
                .invalidValue("key-value snapshot at \(restored.appliedIndex.rawValue), expected \(index.rawValue)"), at: 0)
        }
        self = restored
    }
}
