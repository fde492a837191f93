import ChorusEventStore
import ChorusProjections
import Synchronization

/// Drives one projection: its runner (and, during a rebuild, the runner of
/// the generation being built) against its `ProjectionDatabase`, with a
/// batch reader the caller supplies (the node's catch-up batches in the
/// service layer; a plain store in tests and the benchmark). It also holds
/// the projection's waits for a position, and takes the operator's retry,
/// skip and rebuild.
///
/// One task calls `run`; any task may call the rest. The runners and waits
/// are value types behind one lock, held only to decide, never across IO.
public final class ProjectionWorker: Sendable {
    /// Reads the batch after a cursor; `live` asks it to wait until something
    /// new may be there (the caller's bounded wait). Nil: nothing new yet.
    public typealias BatchReader = @Sendable (_ source: SubscriptionSource, _ after: SubscriptionCursor, _ live: Bool) async throws
        -> SubscriptionBatch?

    public let database: ProjectionDatabase
    public var definition: ProjectionDefinition { database.definition }
    private let state: Mutex<State>
    private let origin = ContinuousClock.now
    /// How long `run` sleeps at most before looking again (operator commands, retries).
    let pollMilliseconds: Int64

    struct State {
        var active: ProjectionRunner
        var building: ProjectionRunner?
        var waits: PositionWaits
        var continuations: [PositionWaits.Ticket: CheckedContinuation<WaitOutcome, Never>] = [:]
        var lastReadError: String?
        var swaps = 0

        /// The park that blocks progress: the building generation's during a rebuild, else the active one's.
        var currentParked: ParkedEvent? { building != nil ? building!.parked : active.parked }
    }

    public init(database: ProjectionDatabase, retryPolicy: ProjectionRetryPolicy = .default, maximumWaiters: Int = ProjectionLimits.default.maximumWaiters,
                pollMilliseconds: Int64 = 20) {
        self.database = database
        self.pollMilliseconds = pollMilliseconds
        let active = ProjectionRunner(definition: database.definition, checkpoint: database.active.checkpointAtOpen, retryPolicy: retryPolicy)
        let building = database.building.map {
            ProjectionRunner(definition: database.definition, checkpoint: $0.checkpointAtOpen, isRebuild: true, retryPolicy: retryPolicy)
        }
        state = Mutex(State(active: active, building: building, waits: PositionWaits(maximumWaiters: maximumWaiters)))
    }

    var nowMilliseconds: Int64 {
        let (seconds, attoseconds) = (ContinuousClock.now - origin).components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }

    // MARK: The loop

    /// Runs until the task is cancelled. Never throws and never traps on a
    /// failing statement or read: a statement failure goes to the runner
    /// (retry, then park); a read failure is kept in `status` and retried.
    public func run(read: BatchReader) async {
        while !Task.isCancelled {
            let now = nowMilliseconds
            let (action, isBuilding) = state.withLock { state -> (ProjectionAction, Bool) in
                if state.building != nil { return (state.building!.nextAction(nowMilliseconds: now), true) }
                return (state.active.nextAction(nowMilliseconds: now), false)
            }
            switch action {
            case .read(let cursor):
                let live = state.withLock { isBuilding ? $0.building!.lastBatchWasCaughtUp : $0.active.lastBatchWasCaughtUp }
                let batch: SubscriptionBatch?
                do {
                    batch = try await read(definition.source.subscriptionSource, cursor, live)
                    state.withLock { $0.lastReadError = nil }
                } catch {
                    state.withLock { $0.lastReadError = "\(error)" }
                    await pause(milliseconds: 100)
                    expireWaits()
                    continue
                }
                // Nil: nothing new within the reader's wait; the waits still expire below.
                if let batch { receive(batch, isBuilding: isBuilding) }
            case .write(let write):
                let outcome: WriteOutcome
                if let generation = isBuilding ? database.building : database.active {
                    outcome = await database.write(write, to: generation)
                } else {
                    outcome = .failed(eventIndex: 0, message: "the generation being built is gone")
                }
                finish(outcome, isBuilding: isBuilding)
            case .sleep(let until):
                await pause(milliseconds: min(until - now, pollMilliseconds))
            case .awaitOperator:
                await pause(milliseconds: pollMilliseconds)
            }
            expireWaits()
        }
        let pending = state.withLock { state in
            let all = state.waits.expire(nowMilliseconds: .max, passedThrough: state.active.passedThrough)
            return all.compactMap { ticket, outcome in state.continuations.removeValue(forKey: ticket).map { ($0, outcome) } }
        }
        for (continuation, outcome) in pending { continuation.resume(returning: outcome) }
    }

