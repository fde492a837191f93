import ChorusCore

/// What one member believes about another (Das, Gupta and Motivala, "SWIM:
/// Scalable Weakly-consistent Infection-style Process Group Membership
/// Protocol", DSN 2002, §4.2).
public enum MemberStatus: UInt8, Hashable, Sendable, CustomStringConvertible {
    case alive = 0
    /// Failed a probe; declared dead unless it refutes within the
    /// suspicion timeout.
    case suspect = 1
    /// Confirmed unreachable. Membership comes from the configuration, so a
    /// dead member is never removed: it comes back by refuting with a
    /// higher incarnation (see `SwimMembership`).
    case dead = 2

    /// At one incarnation, dead overrides suspect overrides alive (§4.2).
    var precedence: UInt8 { rawValue }

    public var description: String {
        switch self {
        case .alive: "alive"
        case .suspect: "suspect"
        case .dead: "dead"
        }
    }
}

/// One membership fact, disseminated by piggybacking on protocol messages
/// (§4.1): `member` is `status` at `incarnation`.
public struct MembershipUpdate: Hashable, Sendable {
    public var member: NodeID
    public var status: MemberStatus
    public var incarnation: UInt64

    public init(member: NodeID, status: MemberStatus, incarnation: UInt64) {
        self.member = member
        self.status = status
        self.incarnation = incarnation
    }

    /// SWIM's override order: a higher incarnation wins; at one incarnation
    /// the stronger status wins. A total order on (incarnation, status), so
    /// every member that has seen the same updates agrees.
    func overrides(_ other: MembershipUpdate) -> Bool {
        if incarnation != other.incarnation { return incarnation > other.incarnation }
        return status.precedence > other.status.precedence
    }
}

/// A SWIM protocol message. The envelope (who sent it) is the transport's.
public enum SwimMessage: Hashable, Sendable {
    /// A direct probe (§3.1).
    case ping(sequence: UInt64, gossip: [MembershipUpdate])
    /// Asks the receiver to probe `target` on the sender's behalf (§3.1,
    /// indirect probing through k members).
    case pingRequest(sequence: UInt64, target: NodeID, gossip: [MembershipUpdate])
    /// Answers a ping, or relays the target's answer to a ping request,
    /// carrying the requester's sequence.
    case ack(sequence: UInt64, gossip: [MembershipUpdate])

    public var gossip: [MembershipUpdate] {
        switch self {
        case .ping(_, let gossip), .pingRequest(_, _, let gossip), .ack(_, let gossip): gossip
        }
    }
}

/// SWIM's timing and fan-out, in ticks of the caller's clock.
///
///     pingTimeoutTicks  <  protocolPeriodTicks  ≤  suspicionTimeoutTicks
///
/// A probe waits `pingTimeoutTicks` for a direct ack, then asks
/// `indirectProbeCount` members; an ack by the period's end clears it.
public struct SwimConfiguration: Hashable, Sendable {
    public var protocolPeriodTicks: UInt64 = 5
    public var pingTimeoutTicks: UInt64 = 2
    /// k of the paper: members asked to probe indirectly.
    public var indirectProbeCount: Int = 3
    public var suspicionTimeoutTicks: UInt64 = 15
    /// λ of the paper: each update is piggybacked λ·⌈log₂(n+1)⌉ times (§4.1).
    public var disseminationMultiplier: Int = 3
    /// Updates carried by one message.
    public var maximumGossipPerMessage: Int = 8
    /// Ping requests this member relays at once.
    public var maximumPendingRelays: Int = 64

    public init() {}

    public func validate() throws(ConfigurationError) {
        guard pingTimeoutTicks >= 1, pingTimeoutTicks < protocolPeriodTicks else {
            throw .invalid("SWIM ping timeout must be at least 1 tick and below the protocol period")
        }
        guard suspicionTimeoutTicks >= protocolPeriodTicks else {
            throw .invalid("SWIM suspicion timeout must be at least one protocol period")
        }
        guard indirectProbeCount >= 0, disseminationMultiplier >= 1, maximumGossipPerMessage >= 1,
            maximumGossipPerMessage <= SwimLimits.maximumGossipPerMessage, maximumPendingRelays >= 1
        else { throw .invalid("SWIM fan-out limits out of range") }
    }
}

public enum SwimLimits {
    /// Updates a decoded SWIM message may carry.
    public static let maximumGossipPerMessage = 64
}

/// A configuration that cannot run.
public enum ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self {
        case .invalid(let reason): reason
        }
    }
}
