import ChorusClocks
import ChorusCore

public struct HintID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (lhs: HintID, rhs: HintID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "hint\(rawValue)" }
}

/// A write held for an unreachable replica (Dynamo §4.6, hinted handoff):
/// the value meant for `target`, merged across every hinted write of the
/// key, and when it was first stored. `version` grows with every merge, so
/// an acknowledgement of an older delivery does not delete newer writes.
public struct Hint: Equatable, Sendable {
    public var id: HintID
    public var target: NodeID
    public var key: ObjectKey
    public var value: ReplicatedValue
    public var createdTick: UInt64
    public var version: UInt64

    public var byteCount: Int { key.key.count + value.encodedBytes.count }
}

/// The hints one fallback node holds, bounded in count, bytes and age.
///
/// When a bound would be passed the oldest hints are dropped (and counted):
/// the write they carried is still on the other replicas that acknowledged
/// it, and anti-entropy brings it to the target once it is back, so a
/// dropped hint delays convergence but loses no acknowledged write held
/// elsewhere.
public struct HintStore: Sendable {
    public let maximumCount: Int
    public let maximumBytes: Int
    public let maximumAgeTicks: UInt64
    public private(set) var hints: [HintID: Hint] = [:]
    private var idByTargetAndKey: [HintKey: HintID] = [:]
    public private(set) var byteCount = 0
    private var nextID: UInt64 = 1

    private struct HintKey: Hashable, Sendable {
        var target: NodeID
        var key: ObjectKey
    }

    public init(maximumCount: Int, maximumBytes: Int, maximumAgeTicks: UInt64) {
        self.maximumCount = maximumCount
        self.maximumBytes = maximumBytes
        self.maximumAgeTicks = maximumAgeTicks
    }

    public var count: Int { hints.count }

    /// Merges a hinted write in; returns the hint to persist and the hints
    /// dropped to stay within bounds.
    mutating func store(target: NodeID, key: ObjectKey, value: ReplicatedValue, now: UInt64) -> (stored: Hint, dropped: [Hint]) {
        let hintKey = HintKey(target: target, key: key)
        var hint: Hint
        if let id = idByTargetAndKey[hintKey], let existing = hints[id] {
            hint = existing
            byteCount -= existing.byteCount
            hint.value.merge(value)
            hint.version += 1
        } else {
            hint = Hint(id: HintID(nextID), target: target, key: key, value: value, createdTick: now, version: 1)
            nextID += 1
            idByTargetAndKey[hintKey] = hint.id
        }
        hints[hint.id] = hint
        byteCount += hint.byteCount
        var dropped: [Hint] = []
        while hints.count > maximumCount || (byteCount > maximumBytes && hints.count > 1) {
            guard let oldest = hints.values.filter({ $0.id != hint.id }).min(by: { ($0.createdTick, $0.id) < ($1.createdTick, $1.id) })
            else { break }
            remove(oldest.id)
            dropped.append(oldest)
        }
        return (hint, dropped)
    }

    /// Restores a persisted hint (recovery), replacing any older record of it.
    mutating func restore(_ hint: Hint) {
        if let existing = hints[hint.id] { byteCount -= existing.byteCount }
        hints[hint.id] = hint
        idByTargetAndKey[HintKey(target: hint.target, key: hint.key)] = hint.id
        byteCount += hint.byteCount
        nextID = Swift.max(nextID, hint.id.rawValue + 1)
    }

    @discardableResult
    mutating func remove(_ id: HintID) -> Hint? {
        guard let hint = hints.removeValue(forKey: id) else { return nil }
        byteCount -= hint.byteCount
        idByTargetAndKey[HintKey(target: hint.target, key: hint.key)] = nil
        return hint
    }

    /// Hints older than the age bound.
    func expired(now: UInt64) -> [HintID] {
        hints.values.filter { now > $0.createdTick && now - $0.createdTick > maximumAgeTicks }.map(\.id).sorted()
    }

    /// The merged hinted value of `key` for any target: what a fallback
    /// answers a read with.
    func value(of key: ObjectKey) -> ReplicatedValue? {
        var result: ReplicatedValue? = nil
        for hint in hints.values.sorted(by: { $0.id < $1.id }) where hint.key == key {
            if result == nil { result = hint.value } else { result!.merge(hint.value) }
        }
        return result
    }

    /// Hints for `target`, oldest first.
    func hints(for target: NodeID) -> [Hint] {
        hints.values.filter { $0.target == target }.sorted { $0.id < $1.id }
    }

    mutating func reachedTarget(_ target: NodeID, key: ObjectKey) -> Hint? {
        idByTargetAndKey[HintKey(target: target, key: key)].flatMap { hints[$0] }
    }
}
