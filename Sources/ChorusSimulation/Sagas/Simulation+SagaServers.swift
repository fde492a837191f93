import ChorusCore
import ChorusEventStore
import ChorusMachines
import ChorusRaft
import ChorusReplica
import ChorusSagas

/// The simulator's driver of each server's `SagaHost`: the same host the
/// node drives, on the server's own replica (SagaHost's effect contract).
///
/// - **Leading.** A host is told to `lead` once its server leads and has
///   applied an entry of its own term: every entry committed before the term
///   is then applied and observed, which is what `lead` asks for (the new
///   leader's no-op entry is the first of its term). It is told to `follow`
///   as soon as its server stops leading or moves to another term.
/// - **Appends** go through the server's replica with the expected revision
///   (`SagaStreamEvents`). Only the append the host has in flight for a
///   stream is reported back: a completion for an older one (a timeout
///   reported after a reload, a leadership the host already gave up) is
///   dropped. An append is `appended` only when the store wrote it; an exact
///   retry (`alreadyWritten`) is unsettled like a conflict, because the
///   events already stored at those revisions may be another decision's.
///   An append the replica refuses (not leading, a leadership transfer,
///   overloaded, timed out) is reported unsettled after a short pause, so a
///   host whose server is handing over does not propose, fail and reload in
///   a loop.
/// - **Following.** Followers' hosts fold the saga events of their applied
///   log, read from `$all` after a cursor. A host that stops leading
///   re-reads the log from the start (it skipped its own appends while
///   leading, and an append whose outcome it never learned may be there).
extension Simulation {
    // MARK: Clocks

    /// `server`'s saga clock: its wall clock in milliseconds (virtual time
    /// with the server's drift, plus its offset), which survives a crash.
    func sagaClock(_ server: Int) -> UInt64 {
        let drifted = now * servers[server - 1].tickMicroseconds / parameters.tickMicroseconds
        return (sagaWorkload.clockOffsetsMicroseconds[server - 1] + drifted) / 1_000
    }

    /// The earliest virtual time, not before now, at which `server`'s saga clock reads `milliseconds`.
    func virtualTime(ofSagaClock milliseconds: UInt64, on server: Int) -> UInt64 {
        let offset = sagaWorkload.clockOffsetsMicroseconds[server - 1]
        let target = milliseconds * 1_000
        guard target > offset else { return now }
        let tick = servers[server - 1].tickMicroseconds
        return max(now, ((target - offset) * parameters.tickMicroseconds + tick - 1) / tick)
    }

    // MARK: Leading and following

    /// After `server`'s replica settled: the host follows or leads as the
    /// replica does, and folds what the replica applied.
    func settleSagaRuntime(_ server: Int) {
        guard let raft = servers[server - 1].raft, servers[server - 1].replica?.stopReason == nil else { return }
        let runtime = sagaWorkload.runtimes[server - 1]
        if runtime.host.isLeading, raft.role != .leader || raft.term != runtime.leadingTerm {
            sagaWorkload.runtimes[server - 1].leadingTerm = nil
            sagaWorkload.runtimes[server - 1].appendInFlight = [:]
            sagaWorkload.runtimes[server - 1].observedPosition = .zero
            sagaWorkload.runtimes[server - 1].observedAppliedIndex = .zero
            trace("n\(server) saga host follows")
            carryOutSagaOutputs(sagaWorkload.runtimes[server - 1].host.follow(), on: server)
        }
        observeAppliedSagaEvents(server)
        guard checker.violation == nil, let machines = servers[server - 1].machines else { return }
        if !sagaWorkload.runtimes[server - 1].host.isLeading, raft.role == .leader,
            raft.term(at: machines.appliedIndex) == raft.term
        {
            sagaWorkload.runtimes[server - 1].leadingTerm = raft.term
            sagaWorkload.statistics.leads += 1
            hash(40, UInt64(server), raft.term.rawValue)
            trace("n\(server) saga host leads in term \(raft.term.rawValue) at \(sagaClock(server)) ms")
            carryOutSagaOutputs(sagaWorkload.runtimes[server - 1].host.lead(now: sagaClock(server)), on: server)
        }
    }

