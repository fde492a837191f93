import ChorusCore
import ChorusKeyValue

/// Every state machine one Raft group hosts, behind one `ReplicatedStateMachine`:
/// a command's first byte (its `MachineTag`) says which machine applies it,
/// and every other machine skips the entry, so each machine's applied index
/// follows the log. Its snapshot is a `StateMachineSnapshot` container with
/// one entry per machine.
///
/// The node and the simulator host exactly this type, so a machine added
/// here is replicated, snapshotted, simulated and served everywhere at once.
public struct ReplicatedMachines: ReplicatedStateMachine {
    public internal(set) var keyValue: KeyValueStore
    public internal(set) var appliedIndex: LogIndex = .zero

    public init(keyValueLimits: KeyValueLimits = .default) {
        keyValue = KeyValueStore(limits: keyValueLimits)
    }

    /// A command for one of the machines, as the service layer builds it.
    public enum Command: Sendable, Hashable {
        case keyValue(KeyValueCommand)

        /// The bytes of a log entry: the machine tag, then the machine's own encoding.
        public func encoded() -> [UInt8] {
            switch self {
            case .keyValue(let command): [MachineTag.keyValue.rawValue] + command.encoded()
            }
        }
    }

    /// What applying one entry returned.
    public enum Output: Sendable, Hashable {
        case keyValue(KeyValueStore.Applied)
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
    }

    public enum Answer: Sendable, Hashable {
        case keyValue(KeyValueAnswer)
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
            return .keyValue(keyValue.apply(body, at: index))
        default:
            // Mixed-version clusters are not supported: a command of a machine
            // this release does not host is refused alike on every replica.
            skipAll(index)
            return .rejected(.unknownMachine(MachineTag(first)))
        }
    }

    public mutating func skip(index: LogIndex) {
        precondition(index > appliedIndex, "entries are applied in log order: \(index) after \(appliedIndex)")
        appliedIndex = index
        skipAll(index)
    }

    private mutating func skipAll(_ index: LogIndex) {
        keyValue.skip(index: index)
    }

    public func read(_ query: Query) -> Answer {
        switch query {
        case .keyValue(let query): .keyValue(keyValue.read(query))
        }
    }

    public func snapshot() -> [UInt8] {
        StateMachineSnapshot(appliedIndex: appliedIndex, machines: [(.keyValue, keyValue.snapshot())]).encoded()
    }

    /// The most bytes one machine's snapshot may take in the container.
    public static let maximumMachineSnapshotBytes = 1 << 30

    public mutating func restore(from snapshot: [UInt8], at index: LogIndex) throws(BinaryDecodingError) {
        if snapshot.isEmpty {
            try keyValue.restore(from: [], at: index)
            appliedIndex = index
            return
        }
        let container = try StateMachineSnapshot(decoding: snapshot, maximumMachineBytes: Self.maximumMachineSnapshotBytes)
        guard container.appliedIndex == index else {
            throw BinaryDecodingError(
                .invalidValue("snapshot taken at \(container.appliedIndex.rawValue), installed at \(index.rawValue)"), at: 0)
        }
        for machine in container.machines where machine.tag != .keyValue {
            throw BinaryDecodingError(.invalidValue("the snapshot holds an unknown machine \(machine.tag.rawValue)"), at: 0)
        }
        var restored = self
        try restored.keyValue.restore(from: container.bytes(of: .keyValue) ?? [], at: index)
        restored.appliedIndex = index
        self = restored
    }

    /// A digest of every machine's state, equal on two replicas exactly when
    /// their snapshots are equal (the simulator's convergence check).
    public var stateDigest: UInt32 { CRC32C.checksum(snapshot()) }
}
