/// A directed graph over operations with labelled edges, in compressed
/// adjacency form: built once from an edge list, then only read. The session
/// and causal checkers build their orders (session order, reads-from, key
/// order, conflict edges) as one of these and ask it for cycles, paths and
/// reachability.
struct DirectedGraph: Sendable {
    /// One edge: `from` must come before `to`; `kind` says why (the checker's own labels).
    struct Edge: Hashable, Sendable {
        var from: Int
        var to: Int
        var kind: UInt8
    }

    let nodeCount: Int
    private let successorStart: [Int]
    private let successorTarget: [Int]
    private let successorKind: [UInt8]
    private let predecessorStart: [Int]
    private let predecessorSource: [Int]
    private let predecessorKind: [UInt8]

    init(nodeCount: Int, edges: [Edge]) {
        precondition(nodeCount >= 0)
        self.nodeCount = nodeCount
        var outDegree = [Int](repeating: 0, count: nodeCount + 1)
        var inDegree = [Int](repeating: 0, count: nodeCount + 1)
        for edge in edges {
            precondition(edge.from >= 0 && edge.from < nodeCount && edge.to >= 0 && edge.to < nodeCount, "edge outside the graph")
            outDegree[edge.from + 1] += 1
            inDegree[edge.to + 1] += 1
        }
        for index in 0..<nodeCount {
            outDegree[index + 1] += outDegree[index]
            inDegree[index + 1] += inDegree[index]
        }
        var successorTarget = [Int](repeating: 0, count: edges.count)
        var successorKind = [UInt8](repeating: 0, count: edges.count)
        var predecessorSource = [Int](repeating: 0, count: edges.count)
        var predecessorKind = [UInt8](repeating: 0, count: edges.count)
        var nextOut = outDegree
        var nextIn = inDegree
        for edge in edges {
            successorTarget[nextOut[edge.from]] = edge.to
            successorKind[nextOut[edge.from]] = edge.kind
            nextOut[edge.from] += 1
            predecessorSource[nextIn[edge.to]] = edge.from
            predecessorKind[nextIn[edge.to]] = edge.kind
            nextIn[edge.to] += 1
        }
        self.successorStart = outDegree
        self.successorTarget = successorTarget
        self.successorKind = successorKind
        self.predecessorStart = inDegree
        self.predecessorSource = predecessorSource
        self.predecessorKind = predecessorKind
    }

    var edgeCount: Int { successorTarget.count }

    @inline(__always)
    func successors(_ node: Int) -> Range<Int> { successorStart[node]..<successorStart[node + 1] }

    @inline(__always)
    func successorTarget(_ slot: Int) -> Int { successorTarget[slot] }

    @inline(__always)
    func successorKind(_ slot: Int) -> UInt8 { successorKind[slot] }

    @inline(__always)
    func predecessors(_ node: Int) -> Range<Int> { predecessorStart[node]..<predecessorStart[node + 1] }

    @inline(__always)
    func predecessorSource(_ slot: Int) -> Int { predecessorSource[slot] }

    @inline(__always)
    func predecessorKind(_ slot: Int) -> UInt8 { predecessorKind[slot] }

