import ChorusLocalCluster

/// One fault of the network nemesis, in Jepsen's vocabulary, resolved against
/// the cluster as it is when the fault starts (who leads).
public enum PartitionFault: String, CaseIterable, Sendable, CustomStringConvertible {
    /// The leader cut off from every other node (clients still reach it).
    case isolateLeader = "isolate-leader"
    /// The leader and one other node in a minority, the rest in the majority.
    case minorityLeader = "minority-leader"
    /// Two halves that cannot reach each other, both reaching one node.
    case bridge
    /// The leader's packets to the others dropped; theirs to it delivered.
    case oneWayLeader = "one-way-leader"
    /// Every link between nodes drops 30% of its packets.
    case lossy
    /// The leader isolated, then killed (SIGKILL) while isolated; the network
    /// heals and the node restarts.
    case isolateThenKillLeader = "isolate-then-kill-leader"

    public var description: String { rawValue }

    /// The packet filters of this fault for a cluster of `nodes` led by
    /// `leader` (nil: none known; the fault then picks node 1).
    public func faults(leader: Int?, nodes: ClosedRange<Int>) -> NetworkFaults {
        let leader = leader ?? nodes.lowerBound
        let others = nodes.filter { $0 != leader }
        switch self {
        case .isolateLeader, .isolateThenKillLeader:
            return .isolate(leader, in: nodes)
        case .minorityLeader:
            // The largest minority that holds the leader: 1 of 3, 2 of 5.
            let minoritySize = max(1, (nodes.count - 1) / 2)
            let minority = Set([leader] + others.prefix(minoritySize - 1))
            return .split([minority, Set(nodes).subtracting(minority)])
        case .bridge:
            guard others.count >= 2 else { return .isolate(leader, in: nodes) }
            // The bridge is a follower; the leader sits in one half.
            let bridge = others[0]
            let rest = Array(others.dropFirst())
            let firstHalf = Set([leader] + rest.prefix((rest.count - 1) / 2))
            let secondHalf = Set(nodes).subtracting(firstHalf).subtracting([bridge])
            return .bridge(firstHalf, secondHalf, through: bridge)
        case .oneWayLeader:
            var faults = NetworkFaults()
            for node in others { faults.blocked.insert(.init(from: leader, to: node)) }
            return faults
        case .lossy:
            return .lossy(0.3, in: nodes)
        }
    }

    /// Parses a comma-separated list of fault names.
    public static func parseList(_ text: String) throws(NemesisError) -> [PartitionFault] {
        var faults: [PartitionFault] = []
        for name in text.split(separator: ",") {
            guard let fault = PartitionFault(rawValue: String(name)) else {
                throw .invalid("unknown fault '\(name)'; known: \(allCases.map(\.rawValue).joined(separator: ", "))")
            }
            faults.append(fault)
        }
        guard !faults.isEmpty else { throw .invalid("no faults named") }
        return faults
    }
}

public enum NemesisError: Error, CustomStringConvertible, Sendable {
    case invalid(String)
    case cluster(String)

    public var description: String {
        switch self {
        case .invalid(let reason): reason
        case .cluster(let reason): reason
        }
    }
}
