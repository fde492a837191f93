/// What the causal checker found: a verdict per bad pattern, and from them
/// the verdicts of CC, CCv and CM.
public struct CausalCheckResult: Sendable {
    /// One result per pattern, in `CausalPattern.allCases` order.
    public var patterns: [PropertyResult]
    public var duration: Duration

    public func pattern(_ pattern: CausalPattern) -> PropertyResult {
        patterns[CausalPattern.allCases.firstIndex(of: pattern)!]
    }

    /// Violated when any of the model's patterns occurs; unknown when none
    /// does but one could not be decided.
    public func verdict(_ model: CausalModel) -> Verdict {
        let verdicts = model.patterns.map { pattern($0).verdict }
        if verdicts.contains(.violated) { return .violated }
        if verdicts.contains(.unknown) { return .unknown }
        return .satisfied
    }

    /// The result as the reports show it, judged by `model`: its patterns
    /// are the properties, and the three models' verdicts are the statistics.
    public func result(for model: CausalModel) -> PropertyCheckResult {
        let models = CausalModel.allCases.map {
            HistoryValue.MapEntry(key: .string($0.paperName), value: .string(verdict($0).rawValue))
        }
        return PropertyCheckResult(
            checker: "causal", properties: model.patterns.map { pattern($0) },
            statistics: .map([.init(key: "model", value: .string(model.paperName))] + models), duration: duration)
    }
}

/// Checks causal consistency on differentiated key-value histories by the
/// bad patterns of Bouajjani, Enea, Guerraoui and Hamza (POPL 2017, §5),
/// in polynomial time.
///
/// CO is computed as reachability over program order and write-read edges,
/// one row of bits (over the writes) per operation. The patterns that ask
/// for "some write of the key" need only the latest such write in each lane
/// (see `CausalGraphInput`), found by binary search, so each read costs a
/// few bit tests per lane. CyclicCF is a cycle search on CO's edges plus one
/// conflict edge per read and lane. For CM, HB_o grows along program order
/// (o ≤ o' in a session gives HB_o ⊆ HB_o'), so each session is checked at
/// its last operation, and a violating session is binary-searched for the
/// first operation that shows it, which gives the smallest counterexample.
public enum CausalChecker {
    public static func check(_ history: KeyValueHistory) throws(HistoryError) -> CausalCheckResult {
        let start = ContinuousClock.now
        let input = try CausalGraphInput(history)
        var tallies = CausalPattern.allCases.map { PropertyTally($0.rawValue) }
        func index(_ pattern: CausalPattern) -> Int { CausalPattern.allCases.firstIndex(of: pattern)! }
        tallies[index(.thinAirRead)] = input.thinAir
        let graph = DirectedGraph(nodeCount: input.nodeCount, edges: input.baseEdges)
        let components = graph.stronglyConnectedComponents()
        let cycles = reportCycles(graph, components, input: input, justification: [:], into: &tallies[index(.cyclicCO)],
                                  what: "these operations causally precede each other in a cycle")
        let dependent: [CausalPattern] = [.writeCOInitRead, .writeCORead, .cyclicCF, .writeHBInitRead, .cyclicHB]
        if cycles {
            for pattern in dependent {
                tallies[index(pattern)].unknown = true
                tallies[index(pattern)].note = "not evaluated: CO has a cycle, so it is no order"
            }
        } else if let rows = ReachabilityRows(
            graph: graph, components: components, bitOfNode: input.writeBit, bitCount: input.writeNodes.count)
        {
            var run = CausalRun(input: input, graph: graph, rows: rows)
            run.checkReads()
            tallies[index(.writeCOInitRead)] = run.writeCOInitRead
            tallies[index(.writeCORead)] = run.writeCORead
            let conflictGraph = DirectedGraph(nodeCount: input.nodeCount, edges: input.baseEdges + run.conflictEdges)
            _ = reportCycles(
                conflictGraph, conflictGraph.stronglyConnectedComponents(), input: input, justification: run.conflictReason,
                into: &tallies[index(.cyclicCF)], what: "no single order of the writes fits every read: the conflicts and CO form a cycle")
            var memory = CausalMemoryRun(input: input, graph: graph)
            memory.check()
            tallies[index(.writeHBInitRead)] = memory.writeHBInitRead
            tallies[index(.cyclicHB)] = memory.cyclicHB
        } else {
            for pattern in dependent {
                tallies[index(pattern)].unknown = true
                tallies[index(pattern)].note = "not evaluated: \(input.nodeCount) operations × \(input.writeNodes.count) writes "
                    + "exceed the reachability budget (\(CheckLimits.reachabilityBitsMaximum) bits)"
            }
        }
        return CausalCheckResult(patterns: tallies.map(\.result), duration: ContinuousClock.now - start)
    }

