import ChorusCheck
import ChorusCore
import ChorusEventStore
import ChorusMachines
import ChorusReplica

/// The event-store workload (`chorus simulate events`): appenders that retry
/// after lost replies with the same event ids and the same expectation,
/// readers of whole streams at `linearizable`, and catch-up subscribers that
/// pull batches from a cursor, on a few streams, under the same faults as
/// the key-value workload. Every operation and delivery goes into an
/// `EventStoreHistory`, judged at the end by `ChorusCheck.EventStoreChecker`:
///
/// * no acknowledged append lost, no event that was not appended;
/// * gap-free revisions, one place per event, `$all` agreeing with every stream;
/// * each retried append applied at most once;
/// * every expected-version outcome linearizable per stream;
/// * every catch-up subscriber saw each event exactly once, in order.
///
/// Instants are one counter over every invocation, completion and delivery,
/// so the checker's "before" is the simulation's real-time order.
struct EventWorkload {
    enum Role: Sendable {
        case appender
        case reader
        /// Subscribed to one stream, or to `$all` (nil).
        case subscriber(stream: String?)
    }

    struct ClientState {
        var role: Role
        /// The last revision this client knows of each stream (-1: none).
        var knownRevisions: [String: Int64] = [:]
        var appends = 0
        /// A subscriber's position and whether it has caught up yet.
        var cursor = SubscriptionCursor.start
        var subscribed = false
        /// The caught-up marker was recorded.
        var markedCaughtUp = false
        /// When the subscriber asked for its current batch.
        var batchInvokedAt = 0
        /// Caught up after the faults stopped: nothing more to do.
        var finished = false
        /// The history operation the client's request belongs to (appends and reads).
        var operation: Int?
    }

    var clients: [ClientState] = []
    var operations: [ChorusCheck.EventStoreOperation] = []
    var records: [SubscriptionRecord] = []
    var instant = 0
    let streamCount: Int

    init(clientCount: Int, streamCount: Int, random: inout SeededGenerator) {
        self.streamCount = streamCount
        for index in 0..<clientCount {
            let role: Role
            switch index % 4 {
            case 3:
                let draw = random.next() % UInt64(streamCount + 1)
                role = .subscriber(stream: draw == UInt64(streamCount) ? nil : "s\(draw)")
            case 2: role = random.chance(0.5) ? .reader : .appender
            default: role = .appender
            }
            clients.append(ClientState(role: role))
        }
    }

    mutating func nextInstant() -> Int {
        instant += 1
        return instant
    }

    /// The event id of a client's n-th append's k-th event: unique, and the
    /// same on every retry.
    static func eventID(client: Int, append: Int, event: Int) -> EventID {
        EventID(high: UInt64(client + 1) << 32 | UInt64(append), low: 0xC0DE_0000_0000_0000 | UInt64(event))
    }

    func isDone(_ client: Int) -> Bool {
        if case .subscriber = clients[client].role { return clients[client].finished }
        return true
    }
}

