import ChorusAPI
import ChorusCore
import ChorusReplication
import ChorusService
import HTTPTypes
import Hummingbird
import NIOCore

/// `/v1/crdt/{keyspace}/{type}/{key}`: CRDT-typed keys of a leaderless
/// keyspace (counters, sets, registers, flags, maps), the values the Redis
/// protocol serves, in JSON (`CRDTJSON`). This node coordinates.
///
/// - `GET` answers `{"type":…,"value":…}`, the merge of R replies (an
///   absent key reads as its type's empty value).
/// - `POST` applies one operation (`CRDTJSON`) and answers the value after
///   it at the coordinating replica, with the acknowledgement counts.
/// - `DELETE` removes everything the coordinating replica observed.
///
/// The query parameters and `X-Chorus-Session` work as on `/v1/kv`
/// (`LeaderlessKeyValueAPI`).
struct LeaderlessCRDTAPI: Sendable {
    let keyValue: LeaderlessKeyValueAPI
    var service: ChorusService { keyValue.service }

    /// The largest operation body.
    static let maximumBodyBytes = 64 * 1024

    func register<Context: RequestContext>(on router: Router<Context>) {
        let api = self
        router.on(
            "/v1/crdt/:keyspace/:type/:key",
            methods: [
                (.get, { request, context in try await api.get(request, context: context) }),
                (.post, { request, context in try await api.post(request, context: context) }),
                (.delete, { request, context in try await api.delete(request, context: context) }),
            ])
    }

    func get(_ request: Request, context: some RequestContext) async throws -> Response {
        let (keyspace, kind, key) = try address(context)
        let (options, token) = try await keyValue.requestOptions(request)
        let read: ReadReply
        do {
            read = try await service.leaderlessRead(keyspace, key: key, kind: kind, options: options, caller: RequestCaller.current)
        } catch {
            throw APIError(error, requestURI: request.uri.description)
        }
        let body: JSONValue = ["type": .string(CRDTJSON.name(kind)), "value": CRDTJSON.value(read.value, kind: kind)]
        return await respond(body, session: read.session, token: token)
    }

    func post(_ request: Request, context: some RequestContext) async throws -> Response {
        let (keyspace, kind, key) = try address(context)
        let (options, token) = try await keyValue.requestOptions(request)
        var request = request
        let body = try await request.collectBody(upTo: Self.maximumBodyBytes)
        let operation = try CRDTJSON.operation(Array(body.readableBytesView), kind: kind, timestamp: service.leaderlessNow())
        return try await apply(operation, keyspace: keyspace, key: key, options: options, token: token, request: request)
    }

    func delete(_ request: Request, context: some RequestContext) async throws -> Response {
        let (keyspace, kind, key) = try address(context)
        let (options, token) = try await keyValue.requestOptions(request)
        guard let operation = CRDTOperation.removeAll(kind) else { throw APIError(.invalidParameter, "no such type") }
        return try await apply(operation, keyspace: keyspace, key: key, options: options, token: token, request: request)
    }

    func apply(
        _ operation: CRDTOperation, keyspace: String, key: [UInt8], options: RequestOptions, token: SessionToken?, request: Request
    ) async throws -> Response {
        let written: WriteReply
        do {
            written = try await service.leaderlessUpdate(
                keyspace, key: key, operation, options: options, returnValue: true, caller: RequestCaller.current)
        } catch {
            throw APIError(error, requestURI: request.uri.description)
        }
        let body: JSONValue = [
            "type": .string(CRDTJSON.name(operation.kind)), "value": CRDTJSON.value(written.minted.value, kind: operation.kind),
            "acknowledgements": .number(JSONNumber(written.acknowledgements)),
            "durable": .number(JSONNumber(written.durableAcknowledgements)),
        ]
        return await respond(body, session: written.session, token: token)
    }

    func respond(_ body: JSONValue, session: LeaderlessSessionState?, token: SessionToken?) async -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[ChorusHeaders.node] = keyValue.nodeHeaderValue
        headers[ChorusHeaders.session] = await service.leaderlessToken(token, advancedBy: session).text
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body.text + "\n")))
    }

    func address(_ context: some RequestContext) throws -> (keyspace: String, kind: ValueKind, key: [UInt8]) {
        guard let keyspace = context.parameters.get("keyspace"), let type = context.parameters.get("type"),
            let key = context.parameters.get("key")
        else {
            throw APIError(.badRequest, "the path is /v1/crdt/{keyspace}/{type}/{key}")
        }
        guard let decodedKeyspace = PercentDecoding.decode(keyspace) else {
            throw APIError(.invalidKeyspace, "the keyspace is not valid percent-encoded UTF-8")
        }
        guard let decodedKey = PercentDecoding.decode(key) else {
            throw APIError(.invalidKey, "the key is not valid percent-encoded UTF-8")
        }
        return (decodedKeyspace, try CRDTJSON.kind(type), Array(decodedKey.utf8))
    }
}
