import ChorusCore

@testable import ChorusEventStore

/// A dumb reference for the store's rules: every event ever appended in one
/// array, linear scans for everything, the id window as a plain list. Slow
/// and obvious, so that the real store's indexes, window and scavenge can be
/// checked against it.
struct ReferenceModel {
    struct Event: Equatable {
        var stream: String
        var revision: UInt64
        var position: UInt64
        var id: UInt64
        var time: Int64
        var batchStart: Bool
        var batchEnd: Bool
        var incarnationStart: Bool
    }

    struct Stream {
        var name: String
        var next: UInt64 = 0
        var status = 0  // 0 active, 1 soft-deleted, 2 tombstoned
        var softBefore: UInt64 = 0
        var metadata = StreamMetadata.none
        var retainedStart: UInt64 = 0
    }

    struct WindowEntry {
        var stream: String
        var id: UInt64
        var revision: UInt64
        var position: UInt64
        var time: Int64
        var batchStart: Bool
        var batchEnd: Bool
        var incarnationStart: Bool
    }

    let windowMax: Int
    let windowAge: Int64
    var events: [Event] = []
    var streams: [String: Stream] = [:]
    var window: [WindowEntry] = []
    var clock: Int64 = 0
    var nextPosition: UInt64 = 0

    init(limits: EventStoreLimits) {
        windowMax = limits.idempotencyWindowMaxEvents
        windowAge = Int64(limits.idempotencyWindowMaxAge.rawValue)
    }

    // MARK: Outcomes, reduced to what both sides can state

    enum Summary: Equatable, CustomStringConvertible {
        case placed([Placement])
        case wrong(ActualStreamState, WrongExpectedVersionCause)
        case violations([String])
        case deleted
        case invalid
        case done

        var description: String {
            switch self {
            case .placed(let placements): "placed \(placements)"
            case .wrong(let actual, let cause): "wrong \(actual) \(cause)"
            case .violations(let list): "violations \(list)"
            case .deleted: "deleted"
            case .invalid: "invalid"
            case .done: "done"
            }
        }
    }

    static func summarize(_ result: EventStoreResult) -> Summary {
        func describe(_ violation: ConditionViolation) -> String {
            switch violation.kind {
            case .streamDeleted: "\(violation.stream) \(violation.isCheckOnly) deleted"
            case .wrongExpectedVersion(_, let actual, let cause): "\(violation.stream) \(violation.isCheckOnly) \(actual) \(cause)"
            }
        }
        switch result {
        case .appended(let outcome): return .placed([Placement(outcome)])
        case .appendedMultiple(let outcome): return .placed(outcome.streams.map(Placement.init))
        case .wrongExpectedVersion(let failure): return .wrong(failure.actual, failure.cause)
        case .multiStreamConditionsFailed(let list): return .violations(list.map(describe))
        case .streamDeleted: return .deleted
        case .invalidEvent: return .invalid
        default: return .done
        }
    }

    // MARK: State

    func state(_ name: String) -> ActualStreamState {
        guard let stream = streams[name] else { return .absent }
        switch stream.status {
        case 2: return .tombstoned
        case 1: return .softDeleted(lastRevision: StreamRevision(stream.next - 1))
        default: return stream.next == 0 ? .absent : .revision(StreamRevision(stream.next - 1))
        }
    }

    func satisfied(_ expected: ExpectedState, _ state: ActualStreamState) -> Bool {
        switch (expected, state) {
        case (_, .tombstoned): return false
        case (.any, _): return true
        case (.noStream, .absent), (.noStream, .softDeleted): return true
        case (.streamExists, .revision): return true
        case (.revision(let r), .revision(let actual)): return r == actual
        case (.revision(let r), .softDeleted(let last)): return r == last
        default: return false
        }
    }

    func retained(_ name: String, _ revision: UInt64) -> Event? {
        guard let stream = streams[name], revision >= stream.retainedStart else { return nil }
        return events.first { $0.stream == name && $0.revision == revision }
    }

    func windowEntry(_ name: String, _ id: UInt64) -> WindowEntry? { window.first { $0.stream == name && $0.id == id } }

    mutating func tick(_ time: Int64) {
        clock = Swift.max(clock, time)
        evict()
    }

