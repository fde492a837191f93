import ChorusCRDT
import ChorusClocks
import ChorusCore
import ChorusReplication

/// No lost acknowledged write, judged on the converged state after healing
/// (issue 14's checker), against what the clients saw.
///
/// - **Versioned keys**: each acknowledged write (its dot, from the reply)
///   is a current sibling holding its value, or was superseded by a write
///   whose context covered it: the context the client sent, or, for a blind
///   put, what its coordinating replica held (read from the `minted` record,
///   since no client saw it); a deletion's own tombstone may instead have
///   been collected into the floor. Only writes that may have been applied
///   (acknowledged or indeterminate) supersede.
/// - **Counters** (and the map's counter field, never removed): the value
///   lies between the sum of acknowledged increments and the sum of every
///   increment that may have been applied.
/// - **Dot-tracked CRDT writes**, each with the dot its reply shows (every
///   value and element is written once): an OR-set insert, a register
///   assignment, a map's register assignment or flag enable is live in the
///   merged value, or some operation on the same element or field that may
///   have been applied could have removed it: one whose reply's causal
///   context contains the dot (its coordinating replica had seen it), or one
///   without a reply (its context is unknown). The map's labels are never
///   removed, so every acknowledged label is present.
/// - **No resurrection**: an acknowledged set remove whose reply shows the
///   element gone with the insert's dot in its context leaves it absent (no
///   other insert of that element exists).
struct LostWriteChecker {
    let history: [LeaderlessOperation]
    let blindContexts: [[UInt8]: VersionVector]
    let value: (ObjectKey) -> ReplicatedValue?

    /// The first violation found, or nil.
    func check() -> String? {
        var byKey: [ObjectKey: [Int]] = [:]
        for index in history.indices { byKey[history[index].key, default: []].append(index) }
        for key in byKey.keys.sorted() {
            let operations = byKey[key]!
            let problem: String?
            switch key.kind {
            case .versioned: problem = checkVersioned(key, operations)
            case .counter: problem = checkCounter(key, operations) { if case .increment(let amount) = $0 { amount } else { nil } }
            case .set: problem = checkSet(key, operations)
            case .register: problem = checkRegister(key, operations)
            case .map: problem = checkMap(key, operations)
            case .flag: problem = nil
            }
            if let problem { return problem }
        }
        return nil
    }

    // MARK: Versioned

    func checkVersioned(_ key: ObjectKey, _ operations: [Int]) -> String? {
        let siblings: SiblingSet
        switch value(key) {
        case .versioned(let set)?: siblings = set
        case nil: siblings = SiblingSet()
        default: return "\(key) holds a value of another kind"
        }
        var superseding: [VersionVector] = []
        for index in operations where history[index].mayHaveApplied {
            switch history[index].action {
            case .put(let written, let context):
                if let context { superseding.append(context) } else if let minted = blindContexts[written] { superseding.append(minted) }
            case .delete(let context): superseding.append(context)
            default: break
            }
        }
        for index in operations {
            let operation = history[index]
            guard let reply = operation.writeReply else { continue }
            guard let dot = reply.minted.dot else { return "the acknowledged write to \(key) has no dot" }
            let written: [UInt8]?
            switch operation.action {
            case .put(let value, _): written = value
            case .delete: written = nil
            default: continue
            }
            if let sibling = siblings.siblings.first(where: { $0.dot == dot }) {
                if sibling.value != written { return "dot \(dot) of \(key) holds another write's value: a dot was reused" }
                continue
            }
            if superseding.contains(where: { $0.contains(dot) }) { continue }
            if written == nil && siblings.floor.contains(dot) { continue }
            return "lost acknowledged \(operation.action.isDelete ? "delete" : "write") \(dot) of \(describe(written)) to \(key) "
                + "(client \(operation.client), acknowledged at \(operation.completedAt ?? 0)µs): not a sibling, and no write's context covers it"
        }
        return nil
    }

    // MARK: Counters

    func checkCounter(_ key: ObjectKey, _ operations: [Int], amount: (LeaderlessOperation.Action) -> Int64?) -> String? {
        guard case .counter(let counter)? = value(key) ?? .empty(.counter) else { return "\(key) holds a value of another kind" }
        return checkTotal("\(key)", counter.value, operations, amount: amount)
    }

    func checkTotal(_ name: String, _ total: Int64, _ operations: [Int], amount: (LeaderlessOperation.Action) -> Int64?) -> String? {
        var acknowledged: Int64 = 0
        var issued: Int64 = 0
        for index in operations {
            guard let amount = amount(history[index].action) else { continue }
            if history[index].writeReply != nil { acknowledged += amount }
            if history[index].mayHaveApplied { issued += amount }
        }
        guard (acknowledged...issued).contains(total) else {
            return "\(name) is \(total), outside [\(acknowledged) acknowledged, \(issued) issued]: "
                + (total < acknowledged ? "an acknowledged increment was lost" : "an increment counted twice")
        }
        return nil
    }

    // MARK: Dot-tracked CRDT writes

