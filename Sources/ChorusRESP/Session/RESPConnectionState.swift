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
    }
}
