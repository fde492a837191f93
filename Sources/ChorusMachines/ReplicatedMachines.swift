import ChorusCore
import ChorusEventStore
import ChorusKeyValue

/// Every state machine one Raft group hosts, behind one `ReplicatedStateMachine`:
/// a command's first byte (its `MachineTag`) says which machine applies it,
/// and every other machine skips the entry, so each machine's applied index
/// follows the log. Its snapshot is a `StateMachineSnapshot` container with
/// one entry per machine.
///
/// The node and the simulator host exactly this type, so a machine added
/// here is replicated, snapshotted, simulated and served everywhere at once.
///
/// The key-value store's change feed is fed here: a key-value entry that
/// changed a key is recorded in the event store's `$kv-default` stream in the
/// same apply (in place of the event store's `skip`), so watching keys costs
/// no second log write.
public struct ReplicatedMachines: ReplicatedStateMachine {
    public internal(set) var keyValue: KeyValueStore
    public internal(set) var eventStore: EventStore
    public internal(set) var appliedIndex: LogIndex = .zero

    /// A deliberate bug for a negative control; nil but in the simulator.
    public let injectedBug: InjectedBug?

    public init(
        keyValueLimits: KeyValueLimits = .default, eventStoreLimits: EventStoreLimits = .default,
        injectedBug: InjectedBug? = nil
    ) {
        keyValue = KeyValueStore(limits: keyValueLimits)
        eventStore = EventStore(limits: eventStoreLimits)
        eventStore.injectedBug = injectedBug
        self.injectedBug = injectedBug
    }

    /// A command for one of the machines, as the service layer builds it.
    public enum Command: Sendable, Hashable {
        case keyValue(KeyValueCommand)
        case eventStore(EventStoreCommand)

        /// The bytes of a log entry: the machine tag, then the machine's own encoding.
        public func encoded() -> [UInt8] {
            switch self {
            case .keyValue(let command): [MachineTag.keyValue.rawValue] + command.encoded()
            case .eventStore(let command): [MachineTag.eventStore.rawValue] + command.encoded()
            }
        }
    }

    /// What applying one entry returned.
    public enum Output: Sendable, Hashable {
        case keyValue(KeyValueStore.Applied)
        case eventStore(EventStoreResult)
        /// The entry names no machine this release hosts; nothing was applied.
        case rejected(Rejection)
    }

    public enum Rejection: Sendable, Hashable, CustomStringConvertible {
        case emptyCommand
        case unknownMachine(MachineTag)

        public var description: String {
            switch self {
            case .emptyCommand: "an empty command names no machine"
            case .unknownMachine(let tag): "no machine with tag \(tag.rawValue) is hosted by this release"
            }
        }
    }

    public enum Query: Sendable, Hashable {
        case keyValue(KeyValueQuery)
        case eventStore(EventStoreQuery)
    }

    public enum Answer: Sendable, Hashable {
        case keyValue(KeyValueAnswer)
        case eventStore(EventStoreQueryResult)
    }

    public mutating func apply(_ command: ArraySlice<UInt8>, at index: LogIndex) -> Output {
        precondition(index > appliedIndex, "entries are applied in log order: \(index) after \(appliedIndex)")
        appliedIndex = index
        guard let first = command.first else {
            skipAll(index)
            return .rejected(.emptyCommand)
        }
        let body = command.dropFirst()
        switch MachineTag(first) {
        case .keyValue:
            return .keyValue(applyKeyValue(body, at: index))
        case .eventStore:
            keyValue.skip(index: index)
            return .eventStore(eventStore.apply(body, at: index))
        default:
            // Mixed-version clusters are not supported: a command of a machine
            // this release does not host is refused alike on every replica.
            skipAll(index)
            return .rejected(.unknownMachine(MachineTag(first)))
        }
    }

    /// A key-value command, and its change in the feed if it changed a key.
    private mutating func applyKeyValue(_ body: ArraySlice<UInt8>, at index: LogIndex) -> KeyValueStore.Applied {
        guard let command = try? KeyValueCommand(decoding: body, limits: keyValue.limits) else {
            eventStore.skip(index: index)
            return keyValue.apply(body, at: index)
        }
        let applied = keyValue.apply(command, at: index)
        var change: KeyValueChange?
        if !applied.duplicate {
            switch (applied.result, command.operation) {
            case (.written(let version), .put(let key, let value)), (.written(let version), .compareAndSet(let key, _, let value)):
                change = KeyValueChange(keyspace: command.keyspace, key: key, version: version, value: value)
            case (.deleted(existed: true, _), .delete(let key)):
                change = KeyValueChange(keyspace: command.keyspace, key: key, version: index, value: nil)
            default:
                break
            }
        }
        if let change {
            _ = eventStore.recordKeyValueChanges([change], recordedTime: eventStore.clock, at: index)
        } else {
            eventStore.skip(index: index)
        }
        return applied
    }

    public mutating func skip(index: LogIndex) {
        precondition(index > appliedIndex, "entries are applied in log order: \(index) after \(appliedIndex)")
        appliedIndex = index
        skipAll(index)
    }

    private mutating func skipAll(_ index: LogIndex) {
        keyValue.skip(index: index)
        eventStore.skip(index: index)
    }

    public func read(_ query: Query) -> Answer {
        switch query {
        case .keyValue(let query): .keyValue(keyValue.read(query))
        case .eventStore(let query): .eventStore(eventStore.read(query))
        }
    }

    public func snapshot() -> [UInt8] {
        StateMachineSnapshot(
            appliedIndex: appliedIndex, machines: [(.keyValue, keyValue.snapshot()), (.eventStore, eventStore.snapshot())]
        ).encoded()
    }

    /// The most bytes one machine's snapshot may take in the container.
    public static let maximumMachineSnapshotBytes = 1 << 30

    public mutating func restore(from snapshot: [UInt8], at index: LogIndex) throws(BinaryDecodingError) {
        if snapshot.isEmpty {
            try keyValue.restore(from: [], at: index)
            try eventStore.restore(from: [], at: index)
            eventStore.injectedBug = injectedBug
            appliedIndex = index
            return
        }
        let container = try StateMachineSnapshot(decoding: snapshot, maximumMachineBytes: Self.maximumMachineSnapshotBytes)
        guard container.appliedIndex == index else {
            throw BinaryDecodingError(
                .invalidValue("snapshot taken at \(container.appliedIndex.rawValue), installed at \(index.rawValue)"), at: 0)
        }
        for machine in container.machines where machine.tag != .keyValue && machine.tag != .eventStore {
            throw BinaryDecodingError(.invalidValue("the snapshot holds an unknown machine \(machine.tag.rawValue)"), at: 0)
        }
        var restored = self
        try restored.keyValue.restore(from: container.bytes(of: .keyValue) ?? [], at: index)
        try restored.eventStore.restore(from: container.bytes(of: .eventStore) ?? [], at: index)
        restored.eventStore.injectedBug = injectedBug
        restored.appliedIndex = index
        self = restored
    }

    /// A digest of every machine's state, equal on two replicas exactly when
    /// their snapshots are equal (the simulator's convergence check).
    public var stateDigest: UInt32 { CRC32C.checksum(snapshot()) }
}
