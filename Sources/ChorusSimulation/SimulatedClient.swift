import ChorusCore
import ChorusKeyValue
import ChorusMachines
import ChorusRaft
import ChorusReplica

/// A client process: one operation at a time, retried (with the same session
/// sequence number, so it applies at most once) until it gets an answer,
/// following leader hints. Each operation goes into the history once, with
/// the time of its first attempt and of its answer.
struct SimulatedClient {
    let index: Int
    var clientID: UInt64 { UInt64(index + 1) }
    var sequence: UInt64 = 0
    var believedLeader: Int
    var nextRequestID: UInt64 = 0
    var writesIssued = 0
    /// What this client last learned about each key: version and value.
    var known: [String: (version: LogIndex, value: String?)] = [:]
    /// The session's high-water mark: the largest log index it has written
    /// or read (its session token on Raft data).
    var sessionIndex: LogIndex = .zero
    var current: InFlight?

    struct InFlight {
        var historyIndex: Int
        var body: ClientRequest.Body
        var requestID: UInt64
        var isRead: Bool
    }
}

extension Simulation {
    func startOperation(client: Int) {
        if workload == .eventStore {
            startEventOperation(client: client)
            return
        }
        // The saga workload's clients are its own (`SagaWorkload.Client`).
        if workload == .sagas { return }
        guard phase == .safety, clients[client].current == nil else { return }
        let key = "k\(random.next() % UInt64(parameters.keyCount))"
        let choice = random.next() % 10
        var c = clients[client]
        let kind: ClientOperation.Kind
        let body: ClientRequest.Body
        if choice < 4 {
            let level = parameters.readLevel
            if level == .consistentPrefix && random.chance(0.6) {
                kind = .range(prefix: "k")
                body = .read(.keyValue(.range(keyspace: "default", prefix: "k", after: nil, limit: 100)), .immediate)
            } else {
                kind = .get(key: key)
                body = .read(.keyValue(.get(key: key)), readRequirement(for: c))
            }
        } else {
            c.sequence += 1
            c.writesIssued += 1
            let value = "c\(c.index + 1)-\(c.writesIssued)"
            let operation: KeyValueOperation
            if choice < 7 {
                kind = .put(key: key, value: value)
                operation = .put(key: key, value: Array(value.utf8))
            } else if choice < 9 {
                let expected = c.known[key] ?? (version: .zero, value: nil)
                kind = .compareAndSet(key: key, expectedVersion: expected.version, expectedValue: expected.value, value: value)
                operation = .compareAndSet(key: key, expectedVersion: expected.version, value: Array(value.utf8))
            } else {
                kind = .delete(key: key)
                operation = .delete(key: key)
            }
            body = .write(
                .keyValue(KeyValueCommand(clientID: c.clientID, sequence: c.sequence, operation: operation)),
                key: IdempotencyKey(client: c.clientID, sequence: c.sequence))
        }
        operationSequence += 1
        history.append(ClientOperation(
            client: client, kind: kind, invokedAt: now, completedAt: nil, outcome: .indeterminate,
            invokedSequence: operationSequence))
        trace("client \(client) invokes \(kind)")
        c.current = SimulatedClient.InFlight(
            historyIndex: history.count - 1, body: body, requestID: 0, isRead: choice < 4)
        clients[client] = c
        sendAttempt(client: client)
    }

    func sendAttempt(client: Int) {
        guard var current = clients[client].current else { return }
        clients[client].nextRequestID += 1
        current.requestID = clients[client].nextRequestID
        clients[client].current = current
        let target =
            current.isRead && random.chance(parameters.readAnywhereProbability)
            ? randomServer() : clients[client].believedLeader
        let request = ClientRequest(client: client, requestID: current.requestID, body: current.body)
        if !parameters.network.isLost(blocked: false, faultsActive: faultsActive, random: &random) {
            queue.schedule(.request(server: target, request), at: now + networkDelay())
        }
        queue.schedule(.clientTimeout(client: client, requestID: current.requestID), at: now + parameters.clientTimeoutMicroseconds)
    }

    func respond(to client: Int, _ response: ClientResponse) {
        if parameters.network.isLost(blocked: false, faultsActive: faultsActive, random: &random) { return }
        queue.schedule(.response(client: client, response), at: now + networkDelay())
    }

