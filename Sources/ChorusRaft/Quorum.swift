import ChorusCore

/// Majority arithmetic over the voters (thesis §3.4, §3.6), in one place:
/// elections, commitment, read-index rounds and CheckQuorum all ask "is
/// this a majority?" or "what does a majority hold?", and all of them ask it
/// here.
enum Quorum {
    /// How many of `voterCount` voters form a majority.
    static func size(of voterCount: Int) -> Int {
        precondition(voterCount > 0, "a quorum of no voters")
        return voterCount / 2 + 1
    }

    /// Whether `count` of `voterCount` voters form a majority.
    static func isReached(_ count: Int, of voterCount: Int) -> Bool { count >= size(of: voterCount) }

    /// The largest value that a majority holds, given one value per voter:
    /// the commit index from match indexes, the acknowledged heartbeat
    /// round from each voter's latest acknowledgement.
    static func majorityValue<Value: Comparable>(_ values: [Value]) -> Value {
        let sorted = values.sorted(by: >)
        return sorted[size(of: sorted.count) - 1]
    }

    enum VoteResult: Sendable, Hashable { case pending, won, lost }

    /// Whether `granted` (and `rejected`) votes decide an election among `voters`.
    static func voteResult(voters: [NodeID], granted: [NodeID], rejected: [NodeID]) -> VoteResult {
        let yes = voters.filter { granted.contains($0) }.count
        let no = voters.filter { rejected.contains($0) }.count
        if isReached(yes, of: voters.count) { return .won }
        if !isReached(voters.count - no, of: voters.count) { return .lost }
        return .pending
    }
}
