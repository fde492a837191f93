import ChorusCore

/// The first frame on every connection between two nodes, sent by the node
/// that dialled. It says which protocol the bytes after it speak, which
/// cluster and node they come from, which node they are meant for, and where
/// the sender serves HTTP (so every node learns every leader's URL and can
/// redirect clients to it).
///
///     magic "CHRW" · protocol version (varint) · cluster id (u64 LE)
///     · from node (varint) · to node (varint) · HTTP URL (length-prefixed UTF-8)
///
/// The acceptor checks all of it (`validate`) and closes the connection on any
/// mismatch: a node of another cluster, a stray client, or a peer list that
/// points at the wrong port never gets a message into the Raft core.
public struct Handshake: Sendable, Hashable {
    public static let magic: [UInt8] = Array("CHRW".utf8)
    /// Bumped whenever the message encoding changes incompatibly. Version 2:
    /// every frame after the handshake starts with its `PeerProtocol` byte.
    public static let protocolVersion: UInt64 = 2

    public var protocolVersion: UInt64
    public var clusterID: UInt64
    public var from: NodeID
    public var to: NodeID
    public var httpURL: String

    public init(
        protocolVersion: UInt64 = Handshake.protocolVersion, clusterID: UInt64, from: NodeID, to: NodeID,
        httpURL: String
    ) {
        self.protocolVersion = protocolVersion
        self.clusterID = clusterID
        self.from = from
        self.to = to
        self.httpURL = httpURL
    }

    public func encoded(limits: WireLimits = .default) throws(WireError) -> [UInt8] {
        guard httpURL.utf8.count <= limits.maximumURLBytes else {
            throw .tooLarge(what: "advertised URL", size: httpURL.utf8.count, limit: limits.maximumURLBytes)
        }
        var writer = ByteWriter(capacity: 32 + httpURL.utf8.count)
        writer.writeRaw(Self.magic)
        writer.writeVarint(protocolVersion)
        writer.writeFixed(clusterID)
        writer.writeVarint(from.rawValue)
        writer.writeVarint(to.rawValue)
        writer.writeString(httpURL)
        return writer.bytes
    }

    /// Decodes a handshake frame payload. The magic is checked first, so a
    /// stray HTTP request on the peer port is refused as `.notAHandshake`.
    public init(decoding bytes: [UInt8], limits: WireLimits = .default) throws(WireError) {
        guard bytes.count >= Self.magic.count, Array(bytes[0..<Self.magic.count]) == Self.magic else {
            throw .notAHandshake
        }
        var reader = ByteReader(bytes)
        do {
            _ = try reader.readRaw(count: Self.magic.count)
            protocolVersion = try reader.readVarint()
        } catch {
            throw .malformed(error)
        }
        // The version is checked before anything after it is interpreted: a
        // later version may lay out the rest differently.
        guard protocolVersion == Self.protocolVersion else { throw .unsupportedProtocolVersion(protocolVersion) }
        do {
            clusterID = try reader.readFixedUInt64()
            from = NodeID(try reader.readVarint())
            to = NodeID(try reader.readVarint())
            httpURL = try reader.readString(limit: limits.maximumURLBytes)
            try reader.expectEnd()
        } catch {
            throw .malformed(error)
        }
        guard from != .none, to != .none else { throw .invalid("a handshake names node 0") }
        guard from != to else { throw .invalid("a handshake from \(from) to itself") }
    }

    /// Checks a received handshake against the acceptor's view of the cluster.
    public func validate(clusterID expectedCluster: UInt64, localNode: NodeID, knownPeers: [NodeID]) throws(WireError) {
        guard clusterID == expectedCluster else {
            throw .handshakeRejected("cluster id \(clusterID) is not this cluster's \(expectedCluster)")
        }
        guard to == localNode else { throw .handshakeRejected("meant for \(to), but this is \(localNode)") }
        guard knownPeers.contains(from) else { throw .handshakeRejected("\(from) is not a known peer") }
    }
}
