import ChorusCore
import ChorusReplication
import Testing

/// A SWIM-only world: members, a delay per link, blocked links, and the
/// statuses each member has ever reported.
private struct SwimWorld {
    var members: [NodeID: SwimMembership] = [:]
    var inFlight: [(at: UInt64, from: NodeID, to: NodeID, message: SwimMessage)] = []
    var now: UInt64 = 0
    var silent: Set<NodeID> = []
    var delayTicks: [NodeID: UInt64] = [:]
    var blocked: Set<[NodeID]> = []
    /// Every status change each observer reported, in order.
    var history: [NodeID: [MembershipUpdate]] = [:]

    init(count: Int, seed: UInt64, configuration: SwimConfiguration = SwimConfiguration()) {
        let ids = (1...UInt64(count)).map { NodeID($0) }
        for id in ids {
            members[id] = SwimMembership(myself: id, members: ids, configuration: configuration, seed: seed &* 31 &+ id.rawValue)
        }
    }

    mutating func step() {
        now += 1
        for id in members.keys.sorted() where !silent.contains(id) { record(members[id]!.tick(), at: id) }
        let due = inFlight.filter { $0.at <= now }
        inFlight.removeAll { $0.at <= now }
        for message in due where !silent.contains(message.to) && !blocked.contains([message.from, message.to]) {
            // Every message crosses the wire codec.
            let bytes = ReplicationWire.encode(.membership(message.message))
            guard case .membership(let decoded) = try! ReplicationWire.decode(bytes) else { fatalError() }
            record(members[message.to]!.receive(decoded, from: message.from), at: message.to)
        }
    }

    mutating func record(_ effects: SwimEffects, at id: NodeID) {
        history[id, default: []] += effects.changes
        for (to, message) in effects.messages {
            let delay = 1 + (delayTicks[id] ?? 0) + (delayTicks[to] ?? 0)
            inFlight.append((now + delay, id, to, message))
        }
    }

    func status(of target: NodeID, seenBy observer: NodeID) -> MemberStatus { members[observer]!.status(of: target) }
}

@Suite struct SwimMembershipTests {
    @Test func aSilentMemberIsSuspectedThenDeclaredDeadWithinBoundedTicks() {
        let configuration = SwimConfiguration()
        var world = SwimWorld(count: 5, seed: 7, configuration: configuration)
        world.run(ticks: 20)
        world.silent = [5]
        let silencedAt = world.now
        // Round-robin probing reaches every member within 2(n−1) periods;
        // then the suspicion timeout, then a few periods of dissemination.
        let bound = 2 * 4 * configuration.protocolPeriodTicks + configuration.suspicionTimeoutTicks + 4 * configuration.protocolPeriodTicks
        var deadEverywhereAt: UInt64? = nil
        while world.now < silencedAt + bound {
            world.step()
            if deadEverywhereAt == nil, (1...4).allSatisfy({ world.status(of: 5, seenBy: NodeID($0)) == .dead }) {
                deadEverywhereAt = world.now
            }
        }
        #expect(deadEverywhereAt != nil, "every live member declares 5 dead within \(bound) ticks")
        for observer in (1...4).map { NodeID($0) } {
            let about5 = world.history[observer, default: []].filter { $0.member == 5 }.map(\.status)
            #expect(about5.last == .dead)
            // Suspected first (by someone), never straight from alive to dead
            // at the member that detected it.
            #expect(about5.contains(.suspect) || about5 == [.dead])
            for other in (1...4).map { NodeID($0) } { #expect(world.status(of: other, seenBy: observer) == .alive) }
        }
        #expect(world.history.values.flatMap { $0 }.contains { $0.member == 5 && $0.status == .suspect })
    }

    @Test func aSlowButAliveMemberRefutesAndIsNeverDeclaredDead() {
        var configuration = SwimConfiguration()
        configuration.suspicionTimeoutTicks = 30
        var world = SwimWorld(count: 5, seed: 11, configuration: configuration)
        // Every message to or from member 5 takes 3 extra ticks: past the
        // ping timeout and the protocol period, so its probes fail.
        world.delayTicks[5] = 3
        world.run(ticks: 300)
        let changes = world.history.values.flatMap { $0 }.filter { $0.member == 5 }
        #expect(changes.contains { $0.status == .suspect }, "the slow member is suspected")
        #expect(!changes.contains { $0.status == .dead }, "and refutes every time before the suspicion timeout")
        #expect(world.members[5]!.incarnation > 0, "refuting raised its incarnation")
        world.delayTicks[5] = 0
        world.run(ticks: 60)
        for observer in (1...4).map { NodeID($0) } { #expect(world.status(of: 5, seenBy: observer) == .alive) }
    }

    @Test func aHealedPartitionBringsEveryMemberBackAlive() {
        var world = SwimWorld(count: 5, seed: 3)
        world.run(ticks: 20)
        for a in [1, 2, 3] as [NodeID] { for b in [4, 5] as [NodeID] { world.blocked.insert([a, b]); world.blocked.insert([b, a]) } }
        world.run(ticks: 150)
        #expect(world.status(of: 4, seenBy: 1) == .dead && world.status(of: 1, seenBy: 5) == .dead)
        #expect(world.status(of: 2, seenBy: 1) == .alive && world.status(of: 5, seenBy: 4) == .alive)
        world.blocked = []
        world.run(ticks: 120)
        for observer in (1...5).map { NodeID($0) } {
            for target in (1...5).map { NodeID($0) } where target != observer {
                #expect(world.status(of: target, seenBy: observer) == .alive, "\(observer) sees \(target) alive after the heal")
            }
        }
    }

    @Test func theSameSeedReplaysTheSameMessages() {
        var first = SwimWorld(count: 4, seed: 99)
        var second = SwimWorld(count: 4, seed: 99)
        first.silent = [2]
        second.silent = [2]
        first.run(ticks: 80)
        second.run(ticks: 80)
        #expect(first.history == second.history)
        #expect(first.inFlight.map { "\($0)" } == second.inFlight.map { "\($0)" })
    }
}

extension SwimWorld {
    mutating func run(ticks: Int) { for _ in 0..<ticks { step() } }
}
