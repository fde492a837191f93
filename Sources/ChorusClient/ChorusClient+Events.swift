import ChorusAPI
import ChorusCore
import NIOHTTP1

/// The event store: appends (idempotent by event id), stream reads and
/// catch-up subscriptions.
extension ChorusClient {
    /// Appends `events` to `stream`, atomically, if the stream is as
    /// `expected`. Retried like any write (another node, a lost answer): the
    /// ids make a retry idempotent, so a retry of an append that did land is
    /// answered `alreadyWritten` with its original revisions and positions.
    /// A stream not as expected throws `.api` with `wrong_expected_version`.
    public func append(
        _ events: [EventToAppend], to stream: String, expected: ExpectedRevision = .any
    ) async throws(ChorusClientError) -> AppendResult {
        let body = "{\"expectedRevision\":\(expected.json),\"events\":[" + events.map(\.json).joined(separator: ",") + "]}"
        let call = Call(
            method: .POST, path: "/v1/streams/\(Self.encodePathSegment(stream))", headers: HTTPHeaders(),
            body: Array(body.utf8), isWrite: true)
        let response = try await perform(call, deadline: operationDeadline()) { response in
            response.status == 200 ? .finish : Self.decideError(response, isWrite: true)
        }
        guard let json = try? JSONValue(parsing: response.body), let name = json["stream"]?.stringValue,
            let firstRevision = json["firstRevision"]?.int64Value, let lastRevision = json["lastRevision"]?.int64Value,
            let firstPosition = json["firstPosition"]?.int64Value, let lastPosition = json["lastPosition"]?.int64Value,
            let disposition = json["disposition"]?.stringValue, firstRevision >= 0, lastRevision >= 0, firstPosition >= 0,
            lastPosition >= 0
        else { throw .unexpectedResponse(status: response.status, body: response.bodyExcerpt) }
        return AppendResult(
            stream: name, firstRevision: UInt64(firstRevision), lastRevision: UInt64(lastRevision),
            firstPosition: UInt64(firstPosition), lastPosition: UInt64(lastPosition),
            alreadyWritten: disposition == "already_written")
    }

    /// Up to `limit` events of `stream` from revision `from` (nil: the start,
    /// or the end when reading backwards), at `consistency` (nil: the
    /// node's default). A stream that does not exist throws `.api` with `stream_not_found`.
    public func readStream(
        _ stream: String, from: UInt64? = nil, backwards: Bool = false, limit: Int = 100,
        consistency: ConsistencyLevel? = nil
    ) async throws(ChorusClientError) -> StreamPage {
        var query = ["direction=\(backwards ? "backwards" : "forwards")", "limit=\(limit)"]
        if let from { query.append("from=\(from)") }
        if let consistency { query.append("consistency=\(consistency.rawValue)") }
        let call = Call(
            method: .GET, path: "/v1/streams/\(Self.encodePathSegment(stream))?" + query.joined(separator: "&"),
            headers: HTTPHeaders(), body: nil, isWrite: false)
        let response = try await perform(call, deadline: operationDeadline()) { response in
            response.status == 200 ? .finish : Self.decideError(response, isWrite: false)
        }
        guard let json = try? JSONValue(parsing: response.body), let list = json["events"]?.arrayValue else {
            throw .unexpectedResponse(status: response.status, body: response.bodyExcerpt)
        }
        var events: [ClientEvent] = []
        for item in list {
            guard let event = ClientEvent(json: item) else {
                throw .unexpectedResponse(status: response.status, body: "an event that is not a RecordedEvent: \(item.text.prefix(200))")
            }
            events.append(event)
        }
        func revision(_ name: String) -> UInt64? { json[name]?.int64Value.flatMap { $0 >= 0 ? UInt64($0) : nil } }
        return StreamPage(events: events, nextRevision: revision("nextRevision"), lastRevision: revision("lastRevision"))
    }

    /// A catch-up subscription to `stream` (nil: `$all`, the client's
    /// streams) after revision (or, for `$all`, position) `after` (nil: from
    /// the start): history, one `caughtUp`, then live events, until the
    /// caller stops iterating or the server ends it (an `error` message, such
    /// as `stream_deleted`, ends it with `.api`). One connection, to the first
    /// endpoint that accepts it.
    public func subscribe(to stream: String?, after: UInt64? = nil) -> AsyncThrowingStream<ClientSubscriptionMessage, any Error> {
        let path =
            (stream.map { "/v1/streams/\(Self.encodePathSegment($0))/subscribe" } ?? "/v1/all/subscribe")
            + "?from=\(after.map(String.init) ?? "start")"
        let headers: [(String, String)] = configuration.bearerToken.map { [("Authorization", "Bearer \($0)")] } ?? []
        let endpoints = self.endpoints
        let reader = ServerSentEventsClient(connectTimeoutMilliseconds: Int64(configuration.connectTimeoutMilliseconds))
        return AsyncThrowingStream { continuation in
            let task = Task {
                var lastFailure: (any Error)?
                for origin in endpoints {
                    do {
                        let outcome = try await reader.read(origin, path, headers: headers) { message in
                            if message.event == "error" {
                                throw Self.subscriptionError(message.data)
                            }
                            guard let delivered = Self.subscriptionMessage(message) else { return !Task.isCancelled }
                            if case .terminated = continuation.yield(delivered) { return false }
                            return !Task.isCancelled
                        }
                        if case .refused(let status, _, let body) = outcome {
                            let response = ChorusResponse(status: status, headers: HTTPHeaders(), body: body)
                            throw Self.refusal(response)
                        }
                        continuation.finish()
                        return
                    } catch let failure as ServerSentEventsClient.ConnectionFailure {
                        lastFailure = ChorusClientError.unavailable(failure.description)
                    } catch {
                        continuation.finish(throwing: error)
                        return
                    }
                }
                continuation.finish(throwing: lastFailure ?? ChorusClientError.unavailable("no endpoint"))
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    static func subscriptionMessage(_ message: ServerSentEventsClient.Message) -> ClientSubscriptionMessage? {
        guard let json = try? JSONValue(parsing: Array(message.data.utf8)) else { return nil }
        let position = json["position"]?.int64Value.flatMap { $0 >= 0 ? UInt64($0) : nil }
        switch message.event {
        case "event": return ClientEvent(json: json).map { .event($0) }
        case "caught-up": return .caughtUp(position: position)
        case "fell-behind": return .fellBehind(position: position)
        case "checkpoint": return .checkpoint(position: position)
        default: return nil
        }
    }

    static func subscriptionError(_ data: String) -> ChorusClientError {
        if let problem = APIProblem(json: Array(data.utf8)) { return .api(problem, status: problem.code.httpStatus) }
        return .unexpectedResponse(status: 200, body: data)
    }
}
