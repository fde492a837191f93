/// The roles every cluster knows, on every resource (`*`). A roles file adds
/// narrower ones (a prefix of streams, one keyspace); it cannot redefine these.
///
/// | role | actions |
/// |---|---|
/// | `admin` | every action |
/// | `writer` | `reader`'s, and `keyspace.write`, `stream.append`, `saga.start` |
/// | `reader` | `keyspace.read`, `stream.read`, `stream.subscribe`, `projection.query`, `saga.read` |
/// | `monitor` | `cluster.metrics` (a Prometheus scraper, a dashboard) |
///
/// Deleting (`keyspace.admin`, `stream.delete`), administering groups,
/// projections and sagas (`*.admin`, `saga.operate`) and the cluster
/// (`cluster.membership`, `cluster.tokens`) are `admin`'s alone among these.
public enum BuiltInRoles {
    public static let readerActions: [Action] = [.keyspaceRead, .streamRead, .streamSubscribe, .projectionQuery, .sagaRead]
    public static let writerActions: [Action] = readerActions + [.keyspaceWrite, .streamAppend, .sagaStart]

    public static let admin = Role(name: "admin", grants: [.everything])
    public static let writer = Role(name: "writer", grants: [Grant(actions: writerActions, patterns: [.everything])])
    public static let reader = Role(name: "reader", grants: [Grant(actions: readerActions, patterns: [.everything])])
    public static let monitor = Role(name: "monitor", grants: [Grant(actions: [.clusterMetrics], patterns: [.everything])])

    /// In a fixed order (the matrix test and `chorus tokens` list them so).
    public static let all: [Role] = [admin, writer, reader, monitor]
}
