import ChorusClocks
import ChorusCore
import Testing

@Suite struct ClockTests {
    @Test func lamportClockTicksAndJumpsPastReceivedTimes() throws {
        var clock = LamportClock()
        #expect(clock.tick() == 1)
        #expect(try clock.receive(10) == 11)
        #expect(try clock.receive(3) == 12)
        var exhausted = LamportClock(time: .max)
        #expect(throws: ClockError.counterExhausted) { try exhausted.receive(1) }
        #expect(LamportTimestamp(time: 2, replica: 9) < LamportTimestamp(time: 3, replica: 1))
        #expect(LamportTimestamp(time: 3, replica: 1) < LamportTimestamp(time: 3, replica: 2))
    }

    @Test func versionVectorOrderAgreesWithHistoryInclusion() {
        // Random vectors over three replicas; compare against the sets of
        // events they stand for.
        var random = SeededGenerator(seed: 42)
        let replicas: [ReplicaID] = [1, 2, 3]
        func events(_ vector: VersionVector) -> Set<Dot> {
            var set = Set<Dot>()
            for entry in vector.entries {
                for counter in 1...entry.counter { set.insert(Dot(replica: entry.replica, counter: counter)) }
            }
            return set
        }
        for iteration in 0..<500 {
            let a = VersionVector(replicas.map { ($0, UInt64.random(in: 0...3, using: &random)) })
            let b = VersionVector(replicas.map { ($0, UInt64.random(in: 0...3, using: &random)) })
            let (ea, eb) = (events(a), events(b))
            let expected: CausalOrder =
                ea == eb ? .equal : ea.isSubset(of: eb) ? .before : eb.isSubset(of: ea) ? .after : .concurrent
            #expect(a.compare(b) == expected, "iteration \(iteration) (seed 42): \(a) vs \(b)")
            #expect(events(a.merging(b)) == ea.union(eb), "iteration \(iteration) (seed 42)")
            #expect(a.merging(b) == b.merging(a))
        }
    }

    @Test func versionVectorBasics() {
        var vector = VersionVector()
        #expect(vector.increment(5) == 1)
        #expect(vector.increment(5) == 2)
        vector[2] = 7
        #expect(vector.entries.map(\.replica) == [2, 5], "entries stay sorted")
        #expect(vector.contains(Dot(replica: 2, counter: 7)))
        #expect(!vector.contains(Dot(replica: 2, counter: 8)))
        vector[2] = 0
        #expect(vector.entries.count == 1)
        #expect(vector.eventCount == 2)
    }

    @Test func causalContextCompactsWhenGapsFill() {
        var context = CausalContext()
        context.insert(Dot(replica: 1, counter: 1))
        context.insert(Dot(replica: 1, counter: 3))
        context.insert(Dot(replica: 1, counter: 4))
        #expect(context.cloud == [Dot(replica: 1, counter: 3), Dot(replica: 1, counter: 4)])
        #expect(!context.contains(Dot(replica: 1, counter: 2)))
        context.insert(Dot(replica: 1, counter: 2))
        #expect(context.cloud.isEmpty)
        #expect(context.compact[1] == 4)
        #expect(context.nextDot(for: 1) == Dot(replica: 1, counter: 5))

        var other = CausalContext(dots: [Dot(replica: 2, counter: 2), Dot(replica: 1, counter: 6)])
        other.merge(context)
        #expect(other.includes(context))
        #expect(!context.includes(other))
        other.insert(Dot(replica: 1, counter: 5))
        other.insert(Dot(replica: 2, counter: 1))
        #expect(other.cloud.isEmpty)
        #expect(other.compact == VersionVector([(1, 6), (2, 2)]))
    }

    @Test func causalContextMergeIsALatticeJoin() throws {
        var random = SeededGenerator(seed: 7)
        func randomContext() -> CausalContext {
            var context = CausalContext()
            for _ in 0..<Int.random(in: 0...8, using: &random) {
                context.insert(Dot(replica: ReplicaID(UInt64.random(in: 1...3, using: &random)), counter: UInt64.random(in: 1...6, using: &random)))
            }
            return context
        }
        for iteration in 0..<300 {
            let (a, b, c) = (randomContext(), randomContext(), randomContext())
            #expect(a.merging(b) == b.merging(a), "iteration \(iteration) (seed 7)")
            #expect(a.merging(b).merging(c) == a.merging(b.merging(c)), "iteration \(iteration) (seed 7)")
            #expect(a.merging(a) == a, "iteration \(iteration) (seed 7)")
            #expect(a.merging(b).includes(a) && a.merging(b).includes(b), "iteration \(iteration) (seed 7)")
            #expect(try CausalContext(decodingAll: a.encodedBytes) == a, "iteration \(iteration) (seed 7)")
        }
    }

    @Test func dottedVersionVectorsKeepConcurrentWritesThroughOneServer() throws {
        // Two clients read nothing and write through the same server: with a
        // per-server version vector the second write would overwrite the
        // first; dotted version vectors keep both (Preguiça et al. 2010, §3).
        let server: ReplicaID = 1
        let first = DottedVersionVector.event(at: server, clientContext: VersionVector(), siblings: [])
        let second = DottedVersionVector.event(at: server, clientContext: VersionVector(), siblings: [first])
        #expect(first.dot == Dot(replica: 1, counter: 1))
        #expect(second.dot == Dot(replica: 1, counter: 2))
        #expect(first.compare(second) == .concurrent)
        #expect(DottedVersionVector.synchronize([first], [second]).count == 2)
        // A client that read both writes and writes again supersedes both.
        let third = DottedVersionVector.event(at: server, clientContext: VersionVector([(1, 2)]), siblings: [first, second])
        #expect(first.compare(third) == .before)
        #expect(third.compare(second) == .after)
        #expect(DottedVersionVector.synchronize([first, second], [third]) == [third])
        #expect(third.contains(Dot(replica: 1, counter: 1)))
        #expect(try DottedVersionVector(decodingAll: third.encodedBytes) == third)
    }

