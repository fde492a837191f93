/// A key-value history as the causal checker's nodes and base edges.
///
/// Nodes are the `:ok` reads and writes, and the indeterminate writes some
/// read returned (those certainly took effect). Program order is each
/// session's `:ok` operations in order, which must not overlap in time (the
/// paper's sessions are sequences); an indeterminate write follows what its
/// session had completed before it, but nothing follows it, since the session
/// never learned that it took effect.
///
/// The writes of one key made by one session form a chain in program order,
/// and an indeterminate write is a chain of its own: a "lane". A set of
/// writes closed under causal predecessors holds a prefix of each lane, so
/// its latest member in a lane is found by binary search, and the maximal
/// writes of a key below an operation are at most one per lane.
struct CausalGraphInput: Sendable {
    enum EdgeKind {
        static let programOrder: UInt8 = 0
        static let writeRead: UInt8 = 1
        static let conflict: UInt8 = 2
        static let happensBefore: UInt8 = 3
    }

    let history: KeyValueHistory
    /// Node → operation id, and operation id → node (-1 when not a node).
    private(set) var operationOfNode: [Int] = []
    private(set) var nodeOfOperation: [Int]
    /// Node → its key's number.
    private(set) var keyOfNode: [Int] = []
    private(set) var keyCount = 0
    /// Node → its bit among the writes (-1 for reads), and bit → node.
    private(set) var writeBit: [Int] = []
    private(set) var writeNodes: [Int] = []
    /// For read nodes: the write node whose value they returned; nil for the initial value.
    private(set) var readsFrom: [Int?] = []
    /// Node → its session, and each session's nodes in program order (indeterminate writes excluded).
    private(set) var sessionOfNode: [Int] = []
    private(set) var sessionPosition: [Int] = []
    private(set) var sessionChains: [[Int]] = []
    /// Per key, its lanes: each a list of write nodes in program order.
    private(set) var lanesOfKey: [[[Int]]] = []
    /// Program order and write-read edges.
    private(set) var baseEdges: [DirectedGraph.Edge] = []
    private(set) var thinAir = PropertyTally(CausalPattern.thinAirRead.rawValue)

    var nodeCount: Int { operationOfNode.count }
    func operation(_ node: Int) -> KeyValueOperation { history.operations[operationOfNode[node]] }
    func isWrite(_ node: Int) -> Bool { writeBit[node] >= 0 }

