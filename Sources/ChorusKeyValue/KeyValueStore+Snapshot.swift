import ChorusCore

/// Snapshot and restore of the whole store (thesis §5.1): the application
/// state handed to `RaftNode.compactLog` and shipped to lagging followers.
///
///     format(1) appliedIndex(varint)
///     keyCount(varint)     { key(len+utf8) version(varint) value(len+bytes) }   keys ascending by bytes
///     sessionCount(varint) { clientID sequence lastActivity result }           ascending client ids
extension KeyValueStore {
    static let snapshotFormat: UInt8 = 1

    public func snapshot() -> [UInt8] {
        var writer = ByteWriter(capacity: 64 + records.count * 32)
        writer.write(Self.snapshotFormat)
        writer.writeVarint(appliedIndex.rawValue)
        writer.writeVarint(records.count)
        for key in records.keys.sorted() {
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
        let keyCount = try reader.readCount(limit: limits.maxKeys, minimumElementBytes: 3)
        var records: [StoreKey: Record] = [:]
        records.reserveCapacity(keyCount)
        var previousKey: StoreKey?
        for _ in 0..<keyCount {
            let key = StoreKey(try reader.readString(limit: limits.maxKeyBytes))
            if let previousKey, !(previousKey < key) {
                throw reader.error(.invalidValue("snapshot keys not strictly ascending"))
            }
            previousKey = key
            let version = LogIndex(try reader.readVarint())
            let value = Array(try reader.readLengthPrefixed(limit: limits.maxValueBytes))
            records[key] = Record(value: value, version: version)
        }
        let sessionCount = try reader.readCount(limit: limits.maxSessions, minimumElementBytes: 4)
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
        self.sessions = sessions
        rebuildActivityOrder()
    }

    private static func write(_ result: KeyValueResult, to writer: inout ByteWriter) {
        switch result {
        case .written(let version):
            writer.write(UInt8(1))
            writer.writeVarint(version.rawValue)
        case .deleted(let existed):
            writer.write(UInt8(2))
            writer.write(existed)
        case .compareAndSetMismatch(let current):
            writer.write(UInt8(3))
            writer.writeVarint(current.rawValue)
        case .sessionExpired:
            writer.write(UInt8(4))
        case .rejected(let reason):
            writer.write(UInt8(5))
            writer.writeString(reason)
        case .storeFull(let maxKeys):
            writer.write(UInt8(6))
            writer.writeVarint(maxKeys)
        }
    }

    private static func readResult(_ reader: inout ByteReader, limits: KeyValueLimits) throws(BinaryDecodingError)
        -> KeyValueResult
    {
        let tag = try reader.readByte()
        switch tag {
        case 1: return .written(version: LogIndex(try reader.readVarint()))
        case 2: return .deleted(existed: try reader.readBool())
        case 3: return .compareAndSetMismatch(currentVersion: LogIndex(try reader.readVarint()))
        case 4: return .sessionExpired
        case 5: return .rejected(try reader.readString(limit: 4_096))
        case 6: return .storeFull(maxKeys: try reader.readVarint(limit: Int(Int32.max)))
        default: throw reader.error(.invalidValue("result tag \(tag)"))
        }
    }
}
