import ChorusCore
import ChorusReplication

/// One leaderless node's disk: its log of `DurableRecord`s (the bytes of each
/// `PersistEffect`) in a `FramedLog`, which loses the unsynced tail and may
/// tear it on a crash, and the `DurableView` of what is durable.
///
/// The node's effects contract: persist the records, fsync if any requires
/// it, and only then let the batch's messages and responses go. The runtime
/// (`LeaderlessSimulation+Nodes`) holds outputs until `sync()`.
struct ReplicationDisk {
    private var log = FramedLog()
    /// Records appended since the last sync, decoded lazily on sync.
    private var unsyncedRecords: [[UInt8]] = []
    private(set) var durableView = DurableView()
    /// Records in the log (durable and not), for compaction.
    private(set) var recordCount = 0

    var tornRecoveries: Int { log.tornRecoveries }

    mutating func append(_ bytes: [UInt8]) {
        log.append(bytes)
        unsyncedRecords.append(bytes)
        recordCount += 1
    }

    /// Makes every record appended so far durable.
    mutating func sync() {
        log.sync()
        for bytes in unsyncedRecords {
            if let record = try? DurableRecord(decodingAll: bytes) { durableView.fold(record) }
        }
        unsyncedRecords.removeAll(keepingCapacity: true)
    }

    /// Loses power: the unsynced tail vanishes or survives in part, torn.
    /// Returns the records a restart recovers (the log is truncated to them),
    /// and rebuilds the durable view from them. `forgetHints` is the
    /// `forgotten-hints` bug: hint records do not survive.
    mutating func crash(random: inout SeededGenerator, tornWriteProbability: Double, forgetHints: Bool) -> [[UInt8]] {
        log.crash(random: &random, tornWriteProbability: tornWriteProbability)
        unsyncedRecords.removeAll(keepingCapacity: true)
        var records = log.recover { bytes in (try? DurableRecord(decodingAll: bytes)).map { (bytes, $0) } }
        if forgetHints {
            records.removeAll { if case .hint = $0.1 { true } else { false } }
            log.replace(with: records.map(\.0))
        }
        recordCount = records.count
        durableView = DurableView(records: records.map(\.1))
        return records.map(\.0)
    }

    /// Replaces the log with a compacted one (`ReplicationNode.durableSnapshot()`),
    /// durably and atomically. Only between batches with no sync pending.
    mutating func compact(to records: [[UInt8]]) {
        log.replace(with: records)
        unsyncedRecords.removeAll(keepingCapacity: true)
        recordCount = records.count
        durableView = DurableView(records: records.compactMap { try? DurableRecord(decodingAll: $0) })
    }
}
