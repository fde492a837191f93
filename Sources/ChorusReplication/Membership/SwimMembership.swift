import ChorusCore

/// What one SWIM step asks the runtime to do.
public struct SwimEffects: Sendable {
    /// Messages to send, in order, best effort (SWIM tolerates loss).
    public var messages: [(to: NodeID, message: SwimMessage)] = []
    /// Members whose status changed in this member's view.
    public var changes: [MembershipUpdate] = []
    public init() {}
}

/// The SWIM failure detector of one member, as a pure value (Das, Gupta and
/// Motivala, DSN 2002; after apple/swift-cluster-membership's `SWIM.Instance`,
/// which it does not depend on).
///
/// Every protocol period it probes one member, chosen round-robin over a
/// shuffled order (§4.3, so every member is probed within 2(n−1) periods):
///
///     ping ──▶ target            (direct)
///     no ack in pingTimeout:  pingRequest ──▶ k members ──ping──▶ target
///     no ack by period end:   target becomes suspect (§4.2)
///     suspect for suspicionTimeout without refuting:  dead
///
/// Membership updates ride on every message (infection-style dissemination,
/// §4.1), each sent λ·⌈log₂(n+1)⌉ times, least-sent first. A member that
/// hears itself suspected (or declared dead) at an incarnation ≥ its own
/// refutes by gossiping `alive` at a higher incarnation.
///
/// Two departures from the paper, because membership here comes from the
/// configuration rather than from joins and leaves:
/// - a dead member is still probed (with no indirect probes), and every
///   message to a member this member does not believe alive carries that
///   belief first, so a member that comes back (a healed partition, a
///   restart with incarnation 0) learns it was declared dead and refutes;
/// - `alive` at a higher incarnation overrides `dead`, so it returns.
///
/// Deterministic: randomness comes only from the `SeededGenerator` it was
/// built with, time only from `tick()`, and no dictionary order reaches a
/// message.
public struct SwimMembership: Sendable {
    public let myself: NodeID
    public let configuration: SwimConfiguration
    public private(set) var incarnation: UInt64 = 0
    /// The latest update known about every other configured member.
    public private(set) var members: [NodeID: MembershipUpdate]
    public private(set) var now: UInt64 = 0

    private var suspectedSince: [NodeID: UInt64] = [:]
    private var generator: SeededGenerator
    private var probeOrder: [NodeID] = []
    private var probeIndex = 0
    private var probe: Probe?
    private var nextProbeTick: UInt64 = 0
    private var relays: [UInt64: Relay] = [:]
    private var pendingGossip: [NodeID: (update: MembershipUpdate, transmissions: Int)] = [:]
    private var sequence: UInt64 = 0

    private struct Probe: Sendable {
        var target: NodeID
        var sequence: UInt64
        var startedAt: UInt64
        var indirectSent: Bool
    }

    private struct Relay: Sendable {
        var requester: NodeID
        var requesterSequence: UInt64
        var deadline: UInt64
    }

    public init(myself: NodeID, members: [NodeID], configuration: SwimConfiguration = SwimConfiguration(), seed: UInt64) {
        self.myself = myself
        self.configuration = configuration
        var known: [NodeID: MembershipUpdate] = [:]
        for member in members where member != myself {
            known[member] = MembershipUpdate(member: member, status: .alive, incarnation: 0)
        }
        self.members = known
        generator = SeededGenerator(seed: seed)
        // Start probing at a random offset in the first period, so members
        // started together do not probe in lockstep.
        nextProbeTick = 1 + generator.next() % configuration.protocolPeriodTicks
    }

    public func status(of member: NodeID) -> MemberStatus {
        member == myself ? .alive : members[member]?.status ?? .dead
    }

    /// Members this one currently believes alive, ascending, itself included.
    public var aliveMembers: [NodeID] {
        ([myself] + members.values.filter { $0.status == .alive }.map(\.member)).sorted()
    }

    private var disseminationLimit: Int {
        var log2 = 0
        var value = members.count + 1
        while value > 1 {
            value = (value + 1) / 2
            log2 += 1
        }
        return configuration.disseminationMultiplier * Swift.max(1, log2)
    }

    // MARK: Time

