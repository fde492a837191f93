import ChorusAPI
import ChorusAuthorization
import ChorusCore
import ChorusEventStore
import ChorusProjections
import ChorusReadModels
import ChorusReplica
import CoreMetrics

/// The projections' operations (issue 11), for every front end: list and
/// inspect, query with a wait for a position, and the operator's retry,
/// skip and rebuild. A node without projections answers an empty list and
/// `projection_not_found`.
extension ChorusService {
    /// The projections the caller may query (`projection.query` on at least one is needed).
    public func listProjections(caller: Caller) async throws(ServiceError) -> [ProjectionReport] {
        try authorizeSome(caller, .projectionQuery)
        return await measureProjectionLag().filter { isAllowed(caller, .projectionQuery, .projection($0.status.name)) }
    }

    public func projection(named name: String, caller: Caller) async throws(ServiceError) -> ProjectionReport {
        try authorize(caller, .projectionQuery, .projection(name))
        return try await report(name)
    }

    /// One projection's report, for a caller already authorized.
    private func report(_ name: String) async throws(ServiceError) -> ProjectionReport {
        let worker = try projectionWorker(name)
        let reports = await measureProjectionLag()
        guard let report = reports.first(where: { $0.status.name == worker.definition.name }) else {
            throw ServiceError(.internal, "the projection \(name) has no report")
        }
        return report
    }

    public func queryProjection(_ request: ProjectionQueryRequest, caller: Caller) async throws(ServiceError) -> ProjectionQueryResponse {
        try authorize(caller, .projectionQuery, .projection(request.projection))
        let worker = try projectionWorker(request.projection)
        guard let options = projections?.options else { throw ServiceError(.internal, "projections without options") }
        if let timeout = request.timeoutMilliseconds, !(0...options.maximumWaitMilliseconds).contains(timeout) {
            throw ServiceError(.invalidParameter, "timeout-ms must be in 0...\(options.maximumWaitMilliseconds)")
        }
        guard worker.definition.query(named: request.query) != nil else {
            throw ServiceError(
                .queryNotFound,
                ReadModelError.queryNotFound(projection: request.projection, query: request.query, known: worker.definition.queries.map(\.name)).description)
        }
        if let position = request.minimumPosition {
            let timeout = request.timeoutMilliseconds ?? options.defaultWaitMilliseconds
            switch await worker.wait(forPosition: position, timeoutMilliseconds: Int64(timeout)) {
            case .reached: break
            case .stalled(let parked):
                var error = ServiceError(
                    .projectionStalled,
                    "the projection \(request.projection) is parked before position \(position.rawValue): \(parked); retry or skip it")
                error.retryAfterSeconds = nil
                throw error
            case .timedOut(let passed):
                var error = ServiceError(
                    .projectionTimedOut,
                    "the projection \(request.projection) did not pass position \(position.rawValue) within \(timeout) ms (it is \(passed))")
                error.retryAfterSeconds = 1
                throw error
            case nil:
                var error = ServiceError(.overloaded, "too many queries are waiting on the projection \(request.projection)")
                error.retryAfterSeconds = 1
                throw error
            }
        }
        let passed = worker.status.passedThrough
        do {
            let result = try await worker.database.query(request.query, arguments: request.arguments.map { (name: $0.name, value: $0.value) })
            return ProjectionQueryResponse(result: result, passedThrough: passed, waited: request.minimumPosition != nil)
        } catch {
            throw ServiceError(projection: error)
        }
    }

    public func retryProjection(named name: String, caller: Caller) async throws(ServiceError) -> ProjectionReport {
        try authorize(caller, .projectionAdmin, .projection(name))
        let worker = try projectionWorker(name)
        do { try worker.retry() } catch { throw ServiceError(command: error) }
        return try await report(name)
    }

