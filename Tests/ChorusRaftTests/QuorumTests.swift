import ChorusCore
import Testing

@testable import ChorusRaft


@Suite struct QuorumTests {
    /// Against a dumb reference: the committed index is the largest value that
    /// at least a majority of matches reach.
    @Test func committedIndexMatchesReference() {
        let seed: UInt64 = 2024
        var random = SeededGenerator(seed: seed)
        for round in 0..<2_000 {
            let count = 1 + Int(random.next() % 7)
            let matches = (0..<count).map { _ in LogIndex(random.next() % 20) }
            let reference = matches.filter { candidate in
                matches.filter { $0 >= candidate }.count >= count / 2 + 1
            }.max()!
            #expect(Quorum.majorityValue(matches) == reference, "seed \(seed) round \(round): \(matches)")
        }
    }

    @Test func voteResults() {
        let voters: [NodeID] = [1, 2, 3, 4, 5]
        #expect(Quorum.voteResult(voters: voters, granted: [1, 2], rejected: []) == .pending)
        #expect(Quorum.voteResult(voters: voters, granted: [1, 2, 3], rejected: []) == .won)
        #expect(Quorum.voteResult(voters: voters, granted: [1], rejected: [2, 3, 4]) == .lost)
        // Votes from non-voters do not count.
        #expect(Quorum.voteResult(voters: voters, granted: [1, 2, 9], rejected: []) == .pending)
        #expect(Quorum.voteResult(voters: [1], granted: [1], rejected: []) == .won)
    }

    /// Single-server changes keep any old majority and any new majority overlapping.
    @Test func singleServerChangesOverlap() {
        let start = MembershipConfiguration(voters: [1, 2, 3])
        for change in [MembershipChange.removeMember(2), .addLearner(4)] {
            guard case .success(let next) = start.applying(change) else {
                Issue.record("\(change) refused")
                continue
            }
            #expect(start.differsByAtMostOneVoter(from: next))
        }
        guard case .success(let withLearner) = start.applying(.addLearner(4)),
            case .success(let promoted) = withLearner.applying(.promoteLearner(4))
        else {
            Issue.record("promotion refused")
            return
        }
        #expect(promoted.voters == [1, 2, 3, 4])
        #expect(Quorum.size(of: start.voters.count) + Quorum.size(of: promoted.voters.count) > promoted.voters.count)
    }

    @Test func electionsAreDecidedExactlyWhenAMajorityHasSpoken() {
        var random = SeededGenerator(seed: 0x7_0_7_E)
        for round in 0..<2_000 {
            let voters = (1...UInt64(1 + random.next() % 7)).map { NodeID($0) }
            var granted: [NodeID] = []
            var rejected: [NodeID] = []
            for voter in voters {
                switch random.next() % 3 {
                case 0: granted.append(voter)
                case 1: rejected.append(voter)
                default: break
                }
            }
            let majority = voters.count / 2 + 1
            let expected: Quorum.VoteResult =
                granted.count >= majority ? .won : (voters.count - rejected.count < majority ? .lost : .pending)
            #expect(Quorum.voteResult(voters: voters, granted: granted, rejected: rejected) == expected, "round \(round)")
            #expect(Quorum.isReached(granted.count, of: voters.count) == (granted.count >= majority))
        }
    }
}
