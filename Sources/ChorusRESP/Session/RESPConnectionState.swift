import Synchronization

/// What one connection remembers between its commands (redis-server's
/// `client` struct, the parts this front end has): the protocol version
/// `HELLO` chose, the database `SELECT` chose, the `CLIENT SETNAME` name and
/// the authenticated subject.
public struct RESPConnectionState: Sendable, Hashable {
    /// Unique per server process, increasing, from 1 (`CLIENT ID`).
    public let clientID: UInt64
    public var protocolVersion: RESPProtocolVersion = .resp2
    public var database = 0
    public var clientName: [UInt8]? = nil
    /// The subject `AUTH` established, nil when none did.
    public var subject: String? = nil
    /// The roles `AUTH` established with the subject.
    public var roles: [String] = []
    /// Whether data commands may run: true from the start when the backend
    /// requires no authentication, else after a successful `AUTH`.
    public var isAuthenticated: Bool
    /// `ip:port` of the peer and of this end, for `CLIENT INFO`.
    public var remoteAddress: String
    public var localAddress: String
    /// What the backend keeps for this connection between commands.
    public private(set) var memory = RESPConnectionMemory()

    public init(clientID: UInt64, requiresAuthentication: Bool, remoteAddress: String = "", localAddress: String = "") {
        self.clientID = clientID
        self.isAuthenticated = !requiresAuthentication
        self.remoteAddress = remoteAddress
        self.localAddress = localAddress
    }

    /// `RESET`: back to a new connection's state, keeping the identity.
    public mutating func reset(requiresAuthentication: Bool) {
        protocolVersion = .resp2
        database = 0
        clientName = nil
        subject = nil
        roles = []
        isAuthenticated = !requiresAuthentication
        memory = RESPConnectionMemory()
    }
}

/// Bytes a backend keeps for one connection between its commands, opaque to
/// the protocol layer (the leaderless backend keeps the connection's causal
/// session there, so a client that cannot carry a session token still reads
/// its own writes on a causal keyspace). `RESET` starts a new one.
/// Commands of a connection run one at a time, so a backend's read, then
/// write, of it never interleaves with another command's.
public final class RESPConnectionMemory: Sendable, Hashable {
    private let storage = Mutex<[UInt8]>([])

    public init() {}

    public var bytes: [UInt8] {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }

    public static func == (lhs: RESPConnectionMemory, rhs: RESPConnectionMemory) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
