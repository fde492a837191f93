import ChorusAPI
import ChorusEventStore
import ChorusReplica

extension EventStoreProposer {
    /// Every event of `stream`, page after page, as `requirement` reads it
    /// (none for a stream that does not exist). For streams bounded by their
    /// writer, such as a saga's.
    func readWholeStream(_ stream: String, requirement: ReadRequirement) async throws(ServiceError) -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        var from = StreamReadStart.start
        while true {
            let query = StreamReadRequest(stream: StreamName(stream), direction: .forwards, from: from, maximumCount: 1_000, asOf: nil)
            let (answer, _) = try await read(.readStream(query), requirement: requirement)
            guard case .stream(let result) = answer else { throw ChorusService.misanswered("a whole-stream read") }
            switch result {
            case .events(let page):
                events += page.events
                guard let next = page.nextRevision, !page.events.isEmpty else { return events }
                from = .revision(next)
            case .streamNotFound:
                return events
            case .streamDeleted, .asOfNotRetained:
                throw ServiceError(.internal, "stream \(stream) cannot be read whole: \(result)")
            }
        }
    }
}
