import ChorusAPI
import ChorusCore
import ChorusEventStore
import ChorusService
import HTTPTypes
import Hummingbird
import NIOCore

/// Catch-up subscriptions as server-sent events (`text/event-stream`).
///
/// The stream is, in order: a `: subscribed` comment; `event` messages (`id:`
/// the event's global position, data the event); one `caught-up` once
/// history is delivered; then live `event`s; `checkpoint` messages (`id:` the
/// cursor's position) during catch-up and live; `fell-behind` if the client
/// reads more slowly than one batch behind the head (it then catches up
/// again from its own position: nothing is buffered for it and it is never
/// dropped); `: heartbeat` comments while idle. A tombstoned stream ends with
/// an `error` message (`stream_deleted`).
///
/// Resuming: `Last-Event-ID` (a position, as every `id:` is) resumes right
/// after it, and takes precedence over `from`. `from` is `start` (default),
/// `end`, or for a stream subscription a revision (after it) and for `$all`
/// a position (after it). A start that is not a number, or a position at or
/// beyond the head, is refused with 400 before the stream begins.
///
/// A client that disconnects ends its subscription at the next write (at
/// most a heartbeat interval later): the reading loop stops, nothing else
/// holds state for it.
extension EventStoreAPI {
    func subscribeStream(_ request: Request, context: some RequestContext) async throws -> Response {
        let stream = try self.stream(context)
        let query = EventQueryParameters(request)
        let start = try subscriptionStart(request, query, code: .invalidRevision, noun: "a revision") {
            .afterRevision(StreamRevision($0))
        }
        let subscribe = SubscribeRequest(source: .stream(stream), start: start, consistency: try query.consistency(request))
        return try await serve(subscribe, request)
    }

    /// Where a subscription starts: after `Last-Event-ID` if given, else
    /// `from` = `start` (default), `end`, or a number read by `after`.
    private func subscriptionStart(
        _ request: Request, _ query: EventQueryParameters, code: ErrorCode, noun: String,
        after: (UInt64) -> SubscriptionStart
    ) throws -> SubscriptionStart {
        if let resume = try lastEventID(request) { return .afterPosition(resume) }
        switch try query.single("from") {
        case nil, "start": return .start
        case "end": return .end
        case let text?:
            guard let number = EventQueryParameters.unsigned(text) else {
                throw APIError(code, "from must be start, end or \(noun), not \(JSONString.quoted(text))")
            }
            return after(number)
        }
    }

    func subscribeAll(_ request: Request, context: some RequestContext) async throws -> Response {
        let query = EventQueryParameters(request)
        let start = try subscriptionStart(request, query, code: .invalidPosition, noun: "a position") {
            .afterPosition(GlobalPosition($0))
        }
        let subscribe = SubscribeRequest(
            source: .all(try query.filter()), start: start, consistency: try query.consistency(request))
        return try await serve(subscribe, request)
    }

    /// `Last-Event-ID`: a position, or a 400.
    func lastEventID(_ request: Request) throws(APIError) -> GlobalPosition? {
        guard let text = request.headers[ChorusHeaders.lastEventID] else { return nil }
        guard let position = EventQueryParameters.unsigned(text.trimmingSpaces) else {
            throw APIError(
                .invalidPosition, "Last-Event-ID must be a position this API sent as an id, not \(JSONString.quoted(text))")
        }
        return GlobalPosition(position)
    }

    private func serve(_ subscribe: SubscribeRequest, _ request: Request) async throws -> Response {
        let subscription: EventSubscription
        do {
            subscription = try await service.subscribe(subscribe, caller: caller(request))
        } catch {
            throw failure(error, request)
        }
        var headers = baseHeaders
        for field in ServerSentEvents.headers { headers[field.name] = field.value }
        headers[ChorusHeaders.index] = String(subscription.appliedIndex.rawValue)
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                var iterator = subscription.makeAsyncIterator()
                var buffer = ByteBuffer()
                ServerSentEvents.comment("subscribed after \(ServerSentEvents.id(of: subscription.start) ?? "start")", to: &buffer)
                do { try await writer.write(buffer) } catch { return }
                let completed = await GracefulStop.run { stop -> Bool in
                    while !stop.isStopped {
                        buffer.clear()
                        let messages: ArraySlice<SubscriptionMessage>
                        do {
                            guard let next = try await iterator.nextMessages() else { break }
                            messages = next
                        } catch let error as ServiceError {
                            ServerSentEvents.error(error.problem, to: &buffer)
                            do { try await writer.write(buffer) } catch { return false }
                            break
                        } catch {
                            return false
                        }
                        for message in messages { ServerSentEvents.append(message, to: &buffer) }
                        // A failed write is a client that went away: the subscription ends here.
                        do { try await writer.write(buffer) } catch { return false }
                    }
                    return true
                }
                if completed { try? await writer.finish(nil) }
            })
    }
}
