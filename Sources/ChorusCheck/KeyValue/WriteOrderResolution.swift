/// A key-value history with every single-key read tied to the write it
/// returned, and every key's writes in their order.
///
/// A key's order comes from versions (each acknowledged write's version, the
/// Raft log index in Chorus) or, for a key with a `WriteOrder`, from that
/// list. Order 0 is the initial state, before any write. The checkers assume
/// what a replicated log gives: a read that returns a key's write at order o
/// saw a state of that key holding every write ordered at or before o, and
/// none after.
///
/// Reads that cannot be tied to a write are integrity violations (a value no
/// write wrote, a version whose write wrote another value, two writes with
/// one version); they are reported, and left out of the other checks.
struct WriteOrderResolution: Sendable {
    let history: KeyValueHistory
    /// Interned keys and sessions; `keyIndex[id]` and `sessionIndex[id]` per operation.
    private(set) var keys: [HistoryValue] = []
    private(set) var sessions: [HistoryValue] = []
    private(set) var keyIndex: [Int]
    private(set) var sessionIndex: [Int]
    /// A write's position in its key's order; nil when unknown (an
    /// indeterminate write nobody read) or not a write.
    private(set) var order: [Int64?]
    /// For a read tied to a write: that write's id; nil for the initial state.
    private(set) var observedWrite: [Int?]
    /// For a usable read: the order it returned (0: the initial state). For
    /// a read of an absent key that gives no version while the key has
    /// deletes, the read may have seen any of them or the initial state:
    /// this is then the latest delete it could have seen, the reading most
    /// favourable to the read when it is judged, and `requirementOrder` is
    /// 0, the reading most favourable to the operations after it. So an
    /// ambiguous read never causes a violation on its own.
    private(set) var observedOrder: [Int64]
    /// For a usable read: the order later operations of its session must
    /// respect; `observedOrder` except for ambiguous absent reads (0).
    private(set) var requirementOrder: [Int64]
    /// True for the reads the checkers judge: completed `:ok` and tied to a write or the initial state.
    private(set) var isUsableRead: [Bool]
    /// Per key, the ids of its writes with a known order, in that order.
    private(set) var writesByKey: [[Int]] = []
    private(set) var integrity = PropertyTally("integrity")

    init(_ history: KeyValueHistory) throws(HistoryError) {
        self.history = history
        let count = history.operations.count
        keyIndex = Array(repeating: -1, count: count)
        sessionIndex = Array(repeating: -1, count: count)
        order = Array(repeating: nil, count: count)
        observedWrite = Array(repeating: nil, count: count)
        observedOrder = Array(repeating: 0, count: count)
        requirementOrder = Array(repeating: 0, count: count)
        isUsableRead = Array(repeating: false, count: count)
        var keyNumbers: [HistoryValue: Int] = [:]
        var sessionNumbers: [HistoryValue: Int] = [:]
        for operation in history.operations {
            if operation.function != .rangeRead {
                keyIndex[operation.id] = Self.intern(operation.key, &keys, &keyNumbers)
            }
            sessionIndex[operation.id] = Self.intern(operation.session, &sessions, &sessionNumbers)
        }
        var explicitOrders: [Int: [HistoryValue: Int64]] = [:]
        for writeOrder in history.writeOrders {
            let key = Self.intern(writeOrder.key, &keys, &keyNumbers)
            guard explicitOrders[key] == nil else {
                throw HistoryError(.malformed("key \(writeOrder.key) has two write orders"), line: writeOrder.line)
            }
            var positions: [HistoryValue: Int64] = [:]
            for (index, value) in writeOrder.values.enumerated() {
                guard !value.isNull else {
                    throw HistoryError(.malformed("a write order lists written values; null is the initial state"), line: writeOrder.line)
                }
                guard positions.updateValue(Int64(index + 1), forKey: value) == nil else {
                    throw HistoryError(.malformed("value \(value) appears twice in the write order of \(writeOrder.key)"), line: writeOrder.line)
                }
            }
            explicitOrders[key] = positions
        }
        writesByKey = Array(repeating: [], count: keys.count)
        try placeWrites(explicitOrders)
        tieReads(explicitOrders)
        for key in writesByKey.indices {
            writesByKey[key].sort { order[$0]! < order[$1]! }
        }
    }

