import ChorusCheck

/// The negative checks of the mixed-level nemesis test: each takes a recorded
/// real-process history that its checker passed, makes one read return an
/// older write than it did (a value and version some write really wrote, so
/// nothing but the guarantee breaks), and hands it back with the read's id.
/// The checker must then report exactly that guarantee violated, naming the
/// read. nil when the history has no read the mutation applies to.
enum RecordedHistoryMutations {
    /// Read your writes: a session read of a key the session had written
    /// (acknowledged before the read began) now returns a write of that key
    /// ordered before the session's own.
    static func readOlderThanOwnWrite(_ operations: [KeyValueOperation]) -> (operations: [KeyValueOperation], read: Int)? {
        let writes = acknowledgedWrites(operations)
        for (index, read) in operations.enumerated().reversed() where isPresentRead(read) {
            let own = writes.filter {
                $0.session == read.session && $0.key == read.key && $0.completedAt! < read.invokedAt
            }
            guard let latestOwn = own.map({ $0.version! }).max(),
                let older = writes.filter({ $0.key == read.key && $0.version! < latestOwn }).max(by: { $0.version! < $1.version! })
            else { continue }
            return (replacing(index, in: operations, with: older), index)
        }
        return nil
    }

    /// Staleness: the latest read of a key whose newer writes, acknowledged
    /// before it began, satisfy `isStaleEnough`, now returns the key's first write.
    static func readOfFirstWrite(
        _ operations: [KeyValueOperation],
        where isStaleEnough: (_ read: KeyValueOperation, _ newerAcknowledged: [KeyValueOperation]) -> Bool
    ) -> (operations: [KeyValueOperation], read: Int)? {
        let writes = acknowledgedWrites(operations)
        for (index, read) in operations.enumerated().reversed() where isPresentRead(read) {
            let ofKey = writes.filter { $0.key == read.key }
            guard let first = ofKey.min(by: { $0.version! < $1.version! }) else { continue }
            let newer = ofKey.filter { $0.version! > first.version! && $0.completedAt! < read.invokedAt }
            guard isStaleEnough(read, newer) else { continue }
            return (replacing(index, in: operations, with: first), index)
        }
        return nil
    }

    /// Consistent prefix: a range read with an entry below its newest entry
    /// now shows that entry's key at an older write. Every prefix holding
    /// the newest entry holds the key's write the read really returned, which
    /// comes after the older one, so no prefix gives the mutated page.
    static func rangeEntryMadeOlder(_ operations: [KeyValueOperation]) -> (operations: [KeyValueOperation], read: Int)? {
        let writes = acknowledgedWrites(operations)
        for (index, read) in operations.enumerated().reversed() where read.function == .rangeRead && read.outcome == .ok {
            guard let entries = read.range?.entries, let newest = entries.map(\.version).max() else { continue }
            for (position, entry) in entries.enumerated() where entry.version < newest {
                guard let older = writes.filter({ $0.key == .string(entry.key) && $0.version! < entry.version })
                    .max(by: { $0.version! < $1.version! })
                else { continue }
                var mutated = operations
                mutated[index].range!.entries[position].version = older.version!
                return (mutated, index)
            }
        }
        return nil
    }

    private static func acknowledgedWrites(_ operations: [KeyValueOperation]) -> [KeyValueOperation] {
        operations.filter { $0.function == .write && $0.outcome == .ok && $0.version != nil && $0.completedAt != nil }
    }

    private static func isPresentRead(_ operation: KeyValueOperation) -> Bool {
        operation.function == .read && operation.outcome == .ok && operation.version != nil && !operation.value.isNull
    }

    private static func replacing(_ index: Int, in operations: [KeyValueOperation], with write: KeyValueOperation) -> [KeyValueOperation] {
        var mutated = operations
        mutated[index].value = write.value
        mutated[index].version = write.version
        return mutated
    }
}