extension Simulation {
    /// Starts the next operation of event-store client `client`.
    func startEventOperation(client: Int) {
        let role = eventWorkload.clients[client].role
        if case .subscriber = role {
            // Subscribers keep pulling until they have caught up once the faults stop.
            guard !eventWorkload.clients[client].finished else { return }
        } else if phase != .safety {
            return
        }
        guard clients[client].current == nil else { return }
        let body: ClientRequest.Body
        switch role {
        case .appender:
            body = startAppend(client: client)
        case .reader:
            let stream = "s\(random.next() % UInt64(eventWorkload.streamCount))"
            let invoked = eventWorkload.nextInstant()
            eventWorkload.operations.append(ChorusCheck.EventStoreOperation(
                process: ProcessID(Int64(client)), stream: stream,
                kind: .read(direction: .forwards, from: nil, limit: 4_096, linearizable: true, events: nil),
                invokedAt: invoked, completedAt: nil))
            eventWorkload.clients[client].operation = eventWorkload.operations.count - 1
            let request = StreamReadRequest(stream: StreamName(stream), direction: .forwards, from: .start, maximumCount: 4_096)
            body = .read(.eventStore(.readStream(request)), .linearizable)
        case .subscriber(let stream):
            let name = stream ?? allStreamName
            if !eventWorkload.clients[client].subscribed {
                eventWorkload.clients[client].subscribed = true
                eventWorkload.records.append(SubscriptionRecord(
                    subscriber: "c\(client)", event: .subscribe(stream: name, group: nil, from: 0),
                    instant: eventWorkload.nextInstant()))
            }
            let source: SubscriptionSource = stream.map { .stream(StreamName($0)) } ?? .all(EventFilter())
            let query = EventStoreQuery.subscriptionBatch(source: source, after: eventWorkload.clients[client].cursor, maximumCount: 32)
            eventWorkload.clients[client].batchInvokedAt = eventWorkload.nextInstant()
            // A linearizable batch: "caught up" then means every append
            // acknowledged before the batch was asked for is in it.
            body = .read(.eventStore(query), .linearizable)
        }
        trace("client \(client) invokes \(role)")
        clients[client].current = SimulatedClient.InFlight(historyIndex: -1, body: body, requestID: 0, isRead: false)
        sendAttempt(client: client)
    }

    private func startAppend(client: Int) -> ClientRequest.Body {
        let stream = "s\(random.next() % UInt64(eventWorkload.streamCount))"
        eventWorkload.clients[client].appends += 1
        let number = eventWorkload.clients[client].appends
        let count = 1 + Int(random.next() % 3)
        let ids = (0..<count).map { EventWorkload.eventID(client: client, append: number, event: $0) }
        let known = eventWorkload.clients[client].knownRevisions[stream] ?? -1
        let expected: (check: ChorusCheck.ExpectedState, store: ChorusEventStore.ExpectedState)
        switch random.next() % 10 {
        case 0, 1, 2: expected = (.any, .any)
        case 3: expected = (.noStream, .noStream)
        case 4, 5: expected = (.streamExists, .streamExists)
        default:
            expected = known < 0 ? (.noStream, .noStream) : (.exact(known), .revision(StreamRevision(UInt64(known))))
        }
        let proposed = ids.map { ProposedEvent(id: $0, type: "sim-event", data: Array("{\"client\":\(client)}".utf8)) }
        let command = EventStoreCommand(
            recordedTime: .epoch,
            operation: .append(StreamAppend(stream: StreamName(stream), expected: expected.store, events: proposed)))
        let invoked = eventWorkload.nextInstant()
        eventWorkload.operations.append(ChorusCheck.EventStoreOperation(
            process: ProcessID(Int64(client)), stream: stream,
            kind: .append(expected: expected.check, eventIDs: ids.map(\.description), result: .indeterminate),
            invokedAt: invoked, completedAt: nil))
        eventWorkload.clients[client].operation = eventWorkload.operations.count - 1
        return .write(.eventStore(command), key: IdempotencyKey(bytes: ids[0].bytes))
    }

    /// The answer to an event-store client's request.
    func completeEventOperation(_ body: ClientResponse.Body, client: Int, current: SimulatedClient.InFlight) {
        switch (eventWorkload.clients[client].role, body) {
        case (.appender, .written(.eventStore(let result), _)):
            finishAppend(result, client: client)
        case (.reader, .read(.eventStore(.stream(let result)), _)):
            finishRead(result, client: client)
        case (.subscriber, .read(.eventStore(.subscriptionBatch(let result)), _)):
            deliver(result, client: client)
        default:
            // A machine's refusal of something the workload never sends wrongly.
            if let operation = eventWorkload.clients[client].operation { eventWorkload.operations[operation].completedAt = eventWorkload.nextInstant() }
        }
        eventWorkload.clients[client].operation = nil
    }

