import ChorusAPI
import ChorusAuthorization
import ChorusCore
import ChorusEventStore
import CoreMetrics

/// Deletes and retention rules. A soft delete hides every event so far (the
/// stream reads as absent; a later append continues the numbering); a hard
/// delete is a tombstone forever. Deleted and truncated events stay in `$all`
/// until a scavenge removes them.
extension ChorusService {
    public func deleteStream(_ request: DeleteStreamRequest, caller: Caller) async throws(ServiceError) -> DeleteStreamResponse {
        try authorize(caller, .streamDelete, .stream(request.stream.text))
        try validateWritable(request.stream)
        let operation: EventStoreOperation
        switch request.mode {
        case .soft: operation = .softDelete(stream: request.stream, expected: request.expected)
        case .hard: operation = .hardDelete(stream: request.stream, expected: request.expected)
        }
        let (result, index, appliedIndex) = try await eventStore.proposer.propose(operation)
        switch result {
        case .deleted(let deletion):
            return DeleteStreamResponse(deletion: deletion, index: index, appliedIndex: appliedIndex)
        case .wrongExpectedVersion:
            eventStore.metrics.versionConflicts.increment()
            throw ServiceError(refusal: result)
        default:
            throw Self.refusal(result, expected: "deleted")
        }
    }

    /// Replaces the stream's rules (`maximumCount`, `maximumAge`, `truncateBefore`; nil removes a rule).
    public func setStreamMetadata(_ stream: StreamName, _ metadata: StreamMetadata, caller: Caller) async throws(ServiceError)
        -> EventWriteAcknowledgement
    {
        try authorize(caller, .streamAdmin, .stream(stream.text))
        try validateWritable(stream)
        let (result, index, appliedIndex) = try await eventStore.proposer.propose(.setMetadata(stream: stream, metadata: metadata))
        guard case .metadataSet = result else { throw Self.refusal(result, expected: "metadataSet") }
        return EventWriteAcknowledgement(index: index, appliedIndex: appliedIndex)
    }
}
