import ChorusCore
import ChorusStorage

/// The leaderless log's snapshot payload and append chunking.
///
///     payload = varint count · count × (varint length · record bytes)
///
/// The records are the core's `durableSnapshot()`: recovering from them
/// gives the same state as the log they replace.
enum LeaderlessSnapshot {
    static let maximumRecordCount = 1 << 28

    static func encode(_ records: [[UInt8]]) -> [UInt8] {
        var writer = ByteWriter(capacity: records.reduce(8) { $0 + $1.count + 5 })
        writer.writeVarint(records.count)
        for record in records { writer.writeLengthPrefixed(record) }
        return writer.bytes
    }

    static func records(decoding payload: [UInt8]) throws(BinaryDecodingError) -> [[UInt8]] {
        var reader = ByteReader(payload)
        let count = try reader.readCount(limit: maximumRecordCount)
        var records: [[UInt8]] = []
        records.reserveCapacity(Swift.min(count, payload.count))
        for _ in 0..<count { records.append(Array(try reader.readLengthPrefixed(limit: payload.count))) }
        try reader.expectEnd()
        return records
    }

    /// `records` split so that no append exceeds the log's batch limits.
    static func chunks(_ records: [[UInt8]], limits: StorageConfiguration) -> [[[UInt8]]] {
        var chunks: [[[UInt8]]] = []
        var current: [[UInt8]] = []
        var bytes = 0
        for record in records {
            let frame = SegmentFormat.frameBytes(payloadBytes: record.count)
            if !current.isEmpty && (current.count == limits.maximumBatchRecords || bytes + frame > limits.maximumBatchBytes) {
                chunks.append(current)
                current = []
                bytes = 0
            }
            current.append(record)
            bytes += frame
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }
}