    private func finishAppend(_ result: EventStoreResult, client: Int) {
        guard let index = eventWorkload.clients[client].operation,
            case .append(let expected, let ids, _) = eventWorkload.operations[index].kind
        else { return }
        let stream = eventWorkload.operations[index].stream
        let outcome: AppendResult
        switch result {
        case .appended(let appended):
            let revisions = (appended.firstRevision.rawValue...appended.lastRevision.rawValue).map { Int64($0) }
            let positions = (appended.firstPosition.rawValue...appended.lastPosition.rawValue).map { Int64($0) }
            outcome = .appended(revisions: revisions, positions: positions)
            eventWorkload.clients[client].knownRevisions[stream] = max(
                eventWorkload.clients[client].knownRevisions[stream] ?? -1, Int64(appended.lastRevision.rawValue))
        case .wrongExpectedVersion(let failure):
            let actual: Int64
            switch failure.actual {
            case .absent: actual = -1
            case .revision(let revision), .softDeleted(let revision): actual = Int64(revision.rawValue)
            case .tombstoned: actual = -1
            }
            outcome = .wrongExpectedVersion(actual: actual)
            eventWorkload.clients[client].knownRevisions[stream] = actual
        default:
            outcome = .refused(result.code)
        }
        eventWorkload.operations[index].kind = .append(expected: expected, eventIDs: ids, result: outcome)
        eventWorkload.operations[index].completedAt = eventWorkload.nextInstant()
    }

    private func finishRead(_ result: StreamReadResult, client: Int) {
        guard let index = eventWorkload.clients[client].operation,
            case .read(let direction, let from, let limit, let linearizable, _) = eventWorkload.operations[index].kind
        else { return }
        var observed: [ObservedEvent] = []
        if case .events(let page) = result {
            observed = page.events.map(Self.observed)
            eventWorkload.clients[client].knownRevisions[eventWorkload.operations[index].stream] = Int64(page.lastRevision.rawValue)
        }
        eventWorkload.operations[index].kind = .read(
            direction: direction, from: from, limit: limit, linearizable: linearizable, events: observed)
        eventWorkload.operations[index].completedAt = eventWorkload.nextInstant()
    }

    private func deliver(_ result: SubscriptionBatchResult, client: Int) {
        guard case .batch(let batch) = result else { return }
        for event in batch.events {
            eventWorkload.records.append(SubscriptionRecord(
                subscriber: "c\(client)", event: .deliver(Self.observed(event)), instant: eventWorkload.nextInstant()))
        }
        eventWorkload.clients[client].cursor = batch.cursor
        if batch.isCaughtUp && batch.events.isEmpty && !eventWorkload.clients[client].markedCaughtUp {
            // The claim is as of the batch's request, not its answer: an
            // append acknowledged while an empty, linearizable batch was on its
            // way may be after the read's point. Everything acknowledged before
            // the request was linearized before it, and was delivered already.
            eventWorkload.clients[client].markedCaughtUp = true
            eventWorkload.records.append(SubscriptionRecord(
                subscriber: "c\(client)", event: .caughtUp, instant: eventWorkload.clients[client].batchInvokedAt))
        }
        // Caught up during the safety phase, the subscriber stays live; in the
        // liveness phase it stops once it has seen the head.
        eventWorkload.clients[client].finished = batch.isCaughtUp && phase == .liveness
    }

    static func observed(_ event: RecordedEvent) -> ObservedEvent {
        ObservedEvent(
            id: event.id.description, stream: event.stream.text, revision: Int64(event.revision.rawValue),
            position: Int64(event.position.rawValue))
    }

    /// What an event-store client's unanswered request leaves in the history
    /// at the end (appends stay indeterminate; reads without answers vanish).
    func eventHistory() -> EventStoreHistory? {
        try? EventStoreHistory(operations: eventWorkload.operations, records: eventWorkload.records)
    }

    /// The proposing server's clock for event timestamps: virtual time, with
    /// that server's drift (a leader's clock, never a follower's).
    func recordedTime(on server: Int) -> RecordedTime {
        let drifted = now * servers[server - 1].tickMicroseconds / parameters.tickMicroseconds
        return RecordedTime(microsecondsSinceEpoch: 1_700_000_000_000_000 + Int64(drifted))
    }
}