    @Test func hybridLogicalClockFollowsPhysicalTimeAndCausality() throws {
        var clock = HybridLogicalClock()
        let a = try clock.now(physical: 100)
        let b = try clock.now(physical: 100)
        let c = try clock.now(physical: 90)  // the physical clock went backwards
        #expect(a == HybridTimestamp(physical: 100, logical: 0))
        #expect(a < b && b < c, "timestamps stay monotonic")
        #expect(c.physical == 100)
        let remote = HybridTimestamp(physical: 150, logical: 4)
        let received = try clock.receive(remote, physical: 120)
        #expect(received == HybridTimestamp(physical: 150, logical: 5))
        #expect(try clock.now(physical: 200) == HybridTimestamp(physical: 200, logical: 0))
    }

    @Test func hybridLogicalClockRefusesExcessiveDrift() throws {
        var clock = HybridLogicalClock(maximumDrift: 50)
        _ = try clock.now(physical: 1_000)
        #expect(throws: ClockError.driftExceeded(remotePhysical: 1_100, localPhysical: 1_000, maximumDrift: 50)) {
            try clock.receive(HybridTimestamp(physical: 1_100, logical: 0), physical: 1_000)
        }
        #expect(clock.latest == HybridTimestamp(physical: 1_000, logical: 0), "a refused receive changes nothing")
        _ = try clock.receive(HybridTimestamp(physical: 1_040, logical: 0), physical: 1_000)
    }

    @Test func hybridLogicalClockPropertiesOnRandomRuns() throws {
        // Three clocks with skewed physical times exchange messages; every
        // receive is after the send and after everything its clock issued,
        // and the physical part never exceeds the largest physical time seen.
        var random = SeededGenerator(seed: 11)
        var clocks = [HybridLogicalClock](repeating: HybridLogicalClock(), count: 3)
        var latestIssued = [HybridTimestamp](repeating: .zero, count: 3)
        var physical: [UInt64] = [1_000, 1_010, 990]
        var largestPhysical: UInt64 = 1_010
        for step in 0..<2_000 {
            let node = Int.random(in: 0..<3, using: &random)
            physical[node] += UInt64.random(in: 0...2, using: &random)
            largestPhysical = Swift.max(largestPhysical, physical[node])
            let sent = try clocks[node].now(physical: physical[node])
            #expect(sent > latestIssued[node], "step \(step) (seed 11)")
            latestIssued[node] = sent
            let target = (node + 1 + Int.random(in: 0...1, using: &random)) % 3
            let received = try clocks[target].receive(sent, physical: physical[target])
            #expect(received > sent && received > latestIssued[target], "step \(step) (seed 11)")
            #expect(received.physical <= largestPhysical, "step \(step) (seed 11)")
            latestIssued[target] = received
        }
    }

    @Test func clockEncodingsRoundTripAndRejectMalformedBytes() throws {
        let vector = VersionVector([(3, 9), (1, 2), (1_000_000, 1)])
        #expect(try VersionVector(decodingAll: vector.encodedBytes) == vector)
        let timestamp = HybridTimestamp(physical: 1_700_000_000_000, logical: 12)
        #expect(try HybridTimestamp(decodingAll: timestamp.encodedBytes) == timestamp)
        #expect(try LamportTimestamp(decodingAll: LamportTimestamp(time: 5, replica: 2).encodedBytes) == LamportTimestamp(time: 5, replica: 2))
        // Unsorted replicas, zero counters, zero dots.
        #expect(throws: BinaryDecodingError.self) { try VersionVector(decodingAll: [2, 5, 1, 0, 1]) }
        #expect(throws: BinaryDecodingError.self) { try VersionVector(decodingAll: [1, 5, 0]) }
        #expect(throws: BinaryDecodingError.self) { try Dot(decodingAll: [1, 0]) }
        // Random bytes: errors, never traps.
        var random = SeededGenerator(seed: 99)
        for _ in 0..<3_000 {
            let bytes = (0..<Int.random(in: 0...16, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            _ = try? VersionVector(decodingAll: bytes)
            _ = try? CausalContext(decodingAll: bytes)
            _ = try? DottedVersionVector(decodingAll: bytes)
            _ = try? HybridTimestamp(decodingAll: bytes)
        }
    }

    /// Found with Fuzz/FuzzCRDT (causal-context): a cloud dot of a replica
    /// whose prefix is UInt64.max overflowed `prefix + 1` in the decoder's
    /// compaction check and trapped. Such a dot is covered: a typed error.
    @Test func causalContextWithAMaximalPrefixRefusesCloudDots() throws {
        let maximum: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
        // vector {r1: 2^64 − 1}, cloud {r1.5}
        #expect(throws: BinaryDecodingError.self) { try CausalContext(decodingAll: [1, 1] + maximum + [1, 1, 5]) }
        // The same vector with an empty cloud is a context, and round-trips.
        let context = try CausalContext(decodingAll: [1, 1] + maximum + [0])
        #expect(context.contains(Dot(replica: 1, counter: .max)))
        #expect(try CausalContext(decodingAll: context.encodedBytes) == context)
    }
}
