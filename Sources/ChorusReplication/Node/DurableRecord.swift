import ChorusClocks
import ChorusCore

/// A causal write's bookkeeping at its coordinating replica.
public struct CausalOrigin: Equatable, Sendable {
    public var dependencies: VersionVector
    public var destinations: [NodeID]

    public init(dependencies: VersionVector, destinations: [NodeID]) {
        self.dependencies = dependencies
        self.destinations = destinations
    }
}

/// One record of a node's durable log: what `PersistEffect.bytes` holds.
/// Recovery folds the records in order (`ReplicationNode.init(recovering:)`);
/// every store record is a join, so replaying one twice changes nothing.
/// `ReplicationNode.durableSnapshot()` writes the same state as few records,
/// for the runtime to compact its log with.
public enum DurableRecord: Equatable, Sendable {
    /// A process start: request identifiers of the next boot never repeat.
    case boot(UInt64)
    /// A value joined into the primary store: `dependencies` is its causal
    /// summary (everything a reader of it inherits), `condition` what must be
    /// visible before it is (its causes; empty in eventual keyspaces and for a
    /// compacted visible value). Recovery decides visibility from `condition`
    /// and the recovered frontier, exactly as the runtime did: recovering on
    /// the summary instead (which holds the value's own stamps) would hide a
    /// value that was visible, and with it the older writes it superseded,
    /// from a session the recovered frontier still serves (found by `chorus
    /// simulate leaderless`, seed 657).
    case stored(key: ObjectKey, value: ReplicatedValue, dependencies: VersionVector, condition: VersionVector)
    /// A write this node coordinated: its unit, its sequence number (the dot
    /// counter of versioned keys and the causal sequence), and for causal
    /// keyspaces the bookkeeping of its delivery.
    /// `request` makes a duplicated mint request idempotent across a crash.
    case minted(key: ObjectKey, value: ReplicatedValue, sequence: UInt64, causal: CausalOrigin?, request: RequestID?)
    case hint(Hint)
    case hintRemoved(HintID)
    /// Every destination acknowledged causal write `sequence`.
    case originAcknowledged(UInt64)
    case frontier(VersionVector)
    /// The minting counter, for compacted logs.
    case counter(UInt64)

    public var encodedBytes: [UInt8] {
        var writer = ByteWriter()
        encode(into: &writer)
        return writer.bytes
    }

    public func encode(into writer: inout ByteWriter) {
        switch self {
        case .boot(let count):
            writer.write(UInt8(0))
            writer.writeVarint(count)
        case .stored(let key, let value, let dependencies, let condition):
            writer.write(UInt8(1))
            writer.write(keyedValue: key, value)
            dependencies.encode(into: &writer)
            condition.encode(into: &writer)
        case .minted(let key, let value, let sequence, let causal, let request):
            writer.write(UInt8(2))
            writer.write(request != nil)
            if let request { writer.write(requestID: request) }
            writer.write(keyedValue: key, value)
            writer.writeVarint(sequence)
            writer.write(causal != nil)
            if let causal {
                causal.dependencies.encode(into: &writer)
                writer.writeVarint(causal.destinations.count)
                for node in causal.destinations { writer.write(node: node) }
            }
        case .hint(let hint):
            writer.write(UInt8(3))
            writer.writeVarint(hint.id.rawValue)
            writer.write(node: hint.target)
            writer.write(keyedValue: hint.key, hint.value)
            writer.writeVarint(hint.createdTick)
            writer.writeVarint(hint.version)
        case .hintRemoved(let id):
            writer.write(UInt8(4))
            writer.writeVarint(id.rawValue)
        case .originAcknowledged(let sequence):
            writer.write(UInt8(5))
            writer.writeVarint(sequence)
        case .frontier(let frontier):
            writer.write(UInt8(6))
            frontier.encode(into: &writer)
        case .counter(let counter):
            writer.write(UInt8(7))
            writer.writeVarint(counter)
        }
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        switch try reader.readTag(limit: 7, of: "durable record") {
        case 0: self = .boot(try reader.readVarint())
        case 1:
            let (key, value) = try reader.readKeyedValue()
            let dependencies = try reader.readBoundedVector()
            self = .stored(key: key, value: value, dependencies: dependencies, condition: try reader.readBoundedVector())
        case 2:
            let request = try reader.readBool() ? try reader.readRequestID() : nil
            let (key, value) = try reader.readKeyedValue()
            let sequence = try reader.readVarint()
            var causal: CausalOrigin? = nil
            if try reader.readBool() {
                let dependencies = try reader.readBoundedVector()
                let count = try reader.readCount(limit: ReplicationLimits.maximumReplicaCount)
                var destinations: [NodeID] = []
                for _ in 0..<count { destinations.append(try reader.readNode()) }
                causal = CausalOrigin(dependencies: dependencies, destinations: destinations)
            }
            self = .minted(key: key, value: value, sequence: sequence, causal: causal, request: request)
        case 3:
            let id = HintID(try reader.readVarint())
            let target = try reader.readNode()
            let (key, value) = try reader.readKeyedValue()
            let created = try reader.readVarint()
            let version = try reader.readVarint()
            self = .hint(Hint(id: id, target: target, key: key, value: value, createdTick: created, version: version))
        case 4: self = .hintRemoved(HintID(try reader.readVarint()))
        case 5: self = .originAcknowledged(try reader.readVarint())
        case 6: self = .frontier(try reader.readBoundedVector())
        default: self = .counter(try reader.readVarint())
        }
    }

    public init(decodingAll bytes: [UInt8]) throws(BinaryDecodingError) {
        var reader = ByteReader(bytes)
        self = try DurableRecord(decoding: &reader)
        try reader.expectEnd()
    }
}
