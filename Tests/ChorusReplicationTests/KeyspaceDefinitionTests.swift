import ChorusCore
import ChorusReplication
import Testing

/// Keyspaces defined after a node started (the cluster's catalog grows at
/// run time): served once defined, and part of anti-entropy (redefinition:
/// `ReplicationDriverTests`). Found on real nodes: a keyspace defined after start was
/// never exchanged, because the ranges shared with each peer were computed
/// once, from the keyspaces known at start.
@Suite struct KeyspaceDefinitionTests {
    static let keyspace = KeyspaceConfiguration(id: KeyspaceID(naming: "carts"))

    static func node() throws -> ReplicationNode {
        var configuration = ReplicationConfiguration(myself: 1, members: [1, 2, 3], keyspaces: [])
        configuration.antiEntropyIntervalTicks = 3
        return try ReplicationNode(configuration: configuration)
    }

    @Test func aKeyspaceDefinedAfterStartIsExchangedByAntiEntropy() throws {
        var node = try Self.node()
        var messages = 0
        for _ in 0..<10 { messages += node.tick().messages.filter { if case .antiEntropy = $0.message { true } else { false } }.count }
        #expect(messages == 0, "no keyspace, nothing to exchange")
        try node.define(Self.keyspace)
        for _ in 0..<10 { messages += node.tick().messages.filter { if case .antiEntropy = $0.message { true } else { false } }.count }
        #expect(messages > 0)
    }

    @Test func aRequestForAnUndefinedKeyspaceFailsAndSucceedsOnceDefined() throws {
        var node = try Self.node()
        let key = ObjectKey(keyspace: Self.keyspace.id, kind: .counter, key: Array("visits".utf8))
        let before = node.submit(ClientRequest(id: ClientRequestID(1), operation: .update(key, .counterIncrement(1))))
        #expect(before.responses.map { $0.result } == [Result<ClientReply, RequestFailure>.failure(.unknownKeyspace(Self.keyspace.id))])
        try node.define(Self.keyspace)
        let after = node.submit(ClientRequest(id: ClientRequestID(2), operation: .update(key, .counterIncrement(1))))
        #expect(after.responses.isEmpty, "the write is under way (it waits for W acknowledgements)")
        #expect(!after.persist.isEmpty || !after.messages.isEmpty)
    }

    @Test func keyspaceIdentifiersComeFromNamesAlike() {
        #expect(KeyspaceID(naming: "carts") == KeyspaceID(naming: "carts"))
        #expect(KeyspaceID(naming: "carts") != KeyspaceID(naming: "cart"))
    }
}
