/// Checks the four session guarantees of Terry et al. (PDIS 1994) on a
/// key-value history whose writes are ordered per key (versions, or a stated
/// write order), and reports each guarantee separately, every violation with
/// the few operations that show it.
///
/// Session order: within a session, A precedes B when A completed before B
/// was invoked (a session token is handed on only after an answer). Only
/// `:ok` operations constrain later ones: a write that timed out is not one
/// the session may count on reading. Reading order o of a key means the
/// replica held every write of that key ordered at or before o.
///
/// What is checked, per guarantee:
///
/// - **read your writes**: a read of key k returns an order at or after
///   every write of k the session completed before the read.
/// - **monotonic reads**: a read of k returns an order at or after every
///   order of k an earlier read of the session returned.
/// - **monotonic writes**: a session's later write of k is ordered after its
///   earlier writes of k; and across keys, a replica holding a write holds the
///   session's earlier writes: a session that read the later write, and then
///   read the earlier write's key, must see it.
/// - **writes follow reads**: a session's write of k is ordered after the
///   writes of k its earlier reads returned; and across keys, a session that
///   read the write, then read a key the writer had read, must see at least
///   what the writer saw.
///
/// The across-keys parts follow dependencies transitively (Terry's "for any
/// server S2" applies again at each step), through a graph of session order,
/// reads-from and key order; a chain made only of sessions' own writes and
/// key order is a monotonic-writes violation, one that passes through a
/// read is a writes-follow-reads violation. They take the observing
/// session's two reads as one replica's view, which is what its own
/// monotonic reads promise. A cycle in that graph (two sessions each reading
/// the other's later write) is reported the same way. Everything is
/// polynomial: a sweep over the events, and bit-set reachability over the
/// graph's strongly connected components.
public enum SessionChecker {
    public static func check(_ history: KeyValueHistory) throws(HistoryError) -> PropertyCheckResult {
        let start = ContinuousClock.now
        let resolution = try WriteOrderResolution(history)
        var run = SessionRun(resolution: resolution)
        run.sweepSessions()
        run.checkAcrossSessions()
        var properties = run.tallies.map(\.result)
        properties.append(resolution.integrity.result)
        return PropertyCheckResult(checker: "session", properties: properties, duration: ContinuousClock.now - start)
    }
}

/// One run of the session checker: the sweep's per-session state, the
/// requirements each read and write met, and the tallies.
struct SessionRun {
    /// Edge kinds of the dependency graph.
    enum EdgeKind {
        static let sessionOrder: UInt8 = 0
        static let readsFrom: UInt8 = 1
        static let keyOrder: UInt8 = 2
    }

    /// A requirement: an order of a key, and the operation that set it.
    struct Requirement {
        var order: Int64
        var operation: Int
    }

    let resolution: WriteOrderResolution
    let operations: [KeyValueOperation]
    /// Usable reads, and writes with a known order.
    let participates: [Bool]
    /// In `SessionGuarantee.allCases` order.
    var tallies: [PropertyTally] = SessionGuarantee.allCases.map { PropertyTally($0.rawValue) }
    /// Per operation: the session's completed operations it follows directly.
    var sessionPredecessors: [[Int]]
    var readYourWritesRequirement: [Requirement?]
    var monotonicReadsRequirement: [Requirement?]
    /// Operations that are part of a same-key violation already reported.
    var reportedLocally: [Bool]
    /// The participating operations' invocations and completions, in real-time order.
    let events: [(instant: Int, isCompletion: Bool, id: Int)]

    init(resolution: WriteOrderResolution) {
        self.resolution = resolution
        operations = resolution.history.operations
        let count = operations.count
        var participates = [Bool](repeating: false, count: count)
        var events: [(instant: Int, isCompletion: Bool, id: Int)] = []
        for operation in operations {
            switch operation.function {
            case .read: participates[operation.id] = resolution.isUsableRead[operation.id]
            case .write, .delete: participates[operation.id] = resolution.order[operation.id] != nil
            case .rangeRead: continue
            }
            guard participates[operation.id] else { continue }
            events.append((operation.invokedAt, false, operation.id))
            if operation.outcome == .ok, let completedAt = operation.completedAt {
                events.append((completedAt, true, operation.id))
            }
        }
        // At one instant invocations go first: equal instants are concurrent.
        events.sort { ($0.instant, $0.isCompletion ? 1 : 0, $0.id) < ($1.instant, $1.isCompletion ? 1 : 0, $1.id) }
        self.events = events
        self.participates = participates
        sessionPredecessors = Array(repeating: [], count: count)
        readYourWritesRequirement = Array(repeating: nil, count: count)
        monotonicReadsRequirement = Array(repeating: nil, count: count)
        reportedLocally = Array(repeating: false, count: count)
    }

