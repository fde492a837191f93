import ChorusKeyValue
import ChorusReplication

/// The catalog's leaderless keyspaces as the replication core configures
/// them: the identifier is `KeyspaceID(naming:)` of the name, so every node
/// derives the same one from the replicated catalog.
public enum LeaderlessKeyspaces {
    /// The core's configuration of a leaderless keyspace, nil for a Raft one.
    public static func configuration(name: String, definition: KeyspaceDefinition) -> KeyspaceConfiguration? {
        guard definition.mode == .leaderless else { return nil }
        var keyspace = KeyspaceConfiguration(id: KeyspaceID(naming: name), mode: definition.causal ? .causal : .eventual)
        keyspace.replicationFactor = definition.replicas
        keyspace.readQuorum = definition.readQuorum
        keyspace.writeQuorum = definition.writeQuorum
        // Causal keyspaces never write to fallbacks (their frontier needs every primary).
        keyspace.sloppyQuorum = !definition.causal
        return keyspace
    }

    /// Every leaderless keyspace of the catalog `store` holds, by name.
    static func configurations(in store: KeyValueStore) -> [String: KeyspaceConfiguration] {
        var result: [String: KeyspaceConfiguration] = [:]
        for (name, definition) in store.keyspaceDefinitions {
            if let keyspace = configuration(name: name, definition: definition) { result[name] = keyspace }
        }
        return result
    }
}
