import ChorusCore

/// How a keyspace's data is replicated (DESIGN.md §2).
public enum ReplicationMode: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// By the Raft group, in this store: `linearizable` down to `eventual`.
    case raft = 1
    /// Dynamo-style, by the leaderless replicas (`ChorusReplication`): `eventual`,
    /// `session` and `causal`, writable on both sides of a partition. The
    /// definition lives here so every node agrees on it; the data does not.
    case leaderless = 2

    public var name: String {
        switch self {
        case .raft: "raft"
        case .leaderless: "leaderless"
        }
    }

    public init?(name: String) {
        guard let mode = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = mode
    }

    public var description: String { name }
}

/// What a keyspace is: its replication mode, the consistency level an
/// operation that names none gets, and for leaderless keyspaces the quorum
/// defaults and whether causal+ visibility is on. Created once, replicated in
/// the Raft group's catalog, so every node serves it alike.
public struct KeyspaceDefinition: Sendable, Hashable {
    public var mode: ReplicationMode
    /// The default level's API name (`linearizable`, `session`, …), checked
    /// by the service layer against what the mode serves.
    public var defaultLevel: String
    /// Leaderless: replicas per key, read and write quorums.
    public var replicas: Int
    public var readQuorum: Int
    public var writeQuorum: Int
    /// Leaderless: writes become visible only after their dependencies (causal+).
    public var causal: Bool

    public init(
        mode: ReplicationMode, defaultLevel: String, replicas: Int = 3, readQuorum: Int = 2, writeQuorum: Int = 2,
        causal: Bool = false
    ) {
        self.mode = mode
        self.defaultLevel = defaultLevel
        self.replicas = replicas
        self.readQuorum = readQuorum
        self.writeQuorum = writeQuorum
        self.causal = causal
    }

    /// The keyspace every cluster has: Raft, linearizable by default.
    public static let `default` = KeyspaceDefinition(mode: .raft, defaultLevel: "linearizable")

    func write(to writer: inout ByteWriter) {
        writer.write(mode.rawValue)
        writer.writeString(defaultLevel)
        writer.writeVarint(replicas)
        writer.writeVarint(readQuorum)
        writer.writeVarint(writeQuorum)
        writer.write(causal)
    }

    static func read(_ reader: inout ByteReader) throws(BinaryDecodingError) -> KeyspaceDefinition {
        let modeByte = try reader.readByte()
        guard let mode = ReplicationMode(rawValue: modeByte) else {
            throw reader.error(.invalidValue("replication mode \(modeByte)"))
        }
        let level = try reader.readString(limit: 64)
        let replicas = try reader.readVarint(limit: KeyspaceName.maximumReplicas)
        let readQuorum = try reader.readVarint(limit: KeyspaceName.maximumReplicas)
        let writeQuorum = try reader.readVarint(limit: KeyspaceName.maximumReplicas)
        let causal = try reader.readBool()
        return KeyspaceDefinition(
            mode: mode, defaultLevel: level, replicas: replicas, readQuorum: readQuorum, writeQuorum: writeQuorum,
            causal: causal)
    }
}

/// The rules for keyspace names: 1…64 bytes of lower-case letters, digits,
/// `-`, `_` and `.`, starting with a letter or digit (so a name is safe in a
/// URL path, a metric label and a Redis `SELECT` table without escaping).
public enum KeyspaceName {
    public static let defaultName = "default"
    /// The leaderless keyspace that `chorus cluster up` and `chorus demo`
    /// create (N=3, R=W=2) and that the Redis protocol's database 0 names
    /// unless `chorus node --resp-keyspace` says otherwise.
    public static let leaderlessDefaultName = "leaderless"
    public static let maximumBytes = 64
    public static let maximumKeyspaces = 1_024
    public static let maximumReplicas = 16

    /// Why `name` is not a keyspace name, or nil if it is one.
    public static func problem(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= maximumBytes else { return "a keyspace name is 1 to \(maximumBytes) bytes" }
        func allowed(_ byte: UInt8) -> Bool {
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
        guard bytes.allSatisfy(allowed), bytes[0] != UInt8(ascii: "-"), bytes[0] != UInt8(ascii: "_"),
            bytes[0] != UInt8(ascii: ".")
        else { return "a keyspace name holds lower-case letters, digits, '-', '_' and '.', and starts with a letter or digit" }
        return nil
    }
}
