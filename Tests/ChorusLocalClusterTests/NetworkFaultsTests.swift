import Foundation
import Testing

@testable import ChorusLocalCluster

/// The network nemesis's faults as values, and as the packet filters they
/// become in the nodes' namespaces.
@Suite struct NetworkFaultsTests {
    @Test func isolationsSplitsAndBridgesCutExactlyTheirLinks() {
        let isolated = NetworkFaults.isolate(2, in: 1...3)
        #expect(isolated.reachable(from: 2, in: 1...3) == [2])
        #expect(isolated.reachable(from: 1, in: 1...3) == [1, 3])
        #expect(isolated.blocked.count == 4)

        let split = NetworkFaults.split([[1, 2], [3, 4, 5]])
        #expect(split.reachable(from: 1, in: 1...5) == [1, 2])
        #expect(split.reachable(from: 4, in: 1...5) == [3, 4, 5])

        let bridge = NetworkFaults.bridge([1, 2], [4, 5], through: 3)
        #expect(bridge.reachable(from: 3, in: 1...5) == [1, 2, 3, 4, 5], "the bridge node sees both halves")
        #expect(bridge.reachable(from: 1, in: 1...5) == [1, 2, 3])
        #expect(bridge.reachable(from: 5, in: 1...5) == [3, 4, 5])

        let oneWay = NetworkFaults.oneWay(from: 1, to: 2)
        #expect(!oneWay.delivers(from: 1, to: 2) && oneWay.delivers(from: 2, to: 1))
        #expect(NetworkFaults.none.description == "healed")
    }

    @Test func eachNodeDropsWhatIsSentToIt() {
        var faults = NetworkFaults.oneWay(from: 1, to: 2)
        faults.loss[.init(from: 3, to: 2)] = 0.25
        faults.loss[.init(from: 1, to: 2)] = 0.5  // already blocked: no second rule
        let address = { (node: Int) in "10.0.0.\(node)" }
        #expect(
            faults.inputRules(of: 2, address: address) == [
                ["-s", "10.0.0.1", "-j", "DROP"],
                ["-s", "10.0.0.3", "-m", "statistic", "--mode", "random", "--probability", "0.25", "-j", "DROP"],
            ])
        #expect(faults.inputRules(of: 1, address: address).isEmpty)
    }

    /// Root only: a real two-node network, its filters written and healed,
    /// and nothing left behind.
    @Test(.enabled(if: NodeNetwork.unavailableReason == nil, Comment(rawValue: NodeNetwork.unavailableReason ?? "")))
    func aNetworkIsMadeFilteredHealedAndRemoved() throws {
        let network = try NodeNetwork.create(nodeCount: 2)
        var removed = false
        defer { if !removed { network.remove() } }
        try network.apply(.oneWay(from: 1, to: 2))
        #expect(try network.rules(of: 2) == ["-A CHORUS -s \(network.address(1))/32 -j DROP"])
        #expect(try network.rules(of: 1).isEmpty)
        try network.detach(1)
        try network.attach(1)
        try network.heal()
        #expect(try network.rules(of: 2).isEmpty)
        network.remove()
        removed = true
        let left = try NodeNetwork.output(NodeNetwork.ipTool!, ["netns", "list"])
        #expect(!left.contains(network.namespace(1)) && !left.contains(network.namespace(2)), "\(left)")
    }
}
