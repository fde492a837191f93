import ChorusAPI
import ChorusClocks
import ChorusCore
import ChorusNode
import ChorusReplication
import ChorusService
import HTTPTypes
import Hummingbird
import NIOCore

/// `/v1/kv/{keyspace}/{key}` when the keyspace is leaderless: opaque values
/// with dotted version vectors (Riak's model). This node coordinates.
///
/// - `GET` answers the merge of R replies: `200` with the value when there
///   is one sibling, `300 Multiple Choices` with
///   `{"siblings":["<base64url>",…]}` when concurrent writes left several,
///   `404 key_not_found` when there is none (or only a delete). Every answer
///   carries `X-Chorus-Context`, the causal context (a version vector,
///   base64url) to write back with, and `X-Chorus-Siblings`.
/// - `PUT` with `X-Chorus-Context` supersedes exactly the siblings that
///   context saw; without one it supersedes what the coordinating replica
///   holds (concurrent writes elsewhere stay siblings). `DELETE` writes a
///   tombstone the same way. Both answer `{"context":"…"}`: the context of
///   the new value.
/// - Query parameters override the keyspace's defaults per request: `n`,
///   `r`, `w`, `pr`, `pw`, `dw` (replicas that fsynced; default w), and
///   `timeout_ms`.
/// - `X-Chorus-Session` works as on Raft keyspaces: every answer carries the
///   session token, advanced by what the request saw. On a keyspace created
///   with `"causal":true`, a request that sends it back sees everything its
///   session saw, on any node and with any `r` (causal+: a replica serves a
///   read only once the session's dependencies are visible there, and a
///   write becomes visible only after them).
struct LeaderlessKeyValueAPI: Sendable {
    let service: ChorusService
    let nodeHeaderValue: String

    static let contextHeader = HTTPField.Name("X-Chorus-Context")!
    static let siblingsHeader = HTTPField.Name("X-Chorus-Siblings")!

    func get(keyspace: String, key: String, request: Request) async throws -> Response {
        let (options, token) = try await requestOptions(request)
        let read: ReadReply
        do {
            read = try await service.leaderlessRead(keyspace, key: Array(key.utf8), kind: .versioned, options: options, caller: RequestCaller.current)
        } catch {
            throw APIError(error, requestURI: request.uri.description)
        }
        var headers: HTTPFields = [:]
        headers[ChorusHeaders.node] = nodeHeaderValue
        headers[ChorusHeaders.session] = await service.leaderlessToken(token, advancedBy: read.session).text
        headers[Self.contextHeader] = Self.encode(read.context)
        let values: [[UInt8]]
        if case .versioned(let siblings)? = read.value { values = siblings.values } else { values = [] }
        headers[Self.siblingsHeader] = String(values.count)
        switch values.count {
        case 0:
            throw APIError(.keyNotFound, "no value for this key", headers: headers)
        case 1:
            headers[.contentType] = "application/octet-stream"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: values[0])))
        default:
            headers[.contentType] = "application/json"
            let siblings = values.sorted { $0.lexicographicallyPrecedes($1) }.map { "\"\(Base64URL.encode($0))\"" }
            let body = "{\"siblings\":[\(siblings.joined(separator: ","))],\"context\":\"\(Self.encode(read.context))\"}\n"
            return Response(status: .multipleChoices, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        }
    }

    func put(keyspace: String, key: String, value: [UInt8], request: Request) async throws -> Response {
        let (options, token) = try await requestOptions(request)
        let context = try Self.context(request)
        let written: WriteReply
        do {
            written = try await service.leaderlessPut(
                keyspace, key: Array(key.utf8), value: value, context: context, options: options, caller: RequestCaller.current)
        } catch {
            throw APIError(error, requestURI: request.uri.description)
        }
        return await respond(written, token: token)
    }

    func delete(keyspace: String, key: String, request: Request) async throws -> Response {
        let (options, token) = try await requestOptions(request)
        let context = try Self.context(request)
        let written: WriteReply
        do {
            written = try await service.leaderlessDelete(
                keyspace, key: Array(key.utf8), context: context, options: options, caller: RequestCaller.current)
        } catch {
            throw APIError(error, requestURI: request.uri.description)
        }
        return await respond(written, token: token)
    }

    func respond(_ written: WriteReply, token: SessionToken?) async -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[ChorusHeaders.node] = nodeHeaderValue
        headers[ChorusHeaders.session] = await service.leaderlessToken(token, advancedBy: written.session).text
        var context = ""
        if case .versioned(let siblings)? = written.minted.value {
            context = Self.encode(siblings.context)
            headers[Self.contextHeader] = context
        }
        let body = "{\"context\":\"\(context)\",\"acknowledgements\":\(written.acknowledgements),\"durable\":\(written.durableAcknowledgements)}\n"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// The request's quorum options and its session (`X-Chorus-Session`,
    /// checked against the cluster epoch; on a causal keyspace the request
    /// sees everything the session saw).
    func requestOptions(_ request: Request) async throws -> (RequestOptions, SessionToken?) {
        var options = try Self.options(request, tickMilliseconds: service.node.configuration.leaderless.tickMilliseconds)
        let token = try KeyValueAPI.sessionToken(request)
        do {
            options.session = try await service.leaderlessSession(token)
        } catch {
            throw APIError(error, requestURI: request.uri.description)
        }
        return (options, token)
    }

    // MARK: Parsing

    /// The context's text, `c[.<replica>-<counter>]*` (`VersionVectorText`):
    /// a regular grammar, so `openapi.yaml` gives the exact pattern.
    static func encode(_ context: VersionVector) -> String {
        var text = "c"
        VersionVectorText.append(context, to: &text)
        return text
    }

    /// `X-Chorus-Context` as the client read it, or the coordinating replica's (a blind write).
    static func context(_ request: Request) throws -> WriteContext {
        let values = request.headers[values: contextHeader]
        guard let text = values.first else { return .observedAtCoordinatingReplica }
        let parts = text.trimmingSpaces.split(separator: ".", omittingEmptySubsequences: false)
        guard values.count == 1, parts.first == "c", let vector = VersionVectorText.parse(parts.dropFirst()) else {
            throw APIError(
                .invalidHeader,
                "X-Chorus-Context is the context a read or write answered: c[.<replica>-<counter>]*, at most \(VersionVectorText.maximumEntries) entries (given once)")
        }
        return .client(vector)
    }

    /// `n`, `r`, `w`, `pr`, `pw`, `dw` and `timeout_ms`, each a small non-negative integer.
    static func options(_ request: Request, tickMilliseconds: Int) throws -> RequestOptions {
        var options = RequestOptions()
        let parameters = request.uri.queryParameters
        func integer(_ name: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let text = parameters[Substring(name)] else { return nil }
            guard let value = Int(String(text)), range.contains(value) else {
                throw APIError(.invalidParameter, "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }
        let limit = ReplicationLimits.maximumReplicaCount
        options.replicas = try integer("n", 1...limit)
        options.readQuorum = try integer("r", 1...limit)
        options.writeQuorum = try integer("w", 1...limit)
        options.primaryReadQuorum = try integer("pr", 0...limit)
        options.primaryWriteQuorum = try integer("pw", 0...limit)
        options.durableWriteQuorum = try integer("dw", 0...limit)
        if let milliseconds = try integer("timeout_ms", 1...60_000) {
            options.timeoutTicks = UInt64(max(1, milliseconds / max(1, tickMilliseconds)))
        }
        return options
    }
}
