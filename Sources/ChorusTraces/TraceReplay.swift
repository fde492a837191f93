import ChorusCRDT
import ChorusClocks

/// Replays editing traces in `ReplicatedText`, for the `chorus crdt replay`
/// and `chorus bench text-trace` commands and for the trace tests.
public enum TraceReplay {
    /// What a replay ended with.
    public struct Outcome: Sendable, Equatable {
        /// Patches applied.
        public var operationCount: Int
        /// Scalars in the final text.
        public var finalCount: Int
        /// The first offset where some replica's final text differs from the
        /// trace's `endContent`, or nil when every replica matches.
        public var mismatchOffset: Int?

        public var matches: Bool { mismatchOffset == nil }
    }

    /// The replica that types a sequential trace.
    public static let sequentialReplica = ReplicaID(1)

    /// Applies one patch: delete, then insert, at the patch's position.
    @inline(__always)
    static func apply(
        _ patch: EditingTrace.Patch, of trace: EditingTrace, to document: inout ReplicatedText, by replica: ReplicaID,
        scalars: UnsafeBufferPointer<UInt32>, recording delta: inout TextDelta?, transaction: Int, index: Int
    ) throws(TraceError) {
        let position = Int(patch.position)
        do {
            if patch.deleteCount > 0 {
                let range = position..<(position + Int(patch.deleteCount))
                if delta != nil { try document.delete(range, recordingInto: &delta!) } else { try document.delete(range) }
            }
            if patch.insertCount > 0 {
                let start = Int(patch.insertStart)
                let inserted = UnsafeBufferPointer(rebasing: scalars[start..<(start + Int(patch.insertCount))])
                if delta != nil {
                    try document.insert(scalarValues: inserted, at: position, by: replica, recordingInto: &delta!)
                } else {
                    try document.insert(scalarValues: inserted, at: position, by: replica)
                }
            }
        } catch {
            throw TraceError.patchOutOfBounds(transaction: transaction, patch: index, reason: error.description)
        }
    }

    /// Replays a sequential trace one patch at a time into `document`, by
    /// `sequentialReplica`. The caller times this; it allocates nothing per
    /// patch beyond what the document itself grows by.
    public static func replaySequential(_ trace: EditingTrace, into document: inout ReplicatedText) throws(TraceError) {
        if !trace.startContent.isEmpty {
            do {
                try document.insert(contentsOf: trace.startContent, at: document.count, by: sequentialReplica)
            } catch {
                throw TraceError.invalidValue("start content does not fit: \(error)")
            }
        }
        var noDelta: TextDelta? = nil
        try trace.insertedScalars.withUnsafeBufferPointer { scalars throws(TraceError) in
            for (transactionIndex, transaction) in trace.transactions.enumerated() {
                for index in Int(transaction.patchStart)..<Int(transaction.patchEnd) {
                    try apply(
                        trace.patches[index], of: trace, to: &document, by: sequentialReplica, scalars: scalars,
                        recording: &noDelta, transaction: transactionIndex, index: index)
                }
            }
        }
    }

    /// Replays a concurrent trace with one replica per agent. Before each
    /// transaction its agent's replica merges exactly the transaction's
    /// causal past (the parents and their ancestors it has not seen), as
    /// deltas recorded when those transactions ran; after the last, every
    /// replica merges everything. Returns the replicas in agent order.
    public static func replayConcurrent(_ trace: EditingTrace) throws(TraceError) -> [ReplicatedText] {
        precondition(trace.kind == .concurrent, "replayConcurrent takes a concurrent trace")
        guard trace.agentCount * trace.transactions.count <= TraceLimits.maximumReplayFlagCount else {
            throw TraceError.limitExceeded("\(trace.agentCount) agents × \(trace.transactions.count) transactions")
        }
        var replicas = [ReplicatedText](repeating: ReplicatedText(), count: trace.agentCount)
        var deltas = [TextDelta](repeating: TextDelta(), count: trace.transactions.count)
        // applied[agent][transaction]: whether that replica has the transaction.
        var applied = [[Bool]](repeating: [Bool](repeating: false, count: trace.transactions.count), count: trace.agentCount)
        if !trace.startContent.isEmpty {
            throw TraceError.invalidValue("a concurrent trace with start content is not supported")
        }
        var stack: [Int] = []
        var missing: [Int] = []
        try trace.insertedScalars.withUnsafeBufferPointer { scalars throws(TraceError) in
            for (transactionIndex, transaction) in trace.transactions.enumerated() {
                let agent = Int(transaction.agent)
                // The causal past this replica lacks; applied sets are
                // causally closed, so the walk stops at anything applied.
                stack.removeAll(keepingCapacity: true)
                missing.removeAll(keepingCapacity: true)
                for parent in trace.parents(of: transactionIndex) { stack.append(Int(parent)) }
                while let next = stack.popLast() {
                    if applied[agent][next] { continue }
                    applied[agent][next] = true
                    missing.append(next)
                    for parent in trace.parents(of: next) { stack.append(Int(parent)) }
                }
                // Parents precede children in the trace, so index order is causal.
                missing.sort()
                for past in missing { replicas[agent].apply(deltas[past]) }
                var delta: TextDelta? = TextDelta()
                for index in Int(transaction.patchStart)..<Int(transaction.patchEnd) {
                    try apply(
                        trace.patches[index], of: trace, to: &replicas[agent], by: ReplicaID(UInt64(agent) + 1),
                        scalars: scalars, recording: &delta, transaction: transactionIndex, index: index)
                }
                deltas[transactionIndex] = delta ?? TextDelta()
                applied[agent][transactionIndex] = true
            }
        }
        for agent in 0..<trace.agentCount {
            for transactionIndex in trace.transactions.indices where !applied[agent][transactionIndex] {
                replicas[agent].apply(deltas[transactionIndex])
            }
        }
        return replicas
    }

    /// Replays any trace and compares every replica with `endContent`.
    public static func replay(_ trace: EditingTrace) throws(TraceError) -> Outcome {
        switch trace.kind {
        case .sequential:
            var document = ReplicatedText()
            try replaySequential(trace, into: &document)
            return Outcome(
                operationCount: trace.patches.count, finalCount: document.count,
                mismatchOffset: document.firstDifference(from: trace.endContent))
        case .concurrent:
            let replicas = try replayConcurrent(trace)
            var mismatch: Int? = nil
            for replica in replicas {
                if let offset = replica.firstDifference(from: trace.endContent) { mismatch = Swift.min(mismatch ?? offset, offset) }
            }
            return Outcome(
                operationCount: trace.patches.count, finalCount: replicas.first?.count ?? 0, mismatchOffset: mismatch)
        }
    }
}