    mutating func evict() {
        while let first = window.first, window.count > windowMax || first.time < clock &- windowAge { window.removeFirst() }
    }

    // MARK: Appends

    enum Decision { case write(incarnation: Bool), retry(Placement), refused(Summary) }

    func decide(_ name: String, _ expected: ExpectedState, _ ids: [UInt64]) -> Decision {
        let current = state(name)
        if current == .tombstoned { return .refused(.deleted) }
        if streams[name] != nil {
            var first = windowEntry(name, ids[0])?.revision
            if first == nil {
                var candidate: UInt64?
                if case .revision(let r) = expected { candidate = r.rawValue + 1 }
                if expected == .noStream { candidate = streams[name]!.softBefore }
                if let candidate, retained(name, candidate)?.id == ids[0] { first = candidate }
            }
            if let first {
                var infos: [(position: UInt64, start: Bool, end: Bool, incarnation: Bool)] = []
                for (offset, id) in ids.enumerated() {
                    let revision = first + UInt64(offset)
                    if let event = retained(name, revision) {
                        guard event.id == id else { return .refused(.wrong(current, .partialRetry)) }
                        infos.append((event.position, event.batchStart, event.batchEnd, event.incarnationStart))
                    } else if let entry = windowEntry(name, id), entry.revision == revision {
                        infos.append((entry.position, entry.batchStart, entry.batchEnd, entry.incarnationStart))
                    } else {
                        return .refused(.wrong(current, .partialRetry))
                    }
                }
                guard infos.first!.start, infos.last!.end else { return .refused(.wrong(current, .partialRetry)) }
                let held: Bool
                switch expected {
                case .any: held = true
                case .noStream: held = infos[0].incarnation
                case .streamExists: held = !infos[0].incarnation
                case .revision(let r): held = first == r.rawValue + 1
                }
                guard held else { return .refused(.wrong(current, .retryWithDifferentExpectation)) }
                return .retry(
                    Placement(first...(first + UInt64(ids.count) - 1), at: infos.first!.position...infos.last!.position, .alreadyWritten))
            }
            if ids.dropFirst().contains(where: { windowEntry(name, $0) != nil }) { return .refused(.wrong(current, .partialRetry)) }
        }
        guard satisfied(expected, current) else { return .refused(.wrong(current, .stateMismatch)) }
        switch current {
        case .absent, .softDeleted: return .write(incarnation: true)
        default: return .write(incarnation: false)
        }
    }

    mutating func commit(_ name: String, _ ids: [UInt64], incarnation: Bool) -> Placement {
        var stream = streams[name] ?? Stream(name: name)
        if stream.status == 1 { stream.status = 0 }
        let firstRevision = stream.next
        let firstPosition = nextPosition
        for (offset, id) in ids.enumerated() {
            let event = Event(
                stream: name, revision: stream.next, position: nextPosition, id: id, time: clock, batchStart: offset == 0,
                batchEnd: offset == ids.count - 1, incarnationStart: offset == 0 && incarnation)
            events.append(event)
            window.removeAll { $0.stream == name && $0.id == id }
            window.append(
                WindowEntry(
                    stream: name, id: id, revision: event.revision, position: event.position, time: clock, batchStart: event.batchStart,
                    batchEnd: event.batchEnd, incarnationStart: event.incarnationStart))
            stream.next += 1
            nextPosition += 1
        }
        streams[name] = stream
        evict()
        return Placement(firstRevision...(stream.next - 1), at: firstPosition...(nextPosition - 1))
    }

    mutating func append(_ name: String, _ expected: ExpectedState, _ ids: [UInt64]) -> Summary {
        if Set(ids).count != ids.count { return .invalid }
        switch decide(name, expected, ids) {
        case .refused(let summary): return summary
        case .retry(let placement): return .placed([placement])
        case .write(let incarnation): return .placed([commit(name, ids, incarnation: incarnation)])
        }
    }