    func tallyIndex(_ guarantee: SessionGuarantee) -> Int {
        SessionGuarantee.allCases.firstIndex(of: guarantee)!
    }

    mutating func record(_ guarantee: SessionGuarantee, _ violation: PropertyViolation) {
        tallies[tallyIndex(guarantee)].record(violation)
    }

    func describe(_ id: Int) -> String {
        let operation = operations[id]
        return "\(operation.phrase) (\(operation.location))"
    }

    func sessionName(_ id: Int) -> String {
        let session = operations[id].session
        if case .list(let parts) = session, parts.count == 2, parts[0] == .keyword("process") {
            return "process \(parts[1])'s session"
        }
        return "session \(session)"
    }

    // MARK: - The sweep: session order and the same-key checks

    mutating func sweepSessions() {
        let sessionCount = resolution.sessions.count
        var frontier = [[Int]](repeating: [], count: sessionCount)
        var latestWrite = [[Int: Requirement]](repeating: [:], count: sessionCount)
        var latestRead = [[Int: Requirement]](repeating: [:], count: sessionCount)
        for event in events {
            let id = event.id
            let operation = operations[id]
            let session = resolution.sessionIndex[id]
            let key = resolution.keyIndex[id]
            if !event.isCompletion {
                sessionPredecessors[id] = frontier[session]
                if operation.function == .read {
                    readYourWritesRequirement[id] = latestWrite[session][key]
                    monotonicReadsRequirement[id] = latestRead[session][key]
                } else {
                    checkWrite(id, afterWrite: latestWrite[session][key], afterRead: latestRead[session][key])
                }
                continue
            }
            let predecessors = sessionPredecessors[id]
            frontier[session].removeAll { predecessors.contains($0) }
            frontier[session].append(id)
            if operation.function == .read {
                checkRead(id, observed: resolution.observedOrder[id])
                let required = resolution.requirementOrder[id]
                if required >= latestRead[session][key]?.order ?? 0 {
                    latestRead[session][key] = Requirement(order: required, operation: id)
                }
            } else {
                let order = resolution.knownOrder(id)
                if order >= latestWrite[session][key]?.order ?? 0 {
                    latestWrite[session][key] = Requirement(order: order, operation: id)
                }
            }
        }
    }

    private mutating func checkRead(_ id: Int, observed: Int64) {
        if let requirement = readYourWritesRequirement[id], observed < requirement.order {
            let explanation = "\(sessionName(id)) \(describe(requirement.operation)), then \(describe(id)): "
                + "a read must see its own session's earlier writes, so v\(requirement.order) or later"
            record(.readYourWrites, PropertyViolation(operationIDs: [requirement.operation, id], explanation: explanation))
        }
        if let requirement = monotonicReadsRequirement[id], observed < requirement.order {
            let explanation = "\(sessionName(id)) \(describe(requirement.operation)), then \(describe(id)): "
                + "a later read may not go back before v\(requirement.order)"
            record(.monotonicReads, PropertyViolation(operationIDs: [requirement.operation, id], explanation: explanation))
        }
    }

    private mutating func checkWrite(_ id: Int, afterWrite: Requirement?, afterRead: Requirement?) {
        let order = resolution.knownOrder(id)
        if let afterWrite, order <= afterWrite.order {
            reportedLocally[id] = true
            reportedLocally[afterWrite.operation] = true
            let explanation = "\(sessionName(id)) \(describe(afterWrite.operation)), then \(describe(id)): "
                + "a session's later write must be ordered after its earlier one (v\(afterWrite.order))"
            record(.monotonicWrites, PropertyViolation(operationIDs: [afterWrite.operation, id], explanation: explanation))
        }
        if let afterRead, order <= afterRead.order {
            reportedLocally[id] = true
            reportedLocally[afterRead.operation] = true
            if let observed = resolution.observedWrite[afterRead.operation] { reportedLocally[observed] = true }
            let explanation = "\(sessionName(id)) \(describe(afterRead.operation)), then \(describe(id)): "
                + "a write must be ordered after the writes its session had read (v\(afterRead.order))"
            record(.writesFollowReads, PropertyViolation(operationIDs: [afterRead.operation, id], explanation: explanation))
        }
    }
}
