import ChorusCRDT
import ChorusClocks
import ChorusCore

/// A message of leaderless keyspaces on the peer channel, tagged by protocol
/// so one channel carries both.
public enum LeaderlessPeerMessage: Equatable, Sendable {
    case membership(SwimMessage)
    case replication(ReplicationMessage)
}

/// The binary codec of every leaderless message (`ByteWriter`/`ByteReader`
/// primitives, the clocks' and CRDTs' canonical encodings).
///
///     message = format version (1 byte) · protocol (1 byte) · tag (1 byte) · fields
///
/// Decoding never traps: every count and length is bounded before anything
/// is allocated (`ReplicationLimits`, `SwimLimits`, the CRDT and clock
/// limits), every tag and flag is checked, values are decoded by their key's
/// kind, and trailing bytes are refused.
public enum ReplicationWire {
    public static let formatVersion: UInt8 = 1

    public static func encode(_ message: LeaderlessPeerMessage) -> [UInt8] {
        var writer = ByteWriter()
        writer.write(formatVersion)
        switch message {
        case .membership(let swim):
            writer.write(UInt8(0))
            encode(swim, into: &writer)
        case .replication(let replication):
            writer.write(UInt8(1))
            encode(replication, into: &writer)
        }
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(BinaryDecodingError) -> LeaderlessPeerMessage {
        var reader = ByteReader(bytes)
        let start = reader.offset
        let version = try reader.readByte()
        guard version == formatVersion else {
            throw BinaryDecodingError(.invalidValue("leaderless wire format \(version)"), at: start)
        }
        let message: LeaderlessPeerMessage
        switch try reader.readTag(limit: 1, of: "protocol") {
        case 0: message = .membership(try decodeSwim(&reader))
        default: message = .replication(try decodeReplication(&reader))
        }
        try reader.expectEnd()
        return message
    }

    /// The encoded size of a replication message (anti-entropy byte counters).
    public static func encodedSize(_ message: ReplicationMessage) -> Int {
        encode(.replication(message)).count
    }

    // MARK: SWIM

    static func encode(_ message: SwimMessage, into writer: inout ByteWriter) {
        switch message {
        case .ping(let sequence, let gossip):
            writer.write(UInt8(0))
            writer.writeVarint(sequence)
            encode(gossip, into: &writer)
        case .pingRequest(let sequence, let target, let gossip):
            writer.write(UInt8(1))
            writer.writeVarint(sequence)
            writer.write(node: target)
            encode(gossip, into: &writer)
        case .ack(let sequence, let gossip):
            writer.write(UInt8(2))
            writer.writeVarint(sequence)
            encode(gossip, into: &writer)
        }
    }

    static func encode(_ gossip: [MembershipUpdate], into writer: inout ByteWriter) {
        writer.writeVarint(gossip.count)
        for update in gossip {
            writer.write(node: update.member)
            writer.write(update.status.rawValue)
            writer.writeVarint(update.incarnation)
        }
    }

    static func decodeSwim(_ reader: inout ByteReader) throws(BinaryDecodingError) -> SwimMessage {
        switch try reader.readTag(limit: 2, of: "SWIM message") {
        case 0: return .ping(sequence: try reader.readVarint(), gossip: try decodeGossip(&reader))
        case 1:
            let sequence = try reader.readVarint()
            return .pingRequest(sequence: sequence, target: try reader.readNode(), gossip: try decodeGossip(&reader))
        default: return .ack(sequence: try reader.readVarint(), gossip: try decodeGossip(&reader))
        }
    }

    static func decodeGossip(_ reader: inout ByteReader) throws(BinaryDecodingError) -> [MembershipUpdate] {
        let count = try reader.readCount(limit: SwimLimits.maximumGossipPerMessage, minimumElementBytes: 3)
        var updates: [MembershipUpdate] = []
        updates.reserveCapacity(count)
        for _ in 0..<count {
            let member = try reader.readNode()
            let start = reader.offset
            guard let status = MemberStatus(rawValue: try reader.readByte()) else {
                throw BinaryDecodingError(.invalidValue("member status"), at: start)
            }
            updates.append(MembershipUpdate(member: member, status: status, incarnation: try reader.readVarint()))
        }
        return updates
    }

    // MARK: Replication

    static func encode(_ message: ReplicationMessage, into writer: inout ByteWriter) {
        switch message {
        case .mint(let mint):
            writer.write(UInt8(0))
            writer.write(requestID: mint.request)
            mint.key.encode(into: &writer)
            encode(mint.operation, into: &writer)
            writer.writeVarint(mint.targets.count)
            for target in mint.targets {
                writer.write(node: target.node)
                writer.write(optionalNode: target.hintFor)
            }
            writer.write(mint.requireDurable)
            mint.dependencies.encode(into: &writer)
            writer.write(mint.returnValue)
        case .mintRefused(let request, let reason):
            writer.write(UInt8(1))
            writer.write(requestID: request)
            encode(reason, into: &writer)
        case .replicate(let replication):
            writer.write(UInt8(2))
            writer.write(replication.request != nil)
            if let request = replication.request { writer.write(requestID: request) }
            writer.write(optionalNode: replication.coordinator)
            writer.write(keyedValue: replication.key, replication.value)
            writer.write(optionalNode: replication.hintFor)
            writer.write(replication.requireDurable)
            writer.write(replication.causal != nil)
            if let causal = replication.causal {
                writer.write(node: causal.origin)
                writer.writeVarint(causal.sequence)
                causal.dependencies.encode(into: &writer)
            }
        case .writeAcknowledged(let request, let durable, let primary, let minted):
            writer.write(UInt8(3))
            writer.write(requestID: request)
            writer.write(durable)
            writer.write(primary)
            writer.write(minted != nil)
            if let minted {
                writer.write(minted.dot != nil)
                minted.dot?.encode(into: &writer)
                writer.write(minted.value != nil)
                if let value = minted.value { encodeKindTagged(value, into: &writer) }
                writer.write(minted.causalSequence != nil)
                if let sequence = minted.causalSequence {
                    writer.writeVarint(sequence)
                    minted.causalDependencies.encode(into: &writer)
                }
                writer.write(minted.answeredAgain)
            }
        case .read(let request, let key, let dependencies):
            writer.write(UInt8(4))
            writer.write(requestID: request)
            key.encode(into: &writer)
            writer.write(dependencies != nil)
            dependencies?.encode(into: &writer)
        case .readReply(let request, let value, let primary, let dependencies):
            writer.write(UInt8(5))
            writer.write(requestID: request)
            writer.write(value != nil)
            if let value { encodeKindTagged(value, into: &writer) }
            writer.write(primary)
            dependencies.encode(into: &writer)
        case .repair(let key, let value, let hintFor, let dependencies):
            writer.write(UInt8(6))
            writer.write(keyedValue: key, value)
            writer.write(optionalNode: hintFor)
            dependencies.encode(into: &writer)
        case .hintDelivery(let hint, let version, let key, let value):
            writer.write(UInt8(7))
            writer.writeVarint(hint.rawValue)
            writer.writeVarint(version)
            writer.write(keyedValue: key, value)
        case .hintAcknowledged(let hint, let version):
            writer.write(UInt8(8))
            writer.writeVarint(hint.rawValue)
            writer.writeVarint(version)
        case .causalAcknowledged(let sequence):
            writer.write(UInt8(9))
            writer.writeVarint(sequence)
        case .causalFrontier(let attested, let frontier):
            writer.write(UInt8(10))
            writer.writeVarint(attested)
            frontier.encode(into: &writer)
        case .collectTombstone(let key, let dot):
            writer.write(UInt8(11))
            key.encode(into: &writer)
            dot.encode(into: &writer)
        case .antiEntropy(let antiEntropy):
            writer.write(UInt8(12))
            encode(antiEntropy, into: &writer)
        }
    }

    static func decodeReplication(_ reader: inout ByteReader) throws(BinaryDecodingError) -> ReplicationMessage {
        switch try reader.readTag(limit: 12, of: "replication message") {
        case 0:
            let request = try reader.readRequestID()
            let key = try ObjectKey(decoding: &reader)
            let operation = try decodeOperation(&reader, key: key)
            let count = try reader.readCount(limit: ReplicationLimits.maximumReplicaCount, minimumElementBytes: 2)
            var targets: [WriteTarget] = []
            for _ in 0..<count { targets.append(WriteTarget(node: try reader.readNode(), hintFor: try reader.readOptionalNode())) }
            let durable = try reader.readBool()
            let dependencies = try reader.readBoundedVector()
            let returnValue = try reader.readBool()
            return .mint(MintRequest(
                request: request, key: key, operation: operation, targets: targets, requireDurable: durable,
                dependencies: dependencies, returnValue: returnValue))
        case 1:
            let request = try reader.readRequestID()
            return .mintRefused(request: request, reason: try decodeOperationError(&reader))
        case 2:
            let request = try reader.readBool() ? try reader.readRequestID() : nil
            let coordinator = try reader.readOptionalNode()
            let (key, value) = try reader.readKeyedValue()
            let hintFor = try reader.readOptionalNode()
            let durable = try reader.readBool()
            var causal: CausalTag? = nil
            if try reader.readBool() {
                let origin = try reader.readNode()
                let sequence = try reader.readVarint()
                causal = CausalTag(origin: origin, sequence: sequence, dependencies: try reader.readBoundedVector())
            }
            return .replicate(Replication(
                request: request, coordinator: coordinator, key: key, value: value, hintFor: hintFor, requireDurable: durable,
                causal: causal))
        case 3:
            let request = try reader.readRequestID()
            let durable = try reader.readBool()
            let primary = try reader.readBool()
            var minted: MintResult? = nil
            if try reader.readBool() {
                let dot = try reader.readBool() ? try Dot(decoding: &reader) : nil
                let value = try reader.readBool() ? try decodeKindTaggedValue(&reader) : nil
                var sequence: UInt64? = nil
                var dependencies = VersionVector()
                if try reader.readBool() {
                    sequence = try reader.readVarint()
                    dependencies = try reader.readBoundedVector()
                }
                minted = MintResult(
                    dot: dot, value: value, causalSequence: sequence, causalDependencies: dependencies, answeredAgain: try reader.readBool())
            }
            return .writeAcknowledged(request: request, durable: durable, primary: primary, minted: minted)
        case 4:
            let request = try reader.readRequestID()
            let key = try ObjectKey(decoding: &reader)
            let dependencies = try reader.readBool() ? try reader.readBoundedVector() : nil
            return .read(request: request, key: key, dependencies: dependencies)
        case 5:
            let request = try reader.readRequestID()
            let value = try reader.readBool() ? try decodeKindTaggedValue(&reader) : nil
            let primary = try reader.readBool()
            return .readReply(request: request, value: value, primary: primary, dependencies: try reader.readBoundedVector())
        case 6:
            let (key, value) = try reader.readKeyedValue()
            let hintFor = try reader.readOptionalNode()
            return .repair(key: key, value: value, hintFor: hintFor, dependencies: try reader.readBoundedVector())
        case 7:
            let hint = HintID(try reader.readVarint())
            let version = try reader.readVarint()
            let (key, value) = try reader.readKeyedValue()
            return .hintDelivery(hint: hint, version: version, key: key, value: value)
        case 8:
            let hint = HintID(try reader.readVarint())
            return .hintAcknowledged(hint: hint, version: try reader.readVarint())
        case 9: return .causalAcknowledged(sequence: try reader.readVarint())
        case 10:
            let attested = try reader.readVarint()
            return .causalFrontier(attested: attested, frontier: try reader.readBoundedVector())
        case 11:
            let key = try ObjectKey(decoding: &reader)
            return .collectTombstone(key: key, dot: try Dot(decoding: &reader))
        default:
            return .antiEntropy(try decodeAntiEntropy(&reader))
        }
    }

    /// A value whose kind is sent before it (replies, whose key the
    /// receiver knows from its request, carry their own kind).
    static func decodeKindTaggedValue(_ reader: inout ByteReader) throws(BinaryDecodingError) -> ReplicatedValue {
        let start = reader.offset
        guard let kind = ValueKind(rawValue: try reader.readByte()) else {
            throw BinaryDecodingError(.invalidValue("value kind"), at: start)
        }
        return try ReplicatedValue(decoding: &reader, kind: kind)
    }

    static func encodeKindTagged(_ value: ReplicatedValue, into writer: inout ByteWriter) {
        writer.write(value.kind.rawValue)
        value.encode(into: &writer)
    }
}
