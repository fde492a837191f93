import ChorusCheck
import ChorusCore
import ChorusReplication

/// The leaderless history as the key-value histories `ChorusCheck`'s causal
/// and session checkers read, and what of it they can soundly judge.
///
/// **Causal** (`causalHistory`): the causal keyspace's versioned keys, every
/// put a register write of its unique value, every `causal` read a register
/// read. A read that returned several siblings is taken to return the one a
/// last-writer-wins reader shows (largest hybrid timestamp, then dot): the
/// COPS convergent handler. Since a client stamps writes after everything it
/// has read (hybrid logical time), that choice never prefers a write over
/// one that causally follows it, so causal consistency (CC) is what the
/// store promises of these reads. Deletes are not issued there (the checker
/// reads registers). CCv is not promised: a blind put supersedes what its
/// coordinating replica holds, which no session saw, so arbitration follows
/// supersession, not one total order.
///
/// **Session** (`sessionHistory`): the session checker needs one order of
/// each key's writes, such that a replica's state is a prefix of it. The
/// leaderless store orders a key's writes only partially (concurrent writes
/// are siblings, and a replica holds a down-set of the causal order), so
/// only *chain keys* qualify: one writer, every write carrying the context of
/// the previous one, so each supersedes its predecessor and the writes form
/// a chain. A chain whose write got no definite answer is retired (the next
/// write would not cover it, and the two would be siblings), so the only
/// indeterminate write of a chain is its last. The chain's order is stated
/// as a `write-order` record; a read maps to the value of the one live
/// sibling it returned (two live siblings on a chain key are reported by
/// `chainSiblingProblem`, not passed on).
///
/// Which guarantees hold where: in the causal keyspace all four, across
/// keys (a session's dependencies travel with its requests). In the eventual
/// keyspace the front end gives read-your-writes and monotonic reads per key
/// (`session` reads retried until their context covers the session's);
/// monotonic writes and writes-follow-reads hold within a key by
/// construction (each write's context covers the session's), and across keys
/// are not promised, since nothing tracks dependencies there.
enum LeaderlessHistoryExport {
    /// The causal keyspace's versioned operations, for `CausalChecker`; nil if there are none.
    static func causalHistory(_ history: [LeaderlessOperation]) -> KeyValueHistory? {
        var operations: [KeyValueOperation] = []
        for operation in history where operation.key.keyspace == LeaderlessKeys.causal && operation.key.kind == .versioned {
            switch operation.action {
            case .put(let value, _):
                operations.append(write(operation, value: value))
            case .read:
                guard let reply = operation.readReply, let completedAt = operation.completedAt else { continue }
                var shown: HistoryValue = .null
                if case .versioned(let siblings)? = reply.value, let value = siblings.lastWriterWinsValue { shown = text(value) }
                operations.append(read(operation, value: shown, completedAt: completedAt))
            default:
                continue
            }
        }
        return try? KeyValueHistory(operations: operations)
    }

    /// The chain keys of `keyspace`, with their write orders, for `SessionChecker`; nil if there are none.
    static func sessionHistory(_ history: [LeaderlessOperation], keyspace: KeyspaceID) -> KeyValueHistory? {
        let level: LeaderlessLevel = keyspace == LeaderlessKeys.causal ? .causal : .session
        var operations: [KeyValueOperation] = []
        var chains: [ObjectKey: [HistoryValue]] = [:]
        for operation in history where operation.key.keyspace == keyspace && LeaderlessKeys.isChain(operation.key) {
            switch operation.action {
            case .put(let value, _):
                operations.append(write(operation, value: value))
                if operation.mayHaveApplied { chains[operation.key, default: []].append(text(value)) }
            case .read where operation.level == level:
                guard let reply = operation.readReply, let completedAt = operation.completedAt else { continue }
                var shown: HistoryValue = .null
                if case .versioned(let siblings)? = reply.value, let live = siblings.values.first { shown = text(live) }
                operations.append(read(operation, value: shown, completedAt: completedAt))
            default:
                continue
            }
        }
        let orders = chains.keys.sorted().map { WriteOrder(key: name($0), values: chains[$0]!) }
        return try? KeyValueHistory(operations: operations, writeOrders: orders)
    }

    /// A read of a chain key that returned more than one live sibling: the
    /// chain's writes were not ordered by their contexts.
    static func chainSiblingProblem(_ history: [LeaderlessOperation]) -> String? {
        for operation in history where LeaderlessKeys.isChain(operation.key) {
            guard case .versioned(let siblings)? = operation.readReply?.value, siblings.values.count > 1 else { continue }
            let values = siblings.values.map { String(decoding: $0, as: UTF8.self) }
            return "client \(operation.client) read \(values.count) concurrent versions \(values) of the single-writer key "
                + "\(operation.key): a write did not supersede its predecessor"
        }
        return nil
    }

    static func name(_ key: ObjectKey) -> HistoryValue { .string("\(key)") }

    static func text(_ bytes: [UInt8]) -> HistoryValue { .string(String(decoding: bytes, as: UTF8.self)) }

    static func write(_ operation: LeaderlessOperation, value: [UInt8]) -> KeyValueOperation {
        let outcome: Outcome
        switch operation.outcome {
        case .written: outcome = .ok
        case .failed: outcome = .fail
        case .pending: outcome = .pending
        case .indeterminate, .read, .stale: outcome = .info
        }
        return KeyValueOperation(
            process: ProcessID(Int64(operation.client)), function: .write, key: name(operation.key), value: text(value),
            outcome: outcome, invokedAt: Int(operation.invokedAt), completedAt: operation.completedAt.map { Int($0) },
            invokeTime: Int64(operation.invokedAt), completeTime: operation.completedAt.map { Int64($0) })
    }

    static func read(_ operation: LeaderlessOperation, value: HistoryValue, completedAt: UInt64) -> KeyValueOperation {
        KeyValueOperation(
            process: ProcessID(Int64(operation.client)), function: .read, key: name(operation.key), value: value,
            outcome: .ok, invokedAt: Int(operation.invokedAt), completedAt: Int(completedAt),
            invokeTime: Int64(operation.invokedAt), completeTime: Int64(completedAt))
    }
}
