import ChorusCRDT
import ChorusClocks
import ChorusCore
import ChorusReplication

/// The clients' side: what each one does next, how it sends it (to any node:
/// every node coordinates), and what it learns from the answer. A write is
/// sent once (a retry would be a second write of the same value); a
/// `session` read whose reply is older than the session is retried, up to
/// `maximumSessionAttempts`.
extension LeaderlessSimulation {
    static let maximumSessionAttempts = 4

    func startOperation(client: Int) {
        guard phase == .safety, clients[client].current == nil else { return }
        if case .staleness = mode { return startStalenessOperation(client: client) }
        let (key, action, level) = chooseOperation(client: client)
        begin(LeaderlessOperation(
            client: client, key: key, action: action, level: level, invokedAt: now, completedAt: nil, outcome: .pending))
    }

    /// Records the operation and sends its first attempt.
    func begin(_ operation: LeaderlessOperation) {
        let client = operation.client
        if LeaderlessKeys.isChain(operation.key), operation.action.isWrite {
            // Most recently written last.
            chainKeysWritten[operation.key.keyspace, default: []].removeAll { $0 == operation.key }
            chainKeysWritten[operation.key.keyspace, default: []].append(operation.key)
        }
        history.append(operation)
        trace("client \(client) invokes \(operation.action) on \(operation.key) at \(operation.level)")
        clients[client].current = LeaderlessClient.InFlight(historyIndex: history.count - 1, request: ClientRequestID(0), attempts: 0)
        sendAttempt(client: client)
    }

    /// Sends the current operation to a random node (or `coordinator`).
    func sendAttempt(client: Int, coordinator: Int? = nil) {
        guard var current = clients[client].current else { return }
        nextRequest += 1
        let id = ClientRequestID(nextRequest)
        requestOwners[id] = client
        current.request = id
        current.attempts += 1
        clients[client].current = current
        let operation = history[current.historyIndex]
        let request = ChorusReplication.ClientRequest(
            id: id, operation: replicationOperation(for: operation, client: client), options: options(for: operation, client: client))
        let node = coordinator ?? 1 + Int(random.next() % UInt64(parameters.memberCount))
        if !parameters.network.isLost(blocked: false, faultsActive: faultsActive, random: &random) {
            queue.schedule(.request(server: node, request), at: now + networkDelay())
        }
        queue.schedule(.clientTimeout(client: client, request: id), at: now + parameters.clientTimeoutMicroseconds)
    }

    func options(for operation: LeaderlessOperation, client: Int) -> RequestOptions {
        var options = RequestOptions()
        if operation.key.keyspace == LeaderlessKeys.causal { options.session = clients[client].causalSession }
        // `eventual` reads ask one replica; the PBS experiment reads with the keyspace's R.
        if operation.level == .eventual && operation.action == .read && !isStaleness { options.readQuorum = 1 }
        if operation.action.isWrite && operation.key.kind != .counter { options.returnValue = true }
        return options
    }

    /// The request a client sends for `operation`. Written values carry the
    /// client's hybrid time, drawn once (`begin` sends a write once).
    func replicationOperation(for operation: LeaderlessOperation, client: Int) -> ChorusReplication.ClientOperation {
        let key = operation.key
        let dropContext = parameters.injectedBug == .writeDropsContext
        switch operation.action {
        case .read:
            return .get(key)
        case .put(let value, let context):
            let sent: WriteContext = context.map { dropContext ? .observedAtCoordinatingReplica : .client($0) } ?? .observedAtCoordinatingReplica
            return .put(key, value: value, context: sent, timestamp: clients[client].stamp(at: now))
        case .delete(let context):
            return .delete(key, context: dropContext ? .observedAtCoordinatingReplica : .client(context), timestamp: clients[client].stamp(at: now))
        case .increment(let amount):
            return .update(key, .counterIncrement(amount))
        case .insert(let element):
            return .update(key, .setInsert([element]))
        case .remove(let element):
            return .update(key, .setRemove([element]))
        case .assign(let value):
            return .update(key, .registerAssign(TimestampedBytes(bytes: value, timestamp: clients[client].stamp(at: now))))
        case .map(let action):
            return .update(key, .map([LeaderlessKeys.mapOperation(action)]))
        }
    }

    func clientReceived(_ response: ChorusReplication.ClientResponse, client: Int) {
        guard let current = clients[client].current, current.request == response.id else { return }
        let operation = history[current.historyIndex]
        switch response.result {
        case .success(.write(let reply)):
            learn(from: reply.minted.value, key: operation.key, client: client)
            if let session = reply.session { clients[client].causalSession.merge(session) }
            complete(client: client, outcome: .written(reply))
        case .success(.read(let reply)):
            if operation.level == .session,
                !reply.context.dominates(clients[client].sessionContexts[operation.key] ?? VersionVector())
            {
                // Older than what this session has seen: ask again, elsewhere.
                guard current.attempts < Self.maximumSessionAttempts else {
                    return complete(client: client, outcome: .stale(attempts: current.attempts))
                }
                statistics.sessionRetries += 1
                queue.schedule(.clientRetry(client: client, request: current.request), at: now + 1_000 + random.next() % 20_000)
                return
            }
            learn(from: reply.value, key: operation.key, client: client)
            if let session = reply.session { clients[client].causalSession.merge(session) }
            complete(client: client, outcome: .read(reply))
        case .failure(.timeout):
            complete(client: client, outcome: .indeterminate)
        case .failure(let failure):
            if case .unknownKeyspace = failure { statistics.unknownKeyspaceRefusals += 1 }
            complete(client: client, outcome: .failed(failure))
        }
    }

    func learn(from value: ReplicatedValue?, key: ObjectKey, client: Int) {
        clients[client].observe(value, key: key, context: value?.versionedContext, at: now)
    }

    func complete(client: Int, outcome: LeaderlessOperation.Outcome) {
        guard let current = clients[client].current else { return }
        history[current.historyIndex].outcome = outcome
        history[current.historyIndex].completedAt = now
        clients[client].current = nil
        let operation = history[current.historyIndex]
        trace("client \(client) completes \(operation.action) on \(operation.key): \(outcome)")
        if case .indeterminate = outcome, operation.action.isWrite, let slot = chainSlot(of: operation.key, client: client) {
            clients[client].retireChain(operation.key.keyspace, slot: slot)
        }
        if case .staleness = mode { return stalenessCompleted(operation, client: client) }
        let think = parameters.clientThinkMaximumMicroseconds == 0 ? 0 : random.next() % parameters.clientThinkMaximumMicroseconds
        queue.schedule(.clientNext(client: client), at: now + 1 + think)
    }

    func chainSlot(of key: ObjectKey, client: Int) -> Int? {
        (0..<LeaderlessKeys.chainSlots).first { slot in
            key == LeaderlessKeys.chain(
                key.keyspace, client: client, slot: slot, generation: clients[client].chainGeneration(key.keyspace, slot: slot))
        }
    }
}

