import ChorusCore
import ChorusReplica
import Logging
import ChorusKeyValue
import ChorusMachines

extension NodeCore {
    /// A leader whose machines know no cluster epoch proposes one, drawn at
    /// random. The key-value machine keeps the first that commits and answers
    /// every later proposal with it, so concurrent or repeated proposals (a
    /// new leader that has not applied the first one yet) are harmless. The
    /// epoch is what session tokens carry: a token from before a re-creation
    /// or a restore names another epoch and is refused, not misread.
    func establishEpochIfNeeded() {
        guard stopReason == nil, epochProposal == nil, replica.machine.keyValue.epoch == nil else { return }
        var generator = SystemRandomNumberGenerator()
        let epoch = UInt64.random(in: 1...UInt64.max, using: &generator)
        let command = ReplicatedMachines.Command.keyValue(
            KeyValueCommand(clientID: 0, sequence: 0, operation: .establishEpoch(epoch)))
        let token = makeToken()
        epochProposal = token
        replica.submitWrite(command.encoded(), key: nil, token: token)
        scheduleDrive()
    }

    /// The answer to the epoch proposal: logged; a lost proposal is tried
    /// again at the next leadership.
    func epochProposalCompleted(_ result: Result<WriteResultType, ReplicaError>) {
        epochProposal = nil
        switch result {
        case .success(let written):
            logger.info("cluster epoch", metadata: ["epoch": "\(written.output)", "index": "\(written.index.rawValue)"])
        case .failure(let error):
            logger.info("the epoch proposal failed; the next leader proposes again", metadata: ["error": "\(error)"])
        }
    }
}
