import ChorusCore
import Testing

@testable import ChorusKeyValue

/// Session eviction keeps the most recently active sessions, exactly as a
/// scan for the least recent one would, through duplicates, retries and
/// snapshot restores.
@Suite struct SessionEvictionTests {
    @Test(arguments: 1...6 as ClosedRange<UInt64>)
    func evictionMatchesALeastRecentScan(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        let maximumSessions = 1 + Int(seed % 5) * 3
        var store = KeyValueStore(limits: KeyValueLimits(maximumKeyBytes: 8, maximumValueBytes: 8, maximumSessions: maximumSessions, maximumKeys: 64))
        // The reference: client → (last sequence, last activity).
        var reference: [UInt64: (sequence: UInt64, activity: LogIndex)] = [:]
        for step in 1...3_000 {
            let index = LogIndex(UInt64(step))
            let client = UInt64.random(in: 1...UInt64(maximumSessions * 3), using: &random)
            let known = reference[client]
            // Mostly the next sequence; sometimes a retry of the last one.
            let sequence = known.map { random.chance(0.2) ? $0.sequence : $0.sequence + 1 } ?? 1
            let bytes = KeyValueCommand(clientID: client, sequence: sequence, operation: .put(key: "k", value: [1])).encoded()
            store.apply(commandBytes: bytes, at: index)
            reference[client] = (sequence, index)
            while reference.count > maximumSessions {
                let victim = reference.min { ($0.value.activity, $0.key) < ($1.value.activity, $1.key) }!.key
                reference.removeValue(forKey: victim)
            }
            #expect(Set(store.sessions.keys) == Set(reference.keys), "seed \(seed) step \(step)")
            if step % 500 == 0 {
                store = try KeyValueStore(restoring: store.snapshot(), limits: store.limits)
            }
        }
        #expect(store.activityOrder.count - store.activityHead <= 2 * store.sessions.count + 64 + 1)
    }
}
