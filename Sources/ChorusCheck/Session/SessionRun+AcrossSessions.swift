/// The across-keys halves of monotonic writes and writes follow reads.
///
/// Terry et al. (§3.3, §3.4) require, for any server S2, that if a session's
/// write W2 is in DB(S2) then so are the writes W1 it follows: the session's
/// earlier writes (MW) and the writes its earlier reads saw (WFR). The
/// dependency graph has an edge for each reason one write must be visible
/// where another is:
///
///     W1 ──session order──▶ W2          (MW: the same session, W1 first)
///     W1 ──reads-from──▶ R ──session order──▶ W2   (WFR)
///     W0 ──key order──▶ W1              (a version holds the key's earlier ones)
///
/// A session that read W (some key) holds, in its view, every write with a
/// path to W; a later read of key x by that session must return an order at
/// or after the latest such write of x. Rows of bits give each component of
/// the graph the set of writes that reach it.
extension SessionRun {
    mutating func checkAcrossSessions() {
        var edges: [DirectedGraph.Edge] = []
        var bitOfNode = [Int](repeating: -1, count: operations.count)
        var writeCount = 0
        for operation in operations where participates[operation.id] {
            for predecessor in sessionPredecessors[operation.id] {
                edges.append(.init(from: predecessor, to: operation.id, kind: EdgeKind.sessionOrder))
            }
            if operation.function == .read, let write = resolution.observedWrite[operation.id] {
                edges.append(.init(from: write, to: operation.id, kind: EdgeKind.readsFrom))
            }
            if operation.isWrite {
                bitOfNode[operation.id] = writeCount
                writeCount += 1
            }
        }
        for writes in resolution.writesByKey {
            for index in writes.indices.dropFirst() {
                edges.append(.init(from: writes[index - 1], to: writes[index], kind: EdgeKind.keyOrder))
            }
        }
        let graph = DirectedGraph(nodeCount: operations.count, edges: edges)
        let components = graph.stronglyConnectedComponents()
        reportCycles(graph, components)
        let withoutReads = graph.stronglyConnectedComponents(excluding: [EdgeKind.readsFrom])
        guard
            let all = ReachabilityRows(graph: graph, components: components, bitOfNode: bitOfNode, bitCount: writeCount),
            let writesOnly = ReachabilityRows(
                graph: graph, components: withoutReads, bitOfNode: bitOfNode, bitCount: writeCount,
                excluding: [EdgeKind.readsFrom])
        else {
            let note = "the across-keys part was not checked: \(operations.count) operations × \(writeCount) writes "
                + "exceed the reachability budget (\(CheckLimits.reachabilityBitsMaximum) bits)"
            for guarantee in [SessionGuarantee.monotonicWrites, .writesFollowReads] {
                tallies[tallyIndex(guarantee)].note = note
                tallies[tallyIndex(guarantee)].unknown = true
            }
            return
        }
        sweepObservers(graph, all: all, writesOnly: writesOnly, bitOfNode: bitOfNode)
    }

    /// A cycle of dependencies: no order of applying the writes satisfies
    /// every session. Cycles through operations already reported by the
    /// same-key checks are not reported again.
    private mutating func reportCycles(_ graph: DirectedGraph, _ components: StronglyConnectedComponents) {
        for index in components.cyclic {
            let members = components.members(index)
            if members.contains(where: { reportedLocally[$0] }) { continue }
            let start = members.first!
            guard let cycle = graph.shortestPath(from: start, to: start, allowed: { components.component[$0] == index })
            else { preconditionFailure("a strongly connected component of several nodes has a cycle") }
            let guarantee: SessionGuarantee = cycle.kinds.contains(EdgeKind.readsFrom) ? .writesFollowReads : .monotonicWrites
            let nodes = Array(cycle.nodes.dropLast())
            let explanation = "these writes depend on each other in a cycle, so no replica can apply them in an order "
                + "that every session allows: " + chain(cycle.nodes, cycle.kinds)
            record(guarantee, PropertyViolation(operationIDs: nodes, explanation: explanation))
        }
    }

