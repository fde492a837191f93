import ChorusCore

/// Snapshot and restore of the whole store (thesis §5.1): the application
/// state handed to `RaftNode.compactLog` and shipped to lagging followers.
///
///     format(2) appliedIndex(varint) epoch(0 | 1 u64)
///     keyspaceCount(varint) { name(len+utf8) definition }                      names ascending
///     keyCount(varint)      { keyspace·0·key(len+utf8) version(varint) value(len+bytes) }   ascending by bytes
///     sessionCount(varint)  { clientID sequence lastActivity result }         ascending client ids
extension KeyValueStore {
    static let snapshotFormat: UInt8 = 2

    public func snapshot() -> [UInt8] {
        var writer = ByteWriter(capacity: 64 + records.count * 32)
        writer.write(Self.snapshotFormat)
        writer.writeVarint(appliedIndex.rawValue)
        writer.write(epoch != nil)
        if let epoch { writer.writeFixed(epoch) }
        writer.writeVarint(keyspaces.count)
        for name in keyspaces.keys.sorted() {
            writer.writeString(name)
            keyspaces[name]!.write(to: &writer)
        }
        writer.writeVarint(records.count)
        for key in orderedKeys.all {
            let record = records[key]!
            writer.writeString(key.text)
            writer.writeVarint(record.version.rawValue)
            writer.writeLengthPrefixed(record.value)
        }
        writer.writeVarint(sessions.count)
        for client in sessions.keys.sorted() {
            let session = sessions[client]!
            writer.writeVarint(client)
            writer.writeVarint(session.lastSequence)
            writer.writeVarint(session.lastActivity.rawValue)
            Self.write(session.lastResult, to: &writer)
        }
        return writer.bytes
    }

    /// A store restored from `snapshot()` bytes. Throws on malformed input.
    public init(restoring bytes: [UInt8], limits: KeyValueLimits = .default) throws(BinaryDecodingError) {
        self.init(limits: limits)
        var reader = ByteReader(bytes)
        let format = try reader.readByte()
        guard format == Self.snapshotFormat else {
            throw BinaryDecodingError(.invalidValue("snapshot format \(format)"), at: 0)
        }
        appliedIndex = LogIndex(try reader.readVarint())
        epoch = try reader.readBool() ? try reader.readFixedUInt64() : nil
        let keyspaceCount = try reader.readCount(limit: KeyspaceName.maximumKeyspaces, minimumElementBytes: 4)
        var previousName: String?
        for _ in 0..<keyspaceCount {
            let name = try reader.readString(limit: KeyspaceName.maximumBytes)
            if let problem = KeyspaceName.problem(name) { throw reader.error(.invalidValue(problem)) }
            guard name != KeyspaceName.defaultName, previousName.map({ $0 < name }) ?? true else {
                throw reader.error(.invalidValue("snapshot keyspaces not strictly ascending, or 'default' among them"))
            }
            previousName = name
            keyspaces[name] = try KeyspaceDefinition.read(&reader)
        }
        let keyCount = try reader.readCount(limit: limits.maximumKeys, minimumElementBytes: 3)
        var records: [StoreKey: Record] = [:]
        records.reserveCapacity(keyCount)
        var sortedKeys: [StoreKey] = []
        sortedKeys.reserveCapacity(keyCount)
        var previousKey: StoreKey?
        for _ in 0..<keyCount {
            let text = try reader.readString(limit: KeyspaceName.maximumBytes + 1 + limits.maximumKeyBytes)
            guard let separator = text.utf8.firstIndex(of: 0) else {
                throw reader.error(.invalidValue("a snapshot key without a keyspace"))
            }
            let keyspace = String(decoding: text.utf8[..<separator], as: UTF8.self)
            let key = StoreKey(keyspace: keyspace, key: String(decoding: text.utf8[text.utf8.index(after: separator)...], as: UTF8.self))
            guard keyspace == KeyspaceName.defaultName || keyspaces[keyspace]?.mode == .raft else {
                throw reader.error(.invalidValue("a snapshot key in keyspace '\(keyspace)', which is not a Raft keyspace"))
            }
            if let previousKey, !(previousKey < key) {
                throw reader.error(.invalidValue("snapshot keys not strictly ascending"))
            }
            previousKey = key
            sortedKeys.append(key)
            let version = LogIndex(try reader.readVarint())
            let value = Array(try reader.readLengthPrefixed(limit: limits.maximumValueBytes))
            records[key] = Record(value: value, version: version)
        }
        let sessionCount = try reader.readCount(limit: limits.maximumSessions, minimumElementBytes: 4)
        var sessions: [UInt64: Session] = [:]
        var previousClient: UInt64?
        for _ in 0..<sessionCount {
            let client = try reader.readVarint()
            if let previousClient, previousClient >= client {
                throw reader.error(.invalidValue("snapshot sessions not strictly ascending"))
            }
            previousClient = client
            let sequence = try reader.readVarint()
            let activity = LogIndex(try reader.readVarint())
            let result = try Self.readResult(&reader, limits: limits)
            sessions[client] = Session(lastSequence: sequence, lastResult: result, lastActivity: activity)
        }
        try reader.expectEnd()
        self.records = records
        self.orderedKeys = OrderedKeys(sorted: sortedKeys)
        self.sessions = sessions
        rebuildActivityOrder()
    }

