import ChorusCore
import ChorusRaft
import ChorusSagas

/// The saga workload's clients and its operator.
///
/// Clients start the planned sagas, start some a second time and cancel
/// some, through whichever server they believe leads: a `notLeading` answer
/// sends them to the leader it names, `outcomeUnknown` and silence make them
/// try again (a start is idempotent by saga id, a cancel by the saga's
/// state). A start answered `accepted` or `alreadyStarted` is acknowledged:
/// the saga must exist at the end.
///
/// The operator works once the faults stop: every sweep, each parked saga on
/// the leader is retried (twice), then resolved by hand with what the
/// participants say (SagaSimulationTests's sweep, on the real cluster).
extension Simulation {
    /// Duplicate starts and cancels a seed's clients send, per planned saga.
    static let sagaExtraOperationsPerSaga = 0.6
    /// How often a client cancels the saga it just started.
    static let sagaCancelProbability = 0.25

    func startSagaClientOperation(_ client: Int) {
        guard sagaWorkload.clients[client].current == nil else { return }
        let workload = sagaWorkload
        let extrasAllowed = Int(Double(workload.planned.count) * Self.sagaExtraOperationsPerSaga)
        let extraAllowed = phase == .safety && workload.statistics.clientOperations < workload.planned.count + extrasAllowed
        let operation: SagaWorkload.Client.Operation
        if let stream = workload.clients[client].cancelNext {
            // Soon after its start: often before the pivot.
            sagaWorkload.clients[client].cancelNext = nil
            operation = .init(stream: stream, input: .cancel(reason: "the customer asked"), requestID: 0, isStart: false)
        } else if extraAllowed, workload.startsSent > 0, workload.startsSent == workload.planned.count || random.chance(0.25) {
            let saga = workload.planned[Int(random.next() % UInt64(workload.startsSent))]
            operation = .init(
                stream: saga.stream, input: .start(definition: saga.definition, sagaID: saga.id, input: saga.input), requestID: 0,
                isStart: true)
        } else if workload.startsSent < workload.planned.count {
            let saga = workload.planned[workload.startsSent]
            sagaWorkload.startsSent += 1
            if extraAllowed && random.chance(Self.sagaCancelProbability) { sagaWorkload.clients[client].cancelNext = saga.stream }
            operation = .init(
                stream: saga.stream, input: .start(definition: saga.definition, sagaID: saga.id, input: saga.input), requestID: 0,
                isStart: true)
        } else {
            return
        }
        sagaWorkload.statistics.clientOperations += 1
        trace("saga client \(client) \(operation.isStart ? "starts" : "cancels") \(operation.stream)")
        sagaWorkload.clients[client].current = operation
        sendSagaClientAttempt(client)
    }

    func sendSagaClientAttempt(_ client: Int) {
        guard var operation = sagaWorkload.clients[client].current else { return }
        sagaWorkload.clients[client].nextRequestID += 1
        operation.requestID = sagaWorkload.clients[client].nextRequestID
        sagaWorkload.clients[client].current = operation
        sagaWorkload.statistics.clientRequests += 1
        let target = sagaWorkload.clients[client].believedLeader
        if !parameters.network.isLost(blocked: false, faultsActive: faultsActive, random: &random) {
            let event = SagaWorkloadEvent.clientRequest(
                server: target, client: client, requestID: operation.requestID, stream: operation.stream, input: operation.input)
            queue.schedule(.saga(event), at: now + networkDelay())
        }
        queue.schedule(
            .saga(.clientTimeout(client: client, requestID: operation.requestID)),
            at: now + SagaWorkload.clientTimeoutMicroseconds)
    }

    /// A client's request reaches `server`: its host decides or refuses it.
    func serveSagaClient(_ client: Int, requestID: UInt64, stream: String, input: SagaInput, on server: Int) {
        sagaWorkload.runtimes[server - 1].nextTicket += 1
        let ticket = sagaWorkload.runtimes[server - 1].nextTicket
        sagaWorkload.runtimes[server - 1].tickets[ticket] = SagaWorkload.ClientTicket(client: client, requestID: requestID)
        let outputs = sagaWorkload.runtimes[server - 1].host.submit(input, stream: stream, ticket: ticket, now: sagaClock(server))
        carryOutSagaOutputs(outputs, on: server)
        drive(server)
    }

    func answerSagaTicket(_ ticket: UInt64, _ response: SagaHostResponse, on server: Int) {
        guard let asked = sagaWorkload.runtimes[server - 1].tickets.removeValue(forKey: ticket) else { return }
        if parameters.network.isLost(blocked: false, faultsActive: faultsActive, random: &random) { return }
        let hint = servers[server - 1].raft?.leaderID ?? .none
        let event = SagaWorkloadEvent.clientResponse(
            client: asked.client, requestID: asked.requestID, response: response, leaderHint: hint)
        queue.schedule(.saga(event), at: now + networkDelay())
    }

