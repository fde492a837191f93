/// The store's keys in byte order, for range reads and ordered snapshots: a
/// list of sorted chunks (a B-tree of height two). Insertion and removal
/// binary-search the chunk, then move at most one chunk's worth of keys;
/// a range read finds its start in O(log n) and walks forward.
///
/// Invariants (checked by `checkInvariants`): every chunk is non-empty and
/// strictly ascending, chunks are in order without overlap, and no chunk
/// holds more than `chunkCapacity` keys.
struct OrderedKeys: Sendable {
    static let chunkCapacity = 512
    private(set) var chunks: [[StoreKey]] = []
    private(set) var count = 0

    init() {}

    /// From keys already sorted and distinct (a snapshot's order).
    init(sorted keys: [StoreKey]) {
        var start = 0
        while start < keys.count {
            let end = min(keys.count, start + Self.chunkCapacity / 2)
            chunks.append(Array(keys[start..<end]))
            start = end
        }
        count = keys.count
    }

    /// The chunk that holds, or would hold, `key`.
    private func chunkIndex(for key: StoreKey) -> Int {
        var low = 0
        var high = chunks.count
        while low < high {
            let middle = (low + high) / 2
            if chunks[middle].last! < key { low = middle + 1 } else { high = middle }
        }
        return min(low, chunks.count - 1)
    }

    private static func position(of key: StoreKey, in chunk: [StoreKey]) -> (index: Int, found: Bool) {
        var low = 0
        var high = chunk.count
        while low < high {
            let middle = (low + high) / 2
            if chunk[middle] < key { low = middle + 1 } else { high = middle }
        }
        return (low, low < chunk.count && chunk[low] == key)
    }

    /// Adds `key` if absent.
    mutating func insert(_ key: StoreKey) {
        guard !chunks.isEmpty else {
            chunks = [[key]]
            count = 1
            return
        }
        let chunk = chunkIndex(for: key)
        let (index, found) = Self.position(of: key, in: chunks[chunk])
        guard !found else { return }
        chunks[chunk].insert(key, at: index)
        count += 1
        if chunks[chunk].count > Self.chunkCapacity {
            let upper = Array(chunks[chunk][(Self.chunkCapacity / 2)...])
            chunks[chunk].removeSubrange((Self.chunkCapacity / 2)...)
            chunks.insert(upper, at: chunk + 1)
        }
    }

    /// Removes `key` if present.
    mutating func remove(_ key: StoreKey) {
        guard !chunks.isEmpty else { return }
        let chunk = chunkIndex(for: key)
        let (index, found) = Self.position(of: key, in: chunks[chunk])
        guard found else { return }
        chunks[chunk].remove(at: index)
        count -= 1
        if chunks[chunk].isEmpty { chunks.remove(at: chunk) }
    }

    /// Up to `limit` keys at or after `start` (or strictly after, when
    /// `inclusive` is false) for which `belongs` holds, stopping at the first
    /// that does not (keys with one prefix are contiguous).
    func keys(from start: StoreKey, inclusive: Bool, limit: Int, while belongs: (StoreKey) -> Bool) -> [StoreKey] {
        guard !chunks.isEmpty, limit > 0 else { return [] }
        var chunk = chunkIndex(for: start)
        var (index, found) = Self.position(of: start, in: chunks[chunk])
        if found && !inclusive { index += 1 }
        var result: [StoreKey] = []
        while chunk < chunks.count {
            while index < chunks[chunk].count {
                let key = chunks[chunk][index]
                guard belongs(key) else { return result }
                result.append(key)
                if result.count == limit { return result }
                index += 1
            }
            chunk += 1
            index = 0
        }
        return result
    }

    /// Every key in order.
    var all: [StoreKey] { chunks.flatMap { $0 } }

    func checkInvariants() {
        var previous: StoreKey?
        var total = 0
        for chunk in chunks {
            precondition(!chunk.isEmpty && chunk.count <= Self.chunkCapacity, "a chunk of \(chunk.count) keys")
            for key in chunk {
                if let previous { precondition(previous < key, "keys out of order") }
                previous = key
            }
            total += chunk.count
        }
        precondition(total == count, "count \(count) but \(total) keys held")
    }
}
