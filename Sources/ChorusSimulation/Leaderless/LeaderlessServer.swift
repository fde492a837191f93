import ChorusCore
import ChorusReplication

/// One simulated leaderless node: the replication core and its SWIM failure
/// detector (exactly as a node runs them), its disk, and the outputs it may
/// not release yet. `replication` is nil while the node is crashed.
struct LeaderlessServer {
    let number: Int
    var node: NodeID { NodeID(UInt64(number)) }
    var replication: ReplicationNode?
    var swim: SwimMembership?
    var disk = ReplicationDisk()
    /// Bumped at every crash, so timers and fsyncs of an earlier run are ignored.
    var incarnation: UInt64 = 0
    /// This node's tick interval: the nominal one, drifted by its clock.
    let tickMicroseconds: UInt64
    /// An fsync is in flight: every output produced meanwhile waits for it
    /// (group commit), since it may depend on records not yet durable.
    var syncPending = false
    var messagesAwaitingSync: [(to: NodeID, message: ReplicationMessage)] = []
    var responsesAwaitingSync: [ChorusReplication.ClientResponse] = []
    /// The records a restart recovers, set at the crash.
    var recoveredRecords: [[UInt8]] = []

    var isUp: Bool { replication != nil }

    /// A node with an empty log.
    init(number: Int, tickMicroseconds: UInt64) {
        self.number = number
        self.tickMicroseconds = tickMicroseconds
    }
}