    /// Folds the saga events `server` applied since its cursor into its host
    /// (a leading host folds its own appends instead, so it only moves the cursor).
    func observeAppliedSagaEvents(_ server: Int) {
        guard let machines = servers[server - 1].machines,
            machines.appliedIndex != sagaWorkload.runtimes[server - 1].observedAppliedIndex
        else { return }
        sagaWorkload.runtimes[server - 1].observedAppliedIndex = machines.appliedIndex
        let store = machines.eventStore
        if sagaWorkload.runtimes[server - 1].host.isLeading {
            sagaWorkload.runtimes[server - 1].observedPosition = store.headPosition
            return
        }
        var position = sagaWorkload.runtimes[server - 1].observedPosition
        var order: [String] = []
        var batches: [String: (firstRevision: Int, events: [SagaEvent])] = [:]
        while true {
            let request = AllReadRequest(
                from: .position(position), maximumCount: SagaWorkload.observePageEvents, filter: SagaStreamEvents.filter)
            guard case .events(let page) = store.readAll(request) else {
                checker.recordSagaFailure("n\(server): the saga filter of $all is refused", at: now)
                return
            }
            for recorded in page.events {
                guard let event = decodedSagaEvent(recorded, on: server) else { return }
                let stream = recorded.stream.text
                if batches[stream] == nil {
                    order.append(stream)
                    batches[stream] = (Int(recorded.revision.rawValue), [])
                }
                batches[stream]!.events.append(event)
            }
            guard let next = page.nextPosition else {
                position = page.headPosition
                break
            }
            position = next
        }
        sagaWorkload.runtimes[server - 1].observedPosition = position
        for stream in order {
            let batch = batches[stream]!
            trace("n\(server) saga host observes \(stream) from revision \(batch.firstRevision), \(batch.events.count) event(s)")
            do {
                try sagaWorkload.runtimes[server - 1].host.observe(
                    stream: stream, events: batch.events, firstRevision: batch.firstRevision)
            } catch {
                // A gap: fold the whole stream instead (observe skips what the host holds).
                guard let whole = appliedSagaStream(stream, on: server) else { return }
                do {
                    try sagaWorkload.runtimes[server - 1].host.observe(stream: stream, events: whole, firstRevision: 0)
                } catch {
                    checker.recordSagaFailure("n\(server): \(stream) as applied does not fold: \(error)", at: now)
                    return
                }
            }
        }
    }

    // MARK: The host's outputs

    /// Carries out a host's outputs in order (a reload's own outputs follow it).
    func carryOutSagaOutputs(_ outputs: [SagaHost.Output], on server: Int) {
        var work = outputs
        var index = 0
        while index < work.count {
            precondition(index < 1_000_000, "n\(server): a saga host produced a million outputs at once")
            let output = work[index]
            index += 1
            guard servers[server - 1].isUp, checker.violation == nil else { return }
            switch output {
            case .append(let stream, let events, let expected):
                proposeSagaAppend(stream: stream, events: events, expected: expected, on: server)
            case .call(let stream, let call):
                sendParticipantCall(call, stream: stream, from: server)
            case .setTimer(let stream, _, let dueAt):
                scheduleSagaTimer(stream: stream, dueAt: dueAt, on: server)
            case .cancelTimer:
                break  // the tick of a disarmed timer decides nothing; the node cancels its sleeping task instead
            case .reload(let stream):
                work += reloadSagaStream(stream, on: server)
            case .respond(let ticket, let response):
                answerSagaTicket(ticket, response, on: server)
            }
        }
        scheduleLockExpiry(on: server)
    }

