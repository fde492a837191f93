import ChorusCheck
import ChorusCore
import ChorusReplication

/// The checks run on a converged seed's history: no lost acknowledged write,
/// causal consistency (CC) of the causal keyspace, and the session
/// guarantees that hold in each keyspace (`LeaderlessHistoryExport` says
/// which, and why).
extension LeaderlessSimulation {
    /// The guarantees the session checker must find satisfied, per keyspace.
    static func requiredSessionGuarantees(_ keyspace: KeyspaceID) -> [SessionGuarantee] {
        keyspace == LeaderlessKeys.causal ? SessionGuarantee.allCases : [.readYourWrites, .monotonicReads]
    }

    func checkHistory() {
        let lost = LostWriteChecker(history: history, blindContexts: blindContexts) { self.convergedValue(of: $0) }
        if let problem = lost.check() { return fail(.lostWrite, problem) }
        if let problem = LeaderlessHistoryExport.chainSiblingProblem(history) { return fail(.sessionGuarantees, problem) }
        if let causal = LeaderlessHistoryExport.causalHistory(history) {
            do {
                let result = try CausalChecker.check(causal)
                switch result.verdict(.causalConsistency) {
                case .satisfied: break
                case .unknown: checkerUnknown = true
                case .violated:
                    let pattern = CausalModel.causalConsistency.patterns.map { result.pattern($0) }.first { $0.verdict == .violated }
                    return fail(.causalConsistency, "\(pattern?.name ?? "?"): \(pattern?.violations.first?.explanation ?? "")")
                }
            } catch {
                return fail(.causalConsistency, "the causal history could not be checked: \(error)")
            }
        }
        for keyspace in [LeaderlessKeys.eventual, LeaderlessKeys.causal] {
            guard let sessions = LeaderlessHistoryExport.sessionHistory(history, keyspace: keyspace) else { continue }
            do {
                let result = try SessionChecker.check(sessions)
                for guarantee in Self.requiredSessionGuarantees(keyspace) {
                    guard let property = result.property(guarantee.rawValue) else { continue }
                    switch property.verdict {
                    case .satisfied: continue
                    case .unknown: checkerUnknown = true
                    case .violated:
                        return fail(.sessionGuarantees, "\(keyspace) \(guarantee.rawValue): \(property.violations.first?.explanation ?? "")")
                    }
                }
                if let integrity = result.property("integrity"), integrity.verdict == .violated {
                    return fail(.sessionGuarantees, "\(keyspace) integrity: \(integrity.violations.first?.explanation ?? "")")
                }
            } catch {
                return fail(.sessionGuarantees, "the session history of \(keyspace) could not be checked: \(error)")
            }
        }
    }
}