    private func pause(milliseconds: Int64) async {
        guard milliseconds > 0 else { return }
        try? await Task.sleep(for: .milliseconds(milliseconds))
    }

    private func receive(_ batch: SubscriptionBatch, isBuilding: Bool) {
        let resumed = state.withLock { state in
            if isBuilding { state.building!.receive(batch) } else { state.active.receive(batch) }
            return settle(&state)
        }
        resume(resumed)
    }

    private func finish(_ outcome: WriteOutcome, isBuilding: Bool) {
        let now = nowMilliseconds
        let resumed = state.withLock { state in
            switch outcome {
            case .committed:
                if isBuilding { state.building!.committed() } else { state.active.committed() }
            case .failed(let index, let message):
                if isBuilding {
                    state.building!.failed(eventIndex: index, error: message, nowMilliseconds: now)
                } else {
                    state.active.failed(eventIndex: index, error: message, nowMilliseconds: now)
                }
            }
            return settle(&state)
        }
        resume(resumed)
    }

    /// After each step: swap in a caught-up rebuild, answer the waits the
    /// active runner reached, stall them on a park.
    private func settle(_ state: inout State) -> [(CheckedContinuation<WaitOutcome, Never>, WaitOutcome)] {
        if let building = state.building, building.isCaughtUp {
            do {
                try database.swapIn()
                state.active = ProjectionRunner(
                    definition: definition, checkpoint: building.passedThrough, retryPolicy: building.retryPolicy)
                state.active.receive(SubscriptionBatch(events: [], cursor: building.passedThrough, isCaughtUp: true, headPosition: .zero))
                state.building = nil
                state.swaps += 1
            } catch {
                state.lastReadError = "\(error)"
            }
        }
        var decided = state.waits.settle(through: state.active.passedThrough)
        if let parked = state.currentParked { decided += state.waits.stall(on: parked) }
        return decided.compactMap { ticket, outcome in state.continuations.removeValue(forKey: ticket).map { ($0, outcome) } }
    }

    private func expireWaits() {
        let now = nowMilliseconds
        let expired = state.withLock { state in
            state.waits.expire(nowMilliseconds: now, passedThrough: state.active.passedThrough).compactMap { ticket, outcome in
                state.continuations.removeValue(forKey: ticket).map { ($0, outcome) }
            }
        }
        resume(expired)
    }

    private func resume(_ decided: [(CheckedContinuation<WaitOutcome, Never>, WaitOutcome)]) {
        for (continuation, outcome) in decided { continuation.resume(returning: outcome) }
    }

    // MARK: Waits

