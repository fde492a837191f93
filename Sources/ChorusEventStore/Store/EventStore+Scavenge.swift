/// Scavenging: the compaction that physically removes the events deletes and
/// retention rules made unreachable (KurrentDB's scavenge).
///
/// Reads of a stream return the same events before and after a scavenge,
/// because it removes exactly what no stream read can see at that moment
/// (including `maximumAge`, measured against the store's clock). What changes:
/// `$all` reads no longer return the removed events, loosening a rule can no
/// longer reveal them, and "as of" reads that would need them answer
/// `asOfNotRetained`. The id window is separate from the events, so a retry
/// of a scavenged batch is still recognised while its ids are in the window.
///
/// It runs when a `scavenge` command is applied, and by itself (inside the
/// apply that crosses the threshold) when count-based unreachable events reach
/// `automaticScavengeMinimumReclaimableEvents` and outnumber the reachable
/// ones; every replica runs it at the same index. It costs O(retained events).
extension EventStore {
    mutating func scavenge(automatic: Bool) -> ScavengeReport {
        scavengeCount += 1
        let cuts = streams.map { visibleStart(of: $0) }
        let source = log
        var compacted = EventLog(chunkBytes: limits.payloadChunkBytes)
        compacted.reserveCapacity(Swift.max(0, source.count - Int(reclaimableEvents)))
        for index in streams.indices {
            let keep = Int(streams[index].nextRevision - cuts[index])
            streams[index].entries = []
            streams[index].entries.reserveCapacity(keep)
            streams[index].retainedStart = cuts[index]
        }
        for slot in 0..<source.count {
            let record = source[slot]
            guard record.revision >= cuts[Int(record.stream)] else { continue }
            let newSlot = compacted.append(copying: record, from: source.arena)
            streams[Int(record.stream)].entries.append(UInt32(newSlot))
        }
        let report = ScavengeReport(
            removedEvents: source.count - compacted.count, removedPayloadBytes: source.payloadByteCount - compacted.payloadByteCount,
            retainedEvents: compacted.count, automatic: automatic)
        log = compacted
        reclaimableEvents = 0
        for index in streams.indices {
            streams[index].reclaimable = 0
            refreshReclaimable(UInt32(index))
        }
        lastScavenge = report
        return report
    }

    /// Runs the automatic scavenge when it is due (see `EventStoreLimits`).
    mutating func scavengeIfWorthwhile() {
        let threshold = limits.automaticScavengeMinimumReclaimableEvents
        guard reclaimableEvents >= UInt64(threshold) else { return }
        let reachable = UInt64(log.count) - Swift.min(UInt64(log.count), reclaimableEvents)
        guard reclaimableEvents >= reachable else { return }
        _ = scavenge(automatic: true)
    }
}
