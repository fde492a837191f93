/// What the network nemesis does to the links between nodes: a pure value,
/// turned into packet filters by `NodeNetwork.apply`.
///
/// A link is directed: `Link(from: 1, to: 2)` carries the packets node 1
/// sends to node 2. Blocking only one direction of a pair is an asymmetric
/// partition (TCP then fails both ways, as it does on a real network: the
/// answers of the open direction are lost). Packets from the host (the test's
/// clients) are never touched: clients see every node, as Jepsen's control
/// node does.
public struct NetworkFaults: Sendable, Hashable, CustomStringConvertible {
    public struct Link: Sendable, Hashable, Comparable, CustomStringConvertible {
        public var from: Int
        public var to: Int
        public init(from: Int, to: Int) {
            self.from = from
            self.to = to
        }
        public static func < (lhs: Link, rhs: Link) -> Bool { (lhs.from, lhs.to) < (rhs.from, rhs.to) }
        public var description: String { "n\(from)→n\(to)" }
    }

    /// Links on which every packet is dropped.
    public var blocked: Set<Link> = []
    /// Links on which each packet is dropped with this probability (0 < p < 1).
    public var loss: [Link: Double] = [:]

    public init(blocked: Set<Link> = [], loss: [Link: Double] = [:]) {
        self.blocked = blocked
        self.loss = loss
    }

    /// A healed network.
    public static let none = NetworkFaults()

    /// `node` cut off from every other node, both ways.
    public static func isolate(_ node: Int, in nodes: ClosedRange<Int>) -> NetworkFaults {
        split([[node], Set(nodes).subtracting([node])])
    }

    /// Groups that cannot reach each other (both ways); nodes in one group
    /// talk freely. A majority/minority split is `split([[1, 2, 3], [4, 5]])`.
    public static func split(_ groups: [Set<Int>]) -> NetworkFaults {
        var faults = NetworkFaults()
        for (index, group) in groups.enumerated() {
            for other in groups[(index + 1)...] {
                for a in group { for b in other { faults.blockBothWays(a, b) } }
            }
        }
        return faults
    }

    /// Jepsen's bridge: two halves that cannot reach each other, and one
    /// node in both (`bridge`), which every node reaches.
    public static func bridge(_ firstHalf: Set<Int>, _ secondHalf: Set<Int>, through bridge: Int) -> NetworkFaults {
        precondition(!firstHalf.contains(bridge) && !secondHalf.contains(bridge), "the bridge node is in neither half")
        return split([firstHalf, secondHalf])
    }

    /// Packets from `from` to `to` are dropped; the other direction passes.
    public static func oneWay(from: Int, to: Int) -> NetworkFaults {
        NetworkFaults(blocked: [Link(from: from, to: to)])
    }

    /// Every link between distinct nodes loses packets with `probability`.
    public static func lossy(_ probability: Double, in nodes: ClosedRange<Int>) -> NetworkFaults {
        var faults = NetworkFaults()
        for a in nodes { for b in nodes where a != b { faults.loss[Link(from: a, to: b)] = probability } }
        return faults
    }

    public mutating func blockBothWays(_ a: Int, _ b: Int) {
        blocked.insert(Link(from: a, to: b))
        blocked.insert(Link(from: b, to: a))
    }

    /// Whether packets from `from` reach `to` at all.
    public func delivers(from: Int, to: Int) -> Bool { !blocked.contains(Link(from: from, to: to)) }

    /// The nodes `node` exchanges packets with both ways (itself included).
    public func reachable(from node: Int, in nodes: ClosedRange<Int>) -> Set<Int> {
        Set(nodes.filter { $0 == node || (delivers(from: node, to: $0) && delivers(from: $0, to: node)) })
    }

    /// The rules of node `node`'s filter chain, as iptables arguments after
    /// `-A CHAIN`: the packets it must drop, identified by their sender's address.
    func inputRules(of node: Int, address: (Int) -> String) -> [[String]] {
        var rules: [[String]] = []
        for link in blocked.sorted() where link.to == node {
            rules.append(["-s", address(link.from), "-j", "DROP"])
        }
        for (link, probability) in loss.sorted(by: { $0.key < $1.key }) where link.to == node && !blocked.contains(link) {
            rules.append([
                "-s", address(link.from), "-m", "statistic", "--mode", "random", "--probability", "\(probability)", "-j", "DROP",
            ])
        }
        return rules
    }

    public var description: String {
        if blocked.isEmpty && loss.isEmpty { return "healed" }
        var parts: [String] = []
        if !blocked.isEmpty { parts.append("blocked " + blocked.sorted().map(\.description).joined(separator: " ")) }
        if !loss.isEmpty {
            parts.append("lossy " + loss.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: " "))
        }
        return parts.joined(separator: "; ")
    }
}