    /// Waits until the active generation has passed `position` (its queries
    /// then reflect every event up to it), the projection parks before it, or
    /// `timeoutMilliseconds` pass. Nil: too many waits already (`maximumWaiters`).
    public func wait(forPosition position: GlobalPosition, timeoutMilliseconds: Int64) async -> WaitOutcome? {
        let deadline = nowMilliseconds + max(0, timeoutMilliseconds)
        let ticketBox = Mutex<PositionWaits.Ticket?>(nil)
        let refused = Mutex(false)
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<WaitOutcome, Never>) in
                let decided: WaitOutcome? = state.withLock { state in
                    let parked = state.currentParked
                    switch state.waits.register(position: position, deadlineMilliseconds: deadline, passedThrough: state.active.passedThrough, parked: parked) {
                    case .decided(let outcome): return outcome
                    case .refused:
                        refused.withLock { $0 = true }
                        return .timedOut(passedThrough: state.active.passedThrough)
                    case .waiting(let ticket):
                        state.continuations[ticket] = continuation
                        ticketBox.withLock { $0 = ticket }
                        scheduleExpiry(afterMilliseconds: deadline - nowMilliseconds + 1)
                        return nil
                    }
                }
                if let decided { continuation.resume(returning: decided) }
            }
        } onCancel: {
            let continuation = state.withLock { state -> CheckedContinuation<WaitOutcome, Never>? in
                guard let ticket = ticketBox.withLock({ $0 }) else { return nil }
                state.waits.cancel(ticket)
                return state.continuations.removeValue(forKey: ticket)
            }
            continuation?.resume(returning: .timedOut(passedThrough: state.withLock { $0.active.passedThrough }))
        }
        if refused.withLock({ $0 }) { return nil }
        return outcome
    }

    /// A wait's own timer: the loop may be inside a long live read when the
    /// deadline passes, so each wait expires itself on time.
    private func scheduleExpiry(afterMilliseconds delay: Int64) {
        Task { [self] in
            try? await Task.sleep(for: .milliseconds(delay))
            expireWaits()
        }
    }

    // MARK: Operator

    public enum CommandError: Error, Sendable, Hashable, CustomStringConvertible {
        case notParked
        case alreadyRebuilding(generation: Int)
        case storage(String)

        public var description: String {
            switch self {
            case .notParked: ProjectionCommandError.notParked.description
            case .alreadyRebuilding(let generation): "a rebuild into generation \(generation) is already in progress"
            case .storage(let message): message
            }
        }
    }

    /// Tries the parked event again now.
    public func retry() throws(CommandError) {
        let now = nowMilliseconds
        try state.withLock { state throws(CommandError) in
            do {
                if state.building?.parked != nil { try state.building!.retry(nowMilliseconds: now) } else { try state.active.retry(nowMilliseconds: now) }
            } catch { throw .notParked }
        }
    }

    /// Passes the parked event without its statements.
    public func skip() throws(CommandError) {
        try state.withLock { state throws(CommandError) in
            do {
                if state.building?.parked != nil { try state.building!.skip() } else { try state.active.skip() }
            } catch { throw .notParked }
        }
    }

    /// Rebuilds into a fresh generation from position 0; the active one keeps serving until the swap.
    public func rebuild() throws(CommandError) {
        try state.withLock { state throws(CommandError) in
            if state.building != nil { throw .alreadyRebuilding(generation: database.building?.number ?? 0) }
            do {
                try database.beginRebuild()
            } catch {
                throw .storage("\(error)")
            }
            state.building = ProjectionRunner(definition: definition, checkpoint: .start, isRebuild: true, retryPolicy: state.active.retryPolicy)
        }
    }

    // MARK: Status

    public struct Status: Sendable, Hashable {
        public var name: String
        public var version: Int
        public var phase: ProjectionPhase
        /// The active generation's position (what queries reflect).
        public var passedThrough: SubscriptionCursor
        public var durableCheckpoint: SubscriptionCursor
        public var parked: ParkedEvent?
        /// The event being retried (before it parks), with its attempts and error.
        public var retryingPosition: GlobalPosition?
        public var retryingAttempts: Int
        public var retryingError: String?
        public var generation: Int
        public var file: String
        /// During a rebuild: the generation being built and its position.
        public var buildingGeneration: Int?
        public var buildingPassedThrough: SubscriptionCursor?
        public var eventsFolded: UInt64
        public var waiting: Int
        public var lastReadError: String?
        public var swaps: Int
    }

    public var status: Status {
        let active = database.active
        let building = database.building
        return state.withLock { state in
            let current = state.building ?? state.active
            let phase: ProjectionPhase = current.parked != nil ? .parked : (state.building != nil ? .rebuilding : state.active.phase)
            let retrying = current.retrying
            return Status(
                name: definition.name, version: definition.version, phase: phase, passedThrough: state.active.passedThrough,
                durableCheckpoint: state.active.durableCheckpoint, parked: current.parked, retryingPosition: retrying?.position,
                retryingAttempts: retrying?.attempts ?? 0, retryingError: retrying?.error, generation: active.number, file: active.path,
                buildingGeneration: state.building == nil ? nil : building?.number, buildingPassedThrough: state.building?.passedThrough,
                eventsFolded: state.active.eventsFolded + (state.building?.eventsFolded ?? 0), waiting: state.waits.count,
                lastReadError: state.lastReadError, swaps: state.swaps)
        }
    }
}