    func sagaClientReceived(_ response: SagaHostResponse, requestID: UInt64, leaderHint: NodeID, client: Int) {
        guard let operation = sagaWorkload.clients[client].current, operation.requestID == requestID else { return }
        switch response {
        case .notLeading:
            if leaderHint != .none, leaderHint.rawValue >= 1, Int(leaderHint.rawValue) <= parameters.serverCount {
                sagaWorkload.clients[client].believedLeader = Int(leaderHint.rawValue)
            } else {
                sagaWorkload.clients[client].believedLeader = randomServer()
            }
            backOffSagaClient(client)
            return
        case .outcomeUnknown:
            backOffSagaClient(client)
            return
        case .decided(let answer, _):
            if operation.isStart {
                switch answer {
                case .accepted, .alreadyStarted: sagaWorkload.acknowledgedStarts.insert(operation.stream)
                case .ignored, .rejected:
                    checker.recordSagaFailure("a start of \(operation.stream) was answered \(answer)", at: now)
                }
            }
            trace("saga client \(client) \(operation.isStart ? "start" : "cancel") of \(operation.stream): \(answer)")
        }
        sagaWorkload.statistics.clientAnswers += 1
        sagaWorkload.clients[client].current = nil
        let think =
            sagaWorkload.clients[client].cancelNext == nil
            ? SagaWorkload.clientThinkMaximumMicroseconds : SagaWorkload.cancelThinkMaximumMicroseconds
        queue.schedule(.saga(.clientNext(client: client)), at: now + 1 + random.next() % think)
    }

    func backOffSagaClient(_ client: Int) {
        guard let operation = sagaWorkload.clients[client].current else { return }
        queue.schedule(
            .saga(.clientRetry(client: client, requestID: operation.requestID)), at: now + 1_000 + random.next() % 20_000)
    }

    // MARK: The operator

    func scheduleSagaOperatorSweep() {
        queue.schedule(.saga(.operatorSweep), at: now + SagaWorkload.operatorSweepIntervalMicroseconds)
    }

    /// Each parked saga on the leader: retried twice, then resolved by hand.
    func sagaOperatorSweep() {
        scheduleSagaOperatorSweep()
        guard let leader = currentLeader(), sagaWorkload.runtimes[leader - 1].host.isLeading else { return }
        let host = sagaWorkload.runtimes[leader - 1].host
        var outputs: [SagaHost.Output] = []
        for stream in host.instances.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let state = host.instances[stream]!.state
            guard case .parked(let reason, _) = state.status else { continue }
            let retries = sagaWorkload.operatorRetries[stream, default: 0]
            let input: SagaInput
            if retries < SagaWorkload.operatorRetriesBeforeResolving {
                sagaWorkload.operatorRetries[stream] = retries + 1
                sagaWorkload.statistics.operatorRetries += 1
                input = .operatorRetry(note: "sweep \(retries + 1)")
            } else {
                sagaWorkload.statistics.operatorResolutions += 1
                input = .operatorResolve(resolution(of: reason, in: state, stream: stream), note: "resolved by hand")
            }
            trace("operator \(input) for \(stream) (\(state.status))")
            outputs += sagaWorkload.runtimes[leader - 1].host.submit(input, stream: stream, ticket: nil, now: sagaClock(leader))
        }
        carryOutSagaOutputs(outputs, on: leader)
        drive(leader)
    }

    /// What the operator finds at the participant, and does by hand.
    func resolution(of reason: SagaParkReason, in state: SagaState, stream: String) -> SagaResolution {
        let step = state.step(reason.step)!
        let actionKey = SagaNames.idempotencyKey(stream: stream, step: step.id, phase: .action)
        let actionParticipant = step.definition.action.participant
        switch reason {
        case .pivotUncertain:
            // Applied: it succeeded. Not applied: void the key, so a request
            // still on its way is refused, and the saga compensates.
            if let result = sagaWorkload.participants.checkOrVoid(participant: actionParticipant, key: actionKey) {
                return .succeeded(result: result)
            }
            return .failed(code: "voided")
        case .compensationFailed:
            let participant = step.definition.compensation!.request.participant
            let key = SagaNames.idempotencyKey(stream: stream, step: step.id, phase: .compensation)
            _ = sagaWorkload.participants.doByHand(participant: participant, key: key)
            _ = sagaWorkload.participants.checkOrVoid(participant: actionParticipant, key: actionKey)
            return .succeeded(result: .null)
        case .stepFailed:
            return .succeeded(result: sagaWorkload.participants.doByHand(participant: actionParticipant, key: actionKey))
        }
    }
}
