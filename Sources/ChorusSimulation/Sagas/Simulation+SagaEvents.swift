import ChorusCore
import ChorusRaft
import ChorusReplica
import ChorusSagas

/// What happens in the saga workload, as events on the simulator's queue.
/// Events bound for a server carry its incarnation: a crash loses them
/// (timers, replies to calls it sent), as a process loses its memory.
enum SagaWorkloadEvent {
    /// A call reaches its participant.
    case participantRequest(from: Int, incarnation: UInt64, stream: String, call: SagaCall)
    /// A participant's answer reaches the server that called.
    case participantReply(to: Int, incarnation: UInt64, stream: String, reply: SagaReply)
    /// A saga timer is due on `server`'s clock.
    case timer(server: Int, incarnation: UInt64, stream: String, dueAt: UInt64)
    /// A lock reservation expires on `server`'s clock.
    case lockExpiry(server: Int, incarnation: UInt64, at: UInt64)
    case clientNext(client: Int)
    /// A client's start or cancel reaches a server.
    case clientRequest(server: Int, client: Int, requestID: UInt64, stream: String, input: SagaInput)
    case clientResponse(client: Int, requestID: UInt64, response: SagaHostResponse, leaderHint: NodeID)
    case clientRetry(client: Int, requestID: UInt64)
    case clientTimeout(client: Int, requestID: UInt64)
    case operatorSweep
    /// The pause after the replica refused a saga append is over.
    case appendRefused(server: Int, incarnation: UInt64, stream: String, token: RequestToken)
}

extension Simulation {
    func handle(_ event: SagaWorkloadEvent) {
        switch event {
        case .participantRequest(let from, let incarnation, let stream, let call):
            hash(30, UInt64(from), UInt64(call.attempt))
            participantReceives(call, stream: stream, from: from, incarnation: incarnation)
        case .participantReply(let server, let incarnation, let stream, let reply):
            hash(31, UInt64(server), UInt64(reply.attempt))
            guard isRunning(server, incarnation: incarnation), !deferredWhilePaused(.saga(event), server: server) else { return }
            guard !network.isIsolated(server) else { return }
            let outputs = sagaWorkload.runtimes[server - 1].host.submit(
                .reply(reply), stream: stream, ticket: nil, now: sagaClock(server))
            carryOutSagaOutputs(outputs, on: server)
            drive(server)
        case .timer(let server, let incarnation, let stream, let dueAt):
            hash(32, UInt64(server), dueAt)
            guard isRunning(server, incarnation: incarnation), !deferredWhilePaused(.saga(event), server: server) else { return }
            sagaTimerFired(stream: stream, dueAt: dueAt, on: server)
        case .lockExpiry(let server, let incarnation, let at):
            hash(33, UInt64(server), at)
            guard isRunning(server, incarnation: incarnation), !deferredWhilePaused(.saga(event), server: server) else { return }
            sagaLockExpiryDue(at: at, on: server)
        case .clientNext(let client):
            hash(34, UInt64(client))
            startSagaClientOperation(client)
        case .clientRequest(let server, let client, let requestID, let stream, let input):
            hash(35, UInt64(server), UInt64(client), requestID)
            guard servers[server - 1].isUp, !deferredWhilePaused(.saga(event), server: server) else { return }
            serveSagaClient(client, requestID: requestID, stream: stream, input: input, on: server)
        case .clientResponse(let client, let requestID, let response, let hint):
            hash(36, UInt64(client), requestID)
            sagaClientReceived(response, requestID: requestID, leaderHint: hint, client: client)
        case .clientRetry(let client, let requestID):
            hash(37, UInt64(client), requestID)
            guard sagaWorkload.clients[client].current?.requestID == requestID else { return }
            sendSagaClientAttempt(client)
        case .clientTimeout(let client, let requestID):
            hash(38, UInt64(client), requestID)
            guard sagaWorkload.clients[client].current?.requestID == requestID else { return }
            sagaWorkload.clients[client].believedLeader = randomServer()
            sendSagaClientAttempt(client)
        case .operatorSweep:
            hash(39)
            sagaOperatorSweep()
        case .appendRefused(let server, let incarnation, let stream, let token):
            hash(43, UInt64(server), token.rawValue)
            guard isRunning(server, incarnation: incarnation), !deferredWhilePaused(.saga(event), server: server) else { return }
            sagaAppendRefusalDue(stream: stream, token: token, on: server)
        }
    }

    // MARK: Participants

    /// Sends a call to its participant, over a network that loses requests
    /// while faults are on (and everything from an isolated server).
    func sendParticipantCall(_ call: SagaCall, stream: String, from server: Int) {
        var call = call
        if sagaWorkload.injectedBug == .sagaFreshKeyOnRetry && call.attempt > 1 {
            // The negative control: the runtime rewrites the recorded key.
            call.request.idempotencyKey += "#\(call.attempt)"
        }
        sagaWorkload.statistics.participantCalls += 1
        guard !network.isIsolated(server), !sagaWorkload.participants.requestLost(faultsActive: faultsActive, random: &random)
        else { return }
        let event = SagaWorkloadEvent.participantRequest(
            from: server, incarnation: servers[server - 1].incarnation, stream: stream, call: call)
        queue.schedule(
            .saga(event), at: now + sagaWorkload.participants.requestDelay(faultsActive: faultsActive, random: &random))
    }

    func participantReceives(_ call: SagaCall, stream: String, from server: Int, incarnation: UInt64) {
        let outcome = sagaWorkload.participants.handle(call, faultsActive: faultsActive, random: &random)
        guard !sagaWorkload.participants.replyLost(faultsActive: faultsActive, random: &random) else { return }
        let reply = SagaReply(step: call.step, phase: call.phase, attempt: call.attempt, outcome: outcome)
        let delay = sagaWorkload.participants.replyDelay(faultsActive: faultsActive, random: &random)
        queue.schedule(
            .saga(.participantReply(to: server, incarnation: incarnation, stream: stream, reply: reply)), at: now + delay)
    }
}
