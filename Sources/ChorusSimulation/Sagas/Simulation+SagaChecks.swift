import ChorusCore
import ChorusEventStore
import ChorusMachines
import ChorusSagas

/// What the saga workload must reach once the faults stop, and what is
/// checked at the end of every seed.
extension Simulation {
    /// Every client is answered, and the leader's host holds every planned
    /// saga as finished (the operator has resolved the parked ones).
    func sagaWorkloadSettled() -> Bool {
        guard sagaWorkload.startsSent == sagaWorkload.planned.count, sagaWorkload.clients.allSatisfy({ $0.current == nil }) else {
            for client in sagaWorkload.clients.indices where sagaWorkload.clients[client].current == nil {
                startSagaClientOperation(client)
            }
            return false
        }
        guard let leader = currentLeader() else { return false }
        let host = sagaWorkload.runtimes[leader - 1].host
        guard host.isLeading, host.instances.isEmpty, host.pendingInputCount == 0 else { return false }
        return sagaWorkload.planned.allSatisfy { host.finished[$0.stream] != nil }
    }

    /// Why the saga workload has not settled, for a liveness failure.
    func sagaLivenessDetail() -> String {
        let pending = sagaWorkload.clients.filter { $0.current != nil }.count
        var detail =
            "; sagas: \(sagaWorkload.planned.count - sagaWorkload.startsSent) start(s) not sent, \(pending) client operation(s) pending"
        guard let leader = currentLeader(), sagaWorkload.runtimes[leader - 1].host.isLeading else {
            return detail + ", no leading saga host"
        }
        let host = sagaWorkload.runtimes[leader - 1].host
        let unfinished = host.instances.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        detail += ", \(unfinished.count) saga(s) not final on n\(leader)"
        for stream in unfinished.prefix(3) {
            let state = host.instances[stream]!.state
            detail += "; \(stream) \(state.status) after \(state.eventCount) events"
        }
        return detail
    }

    /// The checks of a seed's end, on every saga stream of the longest
    /// applied log: `SagaChecker` (ends visible, one outcome per attempt,
    /// stable keys, reverse-order compensation, applied once, exclusive
    /// locks), every acknowledged start exists, every saga is final, and
    /// every effect a compensated or cancelled saga applied was undone (its
    /// compensation applied after it).
    func checkSagas() {
        let up = servers.filter(\.isUp)
        guard let source = up.max(by: { ($0.machines!.appliedIndex, $1.number) < ($1.machines!.appliedIndex, $0.number) }) else {
            checker.recordSagaFailure("no server is up to read the saga streams from", at: now)
            return
        }
        let store = source.machines!.eventStore
        var names: [String] = []
        var seen: Set<String> = []
        var position = AllReadStart.start
        while true {
            let request = AllReadRequest(
                from: position, maximumCount: SagaWorkload.observePageEvents, filter: SagaStreamEvents.filter)
            guard case .events(let page) = store.readAll(request) else { return }
            for event in page.events where seen.insert(event.stream.text).inserted { names.append(event.stream.text) }
            guard let next = page.nextPosition else { break }
            position = .position(next)
        }
        var records: [SagaStreamRecord] = []
        for name in names.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            guard let events = Self.sagaStream(name, in: store, decode: { self.decodedSagaEvent($0, on: source.number) }) else {
                return
            }
            records.append(SagaStreamRecord(stream: name, events: events))
        }
        if traceSink != nil {
            trace("recorded saga streams on n\(source.number) (at = the deciding leader's clock, ms):")
            for record in records {
                trace(record.stream)
                for (revision, event) in record.events.enumerated() { trace("  \(revision) at \(event.at) \(event.summary)") }
            }
        }
        let participants = sagaWorkload.participants
        let result = SagaChecker.check(streams: records, applications: participants.applications)
        sagaWorkload.statistics.sagas = records.count
        sagaWorkload.statistics.completed = result.statusCounts["completed", default: 0]
        sagaWorkload.statistics.compensated = result.statusCounts["compensated", default: 0]
        sagaWorkload.statistics.cancelled = result.statusCounts["cancelled", default: 0]
        sagaWorkload.statistics.parkedOnce =
            records.filter { $0.events.contains { if case .parked = $0 { true } else { false } } }.count
        sagaWorkload.statistics.participantApplications = participants.applications.count
        if let first = result.violations.first {
            checker.recordSagaFailure(
                "\(result.violations.count) saga violation(s) on n\(source.number)'s log; first: \(first)", at: now)
            return
        }
        let recorded = Set(names)
        if let missing = sagaWorkload.acknowledgedStarts.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).first(where: {
            !recorded.contains($0)
        }) {
            checker.recordSagaFailure(
                "the start of \(missing) was acknowledged but n\(source.number)'s log has no such stream", at: now)
            return
        }
        // When each key was applied: an undo counts only after what it undoes.
        var appliedAt: [ParticipantApplication: Int] = [:]
        for (index, application) in participants.applications.enumerated() where appliedAt[application] == nil {
            appliedAt[application] = index
        }
        for record in records {
            let state: SagaState
            do { state = try SagaState(replaying: record.events) } catch {
                checker.recordSagaFailure("\(record.stream) does not fold: \(error)", at: now)
                return
            }
            guard state.status.isFinal else {
                checker.recordSagaFailure("\(record.stream) is \(state.status) at the end, after the operator's sweeps", at: now)
                return
            }
            guard state.status == .compensated || state.status == .cancelled else { continue }
            for step in state.steps where step.definition.kind == .compensatable {
                guard let compensation = step.definition.compensation else { continue }
                let action = ParticipantApplication(
                    participant: step.definition.action.participant,
                    idempotencyKey: SagaNames.idempotencyKey(stream: record.stream, step: step.id, phase: .action))
                let undo = ParticipantApplication(
                    participant: compensation.request.participant,
                    idempotencyKey: SagaNames.idempotencyKey(stream: record.stream, step: step.id, phase: .compensation))
                if let done = appliedAt[action], (appliedAt[undo] ?? -1) < done {
                    checker.recordSagaFailure(
                        "\(record.stream) ended \(state.status) but \(action.participant) applied \(action.idempotencyKey) "
                            + (appliedAt[undo] == nil ? "and never its compensation" : "after its compensation"),
                        at: now)
                    return
                }
            }
        }
    }
}