    private static func intern(_ value: HistoryValue, _ list: inout [HistoryValue], _ numbers: inout [HistoryValue: Int]) -> Int {
        if let known = numbers[value] { return known }
        numbers[value] = list.count
        list.append(value)
        return list.count - 1
    }

    /// Writes whose order is known: from the write order, or from the version
    /// an acknowledged write returned.
    private mutating func placeWrites(_ explicitOrders: [Int: [HistoryValue: Int64]]) throws(HistoryError) {
        var writerByOrder: [Int: [Int64: Int]] = [:]
        var listedValuesWritten: [Int: Set<HistoryValue>] = [:]
        for operation in history.operations where operation.isWrite && operation.outcome != .fail {
            let key = keyIndex[operation.id]
            var position: Int64?
            if let positions = explicitOrders[key] {
                if operation.function == .delete {
                    throw HistoryError(
                        .malformed("key \(operation.key) has a write order, which cannot place a delete"), line: operation.invokeLine)
                }
                position = positions[operation.value]
                if position == nil && operation.outcome == .ok {
                    throw HistoryError(
                        .malformed("the acknowledged write of \(operation.key) = \(operation.value) is missing from the key's write order"),
                        line: operation.invokeLine)
                }
                if position != nil { listedValuesWritten[key, default: []].insert(operation.value) }
            } else {
                position = operation.version
                if position == nil && operation.outcome == .ok {
                    throw HistoryError(
                        .malformed("an acknowledged write needs the version it got (or give the key's write order)"),
                        line: operation.completeLine ?? operation.invokeLine)
                }
            }
            guard let position else { continue }
            if let other = writerByOrder[key]?[position] {
                let first = history.operations[other]
                integrity.record(PropertyViolation(
                    operationIDs: [other, operation.id],
                    explanation: "two writes of \(operation.key) have version \(position): \(first.phrase) (\(first.location)) and \(operation.phrase) (\(operation.location))"))
                continue
            }
            writerByOrder[key, default: [:]][position] = operation.id
            order[operation.id] = position
            writesByKey[key].append(operation.id)
        }
        for (key, positions) in explicitOrders {
            let written = listedValuesWritten[key] ?? []
            if let missing = positions.keys.first(where: { !written.contains($0) }) {
                let line = history.writeOrders.first { $0.key == keys[key] }?.line
                throw HistoryError(
                    .malformed("the write order of \(keys[key]) lists \(missing), which no write in the history wrote"), line: line)
            }
        }
    }