    func proposeSagaAppend(stream: String, events: [SagaEvent], expected: SagaExpectedRevision, on server: Int) {
        let proposed = SagaStreamEvents.proposed(
            events, stream: stream, firstRevision: SagaStreamEvents.firstRevision(after: expected))
        let append = StreamAppend(
            stream: StreamName(stream), expected: SagaStreamEvents.expectedState(expected), events: proposed)
        let command = ReplicatedMachines.Command.eventStore(
            EventStoreCommand(recordedTime: recordedTime(on: server), operation: .append(append)))
        servers[server - 1].nextToken += 1
        let token = RequestToken(servers[server - 1].nextToken)
        sagaWorkload.runtimes[server - 1].appendInFlight[stream] = token
        sagaWorkload.runtimes[server - 1].appendStreams[token] = stream
        hash(41, UInt64(server), UInt64(events.count))
        // No replica idempotency key: a later decision at the same revision
        // must not join an earlier one still in flight.
        servers[server - 1].replica!.submitWrite(command.encoded(), key: nil, token: token)
    }

    /// A saga append's answer, if `token` is one (else false: a client's write).
    func sagaAppendCompleted(
        _ token: RequestToken, _ result: Result<WriteResult<ReplicatedMachines.Output>, ReplicaError>, on server: Int
    ) -> Bool {
        guard let stream = sagaWorkload.runtimes[server - 1].appendStreams.removeValue(forKey: token) else { return false }
        guard sagaWorkload.runtimes[server - 1].appendInFlight[stream] == token else { return true }
        let write: WriteResult<ReplicatedMachines.Output>
        switch result {
        case .success(let success): write = success
        case .failure(let error):
            // Refused by the replica (not leading, overloaded, timed out):
            // unsettled after a pause, so that a host whose server hands its
            // leadership over does not propose, fail and reload in a loop.
            trace("n\(server) saga append to \(stream): \(error)")
            let event = SagaWorkloadEvent.appendRefused(
                server: server, incarnation: servers[server - 1].incarnation, stream: stream, token: token)
            queue.schedule(.saga(event), at: now + SagaWorkload.refusedAppendPauseMicroseconds)
            return true
        }
        sagaWorkload.runtimes[server - 1].appendInFlight[stream] = nil
        let written: Bool
        switch write.output {
        case .eventStore(.appended(let outcome)):
            written = SagaStreamEvents.recordsDecision(.appended(outcome))
            if !written {
                trace(
                    "n\(server) saga append to \(stream) was an exact retry of revisions \(outcome.firstRevision)...\(outcome.lastRevision)"
                )
            }
            if written && outcome.stream.text != stream {
                checker.recordSagaFailure("n\(server): an append to \(stream) landed in \(outcome.stream)", at: now)
                return true
            }
        case .eventStore(.wrongExpectedVersion):
            written = false
        default:
            checker.recordSagaFailure("n\(server): an append to \(stream) was refused: \(write.output)", at: now)
            return true
        }
        hash(42, UInt64(server), written ? 1 : 0)
        if written {
            carryOutSagaOutputs(
                sagaWorkload.runtimes[server - 1].host.appended(stream: stream, now: sagaClock(server)), on: server)
        } else {
            reportSagaAppendUnsettled(stream, on: server)
        }
        return true
    }

    /// The append in flight for `stream` conflicted, was an exact retry of
    /// what another decision wrote, or its outcome is unknown.
    func reportSagaAppendUnsettled(_ stream: String, on server: Int) {
        sagaWorkload.runtimes[server - 1].appendInFlight[stream] = nil
        sagaWorkload.statistics.appendsUnsettled += 1
        trace("n\(server) saga append to \(stream) unsettled")
        carryOutSagaOutputs(sagaWorkload.runtimes[server - 1].host.appendUnsettled(stream: stream), on: server)
    }

    /// The pause after a refused append is over: unsettled, if it is still the one in flight.
    func sagaAppendRefusalDue(stream: String, token: RequestToken, on server: Int) {
        guard sagaWorkload.runtimes[server - 1].appendInFlight[stream] == token else { return }
        reportSagaAppendUnsettled(stream, on: server)
        drive(server)
    }

