import ChorusCore

/// A decoded document must be one some replica could have built: every item
/// can only refer to items that existed when it was typed. Concretely, an
/// item depends on its replica's previous item and on its two origins, and
/// these dependencies must have no cycle. Otherwise a fresh replica merging
/// the document could never integrate those items and would silently diverge
/// from the copy that decoded it.
///
/// Checked on runs: a run depends on its first item's left origin, its right
/// origin (shared by all its items) and its replica's item before it; every
/// item of a run depends, through its predecessors, on what the run depends
/// on. So the runs' dependency graph has a cycle exactly when the items'
/// does. Kahn's topological sort decides it in O(runs · log runs).
extension ReplicatedText {
    static func checkCausalOrder(_ runs: [Run], agentCount: Int, at offset: Int) throws(BinaryDecodingError) {
        // The runs ordered by (agent, sequence), flat, with where each agent's begin.
        let order = runs.indices.sorted { (runs[$0].agent, runs[$0].sequence) < (runs[$1].agent, runs[$1].sequence) }
        let firstSequences = order.map { runs[$0].sequence }
        var agentStarts = [Int](repeating: order.count, count: agentCount + 1)
        for position in order.indices.reversed() { agentStarts[Int(runs[order[position]].agent)] = position }
        for agent in stride(from: agentCount - 1, through: 0, by: -1) where agentStarts[agent] > agentStarts[agent + 1] {
            agentStarts[agent] = agentStarts[agent + 1]
        }
        func runHolding(_ item: PackedItemID) -> Int {
            // Decoding already checked that each agent's runs cover 0..<n exactly.
            var low = agentStarts[Int(item.agent)]
            var high = agentStarts[Int(item.agent) + 1] - 1
            while low < high {
                let middle = (low + high + 1) / 2
                if firstSequences[middle] <= item.sequence { low = middle } else { high = middle - 1 }
            }
            return order[low]
        }

        var remaining = [UInt8](repeating: 0, count: runs.count)
        var dependentCounts = [Int](repeating: 0, count: runs.count + 1)
        var dependencies: [(dependent: Int, on: Int)] = []
        dependencies.reserveCapacity(runs.count * 2)
        for (index, run) in runs.enumerated() {
            var first = -1
            var second = -1
            func depend(on item: PackedItemID) throws(BinaryDecodingError) {
                guard item != .none else { return }
                let holder = runHolding(item)
                guard holder != index else {
                    throw BinaryDecodingError(
                        .invalidValue("item \(run.sequence) of replica #\(run.agent) refers to an item typed after it"), at: offset)
                }
                if holder == first || holder == second { return }
                if first < 0 { first = holder } else { second = holder }
                dependencies.append((index, holder))
                dependentCounts[holder + 1] += 1
                remaining[index] += 1
            }
            try depend(on: run.originLeft)
            try depend(on: run.originRight)
            if run.sequence > 0 { try depend(on: PackedItemID(agent: run.agent, sequence: run.sequence - 1)) }
        }
        // Dependents of each run, in one flat array (compressed rows).
        for index in 0..<runs.count { dependentCounts[index + 1] += dependentCounts[index] }
        var dependents = [Int](repeating: 0, count: dependencies.count)
        var fill = dependentCounts
        for dependency in dependencies {
            dependents[fill[dependency.on]] = dependency.dependent
            fill[dependency.on] += 1
        }
        var ready = runs.indices.filter { remaining[$0] == 0 }
        var placed = 0
        while let run = ready.popLast() {
            placed += 1
            for position in dependentCounts[run]..<dependentCounts[run + 1] {
                let dependent = dependents[position]
                remaining[dependent] -= 1
                if remaining[dependent] == 0 { ready.append(dependent) }
            }
        }
        guard placed == runs.count else {
            throw BinaryDecodingError(
                .invalidValue("the items' origins form a cycle: no replica could have typed this document"), at: offset)
        }
    }
}
