import ChorusCore

/// The replicated key-value state machine that both the simulator and the real
/// node apply to committed log entries, so it exists once.
///
/// Writes arrive as committed `KeyValueCommand`s (`apply`); reads (`get`) are
/// served outside the log, after a ReadIndex or lease confirmation for
/// `linearizable`, or directly for `sequential`. Client sessions de-duplicate
/// retried writes (thesis §6.3): the store remembers each client's latest
/// sequence number and its result, answers a repeat with the remembered
/// result, and refuses anything older.
///
/// Determinism: the store is a pure function of the committed command
/// sequence. Nothing depends on dictionary order: snapshots sort keys and
/// sessions, and session eviction breaks ties by client id.
public struct KeyValueStore: Sendable {
    public struct Record: Sendable, Hashable {
        public var value: [UInt8]
        /// The log index of the write that produced `value`.
        public var version: LogIndex

        public init(value: [UInt8], version: LogIndex) {
            self.value = value
            self.version = version
        }
    }

    struct Session: Sendable, Hashable {
        var lastSequence: UInt64
        var lastResult: KeyValueResult
        /// The index of the last command of this session, for eviction order.
        var lastActivity: LogIndex
    }

    public let limits: KeyValueLimits
    var records: [StoreKey: Record] = [:]
    /// The same keys in byte order, for range reads and ordered snapshots.
    var orderedKeys = OrderedKeys()
    /// The catalog: every keyspace but `default`, which always exists.
    var keyspaces: [String: KeyspaceDefinition] = [:]
    /// The cluster's epoch, once its first leader established it.
    public internal(set) var epoch: UInt64?
    var sessions: [UInt64: Session] = [:]
    /// Sessions in order of activity, oldest first, for eviction in O(1)
    /// amortized: every activity appends (client, index); an entry whose
    /// index is no longer its session's latest is stale and skipped. Indexes
    /// are unique, so this is exactly the order of `lastActivity`.
    var activityOrder: [(client: UInt64, activity: LogIndex)] = []
    var activityHead = 0
    /// The index of the last entry applied.
    public internal(set) var appliedIndex: LogIndex = .zero

    public init(limits: KeyValueLimits = .default) {
        self.limits = limits
    }

    public var keyCount: Int { records.count }

    /// The value and version of `key` in `keyspace`, or nil if absent.
    public func get(_ key: String, keyspace: String = KeyspaceName.defaultName) -> Record? {
        records[StoreKey(keyspace: keyspace, key: key)]
    }

    /// The definition of `keyspace`, or nil if there is none.
    public func definition(of keyspace: String) -> KeyspaceDefinition? {
        keyspace == KeyspaceName.defaultName ? .default : keyspaces[keyspace]
    }

    /// Every keyspace, `default` first, then by name.
    public var keyspaceDefinitions: [(name: String, definition: KeyspaceDefinition)] {
        [(KeyspaceName.defaultName, .default)] + keyspaces.keys.sorted().map { ($0, keyspaces[$0]!) }
    }

    /// Up to `limit` records of `keyspace` whose keys start with `prefix`, in
    /// byte order, after `after` (exclusive) when given.
    public func range(keyspace: String, prefix: String, after: String?, limit: Int) -> [(key: String, record: Record)] {
        let start = after.map { StoreKey(keyspace: keyspace, key: $0) } ?? StoreKey.start(keyspace: keyspace, prefix: prefix)
        let keys = orderedKeys.keys(from: start, inclusive: after == nil, limit: limit) {
            $0.belongs(to: keyspace, prefix: prefix)
        }
        return keys.map { ($0.key, records[$0]!) }
    }

    /// Notes that a non-command entry (an empty or configuration entry) at
    /// `index` was applied, so `appliedIndex` follows the log.
    public mutating func skip(index: LogIndex) {
        precondition(index > appliedIndex, "entries are applied in log order: \(index) after \(appliedIndex)")
        appliedIndex = index
    }

    /// How an applied command turned out, and whether it was a duplicate.
    public struct Applied: Sendable, Hashable {
        public var clientID: UInt64
        public var sequence: UInt64
        public var result: KeyValueResult
        /// True when the command repeated one already applied (its result is the remembered one).
        public var duplicate: Bool
    }

    /// Applies the command bytes committed at `index` (the entry's bytes after
    /// the machine tag). A command that does not decode is `rejected` here,
    /// deterministically on every replica; the service layer never proposes one.
    @discardableResult
    public mutating func apply(_ commandBytes: ArraySlice<UInt8>, at index: LogIndex) -> Applied {
        precondition(index > appliedIndex, "entries are applied in log order: \(index) after \(appliedIndex)")
        appliedIndex = index
        let command: KeyValueCommand
        do {
            command = try KeyValueCommand(decoding: commandBytes, limits: limits)
        } catch {
            return Applied(clientID: 0, sequence: 0, result: .rejected(error.description), duplicate: false)
        }
        return execute(command, at: index)
    }

    /// Applies an already decoded command at `index`.
    public mutating func apply(_ command: KeyValueCommand, at index: LogIndex) -> Applied {
        precondition(index > appliedIndex, "entries are applied in log order: \(index) after \(appliedIndex)")
        appliedIndex = index
        return execute(command, at: index)
    }

