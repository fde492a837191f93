/// The ids of the latest events of client streams, for recognising retries
/// when the expected state does not say where to look (`any`,
/// `stream_exists`), and for retries whose events were since deleted.
///
/// KurrentDB keeps such ids in a memory-bounded cache and calls `any`
/// idempotency best-effort. Here the window is part of the replicated state:
/// it is a deterministic function of the log, persisted in snapshots, and
/// bounded by a documented count and age, so what it remembers is the same on
/// every replica and after every restart:
///
/// - it holds the ids of at most `maximumEvents` events (the latest ones), and
/// - it forgets an id once it was recorded more than `maximumAge` before the
///   store's clock (the latest recorded time applied).
///
/// Ids are scoped by stream: the same id in two streams is two entries.
struct IdempotencyWindow: Sendable {
    struct Key: Hashable, Sendable {
        var stream: UInt32
        var id: EventID
    }

    struct Entry: Hashable, Sendable {
        var revision: UInt64
        var position: UInt64
        var recordedTime: Int64
        var flags: EventFlags
    }

    private(set) var entries: [Key: Entry] = [:]
    /// Keys in the order they were recorded, oldest first, from `head`. An
    /// element is stale when its key was recorded again later (its entry's
    /// position differs); `head` always points at a live element or the end.
    private var order: [(key: Key, position: UInt64)] = []
    private var head = 0

    var count: Int { entries.count }

    func lookup(_ key: Key) -> Entry? { entries[key] }

    /// The oldest live entry.
    var oldest: (key: Key, entry: Entry)? {
        guard head < order.count, let entry = entries[order[head].key] else { return nil }
        return (order[head].key, entry)
    }

    mutating func record(_ key: Key, _ entry: Entry) {
        entries[key] = entry
        order.append((key, entry.position))
        skipStaleHead()
        // Keep stale elements to a constant factor of the live ones.
        if order.count - head > 2 * entries.count + 64 { rebuildOrder() }
    }

    /// Forgets the oldest entries beyond `maximumEvents` and those recorded before `threshold`.
    mutating func evict(maximumEvents: Int, recordedBefore threshold: RecordedTime) {
        while let current = oldest, entries.count > maximumEvents || current.entry.recordedTime < threshold.rawValue {
            entries.removeValue(forKey: current.key)
            head += 1
            skipStaleHead()
        }
        if head > 1_024 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }

    /// The live entries, oldest first (what a snapshot holds).
    var liveEntriesInOrder: [(key: Key, entry: Entry)] {
        var result: [(key: Key, entry: Entry)] = []
        result.reserveCapacity(entries.count)
        for element in order[head...] {
            if let entry = entries[element.key], entry.position == element.position { result.append((element.key, entry)) }
        }
        return result
    }

    private mutating func skipStaleHead() {
        while head < order.count, entries[order[head].key]?.position != order[head].position { head += 1 }
    }

    private mutating func rebuildOrder() {
        order = liveEntriesInOrder.map { ($0.key, $0.entry.position) }
        head = 0
    }
}
