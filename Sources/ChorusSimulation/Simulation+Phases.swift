import ChorusReplica
import ChorusMachines
import ChorusCore
import ChorusKeyValue
import ChorusRaft

/// The end of the safety phase, and what the liveness phase must reach.
extension Simulation {
    func beginLivenessPhase() {
        phase = .liveness
        livenessDeadline = now + parameters.livenessBoundMicroseconds
        trace("liveness phase: heal everything")
        healNetwork()
        for server in servers where !server.isUp {
            restart(server.number)
        }
        checkLogMatching()
        queue.schedule(.livenessCheck, at: now + 20_000)
        if workload == .sagas { scheduleSagaOperatorSweep() }
    }

    /// Every client is done and every member of the leader's configuration has
    /// applied the leader's whole log, with identical state.
    func livenessAchieved() -> Bool {
        guard clients.allSatisfy({ $0.current == nil }) else { return false }
        if workload == .eventStore {
            guard eventWorkload.clients.indices.allSatisfy({ eventWorkload.isDone($0) }) else {
                // Subscribers still catching up: nudge the idle ones.
                for client in clients.indices where clients[client].current == nil { startEventOperation(client: client) }
                return false
            }
        }
        if workload == .sagas {
            guard sagaWorkloadSettled() else { return false }
        }
        guard let leader = currentLeader(), let leaderRaft = servers[leader - 1].raft else { return false }
        guard leaderRaft.commitIndex == leaderRaft.lastIndex, leaderRaft.term(at: leaderRaft.commitIndex) == leaderRaft.term
        else { return false }
        let digest = servers[leader - 1].machines!.stateDigest
        for member in leaderRaft.membership.members {
            let server = servers[Int(member.rawValue) - 1]
            guard let raft = server.raft, server.persistAwaitingSync == nil, server.replica?.isPersisting == false, raft.lastIndex == leaderRaft.lastIndex,
                raft.appliedIndex == leaderRaft.lastIndex, server.machines!.appliedIndex == leaderRaft.lastIndex
            else { return false }
            if server.machines!.stateDigest != digest {
                checker.recordConvergenceFailure(
                    "n\(member.rawValue) and n\(leader) applied through \(leaderRaft.lastIndex.rawValue) but hold different state",
                    at: now)
                return false
            }
        }
        return true
    }

    func recordLivenessFailure() {
        let pending = clients.filter { $0.current != nil }.count
        let leader = currentLeader().map { "n\($0)" } ?? "none"
        checker.recordLivenessFailure(
            "not converged \(parameters.livenessBoundMicroseconds / 1_000_000)s after healing: \(pending) client operation(s) pending, leader \(leader)"
                + (workload == .sagas ? sagaLivenessDetail() : ""),
            at: now)
    }

    func checkLogMatching() {
        let live = servers.compactMap { server in server.raft.map { (server.number, $0) } }
        checker.checkLogMatching(live, time: now)
    }
}