    mutating func appendMultiple(_ writes: [(String, ExpectedState, [UInt64])], checks: [(String, ExpectedState)]) -> Summary {
        if writes.contains(where: { Set($0.2).count != $0.2.count }) { return .invalid }
        let decisions = writes.map { decide($0.0, $0.1, $0.2) }
        var violations: [String] = []
        var retries: [Placement] = []
        var anyNotNew = false
        for ((name, _, _), decision) in zip(writes, decisions) {
            switch decision {
            case .write: break
            case .retry(let placement):
                anyNotNew = true
                retries.append(placement)
            case .refused(let summary):
                anyNotNew = true
                violations.append(describe(name, false, summary))
            }
        }
        if violations.isEmpty && retries.count == writes.count { return .placed(retries) }
        if anyNotNew {
            violations = zip(writes, decisions).compactMap { write, decision in
                switch decision {
                case .write: return nil
                case .retry: return describe(write.0, false, .wrong(state(write.0), .partialRetry))
                case .refused(let summary): return describe(write.0, false, summary)
                }
            }
        }
        for (name, expected) in checks {
            let current = state(name)
            if current == .tombstoned {
                if expected != .any && expected != .noStream { violations.append("\(name) true deleted") }
            } else if !satisfied(expected, current) {
                violations.append(describe(name, true, .wrong(current, .stateMismatch)))
            }
        }
        if !violations.isEmpty { return .violations(violations) }
        var placements: [Placement] = []
        for ((name, _, ids), decision) in zip(writes, decisions) {
            guard case .write(let incarnation) = decision else { fatalError("unreachable") }
            placements.append(commit(name, ids, incarnation: incarnation))
        }
        return .placed(placements)
    }

    func describe(_ name: String, _ checkOnly: Bool, _ summary: Summary) -> String {
        switch summary {
        case .deleted: "\(name) \(checkOnly) deleted"
        case .wrong(let actual, let cause): "\(name) \(checkOnly) \(actual) \(cause)"
        default: "?"
        }
    }

    // MARK: Deletes, metadata, scavenge

    mutating func softDelete(_ name: String, _ expected: ExpectedState) -> Summary {
        let current = state(name)
        if current == .tombstoned { return .deleted }
        guard satisfied(expected, current) else { return .wrong(current, .stateMismatch) }
        if case .revision = current {
            streams[name]!.status = 1
            streams[name]!.softBefore = streams[name]!.next
        }
        return .done
    }

    mutating func hardDelete(_ name: String, _ expected: ExpectedState) -> Summary {
        let current = state(name)
        if current == .tombstoned { return .deleted }
        guard satisfied(expected, current) else { return .wrong(current, .stateMismatch) }
        var stream = streams[name] ?? Stream(name: name)
        stream.status = 2
        streams[name] = stream
        return .done
    }

    mutating func setMetadata(_ name: String, _ metadata: StreamMetadata) -> Summary {
        if state(name) == .tombstoned { return .deleted }
        var stream = streams[name] ?? Stream(name: name)
        stream.metadata = metadata
        streams[name] = stream
        return .done
    }

    func visibleStart(_ stream: Stream) -> UInt64 {
        if stream.status == 2 { return stream.next }
        var cut = Swift.max(stream.softBefore, stream.metadata.truncateBefore?.rawValue ?? 0)
        if let maximumCount = stream.metadata.maximumCount, stream.next > maximumCount { cut = Swift.max(cut, stream.next - maximumCount) }
        cut = Swift.max(Swift.min(cut, stream.next), stream.retainedStart)
        if let maximumAge = stream.metadata.maximumAge {
            let threshold = clock &- Int64(clamping: maximumAge.rawValue)
            while cut < stream.next, retained(stream.name, cut)!.time < threshold { cut += 1 }
        }
        return cut
    }

    mutating func scavenge() {
        for name in streams.keys { streams[name]!.retainedStart = visibleStart(streams[name]!) }
    }

    // MARK: Reads

    /// "rev:id@pos" of a whole stream read, or "not found" / "deleted".
    func readStream(_ name: String) -> [String] {
        guard let stream = streams[name] else { return ["not found"] }
        if stream.status == 2 { return ["deleted"] }
        if stream.status == 1 || stream.next == 0 { return ["not found"] }
        let start = visibleStart(stream)
        return (start..<stream.next).map { revision in
            let event = retained(name, revision)!
            return "\(event.revision):\(event.id)@\(event.position)"
        } + ["last \(stream.next - 1)"]
    }

    func readAll() -> [String] {
        events.filter { $0.revision >= streams[$0.stream]!.retainedStart }.map { "\($0.stream)/\($0.revision)@\($0.position)" }
    }
}