    public func skipProjectionEvent(named name: String, caller: Caller) async throws(ServiceError) -> ProjectionReport {
        try authorize(caller, .projectionAdmin, .projection(name))
        let worker = try projectionWorker(name)
        do { try worker.skip() } catch { throw ServiceError(command: error) }
        return try await report(name)
    }

    public func rebuildProjection(named name: String, caller: Caller) async throws(ServiceError) -> ProjectionReport {
        try authorize(caller, .projectionAdmin, .projection(name))
        let worker = try projectionWorker(name)
        do { try worker.rebuild() } catch { throw ServiceError(command: error) }
        return try await report(name)
    }

    /// Catch-up batches of this node's applied state for a worker of one's own
    /// (the benchmark, a library user folding into their own database).
    public func projectionBatchReader(batchSize: Int) -> ProjectionWorker.BatchReader {
        ProjectionsService.reader(proposer: eventStore.proposer, batchSize: batchSize)
    }

    func projectionWorker(_ name: String) throws(ServiceError) -> ProjectionWorker {
        guard let worker = projections?.worker(named: name) else {
            let known = projections?.workers.map(\.definition.name) ?? []
            throw ServiceError(.projectionNotFound, "no projection named '\(name)' (this node runs \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
        }
        return worker
    }

    /// Every projection's report, with its lag against this node's head
    /// (two one-event reads of the local applied state per projection), and
    /// the lag and parked gauges updated.
    @discardableResult
    func measureProjectionLag() async -> [ProjectionReport] {
        guard let runtime = projections else { return [] }
        let proposer = eventStore.proposer
        let head = try? await proposer.read(
            .readAll(AllReadRequest(direction: .backwards, from: .end, maximumCount: 1, filter: .everything)), requirement: .immediate)
        var headPosition = GlobalPosition.zero
        if case .all(.events(let page))? = head?.answer { headPosition = page.headPosition }
        let now = eventStore.options.wallClock.now()
        var reports: [ProjectionReport] = []
        var parked = 0
        var rebuilding = 0
        for worker in runtime.workers {
            let status = worker.status
            let next: UInt64 = if case .after(let position) = status.passedThrough { position.rawValue + 1 } else { 0 }
            var firstTime: RecordedTime?
            if next < headPosition.rawValue,
                let first = try? await proposer.read(
                    .readAll(AllReadRequest(direction: .forwards, from: .position(GlobalPosition(next)), maximumCount: 1, filter: .everything)),
                    requirement: .immediate),
                case .all(.events(let page)) = first.answer
            {
                firstTime = page.events.first?.recordedTime
            }
            let lag = ProjectionLag.measure(passedThrough: status.passedThrough, headPosition: headPosition, firstUnpassedRecordedTime: firstTime, now: now)
            runtime.metrics.lagEvents[status.name]?.record(Int64(clamping: lag.eventsBehind))
            runtime.metrics.lagSeconds[status.name]?.record(lag.secondsBehind)
            if status.phase == .parked { parked += 1 }
            if status.buildingGeneration != nil { rebuilding += 1 }
            reports.append(ProjectionReport(status: status, source: worker.definition.source.description, lag: lag, headPosition: headPosition))
        }
        runtime.metrics.parked.record(parked)
        runtime.metrics.rebuilding.record(rebuilding)
        return reports
    }
}

extension ServiceError {
    init(projection error: ReadModelError) {
        switch error {
        case .queryNotFound: self.init(.queryNotFound, error.description)
        case .invalidParameter: self.init(.invalidParameter, error.description)
        case .queryFailed, .tooManyRows: self.init(.projectionQueryFailed, error.description)
        case .invalidDefinition, .storage: self.init(.internal, error.description)
        }
    }

    init(command error: ProjectionWorker.CommandError) {
        switch error {
        case .notParked: self.init(.projectionNotParked, error.description)
        case .alreadyRebuilding: self.init(.projectionRebuilding, error.description)
        case .storage: self.init(.internal, error.description)
        }
    }
}
