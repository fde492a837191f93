import ChorusClocks
import ChorusCore
import ChorusReplication

/// A deterministic in-test world for `ReplicationNode`s and their SWIM
/// failure detectors: virtual ticks, a network that delays, reorders, drops,
/// duplicates and partitions (every message goes through the wire codec),
/// and disks that keep only what a sync made durable, so a crash loses
/// exactly the unsynced tail of a node's log. One seed replays everything.
final class SimulatedCluster {
    struct Node {
        var replication: ReplicationNode
        var swim: SwimMembership
        var log: [[UInt8]] = []
        var durableCount = 0
        var up = true
    }

    struct InFlight {
        var deliverAt: UInt64
        var order: UInt64
        var from: NodeID
        var to: NodeID
        var bytes: [UInt8]
    }

    var configurationTemplate: ReplicationConfiguration
    var swimConfiguration = SwimConfiguration()
    var nodes: [NodeID: Node] = [:]
    var network: [InFlight] = []
    var now: UInt64 = 0
    var generator: SeededGenerator
    var order: UInt64 = 0
    var responses: [ClientRequestID: ClientResponse] = [:]
    /// Response identifiers in arrival order, for consumers that poll.
    var responseOrder: [ClientRequestID] = []
    var nextClientRequest: UInt64 = 1
    /// Fault rates, changed by the tests at will.
    var dropProbability = 0.0
    var duplicateProbability = 0.0
    var maximumDelayTicks: UInt64 = 1
    /// Links that carry nothing (both directions).
    var blocked: Set<[NodeID]> = []
    /// Whether SWIM decides reachability; if not, tests set it by hand.
    var failureDetection: Bool
    var messagesDelivered = 0

    var members: [NodeID] { configurationTemplate.members.sorted() }

    init(members: [NodeID], keyspaces: [KeyspaceConfiguration], seed: UInt64, failureDetection: Bool = true,
         adjust: (inout ReplicationConfiguration) -> Void = { _ in })
    {
        var template = ReplicationConfiguration(myself: members[0], members: members, keyspaces: keyspaces)
        template.virtualNodesPerMember = 16
        template.antiEntropyIntervalTicks = 20
        adjust(&template)
        configurationTemplate = template
        generator = SeededGenerator(seed: seed)
        self.failureDetection = failureDetection
        for member in members {
            var configuration = template
            configuration.myself = member
            let replication = try! ReplicationNode(configuration: configuration)
            let swim = SwimMembership(myself: member, members: members, configuration: swimConfiguration, seed: generator.next())
            nodes[member] = Node(replication: replication, swim: swim)
        }
    }

    // MARK: Driving

    func submit(_ operation: ClientOperation, to node: NodeID, options: RequestOptions = RequestOptions()) -> ClientRequestID {
        let id = ClientRequestID(nextClientRequest)
        nextClientRequest += 1
        guard nodes[node]!.up else { return id }
        let effects = nodes[node]!.replication.submit(ClientRequest(id: id, operation: operation, options: options))
        apply(effects, at: node)
        return id
    }

    /// Submits and runs until the response arrives (or `limit` ticks pass).
    func perform(_ operation: ClientOperation, at node: NodeID, options: RequestOptions = RequestOptions(), limit: Int = 200) -> ClientResponse? {
        let id = submit(operation, to: node, options: options)
        var ticks = 0
        while responses[id] == nil && ticks < limit {
            step()
            ticks += 1
        }
        return responses[id]
    }

    func run(ticks: Int) {
        for _ in 0..<ticks { step() }
    }

    func step() {
        now += 1
        for member in members where nodes[member]!.up {
            if failureDetection {
                let swimEffects = nodes[member]!.swim.tick()
                applySwim(swimEffects, at: member)
            }
            apply(nodes[member]!.replication.tick(), at: member)
        }
        deliverDue()
    }

    func deliverDue() {
        let due = network.filter { $0.deliverAt <= now }.sorted { ($0.deliverAt, $0.order) < ($1.deliverAt, $1.order) }
        network.removeAll { $0.deliverAt <= now }
        for message in due {
            guard nodes[message.to]!.up, !isBlocked(message.from, message.to) else { continue }
            messagesDelivered += 1
            let decoded = try! ReplicationWire.decode(message.bytes)
            switch decoded {
            case .membership(let swim):
                guard failureDetection else { continue }
                applySwim(nodes[message.to]!.swim.receive(swim, from: message.from), at: message.to)
            case .replication(let replication):
                apply(nodes[message.to]!.replication.receive(replication, from: message.from), at: message.to)
            }
        }
    }

    func isBlocked(_ a: NodeID, _ b: NodeID) -> Bool { blocked.contains([a, b]) || blocked.contains([b, a]) }

    func enqueue(_ message: LeaderlessPeerMessage, from: NodeID, to: NodeID) {
        let bytes = ReplicationWire.encode(message)
        var copies = 1
        if generator.chance(dropProbability) { copies = 0 }
        if copies == 1 && generator.chance(duplicateProbability) { copies = 2 }
        for _ in 0..<copies {
            order += 1
            let delay = 1 + (maximumDelayTicks > 1 ? generator.next() % maximumDelayTicks : 0)
            network.append(InFlight(deliverAt: now + delay, order: order, from: from, to: to, bytes: bytes))
        }
    }

    func applySwim(_ effects: SwimEffects, at member: NodeID) {
        for (to, message) in effects.messages { enqueue(.membership(message), from: member, to: to) }
        for change in effects.changes {
            apply(nodes[member]!.replication.updateReachability(change.member, reachable: change.status == .alive), at: member)
        }
    }

    func apply(_ effects: ReplicationEffects, at member: NodeID) {
        for record in effects.persist { nodes[member]!.log.append(record.bytes) }
        if effects.requiresSync { nodes[member]!.durableCount = nodes[member]!.log.count }
        for (to, message) in effects.messages { enqueue(.replication(message), from: member, to: to) }
        for response in effects.responses {
            if responses.updateValue(response, forKey: response.id) == nil { responseOrder.append(response.id) }
        }
    }

    /// Sets reachability by hand on every live node (no failure detector).
    func setReachable(_ node: NodeID, _ reachable: Bool, from observers: [NodeID]? = nil) {
        for member in observers ?? members where member != node && nodes[member]!.up {
            apply(nodes[member]!.replication.updateReachability(node, reachable: reachable), at: member)
        }
    }

    // MARK: Faults

    func partition(_ groups: [[NodeID]]) {
        blocked = []
        for (index, group) in groups.enumerated() {
            for other in groups[(index + 1)...] {
                for a in group { for b in other { blocked.insert([a, b]) } }
            }
        }
    }

    func heal() { blocked = [] }

    /// Loses the node's memory and the unsynced tail of its log.
    func crash(_ member: NodeID) {
        nodes[member]!.up = false
        nodes[member]!.log = Array(nodes[member]!.log.prefix(nodes[member]!.durableCount))
    }

    func restart(_ member: NodeID) {
        var configuration = configurationTemplate
        configuration.myself = member
        nodes[member]!.replication = try! ReplicationNode(configuration: configuration, recovering: nodes[member]!.log, now: now)
        nodes[member]!.swim = SwimMembership(myself: member, members: members, configuration: swimConfiguration, seed: generator.next())
        nodes[member]!.up = true
    }

    func replica(_ member: NodeID) -> ReplicationNode { nodes[member]!.replication }
}
