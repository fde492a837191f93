import ChorusCore

/// The lock table's snapshot, for Raft compaction and for shipping to a
/// lagging replica:
///
///     format(1)  count(varint)
///     { name(len+utf8)  holder(len+utf8)  grantedAt(varint)  expiresAt(varint)
///       waiterCount(varint) { owner(len+utf8)  expiryMilliseconds(varint) } }   names ascending by bytes
///
/// Every lock in the table has a holder (a lock nobody holds is removed,
/// and its waiters, if any, were granted it), so the holder is not optional.
/// Restoring checks every bound and every invariant, and refuses anything
/// `snapshot()` could not have written.
extension SagaLockTable {
    static let snapshotFormat: UInt8 = 1

    public func snapshot() -> [UInt8] {
        var writer = ByteWriter(capacity: 16 + entries.count * 48)
        writer.write(Self.snapshotFormat)
        writer.writeVarint(entries.count)
        for name in entries.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let entry = entries[name]!
            guard let holding = entry.holding else { preconditionFailure("lock \(name) is in the table without a holder") }
            writer.writeString(name)
            writer.writeString(holding.owner)
            writer.writeVarint(holding.grantedAt)
            writer.writeVarint(holding.expiresAt)
            writer.writeVarint(entry.waiters.count)
            for waiter in entry.waiters {
                writer.writeString(waiter.owner)
                writer.writeVarint(waiter.expiryMilliseconds)
            }
        }
        return writer.bytes
    }

    /// A table restored from `snapshot()` bytes.
    public init(restoring bytes: [UInt8], limits: SagaLockTableLimits = .default) throws(BinaryDecodingError) {
        self.init(limits: limits)
        var reader = ByteReader(bytes)
        let format = try reader.readByte()
        guard format == Self.snapshotFormat else {
            throw BinaryDecodingError(.invalidValue("lock table snapshot format \(format)"), at: 0)
        }
        // name, holder, two times, a count: at least five bytes per lock.
        let count = try reader.readCount(limit: limits.maximumLocks, minimumElementBytes: 5)
        var previous: String?
        for _ in 0..<count {
            let name = try reader.readString(limit: limits.maximumNameBytes)
            guard !name.isEmpty else { throw reader.error(.invalidValue("an empty lock name")) }
            if let previous, !previous.utf8.lexicographicallyPrecedes(name.utf8) {
                throw reader.error(.invalidValue("lock names not strictly ascending"))
            }
            previous = name
            // Names are ordered by bytes but keyed as `String`s, which compare by
            // canonical equivalence: two spellings of one name (U+00E9, and "e"
            // with U+0301) would be one entry, the second silently replacing the first.
            guard entries[name] == nil else {
                throw reader.error(.invalidValue("lock \(name) listed twice, in canonically equivalent spellings"))
            }
            let owner = try reader.readString(limit: limits.maximumOwnerBytes)
            guard !owner.isEmpty else { throw reader.error(.invalidValue("an empty lock holder")) }
            let grantedAt = try reader.readVarint()
            let expiresAt = try reader.readVarint()
            guard expiresAt > grantedAt else { throw reader.error(.invalidValue("lock \(name) expires before it was granted")) }
            let waiterCount = try reader.readCount(limit: limits.maximumWaitersPerLock, minimumElementBytes: 2)
            var entry = Entry(holding: Holding(owner: owner, grantedAt: grantedAt, expiresAt: expiresAt))
            var owners: Set<String> = [owner]
            for _ in 0..<waiterCount {
                let waiter = try reader.readString(limit: limits.maximumOwnerBytes)
                guard !waiter.isEmpty, owners.insert(waiter).inserted else {
                    throw reader.error(.invalidValue("lock \(name) lists an owner twice or an empty one"))
                }
                let expiry = try reader.readVarint()
                guard expiry >= 1, expiry <= SagaLimits.maximumDurationMilliseconds else {
                    throw reader.error(.invalidValue("lock \(name) waiter expiry \(expiry) out of range"))
                }
                entry.waiters.append(Waiter(owner: waiter, expiryMilliseconds: expiry))
            }
            entries[name] = entry
        }
        try reader.expectEnd()
    }
}
