import ChorusCore
import ChorusMachines
import ChorusRaft
import ChorusReplica

/// One simulated server: the replica driver (the Raft core and the machines
/// it hosts, exactly as a node runs them), its disk, and the client requests
/// it is working on. `replica` is nil while the server is crashed.
struct SimulatedServer {
    let number: Int
    var node: NodeID { NodeID(UInt64(number)) }
    var replica: RaftReplica<ReplicatedMachines>?
    var disk: SimulatedDisk
    /// Bumped at every crash, so timers and fsyncs of an earlier run are ignored.
    var incarnation: UInt64 = 0
    /// This server's tick interval: the nominal one, drifted by its clock.
    let tickMicroseconds: UInt64
    /// The persist request whose records wait for an fsync.
    var persistAwaitingSync: UInt64?
    /// The client requests the replica is working on, by token.
    var requests: [RequestToken: (client: Int, requestID: UInt64)] = [:]
    var nextToken: UInt64 = 0
    /// Leading, and the commit index has not moved yet in this term.
    var awaitingFirstCommit = false
    /// Votes suspended now, or on a restart from what its disk has synced (a
    /// suspension recorded, or a damaged final record): what
    /// `Simulation.mayDamageFinalRecord` asks of the other servers.
    var hasVotesSuspended: Bool {
        (replica.map { $0.raft.votingSuspendedThrough != .zero } ?? false) || disk.wouldRestartSuspended
    }
    /// This incarnation's monotonic clock (from its first tick), as a node
    /// reads its uptime clock: what turns a pause into elapsed ticks.
    var clock: TickClock?
    /// Paused (SIGSTOP) until this time: its timer, messages, requests and
    /// fsync completions wait until then.
    var pausedUntil: UInt64 = 0

    var raft: RaftNode? { replica?.raft }
    var machines: ReplicatedMachines? { replica?.machine }
    var isUp: Bool { replica != nil }

    /// A token for a request from `client`, remembered until its answer.
    mutating func token(for client: Int, requestID: UInt64) -> RequestToken {
        nextToken += 1
        let token = RequestToken(nextToken)
        requests[token] = (client, requestID)
        return token
    }
}
