import ChorusCore
import ChorusKeyValue
import ChorusRaft

/// One simulated server: the Raft core, the key-value state machine it
/// drives, its disk, and the client requests it is working on. `raft` is nil
/// while the server is crashed.
struct SimulatedServer {
    let number: Int
    var node: NodeID { NodeID(UInt64(number)) }
    var raft: RaftNode?
    var store = KeyValueStore()
    var disk: SimulatedDisk
    /// Bumped at every crash, so timers and fsyncs of an earlier run are ignored.
    var incarnation: UInt64 = 0
    /// This server's tick interval: the nominal one, drifted by its clock.
    let tickMicroseconds: UInt64
    /// A `Ready` whose writes wait for an fsync before its messages may leave.
    var readyAwaitingSync: Ready?
    var pendingWrites: [PendingWrite] = []
    var pendingReads: [PendingRead] = []
    var nextReadContext: UInt64 = 0

    struct PendingWrite {
        var clientID: UInt64
        var sequence: UInt64
        var client: Int
        var requestID: UInt64
        var receivedAt: UInt64
    }

    struct PendingRead {
        var context: UInt64
        var client: Int
        var requestID: UInt64
        var key: String
        /// Set once the read is confirmed: serve when the store has applied it.
        var readIndex: LogIndex?
        var receivedAt: UInt64
    }

    var isUp: Bool { raft != nil }
}
