import ChorusCore
/// Appends: the expected-state check and exact idempotency by event id.
///
/// The decision for one stream's batch, in order (KurrentDB's
/// `IndexWriter.CheckCommit`, made exact where it is best-effort):
///
/// 1. A tombstoned stream refuses: `streamDeleted`, whatever the batch.
/// 2. Is the batch a retry? Its first id is looked up in the id window for
///    this stream; failing that, at the revision the expectation names
///    (`revision r`: r + 1; `no_stream`: where the current incarnation
///    began), among the retained events. If found at revision s, the batch is
///    an exact retry only if its ids are exactly the events s, s+1, … of the
///    stream, in order, s began a batch and the last one ended it; anything
///    else is `wrongExpectedVersion` (`partialRetry`). An exact retry succeeds
///    with the original revisions and positions, writing nothing, if the
///    request's expectation held when the original was written (`any`
///    always; `no_stream` if it started the stream's incarnation;
///    `stream_exists` if it did not; `revision r` if s = r + 1); otherwise
///    `wrongExpectedVersion` (`retryWithDifferentExpectation`). If the first id
///    is unknown but a later id of the batch is in the window for this
///    stream, the batch overlaps an earlier one: `partialRetry`.
/// 3. Otherwise the expectation is checked against the stream's state.
extension EventStore {
    enum WriteDecision {
        case write(incarnationStart: Bool)
        case alreadyWritten(AppendOutcome)
        case refused(ConditionViolation.Kind)
    }

    enum RetryMatch {
        case none
        case partial
        case exact(firstRevision: UInt64)
    }

    /// What is known about the event at one revision of a stream: from its
    /// retained record, or from the id window once it was scavenged.
    struct StoredEventInfo {
        var position: UInt64
        var flags: EventFlags
    }

    mutating func executeAppend(_ append: StreamAppend) -> EventStoreResult {
        if let problem = append.stream.validate(limits: limits) { return .invalidStreamName(append.stream, problem) }
        if let refusal = validate(batches: [append.events]) { return refusal }
        switch decideWrite(append) {
        case .refused(.streamDeleted):
            return .streamDeleted(append.stream)
        case .refused(.wrongExpectedVersion(let expected, let actual, let cause)):
            return .wrongExpectedVersion(WrongExpectedVersion(stream: append.stream, expected: expected, actual: actual, cause: cause))
        case .alreadyWritten(let outcome):
            return .appended(outcome)
        case .write(let incarnationStart):
            let bytes = append.events.reduce(0) { $0 + $1.payloadByteCount }
            let isNew = streamNumber(append.stream) == nil
            if let full = makeRoom(newStreams: isNew ? 1 : 0, events: append.events.count, bytes: bytes) { return .storeFull(full) }
            let horizon = idempotencyHorizon
            return .appended(commit(append, incarnationStart: incarnationStart, horizon: horizon))
        }
    }

    mutating func executeMultiStreamAppend(_ multiple: MultiStreamAppend) -> EventStoreResult {
        let streamTotal = multiple.writes.count + multiple.checks.count
        if streamTotal > limits.maximumStreamsPerMultiAppend {
            return .invalidEvent(
                InvalidEvent(
                    streamIndex: nil, eventIndex: nil,
                    problem: .tooManyStreams(count: streamTotal, limit: limits.maximumStreamsPerMultiAppend)))
        }
        if multiple.writes.isEmpty { return .invalidEvent(InvalidEvent(streamIndex: nil, eventIndex: nil, problem: .noEvents)) }
        var named = Set<StreamName>()
        for (index, write) in multiple.writes.enumerated() {
            if let problem = write.stream.validate(limits: limits) { return .invalidStreamName(write.stream, problem) }
            if !named.insert(write.stream).inserted {
                return .invalidEvent(InvalidEvent(streamIndex: index, eventIndex: nil, problem: .duplicateStream(write.stream)))
            }
        }
        for (index, check) in multiple.checks.enumerated() {
            if let problem = check.stream.validateAnyStream(limits: limits) { return .invalidStreamName(check.stream, problem) }
            if !named.insert(check.stream).inserted {
                return .invalidEvent(
                    InvalidEvent(
                        streamIndex: multiple.writes.count + index, eventIndex: nil, problem: .duplicateStream(check.stream)))
            }
        }
        if let refusal = validate(batches: multiple.writes.map(\.events)) { return refusal }

        let decisions = multiple.writes.map { decideWrite($0) }
        var violations: [ConditionViolation] = []
        var written: [AppendOutcome] = []
        var allNew = true
        for (write, decision) in zip(multiple.writes, decisions) {
            switch decision {
            case .write:
                break
            case .alreadyWritten(let outcome):
                allNew = false
                written.append(outcome)
            case .refused(let kind):
                allNew = false
                violations.append(ConditionViolation(stream: write.stream, isCheckOnly: false, kind: kind))
            }
        }
        // KurrentDB's rule: a retry of a multi-stream append whose every written
        // stream is an exact retry succeeds whatever the check-only streams say now.
        if violations.isEmpty && written.count == multiple.writes.count {
            return .appendedMultiple(MultiStreamAppendOutcome(streams: written, disposition: .alreadyWritten))
        }
        if !allNew {
            // A mixture of retried and new streams is neither a retry nor a new
            // append: each retried stream is reported as already moved on.
            violations = zip(multiple.writes, decisions).compactMap { write, decision in
                switch decision {
                case .write: return nil
                case .refused(let kind): return ConditionViolation(stream: write.stream, isCheckOnly: false, kind: kind)
                case .alreadyWritten:
                    return ConditionViolation(
                        stream: write.stream, isCheckOnly: false,
                        kind: .wrongExpectedVersion(
                            expected: write.expected, actual: actualState(of: streamNumber(write.stream)), cause: .partialRetry))
                }
            }
        }
        for check in multiple.checks {
            if let kind = checkOnlyViolation(check) {
                violations.append(ConditionViolation(stream: check.stream, isCheckOnly: true, kind: kind))
            }
        }
        if !violations.isEmpty { return .multiStreamConditionsFailed(violations) }

        let newStreams = multiple.writes.filter { streamNumber($0.stream) == nil }.count
        let events = multiple.writes.reduce(0) { $0 + $1.events.count }
        let bytes = multiple.writes.reduce(0) { total, write in write.events.reduce(total) { $0 + $1.payloadByteCount } }
        if let full = makeRoom(newStreams: newStreams, events: events, bytes: bytes) { return .storeFull(full) }
        let horizon = idempotencyHorizon
        var outcomes: [AppendOutcome] = []
        for (write, decision) in zip(multiple.writes, decisions) {
            guard case .write(let incarnationStart) = decision else {
                preconditionFailure("a multi-stream append commits only when every stream is new")
            }
            outcomes.append(commit(write, incarnationStart: incarnationStart, horizon: horizon))
        }
        return .appendedMultiple(MultiStreamAppendOutcome(streams: outcomes, disposition: .written))
    }

