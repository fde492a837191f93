import ChorusAPI
import ChorusCore
import ChorusEventStore
import ChorusService
import HTTPTypes
import Hummingbird
import NIOCore

/// Persistent subscription groups (competing consumers). Durations are given
/// in milliseconds and held as dispatcher ticks of `groupTickMilliseconds`
/// (rounded up). Consuming, acknowledging and replaying happen on the
/// leader; a follower redirects them (307).
///
/// A consumer's stream (`GET …/consume`, server-sent events): a `connected`
/// message, then one `delivery` per event (`deliveryId`, `retryCount`,
/// `event`), `: heartbeat` comments while idle, and an `error` message if the
/// group is deleted or leadership moves. Acknowledge with
/// `POST …/ack {"deliveryIds":[…]}`; refuse with
/// `POST …/nack?action=retry|park|skip {"deliveryIds":[…],"reason":"…"}`.
/// A consumer that disconnects hands its unacknowledged events to the others.
extension EventStoreAPI {
    func createGroup(_ request: Request, context: some RequestContext) async throws -> Response {
        let key = try groupKey(context)
        let bytes = try await body(request)
        let object: JSONObject
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            object = JSONObject()
        } else {
            guard let parsed = try EventJSON.parse(bytes, limits: jsonLimits).objectValue else {
                throw APIError(.invalidJSON, "the group settings must be a JSON object")
            }
            object = parsed
        }
        let create = try Self.parseGroup(object, key: key, tickMilliseconds: service.eventStore.options.groupTickMilliseconds)
        let created: GroupResponse
        do { created = try await service.createGroup(create, caller: caller(request)) } catch { throw failure(error, request) }
        return json(groupJSON(created.group), status: .created, appliedIndex: created.appliedIndex)
    }

    static func parseGroup(_ object: JSONObject, key: PersistentGroupKey, tickMilliseconds: Int) throws(APIError)
        -> CreateGroupRequest
    {
        let settingNames = [
            "maxRetryCount", "maxConsumerCount", "messageTimeoutMilliseconds", "maxInFlightPerConsumer", "bufferSize",
            "checkpointAfterEvents", "checkpointIntervalMilliseconds",
        ]
        try EventJSON.requireOnly(settingNames + ["start", "filter"], in: object, what: "a group definition")
        func integer(_ name: String, _ fallback: Int) throws(APIError) -> Int {
            guard let member = object[name] else { return fallback }
            guard let value = member.int64Value, value >= 0, value <= Int64(Int32.max) else {
                throw APIError(.invalidGroup, "\(name) must be a non-negative integer")
            }
            return Int(value)
        }
        func ticks(_ milliseconds: Int) -> Int { max(1, (milliseconds + tickMilliseconds - 1) / tickMilliseconds) }
        let defaults = PersistentGroupSettings()
        let settings = PersistentGroupSettings(
            maximumRetryCount: try integer("maxRetryCount", defaults.maximumRetryCount),
            maximumConsumerCount: try integer("maxConsumerCount", defaults.maximumConsumerCount),
            messageTimeoutTicks: ticks(try integer("messageTimeoutMilliseconds", defaults.messageTimeoutTicks * tickMilliseconds)),
            maximumInFlightPerConsumer: try integer("maxInFlightPerConsumer", defaults.maximumInFlightPerConsumer),
            bufferSize: try integer("bufferSize", defaults.bufferSize),
            checkpointAfterEvents: try integer("checkpointAfterEvents", defaults.checkpointAfterEvents),
            checkpointIntervalTicks: ticks(
                try integer("checkpointIntervalMilliseconds", defaults.checkpointIntervalTicks * tickMilliseconds)))
        let start: PersistentGroupStart
        switch object["start"] {
        case nil: start = .start
        case .string("start"): start = .start
        case .string("end"): start = .end
        case let value?:
            guard let position = value.int64Value, position >= 0 else {
                throw APIError(.invalidGroup, "start must be \"start\", \"end\" or a position (after which the group starts)")
            }
            start = .after(GlobalPosition(UInt64(position)))
        }
        var filter: EventFilter?
        if let member = object["filter"] {
            guard key.stream == .all else { throw APIError(.invalidGroup, "a filter applies to $all groups only") }
            guard let definition = member.objectValue else { throw APIError(.invalidGroup, "filter must be an object") }
            try EventJSON.requireOnly(["streamPrefixes", "typePrefixes", "includeSystemStreams"], in: definition, what: "a filter")
            func strings(_ name: String) throws(APIError) -> [String] {
                guard let list = definition[name] else { return [] }
                guard let array = list.arrayValue else { throw APIError(.invalidGroup, "\(name) must be an array of strings") }
                var result: [String] = []
                for element in array {
                    guard let text = element.stringValue else { throw APIError(.invalidGroup, "\(name) must be an array of strings") }
                    result.append(text)
                }
                return result
            }
            var include = false
            if let flag = definition["includeSystemStreams"] {
                guard let value = flag.boolValue else { throw APIError(.invalidGroup, "includeSystemStreams must be a boolean") }
                include = value
            }
            filter = EventFilter(
                streamNamePrefixes: try strings("streamPrefixes"), eventTypePrefixes: try strings("typePrefixes"),
                includeSystemStreams: include)
        }
        return CreateGroupRequest(key: key, filter: filter, settings: settings, start: start)
    }

    func getGroup(_ request: Request, context: some RequestContext) async throws -> Response {
        let key = try groupKey(context)
        let consistency = try EventQueryParameters(request).consistency(request)
        let answer: GroupResponse
        do { answer = try await service.group(key, consistency: consistency, caller: caller(request)) } catch {
            throw failure(error, request)
        }
        return json(groupJSON(answer.group), appliedIndex: answer.appliedIndex)
    }

    func listGroups(_ request: Request, context: some RequestContext) async throws -> Response {
        let consistency = try EventQueryParameters(request).consistency(request)
        let answer: GroupListResponse
        do { answer = try await service.groups(consistency: consistency, caller: caller(request)) } catch {
            throw failure(error, request)
        }
        return json("{\"groups\":[\(answer.groups.map(groupJSON).joined(separator: ","))]}", appliedIndex: answer.appliedIndex)
    }

    func deleteGroup(_ request: Request, context: some RequestContext) async throws -> Response {
        let key = try groupKey(context)
        let deleted: EventWriteAcknowledgement
        do { deleted = try await service.deleteGroup(key, caller: caller(request)) } catch { throw failure(error, request) }
        return json("{\"deleted\":true,\"index\":\(deleted.index.rawValue)}", appliedIndex: deleted.appliedIndex)
    }

    func groupJSON(_ group: PersistentGroup) -> String {
        let tick = service.eventStore.options.groupTickMilliseconds
        let settings = group.settings
        var text = "{\"stream\":"
        JSONString.write(group.key.stream.text, to: &text)
        text += ",\"group\":"
        JSONString.write(group.key.group, to: &text)
        text += ",\"checkpoint\":\(ServerSentEvents.id(of: group.checkpoint) ?? "null")"
        text += ",\"settings\":{\"maxRetryCount\":\(settings.maximumRetryCount),\"maxConsumerCount\":\(settings.maximumConsumerCount)"
        text += ",\"messageTimeoutMilliseconds\":\(settings.messageTimeoutTicks * tick)"
        text += ",\"maxInFlightPerConsumer\":\(settings.maximumInFlightPerConsumer),\"bufferSize\":\(settings.bufferSize)"
        text += ",\"checkpointAfterEvents\":\(settings.checkpointAfterEvents)"
        text += ",\"checkpointIntervalMilliseconds\":\(settings.checkpointIntervalTicks * tick)}"
        text += ",\"filter\":"
        if case .all(let filter) = group.source {
            let streams = filter.streamNamePrefixes.map(JSONString.quoted).joined(separator: ",")
            let types = filter.eventTypePrefixes.map(JSONString.quoted).joined(separator: ",")
            text += "{\"streamPrefixes\":[\(streams)],\"typePrefixes\":[\(types)],\"includeSystemStreams\":\(filter.includeSystemStreams)}"
        } else {
            text += "null"
        }
        text += ",\"parkedStream\":"
        JSONString.write(group.key.parkedStream.text, to: &text)
        text += ",\"replayRequestedThrough\":\(group.replayRequestedThrough.rawValue),\"replayedThrough\":\(group.replayedThrough.rawValue)}"
        return text
    }

    // MARK: Consumers

    func consume(_ request: Request, context: some RequestContext) async throws -> Response {
        let key = try groupKey(context)
        let consumer: GroupConsumer
        do { consumer = try await service.consume(key, caller: caller(request)) } catch { throw failure(error, request) }
        var headers = baseHeaders
        for field in ServerSentEvents.headers { headers[field.name] = field.value }
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                var buffer = ByteBuffer()
                ServerSentEvents.append(event: "connected", data: "{\"consumer\":\(consumer.id.rawValue)}", to: &buffer)
                do { try await writer.write(buffer) } catch { return }
                do {
                    for try await message in consumer.deliveries {
                        buffer.clear()
                        switch message {
                        case .delivery(let delivery):
                            var data = "{\"deliveryId\":\"\(delivery.id)\",\"retryCount\":\(delivery.retryCount),\"event\":"
                            EventJSON.render(delivery.event, into: &data)
                            data += "}"
                            ServerSentEvents.append(event: "delivery", data: data, to: &buffer)
                        case .heartbeat:
                            ServerSentEvents.comment("heartbeat", to: &buffer)
                        }
                        // A failed write is a consumer that went away: leaving the loop
                        // ends the delivery stream, which disconnects the consumer.
                        do { try await writer.write(buffer) } catch { return }
                    }
                } catch {
                    buffer.clear()
                    let problem = (error as? ServiceError)?.problem ?? APIProblem(.internal, "\(error)")
                    ServerSentEvents.error(problem, to: &buffer)
                    try? await writer.write(buffer)
                }
                try? await writer.finish(nil)
            })
    }

    func acknowledge(_ request: Request, context: some RequestContext) async throws -> Response {
        let key = try groupKey(context)
        let (ids, _) = try await deliveryIDs(request, allowReason: false)
        do { try await service.acknowledge(ids, in: key, caller: caller(request)) } catch { throw failure(error, request) }
        return json("{\"accepted\":\(ids.count)}", appliedIndex: nil)
    }

    func negativelyAcknowledge(_ request: Request, context: some RequestContext) async throws -> Response {
        let key = try groupKey(context)
        let action: PersistentSubscriptionDispatcher.NegativeAcknowledgement
        switch try EventQueryParameters(request).single("action") {
        case "retry": action = .retry
        case "park": action = .park
        case "skip": action = .skip
        case let other:
            throw APIError(.invalidParameter, "action must be retry, park or skip, not \(other.map(JSONString.quoted) ?? "missing")")
        }
        let (ids, reason) = try await deliveryIDs(request, allowReason: true)
        do {
            try await service.negativelyAcknowledge(ids, in: key, action: action, reason: reason, caller: caller(request))
        } catch {
            throw failure(error, request)
        }
        return json("{\"accepted\":\(ids.count)}", appliedIndex: nil)
    }

    /// `{"deliveryIds":["source-12",…]}` (and `"reason"` for a nack).
    private func deliveryIDs(_ request: Request, allowReason: Bool) async throws -> ([DeliveryID], String) {
        let value = try EventJSON.parse(try await body(request), limits: jsonLimits)
        guard let object = value.objectValue else { throw APIError(.invalidJSON, "the body must be a JSON object") }
        try EventJSON.requireOnly(allowReason ? ["deliveryIds", "reason"] : ["deliveryIds"], in: object, what: "the body")
        guard let list = object["deliveryIds"]?.arrayValue, !list.isEmpty else {
            throw APIError(.invalidJSON, "deliveryIds must be a non-empty array of delivery ids")
        }
        let maximum = limits.maximumInFlightPerConsumer
        guard list.count <= maximum else { throw APIError(.invalidJSON, "at most \(maximum) delivery ids at once") }
        var ids: [DeliveryID] = []
        for element in list {
            guard let text = element.stringValue else { throw APIError(.invalidJSON, "a delivery id is a string") }
            do { ids.append(try DeliveryID.parse(text)) } catch { throw APIError(error) }
        }
        var reason = "negatively acknowledged"
        if let given = object["reason"] {
            guard let text = given.stringValue else { throw APIError(.invalidJSON, "reason must be a string") }
            reason = text
        }
        return (ids, reason)
    }

    // MARK: Parked events

    func parked(_ request: Request, context: some RequestContext) async throws -> Response {
        let key = try groupKey(context)
        let query = EventQueryParameters(request)
        let from = try query.revision("from") ?? .zero
        let limit = try query.limit(maximum: limits.maximumReadCount)
        let consistency = try query.consistency(request)
        let answer: ParkedEventsResponse
        do {
            answer = try await service.parkedEvents(key, from: from, limit: limit, consistency: consistency, caller: caller(request))
        } catch {
            throw failure(error, request)
        }
        var text = "{\"entries\":["
        for (index, entry) in answer.page.entries.enumerated() {
            if index > 0 { text += "," }
            text += "{\"parkedRevision\":\(entry.parkedRevision.rawValue),\"position\":\(entry.position.rawValue),\"reason\":"
            JSONString.write(entry.reason, to: &text)
            text += ",\"event\":"
            if let event = entry.event { EventJSON.render(event, into: &text) } else { text += "null" }
            text += "}"
        }
        text += "],\"nextRevision\":\(EventJSON.number(answer.page.nextRevision?.rawValue))}"
        return json(text, appliedIndex: answer.appliedIndex)
    }

    func replayParked(_ request: Request, context: some RequestContext) async throws -> Response {
        let key = try groupKey(context)
        let replay: ReplayParkedResponse
        do { replay = try await service.replayParked(key, caller: caller(request)) } catch { throw failure(error, request) }
        return json("{\"through\":\(replay.through.rawValue),\"index\":\(replay.index.rawValue)}", appliedIndex: replay.appliedIndex)
    }
}