    /// Replays the events; each session accumulates the writes its reads
    /// made visible to it, and each read is judged against them.
    private mutating func sweepObservers(
        _ graph: DirectedGraph, all: ReachabilityRows, writesOnly: ReachabilityRows, bitOfNode: [Int]
    ) {
        let sessionCount = resolution.sessions.count
        var known = [[UInt64]](repeating: [UInt64](repeating: 0, count: all.wordsPerRow), count: sessionCount)
        var knownByWrites = known
        var completedReads = [[Int]](repeating: [], count: sessionCount)
        var required = [(all: Int?, writesOnly: Int?)](repeating: (nil, nil), count: operations.count)
        for event in events where operations[event.id].function == .read {
            let id = event.id
            let session = resolution.sessionIndex[id]
            let writes = resolution.writesByKey[resolution.keyIndex[id]]
            if !event.isCompletion {
                let latest = WordBits.lastMemberOfPrefix(writes) { WordBits.contains(known[session], bitOfNode[$0]) }
                let latestByWrites = WordBits.lastMemberOfPrefix(writes) {
                    WordBits.contains(knownByWrites[session], bitOfNode[$0])
                }
                required[id] = (latest.map { writes[$0] }, latestByWrites.map { writes[$0] })
                continue
            }
            judge(id, required: required[id], completedReads: completedReads[session], graph, all, writesOnly, bitOfNode)
            completedReads[session].append(id)
            if let write = resolution.observedWrite[id] {
                all.formUnion(&known[session], with: write)
                writesOnly.formUnion(&knownByWrites[session], with: write)
            }
        }
    }

    private mutating func judge(
        _ id: Int, required: (all: Int?, writesOnly: Int?), completedReads: [Int], _ graph: DirectedGraph,
        _ all: ReachabilityRows, _ writesOnly: ReachabilityRows, _ bitOfNode: [Int]
    ) {
        let observed = resolution.observedOrder[id]
        let local = max(readYourWritesRequirement[id]?.order ?? 0, monotonicReadsRequirement[id]?.order ?? 0)
        if observed < local { return }
        let guarantee: SessionGuarantee
        let missed: Int
        if let write = required.writesOnly, observed < resolution.knownOrder(write) {
            guarantee = .monotonicWrites
            missed = write
        } else if let write = required.all, observed < resolution.knownOrder(write) {
            guarantee = .writesFollowReads
            missed = write
        } else {
            return
        }
        let index = tallyIndex(guarantee)
        guard tallies[index].wantsExample else {
            tallies[index].count()
            return
        }
        let rows = guarantee == .monotonicWrites ? writesOnly : all
        let excluded: Set<UInt8> = guarantee == .monotonicWrites ? [EdgeKind.readsFrom] : []
        guard let witness = completedReads.last(where: { read in
                  resolution.observedWrite[read].map { rows.reaches(bitOfNode[missed], $0) } ?? false
              }),
              let seen = resolution.observedWrite[witness],
              let path = missed == seen ? ([missed], []) : graph.shortestPath(from: missed, to: seen, excluding: excluded)
        else { preconditionFailure("a required write has a witness read and a path") }
        var ids = path.nodes
        for extra in [witness, id] where !ids.contains(extra) { ids.append(extra) }
        let what = guarantee == .monotonicWrites
            ? "a replica holding a write holds its session's earlier writes"
            : "a replica holding a write holds the writes its session had read"
        let explanation = "\(sessionName(id)) \(describe(witness)), then \(describe(id)); but "
            + chain(path.nodes, path.kinds) + ", and \(what), so the read needs v\(resolution.knownOrder(missed)) or later"
        tallies[index].record(PropertyViolation(operationIDs: ids, explanation: explanation))
    }

    /// `wrote x = 1 (v1) (line 1) ⟶(read by) read x = 1 (v1) (line 3)`.
    func chain(_ nodes: [Int], _ kinds: [UInt8]) -> String {
        var text = describe(nodes[0])
        for (step, kind) in kinds.enumerated() {
            switch kind {
            case EdgeKind.sessionOrder: text += " ⟶(same session, later) "
            case EdgeKind.readsFrom: text += " ⟶(read by) "
            default: text += " ⟶(next in the key's order) "
            }
            text += describe(nodes[step + 1])
        }
        return text
    }
}