    init(_ history: KeyValueHistory) throws(HistoryError) {
        self.history = history
        nodeOfOperation = Array(repeating: -1, count: history.operations.count)
        var keyNumbers: [HistoryValue: Int] = [:]
        func keyNumber(_ key: HistoryValue) -> Int {
            if let known = keyNumbers[key] { return known }
            keyNumbers[key] = keyNumbers.count
            return keyNumbers.count - 1
        }
        // Differentiated: one write per (key, value), and never the initial value.
        var writerOf: [HistoryValue: [HistoryValue: Int]] = [:]
        var failedValues: [HistoryValue: Set<HistoryValue>] = [:]
        for operation in history.operations {
            switch operation.function {
            case .delete:
                throw HistoryError(
                    .malformed("the causal checker reads registers (read and write); a delete has no place in a differentiated history"),
                    line: operation.invokeLine)
            case .rangeRead, .read: continue
            case .write:
                if operation.outcome == .fail {
                    failedValues[operation.key, default: []].insert(operation.value)
                    continue
                }
                guard !operation.value.isNull else {
                    throw HistoryError(.malformed("a write of null is a write of the initial value; values must be differentiated"), line: operation.invokeLine)
                }
                if let other = writerOf[operation.key]?[operation.value] {
                    throw HistoryError(
                        .malformed("\(operation.key) = \(operation.value) is written twice (also \(history.operations[other].location)); the causal checker needs every value written once"),
                        line: operation.invokeLine)
                }
                writerOf[operation.key, default: [:]][operation.value] = operation.id
            }
        }
        // Which writes are nodes: acknowledged ones, and indeterminate ones some read returned.
        var isNode = [Bool](repeating: false, count: history.operations.count)
        var readTarget = [Int?](repeating: nil, count: history.operations.count)
        for operation in history.operations where operation.outcome == .ok {
            switch operation.function {
            case .write: isNode[operation.id] = true
            case .read:
                if operation.value.isNull {
                    isNode[operation.id] = true
                } else if let writer = writerOf[operation.key]?[operation.value] {
                    isNode[operation.id] = true
                    isNode[writer] = true
                    readTarget[operation.id] = writer
                } else {
                    let failed = failedValues[operation.key]?.contains(operation.value) == true
                    thinAir.record(PropertyViolation(
                        operationIDs: [operation.id],
                        explanation: "\(operation.phrase) (\(operation.location)): " + (failed
                            ? "the only write of that value failed, so it never took effect"
                            : "no write in the history wrote that value")))
                }
            default: continue
            }
        }
        var sessionNumbers: [HistoryValue: Int] = [:]
        var chains: [[Int]] = []
        for operation in history.operations where isNode[operation.id] {
            let node = operationOfNode.count
            operationOfNode.append(operation.id)
            nodeOfOperation[operation.id] = node
            keyOfNode.append(keyNumber(operation.key))
            writeBit.append(operation.function == .write ? writeNodes.count : -1)
            if operation.function == .write { writeNodes.append(node) }
            let session: Int
            if let known = sessionNumbers[operation.session] {
                session = known
            } else {
                session = chains.count
                sessionNumbers[operation.session] = session
                chains.append([])
            }
            sessionOfNode.append(session)
            if operation.outcome == .ok { chains[session].append(node) }
        }
        keyCount = keyNumbers.count
        readsFrom = (0..<nodeCount).map { node in readTarget[operationOfNode[node]].map { nodeOfOperation[$0] } }
        sessionPosition = Array(repeating: -1, count: nodeCount)
        for (session, chain) in chains.enumerated() {
            var ordered = chain
            ordered.sort { history.operations[operationOfNode[$0]].invokedAt < history.operations[operationOfNode[$1]].invokedAt }
            for index in ordered.indices.dropFirst() {
                let previous = history.operations[operationOfNode[ordered[index - 1]]]
                let next = history.operations[operationOfNode[ordered[index]]]
                guard let completedAt = previous.completedAt, completedAt < next.invokedAt else {
                    throw HistoryError(
                        .malformed("session \(next.session) runs two operations at once (\(previous.location) and \(next.location)); the causal checker needs each session sequential"),
                        line: next.invokeLine)
                }
                baseEdges.append(.init(from: ordered[index - 1], to: ordered[index], kind: EdgeKind.programOrder))
            }
            for (position, node) in ordered.enumerated() { sessionPosition[node] = position }
            chains[session] = ordered
        }
        sessionChains = chains
        lanesOfKey = Array(repeating: [], count: keyCount)
        var laneOfSessionKey: [Int: [Int: Int]] = [:]
        for chain in chains {
            for node in chain where isWrite(node) {
                let key = keyOfNode[node]
                let session = sessionOfNode[node]
                if let lane = laneOfSessionKey[session]?[key] {
                    lanesOfKey[key][lane].append(node)
                } else {
                    laneOfSessionKey[session, default: [:]][key] = lanesOfKey[key].count
                    lanesOfKey[key].append([node])
                }
            }
        }
        for node in 0..<nodeCount where isWrite(node) && sessionPosition[node] < 0 {
            // An indeterminate write: after its session's completed operations, a lane of its own.
            let write = operation(node)
            let chain = sessionChains[sessionOfNode[node]]
            if let last = chain.last(where: { (history.operations[operationOfNode[$0]].completedAt ?? Int.max) < write.invokedAt }) {
                baseEdges.append(.init(from: last, to: node, kind: EdgeKind.programOrder))
            }
            lanesOfKey[keyOfNode[node]].append([node])
        }
        for node in 0..<nodeCount {
            if let write = readsFrom[node] { baseEdges.append(.init(from: write, to: node, kind: EdgeKind.writeRead)) }
        }
    }

    func describe(_ node: Int) -> String {
        let operation = self.operation(node)
        return "\(operation.phrase) (\(operation.location))"
    }

    /// `wrote x = 1 (line 1) ⟶(program order) read …`.
    func chain(_ nodes: [Int], _ kinds: [UInt8]) -> String {
        var text = describe(nodes[0])
        for (step, kind) in kinds.enumerated() {
            switch kind {
            case EdgeKind.programOrder: text += " ⟶(same session, later) "
            case EdgeKind.writeRead: text += " ⟶(read by) "
            case EdgeKind.conflict: text += " ⟶(must be arbitrated before) "
            default: text += " ⟶(seen before, in this session's view) "
            }
            text += describe(nodes[step + 1])
        }
        return text
    }
}
