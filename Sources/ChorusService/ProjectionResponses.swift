import ChorusEventStore
import ChorusProjections
import ChorusReadModels

/// One projection as `GET /v1/projections` shows it: what it is doing, how
/// far it is, how far behind, and, when parked, exactly on what.
public struct ProjectionReport: Sendable, Hashable {
    public var status: ProjectionWorker.Status
    public var source: String
    public var lag: ProjectionLag
    /// The store's head when the lag was measured.
    public var headPosition: GlobalPosition
}

/// A named query's request: the projection, the query, its text arguments
/// (typed by the query's declaration) and an optional wait for a position.
public struct ProjectionQueryRequest: Sendable, Hashable {
    public var projection: String
    public var query: String
    public var arguments: [QueryArgument]
    /// Answer only once the projection has passed this position (read-your-writes).
    public var minimumPosition: GlobalPosition?
    /// How long to wait for it (nil: the service's default).
    public var timeoutMilliseconds: Int?

    public struct QueryArgument: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(projection: String, query: String, arguments: [QueryArgument], minimumPosition: GlobalPosition? = nil, timeoutMilliseconds: Int? = nil) {
        self.projection = projection
        self.query = query
        self.arguments = arguments
        self.minimumPosition = minimumPosition
        self.timeoutMilliseconds = timeoutMilliseconds
    }
}

/// A query's answer with the position it reflects.
public struct ProjectionQueryResponse: Sendable, Hashable {
    public var result: QueryResult
    /// Every event up to here is in the answer (the projection's position when the query ran).
    public var passedThrough: SubscriptionCursor
    /// `reached` when a `min-position` was waited for, nil when none was asked.
    public var waited: Bool
}
