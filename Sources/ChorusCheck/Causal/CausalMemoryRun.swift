/// The CM patterns, WriteHBInitRead and CyclicHB, session by session.
///
/// HB_o (POPL 2017, §5.3) is the smallest transitive relation on o's causal
/// past that holds CO there and orders w1 before w2 (same key) whenever
/// w1 HB_o r2 for a read r2 of w2 in o's session at or before o: the session
/// saw w2 after w1 was already visible, so in its view w1 came first. It is
/// computed as a fixpoint: reachability over CO's edges plus the HB edges
/// found so far, then new HB edges from the session's reads (one candidate
/// w1 per lane of the key, the latest below r2), until none is new. Each
/// round adds an edge, and there are at most (reads × lanes) of them.
struct CausalMemoryRun {
    /// What HB_o showed for one o.
    struct Outcome {
        /// A cycle of HB_o, as nodes (the first repeated last) and edge kinds,
        /// with the reads that justify its HB edges.
        var cycle: (nodes: [Int], kinds: [UInt8], reasons: [Int])?
        /// A read of the initial value with a write of its key before it in HB_o.
        var initialRead: (nodes: [Int], kinds: [UInt8], reasons: [Int])?
        /// The reachability budget ran out.
        var exceeded = false
        var violates: Bool { cycle != nil || initialRead != nil }
    }

    let input: CausalGraphInput
    let graph: DirectedGraph
    var writeHBInitRead = PropertyTally(CausalPattern.writeHBInitRead.rawValue)
    var cyclicHB = PropertyTally(CausalPattern.cyclicHB.rawValue)

    init(input: CausalGraphInput, graph: DirectedGraph) {
        self.input = input
        self.graph = graph
    }

    mutating func check() {
        for (session, chain) in input.sessionChains.enumerated() where !chain.isEmpty {
            let last = happensBefore(session: session, upTo: chain.count - 1)
            if last.exceeded {
                let note = "not evaluated for every session: the reachability budget ran out"
                writeHBInitRead.unknown = true
                writeHBInitRead.note = note
                cyclicHB.unknown = true
                cyclicHB.note = note
                continue
            }
            guard last.violates else { continue }
            // The first operation of the session whose view shows it (HB_o only grows along the session).
            var low = 0
            var high = chain.count - 1
            var first = last
            while low < high {
                let middle = (low + high) / 2
                let outcome = happensBefore(session: session, upTo: middle)
                if outcome.violates {
                    high = middle
                    first = outcome
                } else {
                    low = middle + 1
                }
            }
            let viewpoint = "in the view of session \(input.operation(chain[low]).session) up to \(input.describe(chain[low]))"
            if let cycle = first.cycle {
                let explanation = "\(viewpoint), these writes are seen in a cycle: " + input.chain(cycle.nodes, cycle.kinds)
                    + reasonText(cycle.reasons)
                cyclicHB.record(violation(Array(cycle.nodes.dropLast()) + cycle.reasons, explanation))
            }
            if let route = first.initialRead {
                let read = route.nodes.last!
                let explanation = "\(input.describe(read)) returned the initial value, but \(viewpoint) a write of the key "
                    + "comes before it: " + input.chain(route.nodes, route.kinds) + reasonText(route.reasons)
                writeHBInitRead.record(violation(route.nodes + route.reasons, explanation))
            }
        }
    }

    private func reasonText(_ reasons: [Int]) -> String {
        guard !reasons.isEmpty else { return "" }
        return " (the session's reads that order them: " + reasons.map { input.describe($0) }.joined(separator: "; ") + ")"
    }

    private func violation(_ nodes: [Int], _ explanation: String) -> PropertyViolation {
        var seen = Set<Int>()
        let unique = nodes.filter { seen.insert($0).inserted }
        return PropertyViolation(operationIDs: unique.map { input.operationOfNode[$0] }, explanation: explanation)
    }

    /// HB_o for o, the operation at `position` in `session`.
    func happensBefore(session: Int, upTo position: Int) -> Outcome {
        let chain = input.sessionChains[session]
        let viewpoint = chain[position]
        // o's causal past: everything with a path to o over CO's edges.
        var local = [Int](repeating: -1, count: input.nodeCount)
        var past = [viewpoint]
        local[viewpoint] = 0
        var head = 0
        while head < past.count {
            let node = past[head]
            head += 1
            for slot in graph.predecessors(node) {
                let source = graph.predecessorSource(slot)
                if local[source] < 0 {
                    local[source] = past.count
                    past.append(source)
                }
            }
        }
        var baseEdges: [DirectedGraph.Edge] = []
        for node in past {
            for slot in graph.predecessors(node) {
                baseEdges.append(.init(from: local[graph.predecessorSource(slot)], to: local[node], kind: graph.predecessorKind(slot)))
            }
        }
        let bits = past.map { input.writeBit[$0] }
        let reads = chain[0...position].filter { !input.isWrite($0) }
        var added: [DirectedGraph.Edge] = []
        var reasonOf: [DirectedGraph.Edge: Int] = [:]
        while true {
            let localGraph = DirectedGraph(nodeCount: past.count, edges: baseEdges + added)
            let components = localGraph.stronglyConnectedComponents()
            if let number = components.cyclic.first {
                let start = components.members(number).first!
                guard let cycle = localGraph.shortestPath(from: start, to: start, allowed: { components.component[$0] == number })
                else { preconditionFailure("a strongly connected component of several nodes has a cycle") }
                return Outcome(cycle: translate(cycle, past: past, reasonOf: reasonOf))
            }
            guard let rows = ReachabilityRows(
                graph: localGraph, components: components, bitOfNode: bits, bitCount: input.writeNodes.count)
            else { return Outcome(exceeded: true) }
            var fresh: [DirectedGraph.Edge] = []
            for read in reads {
                guard let source = input.readsFrom[read] else { continue }
                for lane in input.lanesOfKey[input.keyOfNode[read]] {
                    guard let index = WordBits.lastMemberOfPrefix(lane, isMember: { rows.reaches(input.writeBit[$0], local[read]) })
                    else { continue }
                    let write = lane[index]
                    if write == source || rows.reaches(input.writeBit[write], local[source]) { continue }
                    let edge = DirectedGraph.Edge(from: local[write], to: local[source], kind: CausalGraphInput.EdgeKind.happensBefore)
                    if reasonOf[edge] == nil {
                        reasonOf[edge] = read
                        fresh.append(edge)
                    }
                }
            }
            if fresh.isEmpty {
                for read in reads where input.readsFrom[read] == nil {
                    for lane in input.lanesOfKey[input.keyOfNode[read]] {
                        guard let first = lane.first, rows.reaches(input.writeBit[first], local[read]) else { continue }
                        guard let route = localGraph.shortestPath(from: local[first], to: local[read]) else {
                            preconditionFailure("HB without a path")
                        }
                        return Outcome(initialRead: translate(route, past: past, reasonOf: reasonOf))
                    }
                }
                return Outcome()
            }
            added += fresh
        }
    }

    private func translate(
        _ path: (nodes: [Int], kinds: [UInt8]), past: [Int], reasonOf: [DirectedGraph.Edge: Int]
    ) -> (nodes: [Int], kinds: [UInt8], reasons: [Int]) {
        var reasons: [Int] = []
        for (step, kind) in path.kinds.enumerated() {
            let edge = DirectedGraph.Edge(from: path.nodes[step], to: path.nodes[step + 1], kind: kind)
            if let read = reasonOf[edge], !reasons.contains(read) { reasons.append(read) }
        }
        return (path.nodes.map { past[$0] }, path.kinds, reasons)
    }
}