    /// A check-only condition's violation, or nil when it holds. On a tombstoned
    /// stream `any` and `no_stream` hold (as in KurrentDB: nothing is written
    /// there, and the stream has no events).
    func checkOnlyViolation(_ check: StreamCondition) -> ConditionViolation.Kind? {
        let state = actualState(of: streamNumber(check.stream))
        if state == .tombstoned {
            switch check.expected {
            case .any, .noStream: return nil
            default: return .streamDeleted
            }
        }
        if check.expected.isSatisfied(by: state) { return nil }
        return .wrongExpectedVersion(expected: check.expected, actual: state, cause: .stateMismatch)
    }

    var idempotencyHorizon: IdempotencyHorizon? {
        window.oldest.map {
            IdempotencyHorizon(
                oldestPosition: GlobalPosition($0.entry.position), oldestRecordedTime: RecordedTime(rawValue: $0.entry.recordedTime))
        }
    }

    func decideWrite(_ append: StreamAppend) -> WriteDecision {
        let number = streamNumber(append.stream)
        let state = actualState(of: number)
        if state == .tombstoned { return .refused(.streamDeleted) }
        if let number {
            switch locateRetry(in: number, expected: append.expected, ids: append.events.map(\.id)) {
            case .none:
                break
            case .partial:
                return .refused(.wrongExpectedVersion(expected: append.expected, actual: state, cause: .partialRetry))
            case .exact(let first):
                let stream = streams[Int(number)]
                let head = storedEventInfo(stream: number, revision: first, id: append.events[0].id)!
                let last = first + UInt64(append.events.count) - 1
                let tail = storedEventInfo(stream: number, revision: last, id: append.events[append.events.count - 1].id)!
                let held: Bool
                switch append.expected {
                case .any: held = true
                case .noStream: held = head.flags.contains(.incarnationStart)
                case .streamExists: held = !head.flags.contains(.incarnationStart)
                case .revision(let revision): held = revision.rawValue < UInt64.max && first == revision.rawValue + 1
                }
                guard held else {
                    return .refused(
                        .wrongExpectedVersion(expected: append.expected, actual: state, cause: .retryWithDifferentExpectation))
                }
                return .alreadyWritten(
                    AppendOutcome(
                        stream: stream.name, firstRevision: StreamRevision(first), lastRevision: StreamRevision(last),
                        firstPosition: GlobalPosition(head.position), lastPosition: GlobalPosition(tail.position),
                        disposition: .alreadyWritten, idempotencyHorizon: idempotencyHorizon))
            }
        }
        let ignoresExpectation: Bool
        if injectedBug == .appendIgnoresExpectedVersion, case .revision = append.expected {
            ignoresExpectation = true
        } else {
            ignoresExpectation = false
        }
        guard ignoresExpectation || append.expected.isSatisfied(by: state) else {
            return .refused(.wrongExpectedVersion(expected: append.expected, actual: state, cause: .stateMismatch))
        }
        switch state {
        case .absent, .softDeleted: return .write(incarnationStart: true)
        case .revision, .tombstoned: return .write(incarnationStart: false)
        }
    }