    /// The value an acknowledged write's reply returned, when it is the value
    /// right after the write: not for a reply to a repeated mint request
    /// (`MintResult.answeredAgain`), whose value is the replica's later one, in
    /// which a later write that saw this one may have replaced it. Such a
    /// write's dot cannot be read off its reply, so its survival is not judged.
    func valueRightAfter(_ index: Int) -> ReplicatedValue? {
        guard let minted = history[index].writeReply?.minted, !minted.answeredAgain else { return nil }
        return minted.value
    }

    /// Whether an acknowledged operation's `dot` survives: live, or possibly
    /// removed by one of `removers`, judged by their replies' contexts.
    func survives(_ dot: Dot, live: Bool, removers: [Int], context: (ReplicatedValue) -> CausalContext?) -> Bool {
        if live { return true }
        return removers.contains { index in
            guard history[index].mayHaveApplied else { return false }
            guard let returned = valueRightAfter(index), let seen = context(returned) else { return true }
            return seen.contains(dot)
        }
    }

    func checkSet(_ key: ObjectKey, _ operations: [Int]) -> String? {
        guard case .set(let final)? = value(key) ?? .empty(.set) else { return "\(key) holds a value of another kind" }
        var insertDots: [[UInt8]: DotSet] = [:]
        for index in operations {
            guard case .insert(let element) = history[index].action, case .set(let after)? = valueRightAfter(index)
            else { continue }
            guard let dots = after.store[element] else { return "the acknowledged insert of \(describe(element)) is missing from its own reply" }
            insertDots[element] = dots
            let removers = operations.filter { if case .remove(element) = history[$0].action { true } else { false } }
            for dot in dots.dots.sorted() where !survives(dot, live: final.store[element]?.dots.contains(dot) ?? false, removers: removers, context: \.causalContext) {
                return "lost acknowledged insert of \(describe(element)) into \(key) (dot \(dot))"
            }
        }
        for index in operations {
            guard case .remove(let element) = history[index].action, case .set(let after)? = history[index].writeReply?.minted.value,
                let inserted = insertDots[element], !after.contains(element),
                inserted.dots.allSatisfy({ after.context.contains($0) }), final.contains(element)
            else { continue }
            return "\(describe(element)) is back in \(key) after an acknowledged remove that had seen its only insert"
        }
        return nil
    }

    func checkRegister(_ key: ObjectKey, _ operations: [Int]) -> String? {
        guard case .register(let final)? = value(key) ?? .empty(.register) else { return "\(key) holds a value of another kind" }
        let assigns = operations.filter { if case .assign = history[$0].action { true } else { false } }
        for index in assigns {
            guard case .assign(let bytes) = history[index].action, case .register(let after)? = valueRightAfter(index)
            else { continue }
            guard let dot = after.store.sortedEntries.first(where: { $0.value.bytes == bytes })?.dot else {
                return "the acknowledged assignment of \(describe(bytes)) is missing from its own reply"
            }
            let live = final.store.entries[dot] != nil
            if !survives(dot, live: live, removers: assigns.filter { $0 != index }, context: \.causalContext) {
                return "lost acknowledged assignment \(dot) of \(describe(bytes)) to \(key)"
            }
        }
        return nil
    }

    func checkMap(_ key: ObjectKey, _ operations: [Int]) -> String? {
        guard case .map(let final)? = value(key) ?? .empty(.map) else { return "\(key) holds a value of another kind" }
        if let problem = checkTotal("\(key) field visits", final[LeaderlessKeys.visits]?.counter.value ?? 0, operations, amount: {
            if case .map(.increment(let amount)) = $0 { amount } else { nil }
        }) { return problem }
        let names = operations.filter {
            switch history[$0].action {
            case .map(.assignName), .map(.removeName): true
            default: false
            }
        }
        let flags = operations.filter {
            switch history[$0].action {
            case .map(.enable), .map(.disable): true
            default: false
            }
        }
        for index in operations {
            guard case .map(let action) = history[index].action, case .map(let after)? = valueRightAfter(index)
            else { continue }
            switch action {
            case .insertLabel(let label):
                if final[LeaderlessKeys.labels]?.set.contains(label) != true { return "lost acknowledged label \(label) of \(key)" }
            case .assignName(let name):
                guard let dot = after[LeaderlessKeys.name]?.register.store.sortedEntries.first(where: { $0.value == name })?.dot else {
                    return "the acknowledged name \(name) is missing from its own reply"
                }
                let live = final[LeaderlessKeys.name]?.register.store.entries[dot] != nil
                if !survives(dot, live: live, removers: names.filter { $0 != index }, context: \.causalContext) {
                    return "lost acknowledged name \(name) (\(dot)) of \(key)"
                }
            case .enable:
                guard let dots = after[LeaderlessKeys.active]?.flag.store.dots, dots.count == 1, let dot = dots.first else { continue }
                let live = final[LeaderlessKeys.active]?.flag.store.dots.contains(dot) ?? false
                if !survives(dot, live: live, removers: flags.filter { $0 != index }, context: \.causalContext) {
                    return "lost acknowledged enable (\(dot)) of \(key)"
                }
            case .increment, .disable, .removeName:
                continue
            }
        }
        return nil
    }

    func describe(_ bytes: [UInt8]?) -> String {
        bytes.map { "\"\(String(decoding: $0, as: UTF8.self))\"" } ?? "a tombstone"
    }
}

extension LeaderlessOperation.Action {
    var isDelete: Bool { if case .delete = self { true } else { false } }
}
