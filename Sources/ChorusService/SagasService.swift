import ChorusCore
import ChorusEventStore
import ChorusNode
import ChorusRaft
import ChorusReplica
import ChorusSagas
import ServiceLifecycle

/// Runs a node's sagas for as long as the front end serves (a
/// swift-service-lifecycle `Service`): the tail that folds the saga streams
/// and the registry from this node's applied log, and the watch that makes
/// the runtime lead when the node leads and follow when it does not.
public struct SagasService: Service {
    let runtime: SagasRuntime
    let node: ChorusNode
    let proposer: EventStoreProposer
    let options: SagasRuntime.Options

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await tail() }
                group.addTask { await watchLeadership() }
            }
        }
    }

    /// Catch-up batches of `saga-*` from this node's applied state, folded in order.
    func tail() async {
        var seen = LogIndex.zero
        var live = false
        while !Task.isCancelled {
            let cursor = await runtime.tailCursor
            let requirement: ReadRequirement = .appliedAtLeast(live ? LogIndex(seen.rawValue + 1) : seen)
            let query = EventStoreQuery.subscriptionBatch(source: .all(SagaStreamEvents.filter), after: cursor, maximumCount: options.batchSize)
            do {
                guard let read = try await ProjectionsService.readUnlessNothingNew(proposer: proposer, query: query, requirement: requirement)
                else { continue }
                seen = max(seen, read.appliedIndex)
                guard case .subscriptionBatch(.batch(let batch)) = read.answer else {
                    throw ChorusService.misanswered("a saga batch")
                }
                try await runtime.observe(batch.events, cursor: batch.cursor, caughtUp: batch.isCaughtUp, appliedIndex: read.appliedIndex)
                live = batch.isCaughtUp
            } catch {
                // The node is stopping, or briefly cannot read: try again shortly.
                live = false
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Leads when the node leads, once the fold holds everything committed before the term.
    func watchLeadership() async {
        while !Task.isCancelled {
            if let status = try? await node.status() {
                let leading = await runtime.leadingTerm
                if status.role == .leader, leading != status.term {
                    await takeOver(term: status.term)
                } else if status.role != .leader, leading != nil {
                    await runtime.follow()
                }
            }
            try? await Task.sleep(for: .milliseconds(options.leadershipPollMilliseconds))
        }
    }

    /// A linearizable read returns once this node has applied its commit
    /// index, which holds every entry of earlier terms; when the tail has
    /// folded through that index, the runtime leads.
    func takeOver(term: Term) async {
        let probe = EventStoreQuery.readStream(
            StreamReadRequest(stream: StreamName(SagaRegistry.stream), direction: .forwards, from: .start, maximumCount: 1, asOf: nil))
        guard let (_, confirmed) = try? await proposer.read(probe, requirement: .linearizable) else { return }
        for _ in 0..<500 {
            if Task.isCancelled { return }
            if await runtime.caughtUpThrough >= confirmed {
                await runtime.lead(term: term)
                return
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}
