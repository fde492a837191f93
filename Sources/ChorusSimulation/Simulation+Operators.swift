import ChorusReplica
import ChorusCore
import ChorusKeyValue
import ChorusRaft

/// What an operator does to a live cluster: membership changes and
/// leadership transfers.
extension Simulation {
    func changeMembership() {
        guard let leader = currentLeader() else { return }
        let raft = servers[leader - 1].raft!
        let membership = raft.membership
        let outsiders = (1...parameters.serverCount).map { NodeID(UInt64($0)) }.filter { !membership.isMember($0) }
        var options: [MembershipChange] = []
        options += membership.learners.map { .promoteLearner($0) }
        if membership.voters.count > 3 || (membership.voters.count == 3 && !membership.learners.isEmpty) {
            options += membership.voters.map { .removeMember($0) }
        }
        options += outsiders.map { .addLearner($0) }
        guard !options.isEmpty else { return }
        let change = options[Int(random.next() % UInt64(options.count))]
        if (try? servers[leader - 1].replica!.proposeMembershipChange(change)) != nil {
            statistics.membershipChanges += 1
            trace("n\(leader) proposes \(change)")
        }
        drive(leader)
    }

    func transferLeadership() {
        guard let leader = currentLeader() else { return }
        let voters = servers[leader - 1].raft!.membership.voters.filter { $0.rawValue != UInt64(leader) }
        guard !voters.isEmpty else { return }
        let target = voters[Int(random.next() % UInt64(voters.count))]
        if (try? servers[leader - 1].replica!.transferLeadership(to: target)) != nil {
            trace("n\(leader) transfers leadership to \(target)")
        }
        drive(leader)
    }
}