    public mutating func tick() -> SwimEffects {
        var effects = SwimEffects()
        now += 1
        if let current = probe {
            let targetStatus = status(of: current.target)
            if !current.indirectSent && now >= current.startedAt + configuration.pingTimeoutTicks {
                probe?.indirectSent = true
                if targetStatus != .dead {
                    for helper in chooseHelpers(excluding: current.target) {
                        effects.messages.append(
                            (helper, .pingRequest(sequence: current.sequence, target: current.target, gossip: gossip(for: helper))))
                    }
                }
            }
            if now >= current.startedAt + configuration.protocolPeriodTicks {
                probe = nil
                if let known = members[current.target], known.status == .alive {
                    apply(MembershipUpdate(member: current.target, status: .suspect, incarnation: known.incarnation), into: &effects)
                }
            }
        }
        if probe == nil && now >= nextProbeTick, let target = nextProbeTarget() {
            sequence += 1
            probe = Probe(target: target, sequence: sequence, startedAt: now, indirectSent: false)
            nextProbeTick = now + configuration.protocolPeriodTicks
            effects.messages.append((target, .ping(sequence: sequence, gossip: gossip(for: target))))
        }
        for (member, since) in suspectedSince.sorted(by: { $0.key < $1.key })
        where now >= since + configuration.suspicionTimeoutTicks {
            if let known = members[member], known.status == .suspect {
                apply(MembershipUpdate(member: member, status: .dead, incarnation: known.incarnation), into: &effects)
            }
        }
        relays = relays.filter { $0.value.deadline >= now }
        return effects
    }

    // MARK: Messages

    public mutating func receive(_ message: SwimMessage, from sender: NodeID) -> SwimEffects {
        var effects = SwimEffects()
        guard members[sender] != nil else { return effects }
        for update in message.gossip.prefix(SwimLimits.maximumGossipPerMessage) { apply(update, into: &effects) }
        switch message {
        case .ping(let sequence, _):
            effects.messages.append((sender, .ack(sequence: sequence, gossip: gossip(for: sender))))
        case .pingRequest(let requesterSequence, let target, _):
            guard target != myself, members[target] != nil, relays.count < configuration.maximumPendingRelays else { break }
            sequence += 1
            relays[sequence] = Relay(
                requester: sender, requesterSequence: requesterSequence, deadline: now + configuration.protocolPeriodTicks)
            effects.messages.append((target, .ping(sequence: sequence, gossip: gossip(for: target))))
        case .ack(let sequence, _):
            if probe?.sequence == sequence {
                probe = nil
            } else if let relay = relays.removeValue(forKey: sequence) {
                effects.messages.append(
                    (relay.requester, .ack(sequence: relay.requesterSequence, gossip: gossip(for: relay.requester))))
            }
        }
        return effects
    }

    // MARK: Membership updates

    private mutating func apply(_ update: MembershipUpdate, into effects: inout SwimEffects) {
        if update.member == myself {
            // Refutation (§4.2): someone suspects us at our incarnation or later.
            // A belief older than our incarnation means our refutation did
            // not reach everyone (it was disseminated while they were cut
            // off): gossip it again, so the member holding it learns.
            if update.status != .alive {
                if update.incarnation >= incarnation { incarnation = update.incarnation + 1 }
                enqueue(MembershipUpdate(member: myself, status: .alive, incarnation: incarnation))
            }
            return
        }
        guard let known = members[update.member], update.overrides(known) else { return }
        members[update.member] = update
        switch update.status {
        case .suspect:
            if known.status != .suspect { suspectedSince[update.member] = now }
        case .alive, .dead:
            suspectedSince[update.member] = nil
        }
        enqueue(update)
        if known.status != update.status { effects.changes.append(update) }
    }

    private mutating func enqueue(_ update: MembershipUpdate) {
        pendingGossip[update.member] = (update, 0)
    }

    /// Up to `maximumGossipPerMessage` updates, least-transmitted first; a
    /// recipient this member does not believe alive is first told so, so
    /// that it can refute.
    private mutating func gossip(for recipient: NodeID) -> [MembershipUpdate] {
        var chosen: [MembershipUpdate] = []
        if let belief = members[recipient], belief.status != .alive { chosen.append(belief) }
        let ordered = pendingGossip.sorted { lhs, rhs in
            lhs.value.transmissions != rhs.value.transmissions
                ? lhs.value.transmissions < rhs.value.transmissions : lhs.key < rhs.key
        }
        let limit = disseminationLimit
        for (member, entry) in ordered {
            guard chosen.count < configuration.maximumGossipPerMessage else { break }
            if chosen.contains(entry.update) { continue }
            chosen.append(entry.update)
            let transmissions = entry.transmissions + 1
            if transmissions >= limit { pendingGossip[member] = nil } else { pendingGossip[member] = (entry.update, transmissions) }
        }
        return chosen
    }

    // MARK: Choosing members

    private mutating func nextProbeTarget() -> NodeID? {
        if members.isEmpty { return nil }
        if probeIndex >= probeOrder.count {
            probeOrder = members.keys.sorted()
            probeOrder.shuffle(using: &generator)
            probeIndex = 0
        }
        let target = probeOrder[probeIndex]
        probeIndex += 1
        return target
    }

    private mutating func chooseHelpers(excluding target: NodeID) -> [NodeID] {
        var candidates = members.values.filter { $0.status == .alive && $0.member != target }.map(\.member).sorted()
        candidates.shuffle(using: &generator)
        return Array(candidates.prefix(configuration.indirectProbeCount))
    }
}
