import ChorusCore

/// Who is in the cluster: the voters, whose majority decides elections and
/// commitment, and the learners, who receive the log but neither vote nor count.
///
/// Chorus changes membership one server at a time (Ongaro's thesis §4.1–§4.3),
/// not by joint consensus. A configuration is a log entry and takes effect on
/// every server as soon as it is *appended*, not when it commits (§4.1): each
/// server uses the latest configuration in its log. Because consecutive
/// configurations differ by one voter, any majority of the old and any majority
/// of the new overlap, so no two leaders can be elected in one term across a
/// change. New servers first join as learners and are promoted only once they
/// have caught up (§4.2.1), so adding a server never stalls commitment while an
/// empty log is filled.
///
/// Invariants: `voters` and `learners` are strictly ascending and disjoint.
public struct MembershipConfiguration: Sendable, Hashable, CustomStringConvertible {
    public private(set) var voters: [NodeID]
    public private(set) var learners: [NodeID]

    /// The configuration of a node that knows of no cluster yet: a server started
    /// to join an existing cluster, which learns its configuration from the log.
    public static let empty = MembershipConfiguration(uncheckedVoters: [], learners: [])

    /// Sorts and de-duplicates; traps if a node is listed as both voter and
    /// learner, or if `NodeID.none` is listed (both are programming errors of the caller).
    public init(voters: [NodeID], learners: [NodeID] = []) {
        let sortedVoters = Array(Set(voters)).sorted()
        let sortedLearners = Array(Set(learners)).sorted()
        precondition(!sortedVoters.contains(.none) && !sortedLearners.contains(.none), "NodeID.none cannot be a member")
        precondition(Set(sortedVoters).isDisjoint(with: sortedLearners), "a node cannot be both voter and learner")
        self.voters = sortedVoters
        self.learners = sortedLearners
    }

    init(uncheckedVoters voters: [NodeID], learners: [NodeID]) {
        self.voters = voters
        self.learners = learners
    }

    /// The number of votes (or matching logs) that make a majority of the voters.


    public func isVoter(_ node: NodeID) -> Bool { voters.contains(node) }
    public func isLearner(_ node: NodeID) -> Bool { learners.contains(node) }
    public func isMember(_ node: NodeID) -> Bool { isVoter(node) || isLearner(node) }

    /// Voters then learners, each ascending: the order every broadcast uses, so
    /// that traces and simulations never depend on hashing order.
    public var members: [NodeID] { voters + learners }

    /// The configuration after `change`, or the reason it is not allowed.
    public func applying(_ change: MembershipChange) -> Result<MembershipConfiguration, RaftError> {
        switch change {
        case .addLearner(let node):
            guard node != .none else { return .failure(.invalidMembershipChange("NodeID.none cannot join")) }
            guard !isMember(node) else { return .failure(.invalidMembershipChange("\(node) is already a member")) }
            return .success(MembershipConfiguration(voters: voters, learners: learners + [node]))
        case .promoteLearner(let node):
            guard isLearner(node) else { return .failure(.invalidMembershipChange("\(node) is not a learner")) }
            return .success(
                MembershipConfiguration(voters: voters + [node], learners: learners.filter { $0 != node }))
        case .removeMember(let node):
            guard isMember(node) else { return .failure(.invalidMembershipChange("\(node) is not a member")) }
            let remainingVoters = voters.filter { $0 != node }
            guard !remainingVoters.isEmpty else {
                return .failure(.invalidMembershipChange("removing \(node) would leave no voters"))
            }
            return .success(
                MembershipConfiguration(voters: remainingVoters, learners: learners.filter { $0 != node }))
        }
    }

    /// Whether `next` differs from `self` by at most one voter, the condition that
    /// makes single-server changes safe (thesis §4.1, figure 4.3).
    public func differsByAtMostOneVoter(from next: MembershipConfiguration) -> Bool {
        let old = Set(voters)
        let new = Set(next.voters)
        return old.symmetricDifference(new).count <= 1
    }

    public var description: String {
        let voterList = voters.map { String($0.rawValue) }.joined(separator: ",")
        if learners.isEmpty { return "voters=(\(voterList))" }
        let learnerList = learners.map { String($0.rawValue) }.joined(separator: ",")
        return "voters=(\(voterList)) learners=(\(learnerList))"
    }
}

/// One single-server membership change (thesis §4.2–§4.3).
public enum MembershipChange: Sendable, Hashable, CustomStringConvertible {
    /// Adds a non-voting member that receives the log until it has caught up.
    case addLearner(NodeID)
    /// Makes a caught-up learner a voter. The leader refuses while the learner
    /// lags by more than `RaftConfiguration.learnerCatchUpMarginEntries`.
    case promoteLearner(NodeID)
    /// Removes a voter or a learner. Removing the leader itself is allowed: it
    /// keeps leading (without counting itself) until the change commits, then
    /// steps down (§4.2.2).
    case removeMember(NodeID)

    public var description: String {
        switch self {
        case .addLearner(let node): "add-learner \(node.rawValue)"
        case .promoteLearner(let node): "promote \(node.rawValue)"
        case .removeMember(let node): "remove \(node.rawValue)"
        }
    }
}
