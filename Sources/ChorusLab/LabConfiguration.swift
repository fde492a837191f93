/// What one lab run does, validated before any process starts.
public struct LabConfiguration: Sendable, Codable, Hashable {
    /// The whole run's load time, shared equally by the levels.
    public var durationSeconds: Int = 60
    /// Reading clients per level (each also writes now and then, so the
    /// session checks have its own writes to look for).
    public var clients: Int = 4
    public var levels: [LabLevel] = LabLevel.allCases
    /// `chorus node --peer-delay-ms` of every node.
    public var peerDelayMilliseconds: Int = 0
    /// The `chorus` binary the nodes run.
    public var executable: String

    public static let durationSecondsRange = 1...3_600
    /// At most 64: `LabWorkload.operationCountMaximum` leaves room for that many.
    public static let clientsRange = 1...64
    /// As `NodeConfiguration.peerDelayMillisecondsMaximum` allows, but a lab
    /// past one second would measure only its elections.
    public static let peerDelayMillisecondsRange = 0...1_000
    /// Background writers per level, through any node: the steady write load.
    public static let writerCount = 2
    /// The keys each level writes and reads (`lab/<level>/0`…), under their own prefix.
    public static let keyCount = 8
    /// A range page's size: every level's keys fit one page.
    public static let rangeLimit = 16
    /// The nodes of the cluster.
    public static let nodeCount = 3
    /// The leaderless keyspace the leaderless levels use (N = 3, each level's
    /// R and W per request), created before the first of them runs.
    public static let leaderlessKeyspace = "lab-leaderless"

    public init(executable: String) { self.executable = executable }

    /// Throws the first setting out of its range.
    public func validate() throws(LabUsageError) {
        guard Self.durationSecondsRange.contains(durationSeconds) else {
            throw LabUsageError("--duration must be in \(Self.durationSecondsRange.lowerBound)...\(Self.durationSecondsRange.upperBound) seconds")
        }
        guard Self.clientsRange.contains(clients) else {
            throw LabUsageError("--clients must be in \(Self.clientsRange.lowerBound)...\(Self.clientsRange.upperBound)")
        }
        guard Self.peerDelayMillisecondsRange.contains(peerDelayMilliseconds) else {
            throw LabUsageError(
                "--peer-delay-ms must be in \(Self.peerDelayMillisecondsRange.lowerBound)...\(Self.peerDelayMillisecondsRange.upperBound)")
        }
        guard !levels.isEmpty else { throw LabUsageError("--levels names no level") }
        guard Set(levels).count == levels.count else { throw LabUsageError("--levels names a level twice") }
        guard !executable.isEmpty else { throw LabUsageError("--binary is empty") }
    }

    /// Each level's share of the load time, in milliseconds.
    public var phaseMilliseconds: Int { durationSeconds * 1_000 / levels.count }
}
