import ChorusClocks
import ChorusCore

/// A leaderless keyspace's identity on the wire and on disk. The keyspace
/// naming of the consistency-spectrum issue maps names to these numbers.
public struct KeyspaceID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible, CompactCodable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (lhs: KeyspaceID, rhs: KeyspaceID) -> Bool { lhs.rawValue < rhs.rawValue }
    /// The identifier a named keyspace of the cluster's catalog gets on
    /// every node: the low 32 bits of XXH64 of its name, so nodes agree
    /// without coordinating. Creating a keyspace whose identifier another
    /// already has is refused by the service layer.
    public init(naming name: String) { rawValue = UInt32(truncatingIfNeeded: StableHash.hash(name.utf8)) }
    public var description: String { "ks\(rawValue)" }
    public func encode(into writer: inout ByteWriter) { writer.writeVarint(UInt64(rawValue)) }
    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let start = reader.offset
        guard let raw = UInt32(exactly: try reader.readVarint()) else {
            throw BinaryDecodingError(.invalidValue("keyspace identifier exceeds 32 bits"), at: start)
        }
        rawValue = raw
    }
}

/// What a key holds. The kind is part of the key's identity, as a Riak map
/// field's kind is part of its key: "k" the set and "k" the counter are two
/// objects, so replicas that concurrently create one name with two kinds
/// never conflict, and every stored value's type follows from its key.
public enum ValueKind: UInt8, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    /// Opaque bytes with dotted version vectors: concurrent writes are siblings.
    case versioned = 0
    /// A `CausalCounter`: increments merge, a reset forgets what it saw.
    case counter = 1
    /// An add-wins `ORSet` of byte strings.
    case set = 2
    /// A `RiakMap`: fields of every kind, nested.
    case map = 3
    /// An `MVRegister` of timestamped bytes, read as last-writer-wins.
    case register = 4
    /// An enable-wins `EWFlag`.
    case flag = 5

    public static func < (lhs: ValueKind, rhs: ValueKind) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String {
        switch self {
        case .versioned: "versioned"
        case .counter: "counter"
        case .set: "set"
        case .map: "map"
        case .register: "register"
        case .flag: "flag"
        }
    }
}

/// One replicated object: keyspace, kind and key bytes.
public struct ObjectKey: Hashable, Comparable, Sendable, CustomStringConvertible, CompactCodable {
    public var keyspace: KeyspaceID
    public var kind: ValueKind
    public var key: [UInt8]

    /// Keys are names, not payloads: 64 KiB is far above any sensible name.
    public static let maximumKeyBytes = 64 << 10

    public init(keyspace: KeyspaceID, kind: ValueKind, key: [UInt8]) {
        precondition(key.count <= Self.maximumKeyBytes, "key longer than \(Self.maximumKeyBytes) bytes")
        self.keyspace = keyspace
        self.kind = kind
        self.key = key
    }

    public init(keyspace: KeyspaceID = KeyspaceID(0), kind: ValueKind, _ key: String) {
        self.init(keyspace: keyspace, kind: kind, key: Array(key.utf8))
    }

    /// The ring position: the stable hash of keyspace and key bytes, without
    /// the kind, so every kind of one name lands on the same replicas.
    public var ringPosition: UInt64 {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4 + key.count)
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: keyspace.rawValue >> UInt32(shift))) }
        bytes.append(contentsOf: key)
        return StableHash.hash(bytes)
    }

    public static func < (lhs: ObjectKey, rhs: ObjectKey) -> Bool {
        if lhs.keyspace != rhs.keyspace { return lhs.keyspace < rhs.keyspace }
        if lhs.kind != rhs.kind { return lhs.kind < rhs.kind }
        return lhs.key.lexicographicallyPrecedes(rhs.key)
    }

    public var description: String {
        let text = String(decoding: key, as: UTF8.self)
        return "\(keyspace)/\(kind)/\(text)"
    }

    public func encode(into writer: inout ByteWriter) {
        keyspace.encode(into: &writer)
        writer.write(kind.rawValue)
        writer.writeLengthPrefixed(key)
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        keyspace = try KeyspaceID(decoding: &reader)
        let start = reader.offset
        let raw = try reader.readByte()
        guard let kind = ValueKind(rawValue: raw) else {
            throw BinaryDecodingError(.invalidValue("value kind \(raw)"), at: start)
        }
        self.kind = kind
        key = Array(try reader.readLengthPrefixed(limit: Self.maximumKeyBytes))
    }
}

/// Bytes with the hybrid logical time of the write that made them: the
/// register value whose concurrent writes are ordered last-writer-wins when
/// read, as Redis Active-Active orders concurrent string `SET`s.
public struct TimestampedBytes: Hashable, Sendable, CompactCodable {
    public var bytes: [UInt8]
    public var timestamp: HybridTimestamp

    public init(bytes: [UInt8], timestamp: HybridTimestamp) {
        self.bytes = bytes
        self.timestamp = timestamp
    }

    public func encode(into writer: inout ByteWriter) {
        writer.writeLengthPrefixed(bytes)
        timestamp.encode(into: &writer)
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        bytes = Array(try reader.readLengthPrefixed(limit: ReplicationLimits.maximumValueBytes))
        timestamp = try HybridTimestamp(decoding: &reader)
    }
}