    func clientReceived(_ response: ClientResponse, client: Int) {
        guard let current = clients[client].current, current.requestID == response.requestID else { return }
        switch response.body {
        case .redirect(let hint):
            follow(hint, client: client)
            backOff(client: client)
            return
        case .retry:
            backOff(client: client)
            return
        case .read, .written:
            break
        }
        switch workload {
        case .keyValue: completeKeyValue(response.body, client: client, current: current)
        case .eventStore: completeEventOperation(response.body, client: client, current: current)
        case .sagas: break
        }
        clients[client].current = nil
        let think = parameters.clientThinkMaximumMicroseconds == 0 ? 0 : random.next() % parameters.clientThinkMaximumMicroseconds
        queue.schedule(.clientNext(client: client), at: now + 1 + think)
    }

    /// How a client's get is served at the campaign's level.
    func readRequirement(for client: SimulatedClient) -> ReadRequirement {
        switch parameters.readLevel {
        case .linearizable: .linearizable
        case .sequential, .session: .appliedAtLeast(client.sessionIndex)
        case .boundedStaleness: parameters.stalenessBound.requirement(tickMicroseconds: parameters.tickMicroseconds)
        case .consistentPrefix, .eventual: .immediate
        }
    }

    /// A redirect's hint, or a random server when it names none.
    func follow(_ hint: NodeID?, client: Int) {
        if let hint, hint.rawValue >= 1, Int(hint.rawValue) <= parameters.serverCount {
            clients[client].believedLeader = Int(hint.rawValue)
        } else {
            clients[client].believedLeader = randomServer()
        }
    }

    private func completeKeyValue(_ body: ClientResponse.Body, client: Int, current: SimulatedClient.InFlight) {
        let operation = history[current.historyIndex]
        switch body {
        case .read(.keyValue(.record(let record)), let appliedIndex):
            let value = record.map { String(decoding: $0.value, as: UTF8.self) }
            let version = record?.version ?? .zero
            history[current.historyIndex].outcome = .read(value: value, version: version)
            history[current.historyIndex].readAppliedIndex = appliedIndex
            clients[client].known[operation.kind.key] = (version, value)
            clients[client].sessionIndex = max(clients[client].sessionIndex, appliedIndex)
        case .read(.keyValue(.range(let page)), let appliedIndex):
            let entries = (page?.entries ?? []).map {
                ClientOperation.RangeEntry(key: $0.key, version: $0.record.version, value: String(decoding: $0.record.value, as: UTF8.self))
            }
            history[current.historyIndex].outcome = .range(entries)
            clients[client].sessionIndex = max(clients[client].sessionIndex, appliedIndex)
        case .written(.keyValue(let applied), let index):
            // The version a write left: its result's for a put or a
            // compare-and-set (a retry answered from its session names the
            // original's), its own index for a delete that was not a retry.
            switch applied.result {
            case .written(let version): history[current.historyIndex].writeIndex = version
            case .deleted(_, let deletedAt): history[current.historyIndex].writeIndex = deletedAt
            default: break
            }
            clients[client].sessionIndex = max(clients[client].sessionIndex, index)
            let result = applied.result
            switch (result, operation.kind) {
            case (.written(let version), .put(let key, let value)),
                (.written(let version), .compareAndSet(let key, _, _, let value)):
                history[current.historyIndex].outcome = .written(result)
                clients[client].known[key] = (version, value)
            case (.deleted, .delete(let key)):
                history[current.historyIndex].outcome = .written(result)
                clients[client].known[key] = (.zero, nil)
            case (.compareAndSetMismatch(let currentVersion), .compareAndSet(let key, _, _, _)):
                history[current.historyIndex].outcome = .compareAndSetFailed(currentVersion: currentVersion)
                clients[client].known[key] = nil
            default:
                // sessionExpired or rejected: the write's fate is unknown to the client.
                history[current.historyIndex].outcome = .indeterminate
            }
        default:
            history[current.historyIndex].outcome = .indeterminate
        }
        history[current.historyIndex].completedAt = now
        operationSequence += 1
        history[current.historyIndex].completedSequence = operationSequence
        trace("client \(client) completes \(operation.kind) → \(history[current.historyIndex].outcome)")
    }

    func backOff(client: Int) {
        guard let current = clients[client].current else { return }
        queue.schedule(.clientRetry(client: client, requestID: current.requestID), at: now + 1_000 + random.next() % 20_000)
    }
}