    private static func write(_ result: KeyValueResult, to writer: inout ByteWriter) {
        switch result {
        case .written(let version):
            writer.write(UInt8(1))
            writer.writeVarint(version.rawValue)
        case .deleted(let existed, let index):
            writer.write(UInt8(2))
            writer.write(existed)
            writer.writeVarint(index.rawValue)
        case .compareAndSetMismatch(let current):
            writer.write(UInt8(3))
            writer.writeVarint(current.rawValue)
        case .sessionExpired:
            writer.write(UInt8(4))
        case .rejected(let reason):
            writer.write(UInt8(5))
            writer.writeString(reason)
        case .storeFull(let maximumKeys):
            writer.write(UInt8(6))
            writer.writeVarint(maximumKeys)
        case .keyspaceNotFound(let name):
            writer.write(UInt8(7))
            writer.writeString(name)
        case .wrongReplicationMode(let keyspace, let mode):
            writer.write(UInt8(8))
            writer.writeString(keyspace)
            writer.write(mode.rawValue)
        case .keyspaceCreated(let name):
            writer.write(UInt8(9))
            writer.writeString(name)
        case .keyspaceExists(let name, let definition):
            writer.write(UInt8(10))
            writer.writeString(name)
            definition.write(to: &writer)
        case .keyspaceDeleted(let name, let keys):
            writer.write(UInt8(11))
            writer.writeString(name)
            writer.writeVarint(keys)
        case .epoch(let epoch):
            writer.write(UInt8(12))
            writer.writeFixed(epoch)
        }
    }

    private static func readResult(_ reader: inout ByteReader, limits: KeyValueLimits) throws(BinaryDecodingError)
        -> KeyValueResult
    {
        let tag = try reader.readByte()
        switch tag {
        case 1: return .written(version: LogIndex(try reader.readVarint()))
        case 2:
            let existed = try reader.readBool()
            return .deleted(existed: existed, index: LogIndex(try reader.readVarint()))
        case 3: return .compareAndSetMismatch(currentVersion: LogIndex(try reader.readVarint()))
        case 4: return .sessionExpired
        case 5: return .rejected(try reader.readString(limit: 4_096))
        case 6: return .storeFull(maximumKeys: try reader.readVarint(limit: Int(Int32.max)))
        case 7: return .keyspaceNotFound(try reader.readString(limit: KeyspaceName.maximumBytes))
        case 8:
            let keyspace = try reader.readString(limit: KeyspaceName.maximumBytes)
            let byte = try reader.readByte()
            guard let mode = ReplicationMode(rawValue: byte) else { throw reader.error(.invalidValue("replication mode \(byte)")) }
            return .wrongReplicationMode(keyspace: keyspace, mode: mode)
        case 9: return .keyspaceCreated(try reader.readString(limit: KeyspaceName.maximumBytes))
        case 10:
            let name = try reader.readString(limit: KeyspaceName.maximumBytes)
            return .keyspaceExists(name, try KeyspaceDefinition.read(&reader))
        case 11:
            let name = try reader.readString(limit: KeyspaceName.maximumBytes)
            return .keyspaceDeleted(name, keys: try reader.readVarint(limit: Int(Int32.max)))
        case 12: return .epoch(try reader.readFixedUInt64())
        default: throw reader.error(.invalidValue("result tag \(tag)"))
        }
    }
}
