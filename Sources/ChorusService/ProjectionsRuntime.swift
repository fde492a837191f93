import ChorusAPI
import ChorusCore
import ChorusEventStore
import ChorusProjections
import ChorusReadModels
import ChorusReplica
import Foundation
import ServiceLifecycle
import Synchronization

/// The projections of one node (issue 11): a `ProjectionWorker` per
/// definition over its own SQLite files, fed from **this node's own applied
/// log** (catch-up batches read from the local replica), so every node —
/// leader or follower — keeps its own read models and answers queries
/// locally.
///
/// **What a read at a follower means.** A follower's read model reflects the
/// log as far as that follower has applied and projected it, which may be
/// behind the leader's. Positions are global (assigned by the log), so a
/// query with `min-position=P` (the position an append returned) waits on any
/// node until that node's projection has passed P: read-your-writes holds on
/// every node. Without `min-position`, a query answers from whatever the
/// node has projected (its position is in the answer).
public final class ProjectionsRuntime: Sendable {
    public let options: ProjectionServiceOptions
    /// In definition order.
    public let workers: [ProjectionWorker]
    let metrics: ProjectionsMetrics

    /// Opens every projection's files (checking its SQL against SQLite); a
    /// definition SQLite refuses is an error here, before the node serves.
    public init(options: ProjectionServiceOptions) throws(ReadModelError) {
        precondition(options.problems.isEmpty, "projection options: \(options.problems.joined(separator: "; "))")
        self.options = options
        var workers: [ProjectionWorker] = []
        for definition in options.definitions {
            let database = try ProjectionDatabase(directory: options.directory + "/" + definition.name, definition: definition, limits: options.limits)
            workers.append(ProjectionWorker(database: database, retryPolicy: options.retryPolicy, maximumWaiters: options.limits.maximumWaiters))
        }
        self.workers = workers
        self.metrics = ProjectionsMetrics(names: options.definitions.map(\.name), factory: options.metricsFactory)
    }

    public func worker(named name: String) -> ProjectionWorker? { workers.first { $0.definition.name == name } }

    /// Closes every database (after the services stopped).
    public func close() { for worker in workers { worker.database.close() } }
}

/// Runs every projection of a node, and measures their lag, for as long as
/// the front end serves (a swift-service-lifecycle `Service`).
public struct ProjectionsService: Service {
    let runtime: ProjectionsRuntime
    let service: ChorusService

    public init(runtime: ProjectionsRuntime, service: ChorusService) {
        self.runtime = runtime
        self.service = service
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for worker in runtime.workers {
                    let reader = Self.reader(proposer: service.eventStore.proposer, batchSize: runtime.options.batchSize)
                    group.addTask { await worker.run(read: reader) }
                }
                group.addTask {
                    while !Task.isCancelled {
                        _ = await service.measureProjectionLag()
                        try? await Task.sleep(for: .milliseconds(runtime.options.lagIntervalMilliseconds))
                    }
                }
            }
        }
    }

    /// The answer, or nil when the replica's bounded wait saw nothing applied (`not_caught_up`).
    static func readUnlessNothingNew(proposer: EventStoreProposer, query: EventStoreQuery, requirement: ReadRequirement)
        async throws(ServiceError) -> (answer: EventStoreQueryResult, appliedIndex: LogIndex)?
    {
        do {
            return try await proposer.read(query, requirement: requirement)
        } catch {
            if error.code == .notCaughtUp { return nil }
            throw error
        }
    }

    /// Catch-up batches from this node's applied state (like a catch-up
    /// subscription): when live, each read waits until the replica applies
    /// past the index it last saw, and answers nil after the replica's
    /// bounded wait if nothing was applied.
    static func reader(proposer: EventStoreProposer, batchSize: Int) -> ProjectionWorker.BatchReader {
        let lastApplied = Mutex(LogIndex.zero)
        return { source, cursor, live in
            let seen = lastApplied.withLock { $0 }
            let requirement: ReadRequirement = .appliedAtLeast(live ? LogIndex(seen.rawValue + 1) : seen)
            let query = EventStoreQuery.subscriptionBatch(source: source, after: cursor, maximumCount: batchSize)
            guard let read = try await Self.readUnlessNothingNew(proposer: proposer, query: query, requirement: requirement) else { return nil }
            lastApplied.withLock { $0 = max($0, read.appliedIndex) }
            guard case .subscriptionBatch(let result) = read.answer else { throw ChorusService.misanswered("a projection batch") }
            switch result {
            case .batch(let batch): return batch
            case .streamDeleted(let stream): throw ServiceError(refusal: .streamDeleted(stream))
            case .invalid(let problem): throw ServiceError(.invalidFilter, problem)
            }
        }
    }
}