    func reloadSagaStream(_ stream: String, on server: Int) -> [SagaHost.Output] {
        guard let events = appliedSagaStream(stream, on: server) else { return [] }
        do {
            return try sagaWorkload.runtimes[server - 1].host.reloaded(stream: stream, events: events, now: sagaClock(server))
        } catch {
            checker.recordSagaFailure("n\(server): \(stream) as applied does not fold: \(error)", at: now)
            return []
        }
    }

    /// `stream` as `server` has applied it, decoded; nil (with a violation) if an event does not decode.
    func appliedSagaStream(_ stream: String, on server: Int) -> [SagaEvent]? {
        guard let machines = servers[server - 1].machines else { return nil }
        return Self.sagaStream(stream, in: machines.eventStore) { recorded in self.decodedSagaEvent(recorded, on: server) }
    }

    static func sagaStream(_ stream: String, in store: EventStore, decode: (RecordedEvent) -> SagaEvent?) -> [SagaEvent]? {
        var events: [SagaEvent] = []
        var from = StreamReadStart.start
        while true {
            let page: StreamReadPage
            switch store.readStream(
                StreamReadRequest(stream: StreamName(stream), from: from, maximumCount: SagaWorkload.observePageEvents))
            {
            case .events(let read): page = read
            case .streamNotFound: return events
            case .streamDeleted, .asOfNotRetained: return nil
            }
            for recorded in page.events {
                guard let event = decode(recorded) else { return nil }
                events.append(event)
            }
            guard let next = page.nextRevision else { return events }
            from = .revision(next)
        }
    }

    func decodedSagaEvent(_ recorded: RecordedEvent, on server: Int) -> SagaEvent? {
        do {
            return try SagaStreamEvents.sagaEvent(recorded)
        } catch {
            checker.recordSagaFailure(
                "n\(server): \(recorded.stream.text) revision \(recorded.revision.rawValue) is not a saga event: \(error)",
                at: now)
            return nil
        }
    }

    // MARK: Timers

    func scheduleSagaTimer(stream: String, dueAt: UInt64, on server: Int) {
        let key = SagaWorkload.TimerKey(stream: stream, dueAt: dueAt)
        guard sagaWorkload.runtimes[server - 1].timersScheduled.insert(key).inserted else { return }
        let event = SagaWorkloadEvent.timer(
            server: server, incarnation: servers[server - 1].incarnation, stream: stream, dueAt: dueAt)
        queue.schedule(.saga(event), at: virtualTime(ofSagaClock: dueAt, on: server))
    }

    func scheduleLockExpiry(on server: Int) {
        guard let at = sagaWorkload.runtimes[server - 1].host.nextLockExpiryAt,
            sagaWorkload.runtimes[server - 1].lockExpiriesScheduled.insert(at).inserted
        else { return }
        let event = SagaWorkloadEvent.lockExpiry(server: server, incarnation: servers[server - 1].incarnation, at: at)
        queue.schedule(.saga(event), at: virtualTime(ofSagaClock: at, on: server))
    }

    func sagaTimerFired(stream: String, dueAt: UInt64, on server: Int) {
        sagaWorkload.runtimes[server - 1].timersScheduled.remove(SagaWorkload.TimerKey(stream: stream, dueAt: dueAt))
        let outputs = sagaWorkload.runtimes[server - 1].host.submit(.tick, stream: stream, ticket: nil, now: sagaClock(server))
        carryOutSagaOutputs(outputs, on: server)
        drive(server)
    }

    func sagaLockExpiryDue(at: UInt64, on server: Int) {
        sagaWorkload.runtimes[server - 1].lockExpiriesScheduled.remove(at)
        carryOutSagaOutputs(sagaWorkload.runtimes[server - 1].host.expireLocks(now: sagaClock(server)), on: server)
        drive(server)
    }

    /// A server crashed: its host and everything the driver kept for it are gone.
    func sagaServerCrashed(_ server: Int) {
        sagaWorkload.runtimes[server - 1] = SagaWorkload.ServerRuntime(injectedBug: sagaWorkload.injectedBug)
    }
}
