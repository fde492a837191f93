import ChorusClocks
import ChorusCore

extension ReplicationNode {
    /// Folds the durable log into memory. Store records are joins, so their
    /// order among themselves does not matter; a causal unit is visible if
    /// the recovered frontier covers its condition (its causes), else
    /// pending. Trees are rebuilt from the recovered keys (the one scan, at
    /// start-up).
    ///
    /// Why this is safe although unsynced frontier records may be lost: a
    /// session that read a unit carries the unit's summary, which covers its
    /// condition; if the recovered frontier does not cover the condition it
    /// does not cover the session either, and the session's reads park here.
    mutating func recover(from records: [DurableRecord]) {
        var units: [(key: ObjectKey, value: ReplicatedValue, condition: VersionVector, summary: VersionVector)] = []
        var originEntries: [UInt64: OriginEntry] = [:]
        var acknowledged: Set<UInt64> = []
        for record in records {
            switch record {
            case .boot(let count): boot = Swift.max(boot, count)
            case .stored(let key, let value, let dependencies, let condition): units.append((key, value, condition, dependencies))
            case .minted(let key, let value, let sequence, let causal, let request):
                counter = Swift.max(counter, sequence)
                if let request {
                    remember(request, MintResult(
                        dot: key.kind == .versioned ? Dot(replica: ReplicaID(myself.rawValue), counter: sequence) : nil,
                        value: nil, causalSequence: causal == nil ? nil : sequence,
                        causalDependencies: causal?.dependencies ?? VersionVector()))
                }
                if let causal {
                    var summary = causal.dependencies
                    let replica = ReplicaID(myself.rawValue)
                    summary[replica] = Swift.max(summary[replica], sequence)
                    units.append((key, value, causal.dependencies, summary))
                    originEntries[sequence] = OriginEntry(
                        sequence: sequence, key: key, value: value, dependencies: causal.dependencies,
                        destinations: causal.destinations, acknowledged: [myself], lastSentTick: 0)
                } else {
                    units.append((key, value, VersionVector(), VersionVector()))
                }
            case .hint(let hint): hints.restore(hint)
            case .hintRemoved(let id): hints.remove(id)
            case .originAcknowledged(let sequence): acknowledged.insert(sequence)
            case .frontier(let recovered): frontier.merge(recovered)
            case .counter(let recovered): counter = Swift.max(counter, recovered)
            }
        }
        let replica = ReplicaID(myself.rawValue)
        frontier[replica] = Swift.max(frontier[replica], counter)
        for (key, value, condition, summary) in units {
            guard value.kind == key.kind else { continue }
            if isCausal(key) {
                _ = storeCausally(key, value, condition: condition, summary: summary)
            } else {
                store.join(key, value)
            }
        }
        for (sequence, entry) in originEntries.sorted(by: { $0.key < $1.key }) where !acknowledged.contains(sequence) {
            originLog.restore(entry)
        }
    }

    /// The node's whole durable state as few records, for the runtime to
    /// replace its log with (log compaction). Recovering from them gives the
    /// same store, hints, counters, frontier and causal backlog.
    public func durableSnapshot() -> [[UInt8]] {
        var records: [DurableRecord] = [.boot(boot), .counter(counter), .frontier(frontier)]
        for key in store.entries.keys.sorted() {
            let entry = store.entries[key]!
            // The visible value is visible: its condition was met.
            records.append(.stored(key: key, value: entry.visible, dependencies: entry.dependencies, condition: VersionVector()))
            for unit in entry.pending {
                records.append(.stored(key: key, value: unit.value, dependencies: unit.summary, condition: unit.condition))
            }
        }
        for hint in hints.hints.values.sorted(by: { $0.id < $1.id }) { records.append(.hint(hint)) }
        for entry in originLog.entries {
            records.append(.minted(
                key: entry.key, value: entry.value, sequence: entry.sequence,
                causal: CausalOrigin(dependencies: entry.dependencies, destinations: entry.destinations), request: nil))
        }
        return records.map(\.encodedBytes)
    }
}
