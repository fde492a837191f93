import ChorusCore
import ChorusReplication

/// One simulated leaderless node: the `ReplicationDriver` a node runs (its
/// replication core, SWIM failure detector and the outputs that wait for the
/// disk), its disk, and the keyspaces its catalog has delivered so far.
/// `driver` is nil while the node is crashed.
struct LeaderlessServer {
    let number: Int
    var node: NodeID { NodeID(UInt64(number)) }
    var driver: ReplicationDriver?
    var replication: ReplicationNode? { driver?.replication }
    var disk = ReplicationDisk()
    /// Bumped at every crash, so timers and fsyncs of an earlier run are ignored.
    var incarnation: UInt64 = 0
    /// This node's tick interval: the nominal one, drifted by its clock.
    let tickMicroseconds: UInt64
    /// An fsync the driver asked for is in flight. It covers every record
    /// appended when it completes (group commit), so its completion reports
    /// the driver's latest batch durable.
    var syncPending = false
    /// The records a restart recovers, set at the crash.
    var recoveredRecords: [[UInt8]] = []
    /// The keyspaces this node's catalog has delivered (the cluster's
    /// catalog is replicated by Raft, so it survives a crash of this node):
    /// a restart starts with them; the rest arrive through `define`.
    var definedKeyspaces: [KeyspaceID] = []

    var isUp: Bool { driver != nil }

    /// A node with an empty log.
    init(number: Int, tickMicroseconds: UInt64) {
        self.number = number
        self.tickMicroseconds = tickMicroseconds
    }
}
