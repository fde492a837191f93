/// The kinds of resource a permission names (issue 15, "Client authorization").
public enum ResourceKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case keyspace
    case stream
    case projection
    case saga
    case cluster

    public var description: String { rawValue }
}

/// Everything a caller can be allowed to do, one case per verb and kind of
/// resource, named `kind.verb` in role files and tokens' documentation.
///
/// The set is closed on purpose: a role file that names an action this
/// release does not know is refused at start, instead of granting nothing
/// silently (or, worse, something else after a rename).
///
/// | action | operations |
/// |---|---|
/// | `keyspace.read` / `keyspace.write` | key-value reads / writes and deletes of keys in the keyspace |
/// | `keyspace.admin` | creating and deleting the keyspace |
/// | `stream.read` | reading a stream (its events, its metadata); `$all` needs it on `$all` |
/// | `stream.append` | appending to a stream |
/// | `stream.subscribe` | catch-up subscriptions, and consuming a persistent group (read it, ack, nack) |
/// | `stream.delete` | soft and hard deletes |
/// | `stream.admin` | retention rules (metadata) and persistent groups: create, delete, replay parked |
/// | `projection.query` / `projection.admin` | querying a projection / defining, resetting, deleting one |
/// | `saga.start` / `saga.read` / `saga.operate` | starting a saga / reading its state / retrying, compensating or releasing a parked one |
/// | `cluster.membership` | adding and removing members |
/// | `cluster.tokens` | issuing tokens, managing keys |
/// | `cluster.metrics` | `GET /metrics` and `GET /v1/cluster` |
public enum Action: String, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    case keyspaceRead = "keyspace.read"
    case keyspaceWrite = "keyspace.write"
    case keyspaceAdmin = "keyspace.admin"
    case streamRead = "stream.read"
    case streamAppend = "stream.append"
    case streamSubscribe = "stream.subscribe"
    case streamDelete = "stream.delete"
    case streamAdmin = "stream.admin"
    case projectionQuery = "projection.query"
    case projectionAdmin = "projection.admin"
    case sagaStart = "saga.start"
    case sagaRead = "saga.read"
    case sagaOperate = "saga.operate"
    case clusterMembership = "cluster.membership"
    case clusterTokens = "cluster.tokens"
    case clusterMetrics = "cluster.metrics"

    /// The kind of resource this action applies to.
    public var kind: ResourceKind {
        switch self {
        case .keyspaceRead, .keyspaceWrite, .keyspaceAdmin: .keyspace
        case .streamRead, .streamAppend, .streamSubscribe, .streamDelete, .streamAdmin: .stream
        case .projectionQuery, .projectionAdmin: .projection
        case .sagaStart, .sagaRead, .sagaOperate: .saga
        case .clusterMembership, .clusterTokens, .clusterMetrics: .cluster
        }
    }

    /// The actions a name in a role file stands for: one action, `kind.*`
    /// (every action of the kind) or `*` (every action); nil for any other text.
    public static func expanding(_ name: String) -> [Action]? {
        if name == "*" { return allCases }
        if name.hasSuffix(".*"), let kind = ResourceKind(rawValue: String(name.dropLast(2))) {
            return allCases.filter { $0.kind == kind }
        }
        return Action(rawValue: name).map { [$0] }
    }

    public static func < (left: Action, right: Action) -> Bool { left.rawValue < right.rawValue }

    public var description: String { rawValue }
}
