import ChorusAPI
import ChorusCore
import ChorusEventStore
import ChorusService
import HTTPTypes
import Hummingbird

/// Appends, reads, deletes and metadata.
///
/// The expected state of an append is primarily the header
/// `X-Chorus-Expected-Revision: any|no_stream|stream_exists|N`; a body that
/// is an object may carry `expectedRevision` instead (giving both is a 400).
/// Without either, `any`.
extension EventStoreAPI {
    func append(_ request: Request, context: some RequestContext) async throws -> Response {
        let stream = try self.stream(context)
        let header = try expectedRevision(request)
        let parsed = try EventJSON.parseAppendBody(try await body(request), limits: jsonLimits)
        if header != nil && parsed.expected != nil {
            throw APIError(
                .invalidExpectedVersion, "give the expected revision in X-Chorus-Expected-Revision or in the body, not both")
        }
        let appended: AppendResponse
        do {
            appended = try await service.append(
                AppendRequest(stream: stream, expected: header ?? parsed.expected ?? .any, events: parsed.events),
                caller: caller(request))
        } catch {
            throw failure(error, request)
        }
        var text = Self.outcomeJSON(appended.outcome, ids: appended.eventIDs)
        text.removeLast()
        text += ",\"index\":\(appended.index.rawValue)}"
        var headers: HTTPFields = [:]
        headers[ChorusHeaders.position] = "\(appended.outcome.lastPosition.rawValue)"
        return json(text, appliedIndex: appended.appliedIndex, headers: headers)
    }

    func appendMultiple(_ request: Request, context: some RequestContext) async throws -> Response {
        if request.headers[ChorusHeaders.expectedRevision] != nil {
            throw APIError(.invalidExpectedVersion, "a multi-stream append names each stream's expected revision in its body")
        }
        let parsed = try EventJSON.parseMultiStreamBody(try await body(request), limits: jsonLimits)
        let appended: MultiStreamAppendResponse
        do {
            appended = try await service.appendMultiple(parsed, caller: caller(request))
        } catch {
            throw failure(error, request)
        }
        let streams = zip(appended.outcome.streams, appended.eventIDs).map { Self.outcomeJSON($0, ids: $1) }
        let text = "{\"disposition\":\"\(Self.name(appended.outcome.disposition))\",\"streams\":[\(streams.joined(separator: ","))],\"index\":\(appended.index.rawValue)}"
        return json(text, appliedIndex: appended.appliedIndex)
    }

    static func name(_ disposition: AppendDisposition) -> String {
        disposition == .written ? "written" : "already_written"
    }

    static func outcomeJSON(_ outcome: AppendOutcome, ids: [EventID]) -> String {
        var text = "{\"stream\":"
        JSONString.write(outcome.stream.text, to: &text)
        text += ",\"firstRevision\":\(outcome.firstRevision.rawValue),\"lastRevision\":\(outcome.lastRevision.rawValue)"
        text += ",\"firstPosition\":\(outcome.firstPosition.rawValue),\"lastPosition\":\(outcome.lastPosition.rawValue)"
        text += ",\"disposition\":\"\(name(outcome.disposition))\",\"eventIds\":["
        text += ids.map { "\"\($0)\"" }.joined(separator: ",") + "],\"idempotencyHorizon\":"
        if let horizon = outcome.idempotencyHorizon {
            text += "{\"oldestPosition\":\(horizon.oldestPosition.rawValue),\"oldestRecordedTime\":\(horizon.oldestRecordedTime.microsecondsSinceEpoch)}"
        } else {
            text += "null"
        }
        return text + "}"
    }

    func readStream(_ request: Request, context: some RequestContext) async throws -> Response {
        let stream = try self.stream(context)
        let query = EventQueryParameters(request)
        let direction = try query.direction()
        let read = ReadStreamRequest(
            stream: stream, direction: direction, from: try query.streamStart(direction),
            limit: try query.limit(maximum: limits.maximumReadCount), asOf: try query.position("as-of-position"),
            consistency: try query.consistency(request))
        let answer: StreamReadResponse
        do { answer = try await service.readStream(read, caller: caller(request)) } catch { throw failure(error, request) }
        let page = answer.page
        var text = "{\"stream\":"
        JSONString.write(page.stream.text, to: &text)
        text += ",\"events\":"
        EventJSON.render(page.events, into: &text)
        text += ",\"nextRevision\":\(EventJSON.number(page.nextRevision?.rawValue)),\"lastRevision\":\(page.lastRevision.rawValue)"
        text += ",\"firstVisibleRevision\":\(page.firstVisibleRevision.rawValue)}"
        return json(text, appliedIndex: answer.appliedIndex)
    }

