import ChorusAPI
import ChorusAuthorization
import ChorusCore
import ChorusEventStore

/// Reads of one stream and of `$all`, at the consistency the caller names
/// (`linearizable` by default, `sequential` from this replica's state once it
/// has applied the session's minimum index), served from the store's indexes.
///
/// A read of a stream that has no events, never had any, or was soft-deleted
/// fails with `stream_not_found` (KurrentDB's `StreamNotFound` read result),
/// so a client can tell "no such stream" from "an empty page past the end";
/// a tombstoned stream fails with `stream_deleted`.
extension ChorusService {
    public func readStream(_ request: ReadStreamRequest, caller: Caller) async throws(ServiceError) -> StreamReadResponse {
        try authorize(caller, .streamRead, .stream(request.stream.text))
        try validateReadable(request.stream)
        try validateLimit(request.limit)
        let query = StreamReadRequest(
            stream: request.stream, direction: request.direction, from: request.from, maximumCount: request.limit, asOf: request.asOf)
        let (answer, appliedIndex) = try await eventStore.proposer.read(
            .readStream(query), requirement: request.consistency.requirement)
        guard case .stream(let result) = answer else { throw Self.misanswered("a stream read") }
        switch result {
        case .events(let page):
            return StreamReadResponse(page: page, appliedIndex: appliedIndex)
        case .streamNotFound(let stream):
            var error = ServiceError(.streamNotFound, "the stream \(stream.text) has no events (it never had any, or it was soft-deleted)")
            error.appliedIndex = appliedIndex
            error.problem.details = ["stream": .string(stream.text)]
            throw error
        case .streamDeleted(let stream):
            var error = ServiceError(refusal: .streamDeleted(stream))
            error.appliedIndex = appliedIndex
            throw error
        case .asOfNotRetained(let stream, let reason):
            var error = ServiceError(.asOfNotRetained, "stream \(stream.text) cannot be read as of that position: \(reason)")
            error.appliedIndex = appliedIndex
            throw error
        }
    }

    public func readAll(_ request: ReadAllRequest, caller: Caller) async throws(ServiceError) -> AllReadResponse {
        try authorize(caller, .streamRead, .stream(StreamName.all.text))
        try validateLimit(request.limit)
        let query = AllReadRequest(direction: request.direction, from: request.from, maximumCount: request.limit, filter: request.filter)
        let (answer, appliedIndex) = try await eventStore.proposer.read(.readAll(query), requirement: request.consistency.requirement)
        guard case .all(let result) = answer else { throw Self.misanswered("an $all read") }
        switch result {
        case .events(let page): return AllReadResponse(page: page, appliedIndex: appliedIndex)
        case .invalidFilter(let problem): throw ServiceError(.invalidFilter, problem)
        }
    }

    /// A stream's state, revisions and retention rules. `stream_not_found` if
    /// the store has never heard of it (neither events nor metadata).
    public func streamInfo(_ stream: StreamName, consistency: EventReadConsistency = .linearizable, caller: Caller)
        async throws(ServiceError) -> StreamInfoResponse
    {
        try authorize(caller, .streamRead, .stream(stream.text))
        try validateReadable(stream)
        let (answer, appliedIndex) = try await eventStore.proposer.read(.streamInfo(stream), requirement: consistency.requirement)
        guard case .streamInfo(let info) = answer else { throw Self.misanswered("a stream-info read") }
        guard let info else {
            var error = ServiceError(.streamNotFound, "the store knows no stream \(stream.text)")
            error.appliedIndex = appliedIndex
            throw error
        }
        if info.state == .tombstoned {
            var error = ServiceError(refusal: .streamDeleted(stream))
            error.appliedIndex = appliedIndex
            throw error
        }
        return StreamInfoResponse(info: info, appliedIndex: appliedIndex)
    }

    func validateLimit(_ limit: Int) throws(ServiceError) {
        let maximum = eventStore.options.limits.maximumReadCount
        guard (1...maximum).contains(limit) else {
            throw ServiceError(.invalidParameter, "limit must be in 1...\(maximum), not \(limit)")
        }
    }

    static func misanswered(_ what: String) -> ServiceError {
        ServiceError(.internal, "\(what) was answered with another kind of result")
    }
}
