/// What an operation acts on: a named keyspace, stream, projection or saga,
/// or the cluster itself.
///
/// Stream names include the system streams; `$all` is the stream name of
/// reads and subscriptions across every stream, so a grant covers it only if
/// its pattern matches the text `$all` (`*`, `$*` or `$all` exactly): a
/// prefix grant such as `orders-*` never reads other streams through `$all`.
public enum Resource: Sendable, Hashable, CustomStringConvertible {
    case keyspace(String)
    case stream(String)
    case projection(String)
    case saga(String)
    case cluster

    public var kind: ResourceKind {
        switch self {
        case .keyspace: .keyspace
        case .stream: .stream
        case .projection: .projection
        case .saga: .saga
        case .cluster: .cluster
        }
    }

    /// The name patterns are matched against; empty for the cluster.
    public var name: String {
        switch self {
        case .keyspace(let name), .stream(let name), .projection(let name), .saga(let name): name
        case .cluster: ""
        }
    }

    public var description: String {
        self == .cluster ? "the cluster" : "\(kind) '\(name)'"
    }
}
