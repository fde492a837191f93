/// How a RESP server runs: what its sessions share, and the bounds of its
/// connections. Validated by `RESPServer.start`.
public struct RESPServerConfiguration: Sendable {
    public var session: RESPSessionConfiguration
    /// Open connections at most; one more is answered
    /// `-ERR max number of clients reached` and closed (redis-server's `maxclients`).
    public var maximumConnections: Int
    /// Commands of one read executed as one batch at most (see `RESPBatchingHandler`).
    public var maximumCommandsPerBatch: Int
    /// Batches a connection may have decoded but not yet executed; past it the
    /// connection stops reading (NIOAsyncChannel's back-pressure), so a client
    /// that pipelines without reading replies is slowed, not buffered.
    public var maximumPendingBatches: Int
    /// Reply bytes gathered before they are written, within a batch.
    public var replyFlushBytes: Int
    /// The listen backlog.
    public var backlog: Int

    public init(
        session: RESPSessionConfiguration = RESPSessionConfiguration(databases: RESPDatabaseTable(defaultKeyspace: "default")),
        maximumConnections: Int = 10_000, maximumCommandsPerBatch: Int = 1_024, maximumPendingBatches: Int = 8,
        replyFlushBytes: Int = 64 << 10, backlog: Int = 256
    ) {
        self.session = session
        self.maximumConnections = maximumConnections
        self.maximumCommandsPerBatch = maximumCommandsPerBatch
        self.maximumPendingBatches = maximumPendingBatches
        self.replyFlushBytes = replyFlushBytes
        self.backlog = backlog
    }

    /// The reasons this configuration cannot run, empty when it can.
    public func violations() -> [String] {
        var problems = session.limits.violations() + session.databases.violations()
        if maximumConnections < 1 { problems.append("maximumConnections must be positive") }
        if maximumCommandsPerBatch < 1 { problems.append("maximumCommandsPerBatch must be positive") }
        if maximumPendingBatches < 2 { problems.append("maximumPendingBatches must be at least 2") }
        if replyFlushBytes < 1 { problems.append("replyFlushBytes must be positive") }
        if backlog < 1 { problems.append("backlog must be positive") }
        return problems
    }
}

/// Why `RESPServer.start` refused to start.
public struct RESPServerConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var problems: [String]
    public init(problems: [String]) { self.problems = problems }
    public var description: String { "invalid RESP server configuration: " + problems.joined(separator: "; ") }
}