    func readAll(_ request: Request, context: some RequestContext) async throws -> Response {
        let query = EventQueryParameters(request)
        let direction = try query.direction()
        let read = ReadAllRequest(
            direction: direction, from: try query.allStart(direction), limit: try query.limit(maximum: limits.maximumReadCount),
            filter: try query.filter(), consistency: try query.consistency(request))
        let answer: AllReadResponse
        do { answer = try await service.readAll(read, caller: caller(request)) } catch { throw failure(error, request) }
        let page = answer.page
        var text = "{\"events\":"
        EventJSON.render(page.events, into: &text)
        text += ",\"nextPosition\":\(EventJSON.number(page.nextPosition?.rawValue))"
        text += ",\"scannedThrough\":\(EventJSON.number(page.scannedThrough?.rawValue)),\"headPosition\":\(page.headPosition.rawValue)}"
        return json(text, appliedIndex: answer.appliedIndex)
    }

    func deleteStream(_ request: Request, context: some RequestContext) async throws -> Response {
        let stream = try self.stream(context)
        let hard = try EventQueryParameters(request).boolean("hard") ?? false
        let delete = DeleteStreamRequest(stream: stream, expected: try expectedRevision(request) ?? .any, mode: hard ? .hard : .soft)
        let deleted: DeleteStreamResponse
        do { deleted = try await service.deleteStream(delete, caller: caller(request)) } catch { throw failure(error, request) }
        var text = "{\"stream\":"
        JSONString.write(stream.text, to: &text)
        text += ",\"kind\":\"\(deleted.deletion.kind == .hard ? "hard" : "soft")\""
        text += ",\"lastRevision\":\(EventJSON.number(deleted.deletion.lastRevision?.rawValue)),\"index\":\(deleted.index.rawValue)}"
        return json(text, appliedIndex: deleted.appliedIndex)
    }

    /// `PUT …/metadata`: `{"maxCount":N,"maxAgeSeconds":N,"truncateBefore":N}`, each optional (absent or null: no rule).
    func putMetadata(_ request: Request, context: some RequestContext) async throws -> Response {
        let stream = try self.stream(context)
        let value = try EventJSON.parse(try await body(request), limits: jsonLimits)
        guard let object = value.objectValue else { throw APIError(.invalidJSON, "the metadata must be a JSON object") }
        try EventJSON.requireOnly(["maxCount", "maxAgeSeconds", "truncateBefore"], in: object, what: "stream metadata")
        func count(_ name: String, minimum: Int64) throws(APIError) -> UInt64? {
            guard let member = object[name], !member.isNull else { return nil }
            guard let number = member.int64Value, number >= minimum else {
                throw APIError(.invalidJSON, "\(name) must be an integer of at least \(minimum), or null")
            }
            return UInt64(number)
        }
        let maximumAgeSeconds = try count("maxAgeSeconds", minimum: 1)
        if let seconds = maximumAgeSeconds, seconds > UInt64.max / 1_000_000 {
            throw APIError(.invalidJSON, "maxAgeSeconds is too large")
        }
        let metadata = StreamMetadata(
            maximumCount: try count("maxCount", minimum: 0), maximumAge: maximumAgeSeconds.map { Microseconds.seconds($0) },
            truncateBefore: try count("truncateBefore", minimum: 0).map { StreamRevision($0) })
        let written: EventWriteAcknowledgement
        do {
            written = try await service.setStreamMetadata(stream, metadata, caller: caller(request))
        } catch {
            throw failure(error, request)
        }
        var text = "{\"stream\":"
        JSONString.write(stream.text, to: &text)
        text += ",\"index\":\(written.index.rawValue)}"
        return json(text, appliedIndex: written.appliedIndex)
    }

    func getMetadata(_ request: Request, context: some RequestContext) async throws -> Response {
        let stream = try self.stream(context)
        let consistency = try EventQueryParameters(request).consistency(request)
        let answer: StreamInfoResponse
        do {
            answer = try await service.streamInfo(stream, consistency: consistency, caller: caller(request))
        } catch {
            throw failure(error, request)
        }
        let info = answer.info
        var text = "{\"stream\":"
        JSONString.write(stream.text, to: &text)
        let state: String
        var lastRevision: UInt64?
        switch info.state {
        case .absent: state = "no_stream"
        case .revision(let revision):
            state = "exists"
            lastRevision = revision.rawValue
        case .softDeleted(let revision):
            state = "soft_deleted"
            lastRevision = revision.rawValue
        case .tombstoned: state = "deleted"
        }
        text += ",\"state\":\"\(state)\",\"lastRevision\":\(EventJSON.number(lastRevision))"
        text += ",\"nextRevision\":\(info.nextRevision.rawValue),\"firstVisibleRevision\":\(info.firstVisibleRevision.rawValue)"
        text += ",\"maxCount\":\(EventJSON.number(info.metadata.maximumCount))"
        let maximumAge = info.metadata.maximumAge.map { age in
            age.rawValue % 1_000_000 == 0 ? "\(age.rawValue / 1_000_000)" : "\(Double(age.rawValue) / 1_000_000)"
        }
        text += ",\"maxAgeSeconds\":\(maximumAge ?? "null"),\"truncateBefore\":\(EventJSON.number(info.metadata.truncateBefore?.rawValue))}"
        return json(text, appliedIndex: answer.appliedIndex)
    }
}