    /// Whether `ids` are an earlier batch of the stream (see the type's doc).
    func locateRetry(in number: UInt32, expected: ExpectedState, ids: [EventID]) -> RetryMatch {
        let stream = streams[Int(number)]
        var first = window.lookup(IdempotencyWindow.Key(stream: number, id: ids[0]))?.revision
        if first == nil {
            let candidate: UInt64?
            switch expected {
            case .revision(let revision): candidate = revision.rawValue < UInt64.max ? revision.rawValue + 1 : nil
            case .noStream: candidate = stream.softDeletedBefore
            case .any, .streamExists: candidate = nil
            }
            if let candidate, let slot = stream.slot(ofRevision: candidate), log[slot].id == ids[0] { first = candidate }
        }
        guard let first else {
            for id in ids.dropFirst() where window.lookup(IdempotencyWindow.Key(stream: number, id: id)) != nil {
                return .partial
            }
            return .none
        }
        let count = UInt64(ids.count)
        guard first <= stream.nextRevision, stream.nextRevision - first >= count else { return .partial }
        for (offset, id) in ids.enumerated() {
            guard let info = storedEventInfo(stream: number, revision: first + UInt64(offset), id: id) else { return .partial }
            if offset == 0 && !info.flags.contains(.batchStart) { return .partial }
            if offset == ids.count - 1 && !info.flags.contains(.batchEnd) { return .partial }
        }
        return .exact(firstRevision: first)
    }

    /// The event at `revision` of the stream, if it is known to have id `id`:
    /// from the retained record, or from the window when it was scavenged.
    func storedEventInfo(stream number: UInt32, revision: UInt64, id: EventID) -> StoredEventInfo? {
        if let slot = streams[Int(number)].slot(ofRevision: revision) {
            let record = log[slot]
            return record.id == id ? StoredEventInfo(position: record.position, flags: record.flags) : nil
        }
        guard let entry = window.lookup(IdempotencyWindow.Key(stream: number, id: id)), entry.revision == revision else {
            return nil
        }
        return StoredEventInfo(position: entry.position, flags: entry.flags)
    }

    /// Writes one stream's batch. Precondition: the decision was `.write` and there is room.
    mutating func commit(_ append: StreamAppend, incarnationStart: Bool, horizon: IdempotencyHorizon?) -> AppendOutcome {
        let number = ensureStream(append.stream)
        let index = Int(number)
        precondition(streams[index].status != .tombstoned, "commit to a tombstoned stream")
        if streams[index].status == .softDeleted {
            streams[index].status = .active
            streams[index].rulesChangedAt = nextPosition
        }
        let firstRevision = streams[index].nextRevision
        let firstPosition = nextPosition
        let recordInWindow = !append.stream.isSystem
        for (offset, event) in append.events.enumerated() {
            var flags: EventFlags = []
            if offset == 0 { flags.insert(.batchStart) }
            if offset == append.events.count - 1 { flags.insert(.batchEnd) }
            if offset == 0 && incarnationStart { flags.insert(.incarnationStart) }
            appendEvent(event, to: number, flags: flags, recordInWindow: recordInWindow)
        }
        refreshReclaimable(number)
        if recordInWindow {
            window.evict(
                maximumEvents: limits.idempotencyWindowMaxEvents, recordedBefore: clock.subtracting(limits.idempotencyWindowMaxAge))
        }
        return AppendOutcome(
            stream: append.stream, firstRevision: StreamRevision(firstRevision),
            lastRevision: StreamRevision(streams[index].nextRevision - 1), firstPosition: GlobalPosition(firstPosition),
            lastPosition: GlobalPosition(nextPosition - 1), disposition: .written, idempotencyHorizon: horizon)
    }

    /// Appends one event at the stream's next revision and the store's next position.
    mutating func appendEvent(_ event: ProposedEvent, to number: UInt32, flags: EventFlags, recordInWindow: Bool) {
        let index = Int(number)
        let revision = streams[index].nextRevision
        let record = EventRecord(
            position: nextPosition, revision: revision, recordedTime: clock.rawValue, id: event.id, stream: number,
            schemaVersion: event.schemaVersion, payloadChunk: 0, payloadOffset: 0, dataLength: UInt32(event.data.count),
            metadataLength: UInt32(event.metadata.count), typeLength: UInt16(event.type.utf8.count),
            contentType: event.contentType, flags: flags)
        let slot = log.append(record, type: event.type.utf8, data: event.data, metadata: event.metadata)
        if streams[index].entries.isEmpty { streams[index].retainedStart = revision }
        streams[index].entries.append(UInt32(slot))
        if recordInWindow {
            window.record(
                IdempotencyWindow.Key(stream: number, id: event.id),
                IdempotencyWindow.Entry(revision: revision, position: nextPosition, recordedTime: clock.rawValue, flags: flags))
        }
        streams[index].nextRevision = revision + 1
        nextPosition += 1
    }
}