    /// The strongly connected components (Tarjan, iteratively, so a long
    /// chain cannot overflow the stack), numbered in topological order:
    /// every edge goes from a component to itself or to a later one. Edges
    /// whose kind is in `excluded` are ignored.
    func stronglyConnectedComponents(excluding excluded: Set<UInt8> = []) -> StronglyConnectedComponents {
        var index = [Int](repeating: -1, count: nodeCount)
        var lowLink = [Int](repeating: 0, count: nodeCount)
        var onStack = [Bool](repeating: false, count: nodeCount)
        var emittedOf = [Int](repeating: -1, count: nodeCount)
        var stack: [Int] = []
        var emittedMembers: [Int] = []
        emittedMembers.reserveCapacity(nodeCount)
        var emittedStart: [Int] = [0]
        var nextIndex = 0
        var callStack: [(node: Int, slot: Int)] = []
        let filtering = !excluded.isEmpty
        for root in 0..<nodeCount where index[root] < 0 {
            callStack.append((root, successorStart[root]))
            index[root] = nextIndex
            lowLink[root] = nextIndex
            nextIndex += 1
            stack.append(root)
            onStack[root] = true
            while let frame = callStack.last {
                let node = frame.node
                if frame.slot < successorStart[node + 1] {
                    callStack[callStack.count - 1].slot += 1
                    if filtering && excluded.contains(successorKind[frame.slot]) { continue }
                    let next = successorTarget[frame.slot]
                    if index[next] < 0 {
                        index[next] = nextIndex
                        lowLink[next] = nextIndex
                        nextIndex += 1
                        stack.append(next)
                        onStack[next] = true
                        callStack.append((next, successorStart[next]))
                    } else if onStack[next] {
                        lowLink[node] = min(lowLink[node], index[next])
                    }
                    continue
                }
                callStack.removeLast()
                if let parent = callStack.last {
                    lowLink[parent.node] = min(lowLink[parent.node], lowLink[node])
                }
                if lowLink[node] == index[node] {
                    let number = emittedStart.count - 1
                    while true {
                        let member = stack.removeLast()
                        onStack[member] = false
                        emittedOf[member] = number
                        emittedMembers.append(member)
                        if member == node { break }
                    }
                    emittedStart.append(emittedMembers.count)
                }
            }
        }
        // Tarjan emits a component after every component it reaches: reverse topological order.
        let count = emittedStart.count - 1
        var component = [Int](repeating: 0, count: nodeCount)
        for node in 0..<nodeCount { component[node] = count - 1 - emittedOf[node] }
        var members: [Int] = []
        members.reserveCapacity(nodeCount)
        var memberStart: [Int] = [0]
        memberStart.reserveCapacity(count + 1)
        for emitted in stride(from: count - 1, through: 0, by: -1) {
            let slice = emittedMembers[emittedStart[emitted]..<emittedStart[emitted + 1]]
            if slice.count == 1 { members.append(slice.first!) } else { members.append(contentsOf: slice.sorted()) }
            memberStart.append(members.count)
        }
        return StronglyConnectedComponents(component: component, memberStart: memberStart, members: members)
    }

    /// A shortest path from `source` to `target` (breadth first), as the
    /// nodes visited and the kinds of the edges taken; nil when there is
    /// none. With `source == target` it is a shortest cycle through it.
    /// `allowed` limits the nodes walked through.
    func shortestPath(
        from source: Int, to target: Int, excluding excluded: Set<UInt8> = [], allowed: ((Int) -> Bool)? = nil
    ) -> (nodes: [Int], kinds: [UInt8])? {
        var parent = [Int](repeating: -1, count: nodeCount)
        var parentKind = [UInt8](repeating: 0, count: nodeCount)
        var visited = [Bool](repeating: false, count: nodeCount)
        var queue = [source]
        var head = 0
        if source != target { visited[source] = true }
        while head < queue.count {
            let node = queue[head]
            head += 1
            for slot in successors(node) {
                let kind = successorKind[slot]
                if excluded.contains(kind) { continue }
                let next = successorTarget[slot]
                if visited[next] { continue }
                if let allowed, next != target, !allowed(next) { continue }
                visited[next] = true
                parent[next] = node
                parentKind[next] = kind
                if next == target {
                    var nodes = [target]
                    var kinds: [UInt8] = []
                    var current = target
                    repeat {
                        kinds.append(parentKind[current])
                        current = parent[current]
                        nodes.append(current)
                    } while current != source
                    return (nodes.reversed(), kinds.reversed())
                }
                queue.append(next)
            }
        }
        return nil
    }
}

/// A graph's strongly connected components in topological order, flat:
/// component `c` holds `members[memberStart[c]..<memberStart[c + 1]]`, in
/// increasing node order.
struct StronglyConnectedComponents: Sendable {
    /// The component of every node.
    let component: [Int]
    let memberStart: [Int]
    let members: [Int]

    var count: Int { memberStart.count - 1 }

    @inline(__always)
    func members(_ component: Int) -> ArraySlice<Int> { members[memberStart[component]..<memberStart[component + 1]] }

    /// The components with more than one node: the graph's cycles.
    var cyclic: [Int] { (0..<count).filter { memberStart[$0 + 1] - memberStart[$0] > 1 } }
}