    private mutating func execute(_ command: KeyValueCommand, at index: LogIndex) -> Applied {
        let client = command.clientID
        if client != 0 {
            if let session = sessions[client] {
                if command.sequence == session.lastSequence {
                    sessions[client]!.lastActivity = index
                    noteActivity(of: client, at: index)
                    return Applied(clientID: client, sequence: command.sequence, result: session.lastResult, duplicate: true)
                }
                if command.sequence < session.lastSequence {
                    // An old retry overtaken by a newer request: the client has
                    // already moved on, so the result no longer matters to it.
                    return Applied(clientID: client, sequence: command.sequence, result: .sessionExpired, duplicate: true)
                }
            } else if command.sequence > 1 {
                // Sequences start at 1; a later one without a session means the
                // session was evicted, and a retry might already have applied.
                return Applied(clientID: client, sequence: command.sequence, result: .sessionExpired, duplicate: false)
            }
        }
        let result = execute(command.operation, in: command.keyspace, at: index)
        if client != 0 {
            sessions[client] = Session(lastSequence: command.sequence, lastResult: result, lastActivity: index)
            noteActivity(of: client, at: index)
            evictSessionsBeyondLimit()
        }
        return Applied(clientID: client, sequence: command.sequence, result: result, duplicate: false)
    }

    private mutating func execute(_ operation: KeyValueOperation, in keyspace: String, at index: LogIndex) -> KeyValueResult {
        switch operation {
        case .createKeyspace(let definition): return createKeyspace(keyspace, definition)
        case .deleteKeyspace: return deleteKeyspace(keyspace)
        case .establishEpoch(let proposed):
            if epoch == nil { epoch = proposed }
            return .epoch(epoch!)
        case .put, .delete, .compareAndSet: break
        }
        guard let definition = definition(of: keyspace) else { return .keyspaceNotFound(keyspace) }
        guard definition.mode == .raft else { return .wrongReplicationMode(keyspace: keyspace, mode: definition.mode) }
        let storeKey = StoreKey(keyspace: keyspace, key: operation.key!)
        if records.count >= limits.maximumKeys, records[storeKey] == nil {
            switch operation {
            case .put, .compareAndSet: return .storeFull(maximumKeys: limits.maximumKeys)
            default: break
            }
        }
        switch operation {
        case .put(_, let value):
            store(Record(value: value, version: index), at: storeKey)
            return .written(version: index)
        case .delete:
            let existed = records.removeValue(forKey: storeKey) != nil
            if existed { orderedKeys.remove(storeKey) }
            return .deleted(existed: existed, index: index)
        case .compareAndSet(_, let expectedVersion, let value):
            let current = records[storeKey]?.version ?? .zero
            guard current == expectedVersion else { return .compareAndSetMismatch(currentVersion: current) }
            store(Record(value: value, version: index), at: storeKey)
            return .written(version: index)
        case .createKeyspace, .deleteKeyspace, .establishEpoch:
            preconditionFailure("catalog operations return above")
        }
    }

    private mutating func store(_ record: Record, at key: StoreKey) {
        if records.updateValue(record, forKey: key) == nil { orderedKeys.insert(key) }
    }

    private mutating func createKeyspace(_ name: String, _ definition: KeyspaceDefinition) -> KeyValueResult {
        if let problem = KeyspaceName.problem(name) { return .rejected(problem) }
        if let existing = self.definition(of: name) {
            return existing == definition ? .keyspaceCreated(name) : .keyspaceExists(name, existing)
        }
        guard keyspaces.count + 1 < KeyspaceName.maximumKeyspaces else {
            return .rejected("at most \(KeyspaceName.maximumKeyspaces) keyspaces")
        }
        keyspaces[name] = definition
        return .keyspaceCreated(name)
    }

    private mutating func deleteKeyspace(_ name: String) -> KeyValueResult {
        guard name != KeyspaceName.defaultName else { return .rejected("the default keyspace cannot be deleted") }
        guard keyspaces.removeValue(forKey: name) != nil else { return .keyspaceNotFound(name) }
        let keys = orderedKeys.keys(from: StoreKey.start(keyspace: name, prefix: ""), inclusive: true, limit: Int.max) {
            $0.belongs(to: name, prefix: "")
        }
        for key in keys {
            records.removeValue(forKey: key)
            orderedKeys.remove(key)
        }
        return .keyspaceDeleted(name, keys: keys.count)
    }

    private mutating func noteActivity(of client: UInt64, at index: LogIndex) {
        activityOrder.append((client, index))
        // Keep stale entries to a constant factor of the live ones.
        if activityOrder.count - activityHead > 2 * sessions.count + 64 { rebuildActivityOrder() }
    }

    /// The sessions in activity order, oldest first (also after a restore).
    mutating func rebuildActivityOrder() {
        activityOrder = sessions.map { (client: $0.key, activity: $0.value.lastActivity) }
            .sorted { ($0.activity, $0.client) < ($1.activity, $1.client) }
        activityHead = 0
    }

    /// Deterministic: the session with the least recent activity goes first.
    private mutating func evictSessionsBeyondLimit() {
        while sessions.count > limits.maximumSessions, activityHead < activityOrder.count {
            let oldest = activityOrder[activityHead]
            activityHead += 1
            if sessions[oldest.client]?.lastActivity == oldest.activity { sessions.removeValue(forKey: oldest.client) }
        }
        if activityHead > 1_024 && activityHead * 2 > activityOrder.count {
            activityOrder.removeFirst(activityHead)
            activityHead = 0
        }
    }

    /// A digest of the whole state (records, sessions, applied index), equal on
    /// two replicas exactly when their snapshots are equal.
    public var stateDigest: UInt32 { CRC32C.checksum(snapshot()) }
}
