import ChorusAPI
import ChorusCore
import ChorusKeyValue
import ChorusService
import HTTPTypes
import Hummingbird
import NIOCore

/// `/v1/keyspaces`: named keyspaces, each with its replication mode and the
/// level an operation that names none gets.
///
/// `PUT /v1/keyspaces/{name}` takes
/// `{"replication":"raft"|"leaderless","defaultLevel":"session","replicas":3,"readQuorum":2,"writeQuorum":2,"causal":false}`
/// (every field but `replication` optional).
struct KeyspaceAPI: Sendable {
    let service: ChorusService
    /// The largest keyspace definition body.
    static let maximumBodyBytes = 4_096

    func create(_ request: Request, context: some RequestContext) async throws -> Response {
        let name = try self.name(context)
        var request = request
        let body = try await request.collectBody(upTo: Self.maximumBodyBytes)
        let definition = try Self.parseDefinition(Array(body.readableBytesView))
        let created: KeyspaceEntry
        do {
            created = try await service.createKeyspace(name, definition: definition, caller: RequestCaller.current)
        } catch {
            throw APIError(error, requestURI: request.uri.description)
        }
        return Self.json(Self.render(created) + "\n")
    }

    func list(_ request: Request) async throws -> Response {
        let entries: [KeyspaceEntry]
        do {
            entries = try await service.keyspaces(caller: RequestCaller.current)
        } catch {
            throw APIError(error, requestURI: request.uri.description)
        }
        return Self.json("{\"keyspaces\":[\(entries.map(Self.render).joined(separator: ","))]}\n")
    }

    func show(_ request: Request, context: some RequestContext) async throws -> Response {
        let name = try self.name(context)
        let entry: KeyspaceEntry
        do {
            entry = try await service.keyspace(name, caller: RequestCaller.current)
        } catch {
            throw APIError(error, requestURI: request.uri.description)
        }
        return Self.json(Self.render(entry) + "\n")
    }

    func delete(_ request: Request, context: some RequestContext) async throws -> Response {
        let name = try self.name(context)
        let keys: Int
        do {
            keys = try await service.deleteKeyspace(name, caller: RequestCaller.current)
        } catch {
            throw APIError(error, requestURI: request.uri.description)
        }
        return Self.json("{\"deleted\":\(JSONString.quoted(name)),\"keys\":\(keys)}\n")
    }

    func name(_ context: some RequestContext) throws -> String {
        guard let raw = context.parameters.get("name"), let name = PercentDecoding.decode(raw) else {
            throw APIError(.invalidKeyspace, "the keyspace name is missing or not valid percent-encoded UTF-8")
        }
        return name
    }

    static func parseDefinition(_ bytes: [UInt8]) throws -> KeyspaceDefinition {
        let json: JSONValue
        do { json = try JSONValue(parsing: bytes) } catch { throw APIError(.badRequest, "the body is not JSON: \(error)") }
        guard let object = json.objectValue else { throw APIError(.invalidKeyspace, "the body must be a JSON object") }
        let known: Set<String> = ["replication", "defaultLevel", "replicas", "readQuorum", "writeQuorum", "causal"]
        if let unknown = object.keys.first(where: { !known.contains($0) }) {
            throw APIError(.invalidKeyspace, "unknown field '\(unknown)'; the fields are \(known.sorted().joined(separator: ", "))")
        }
        guard let modeName = object["replication"]?.stringValue, let mode = ReplicationMode(name: modeName) else {
            throw APIError(.invalidKeyspace, "replication must be \"raft\" or \"leaderless\"")
        }
        var definition = KeyspaceDefinition(mode: mode, defaultLevel: mode == .raft ? "linearizable" : "eventual")
        if let level = object["defaultLevel"] {
            guard let text = level.stringValue else { throw APIError(.invalidKeyspace, "defaultLevel must be a string") }
            definition.defaultLevel = text
        }
        func integer(_ field: String) throws -> Int? {
            guard let value = object[field] else { return nil }
            guard let number = value.numberValue?.intValue else { throw APIError(.invalidKeyspace, "\(field) must be an integer") }
            return number
        }
        if let replicas = try integer("replicas") { definition.replicas = replicas }
        if let quorum = try integer("readQuorum") { definition.readQuorum = quorum }
        if let quorum = try integer("writeQuorum") { definition.writeQuorum = quorum }
        if let causal = object["causal"] {
            guard let flag = causal.boolValue else { throw APIError(.invalidKeyspace, "causal must be true or false") }
            definition.causal = flag
        }
        return definition
    }

    static func render(_ entry: KeyspaceEntry) -> String {
        let definition = entry.definition
        return """
            {"name":\(JSONString.quoted(entry.name)),"replication":"\(definition.mode.name)",\
            "defaultLevel":\(JSONString.quoted(definition.defaultLevel)),"replicas":\(definition.replicas),\
            "readQuorum":\(definition.readQuorum),"writeQuorum":\(definition.writeQuorum),"causal":\(definition.causal)}
            """
    }

    static func json(_ body: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