    /// Records one cycle per strongly connected component of several nodes;
    /// returns whether there was any. Conflict edges bring the read that justifies them.
    static func reportCycles(
        _ graph: DirectedGraph, _ components: StronglyConnectedComponents, input: CausalGraphInput,
        justification: [DirectedGraph.Edge: Int], into tally: inout PropertyTally, what: String
    ) -> Bool {
        var found = false
        for number in components.cyclic {
            found = true
            guard tally.wantsExample else {
                tally.count()
                continue
            }
            let start = components.members(number).first!
            guard let cycle = graph.shortestPath(from: start, to: start, allowed: { components.component[$0] == number })
            else { preconditionFailure("a strongly connected component of several nodes has a cycle") }
            var nodes = Array(cycle.nodes.dropLast())
            var reasons: [String] = []
            for (step, kind) in cycle.kinds.enumerated() {
                let edge = DirectedGraph.Edge(from: cycle.nodes[step], to: cycle.nodes[step + 1], kind: kind)
                guard let read = justification[edge] else { continue }
                if !nodes.contains(read) { nodes.append(read) }
                reasons.append("\(input.describe(edge.from)) must be arbitrated before \(input.describe(edge.to)) because \(input.describe(read)) follows the first and returned the second")
            }
            let explanation = what + ": " + input.chain(cycle.nodes, cycle.kinds)
                + (reasons.isEmpty ? "" : " (" + reasons.joined(separator: "; ") + ")")
            tally.record(PropertyViolation(operationIDs: nodes.map { input.operationOfNode[$0] }, explanation: explanation))
        }
        return found
    }
}

/// The CO-based patterns of CC and the conflict edges of CCv, read by read.
struct CausalRun {
    let input: CausalGraphInput
    let graph: DirectedGraph
    let rows: ReachabilityRows
    var writeCOInitRead = PropertyTally(CausalPattern.writeCOInitRead.rawValue)
    var writeCORead = PropertyTally(CausalPattern.writeCORead.rawValue)
    var conflictEdges: [DirectedGraph.Edge] = []
    /// The read that justifies each conflict edge (the first found).
    var conflictReason: [DirectedGraph.Edge: Int] = [:]

    /// The latest write of `lane` that causally precedes `node` (or is it).
    func latest(in lane: [Int], before node: Int) -> Int? {
        WordBits.lastMemberOfPrefix(lane) { rows.reaches(input.writeBit[$0], node) }.map { lane[$0] }
    }

    func path(_ from: Int, _ to: Int) -> (nodes: [Int], kinds: [UInt8]) {
        guard let path = graph.shortestPath(from: from, to: to) else { preconditionFailure("CO without a path") }
        return path
    }

    mutating func checkReads() {
        for node in 0..<input.nodeCount where !input.isWrite(node) {
            let lanes = input.lanesOfKey[input.keyOfNode[node]]
            guard let source = input.readsFrom[node] else {
                checkInitialRead(node, lanes)
                continue
            }
            var reportedWriteCORead = false
            for lane in lanes {
                guard let write = latest(in: lane, before: node), write != source else { continue }
                let edge = DirectedGraph.Edge(from: write, to: source, kind: CausalGraphInput.EdgeKind.conflict)
                if conflictReason[edge] == nil {
                    conflictReason[edge] = node
                    conflictEdges.append(edge)
                }
                if !reportedWriteCORead && rows.reaches(input.writeBit[source], write) {
                    reportedWriteCORead = true
                    guard writeCORead.wantsExample else {
                        writeCORead.count()
                        continue
                    }
                    let first = path(source, write)
                    let second = path(write, node)
                    let nodes = first.nodes + second.nodes.dropFirst()
                    let explanation = "\(input.describe(node)) returned the value of \(input.describe(source)), "
                        + "but a later write of the key comes between them in CO: "
                        + input.chain(nodes, first.kinds + second.kinds)
                    writeCORead.record(PropertyViolation(operationIDs: nodes.map { input.operationOfNode[$0] }, explanation: explanation))
                }
            }
        }
    }

    private mutating func checkInitialRead(_ node: Int, _ lanes: [[Int]]) {
        for lane in lanes {
            guard let first = lane.first, rows.reaches(input.writeBit[first], node) else { continue }
            guard writeCOInitRead.wantsExample else {
                writeCOInitRead.count()
                return
            }
            let route = path(first, node)
            let explanation = "\(input.describe(node)) returned the initial value, but a write of the key causally precedes it: "
                + input.chain(route.nodes, route.kinds)
            writeCOInitRead.record(PropertyViolation(operationIDs: route.nodes.map { input.operationOfNode[$0] }, explanation: explanation))
            return
        }
    }
}