    /// Ties each completed read to the write whose value it returned.
    private mutating func tieReads(_ explicitOrders: [Int: [HistoryValue: Int64]]) {
        // Per key: the writes by order, and the indeterminate writes without one, by value.
        var writerByOrder: [[Int64: Int]] = Array(repeating: [:], count: keys.count)
        var unplacedByValue: [[HistoryValue: [Int]]] = Array(repeating: [:], count: keys.count)
        for operation in history.operations where operation.isWrite && operation.outcome != .fail {
            let key = keyIndex[operation.id]
            if let position = order[operation.id] {
                writerByOrder[key][position] = operation.id
            } else if explicitOrders[key] == nil && operation.outcome.isIndeterminate {
                unplacedByValue[key][operation.writtenValue, default: []].append(operation.id)
            }
        }
        // Per key, the deletes with a known order: what an absent read without a version may have seen.
        var deletes = [[(order: Int64, invokedAt: Int)]](repeating: [], count: keys.count)
        for operation in history.operations where operation.function == .delete {
            if let position = order[operation.id] { deletes[keyIndex[operation.id]].append((position, operation.invokedAt)) }
        }
        for operation in history.operations where operation.function == .read && operation.outcome == .ok {
            let key = keyIndex[operation.id]
            if operation.value.isNull && (operation.version ?? 0) == 0 && explicitOrders[key] == nil {
                let completedAt = operation.completedAt ?? Int.max
                let latest = deletes[key].filter { $0.invokedAt < completedAt }.map(\.order).max()
                observedOrder[operation.id] = latest ?? 0
                isUsableRead[operation.id] = true
                continue
            }
            if let positions = explicitOrders[key] {
                if operation.value.isNull {
                    isUsableRead[operation.id] = true
                    continue
                }
                guard let position = positions[operation.value], let writer = writerByOrder[key][position] else {
                    integrity.record(thinAir(operation, "a value no write in the write order wrote"))
                    continue
                }
                tie(operation.id, to: writer, at: position)
                continue
            }
            guard let version = operation.version else {
                if operation.value.isNull {
                    isUsableRead[operation.id] = true
                } else {
                    integrity.record(PropertyViolation(
                        operationIDs: [operation.id],
                        explanation: "\(operation.phrase) (\(operation.location)) gives no version, so it cannot be placed in the key's order"))
                }
                continue
            }
            if let writer = writerByOrder[key][version] {
                let write = history.operations[writer]
                if write.writtenValue != operation.value && !(operation.value.isNull && write.function == .delete) {
                    integrity.record(PropertyViolation(
                        operationIDs: [writer, operation.id],
                        explanation: "\(operation.phrase) (\(operation.location)), but version \(version) \(write.phrase) (\(write.location))"))
                    continue
                }
                tie(operation.id, to: writer, at: version)
                continue
            }
            // An indeterminate write with this value took effect at this version.
            if var candidates = unplacedByValue[key][operation.value], !candidates.isEmpty {
                let writer = candidates.removeFirst()
                unplacedByValue[key][operation.value] = candidates
                order[writer] = version
                writerByOrder[key][version] = writer
                writesByKey[key].append(writer)
                tie(operation.id, to: writer, at: version)
                continue
            }
            if operation.value.isNull {
                // An absent key read "as of" an index: the latest write at or
                // before it must be a delete, or there must be none.
                if let latest = latestWrite(at: version, key: key, writerByOrder: writerByOrder[key]) {
                    let write = history.operations[latest]
                    guard write.function == .delete else {
                        integrity.record(PropertyViolation(
                            operationIDs: [latest, operation.id],
                            explanation: "\(operation.phrase) (\(operation.location)), but the key's latest write at or before v\(version) \(write.phrase) (\(write.location))"))
                        continue
                    }
                    tie(operation.id, to: latest, at: order[latest]!)
                } else {
                    isUsableRead[operation.id] = true
                }
                continue
            }
            integrity.record(thinAir(operation, "a version no write of the key has"))
        }
    }

    private func latestWrite(at version: Int64, key: Int, writerByOrder: [Int64: Int]) -> Int? {
        var best: (Int64, Int)?
        for (position, writer) in writerByOrder where position <= version {
            if best == nil || position > best!.0 { best = (position, writer) }
        }
        return best?.1
    }

    private mutating func tie(_ read: Int, to writer: Int, at position: Int64) {
        observedWrite[read] = writer
        observedOrder[read] = position
        requirementOrder[read] = position
        isUsableRead[read] = true
    }

    private func thinAir(_ operation: KeyValueOperation, _ what: String) -> PropertyViolation {
        PropertyViolation(operationIDs: [operation.id], explanation: "\(operation.phrase) (\(operation.location)): \(what)")
    }

    /// The key's order of write `id`, which must be known.
    func knownOrder(_ id: Int) -> Int64 {
        guard let position = order[id] else { preconditionFailure("write \(id) has no known order") }
        return position
    }
}
