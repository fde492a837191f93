import ChorusCore
import ChorusAPI
import NIOHTTP1

extension ChorusClient {
    /// Creates keyspace `name` (`PUT /v1/keyspaces/{name}`): `replication` is
    /// `raft` or `leaderless`; for leaderless, `replicas` (N) and the read
    /// and write quorums (R, W). Creating it again with the same definition
    /// succeeds again; with another it is `.api(keyspace_exists)`.
    public func createKeyspace(
        _ name: String, replication: String, defaultLevel: String, replicas: Int = 3, readQuorum: Int = 2, writeQuorum: Int = 2,
        causal: Bool = false
    ) async throws(ChorusClientError) {
        let body = JSONValue.object([
            "replication": .string(replication), "defaultLevel": .string(defaultLevel), "replicas": .number(JSONNumber(replicas)),
            "readQuorum": .number(JSONNumber(readQuorum)), "writeQuorum": .number(JSONNumber(writeQuorum)), "causal": .bool(causal),
        ]).text
        _ = try await sagaCall(.PUT, "/v1/keyspaces/\(Self.encodePathSegment(name))", body: body, isWrite: true, accept: [200, 201])
    }
}
