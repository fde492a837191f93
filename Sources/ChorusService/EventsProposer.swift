import ChorusAPI
import ChorusCore
import ChorusEventStore
import ChorusMachines
import ChorusNode
import ChorusReplica
import Synchronization

/// Proposes event-store commands through the node: stamps each with this
/// node's wall clock (the leader's recorded time; only the leader's proposals
/// are accepted, a follower's fail with `not_leader`), notes when the last
/// one was proposed (for the idle clock), and unwraps the machine's output.
struct EventStoreProposer: Sendable {
    let node: ChorusNode
    let clock: WallClock
    let activity: ProposalActivity

    /// The store's answer (success or refusal) and where it was applied.
    func propose(_ operation: EventStoreOperation) async throws(ServiceError)
        -> (result: EventStoreResult, index: LogIndex, appliedIndex: LogIndex)
    {
        let command = EventStoreCommand(recordedTime: clock.now(), operation: operation)
        activity.noteProposal()
        let written: WriteResult<ReplicatedMachines.Output>
        do {
            written = try await node.write(.eventStore(command))
        } catch {
            throw ServiceError(error)
        }
        switch written.output {
        case .eventStore(let result):
            return (result, written.index, written.appliedIndex)
        case .rejected(let rejection):
            throw ServiceError(.rejected, rejection.description)
        case .keyValue:
            throw ServiceError(.internal, "an event-store command was applied by the key-value store")
        }
    }

    /// Reads the event store as `requirement` asks.
    func read(_ query: EventStoreQuery, requirement: ReadRequirement) async throws(ServiceError)
        -> (answer: EventStoreQueryResult, appliedIndex: LogIndex)
    {
        let read: ReadResult<ReplicatedMachines.Answer>
        do {
            read = try await node.read(.eventStore(query), requirement: requirement)
        } catch {
            throw ServiceError(error)
        }
        guard case .eventStore(let answer) = read.value else {
            throw ServiceError(.internal, "an event-store read was answered by another machine")
        }
        return (answer, read.appliedIndex)
    }
}

/// When this node last proposed an event-store command, on a monotonic clock.
final class ProposalActivity: Sendable {
    private let origin = ContinuousClock.now
    /// Nanoseconds after `origin` of the latest proposal; `Int64.min` before any.
    private let latest = Atomic<Int64>(.min)

    func noteProposal() {
        latest.store(Self.nanoseconds(ContinuousClock.now - origin), ordering: .relaxed)
    }

    /// How long ago the latest proposal was (nil: none yet).
    var sinceLatest: Duration? {
        let stamp = latest.load(ordering: .relaxed)
        guard stamp != .min else { return nil }
        return (ContinuousClock.now - origin) - .nanoseconds(stamp)
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
