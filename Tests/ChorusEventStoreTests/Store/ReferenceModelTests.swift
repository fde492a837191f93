import ChorusCore
import Testing

@testable import ChorusEventStore

/// Seeded random workloads run against the store and the dumb reference
/// model side by side: every command's outcome and every read must agree.
@Suite struct ReferenceModelTests {
    @Test(arguments: [1, 2, 3, 20_261_201] as [UInt64])
    func storeAgreesWithTheReference(seed: UInt64) {
        var limits = smallLimits
        limits.maximumRetainedEvents = 100_000
        limits.maximumEventsPerAppend = 8
        limits.maximumRetainedPayloadBytes = 1 << 24
        var harness = Harness(limits: limits)
        var model = ReferenceModel(limits: limits)
        var random = SeededGenerator(seed: seed)
        let names = ["a", "b", "c", "d"]
        var nextID: UInt64 = 1
        var recentBatches: [[UInt64]] = []
        func expectedState(_ name: String) -> ExpectedState {
            switch random.next() % 6 {
            case 0, 1: return .any
            case 2: return .noStream
            case 3: return .streamExists
            case 4:
                if case .revision(let revision) = model.state(name) { return .revision(revision) }
                if case .softDeleted(let revision) = model.state(name) { return .revision(revision) }
                return .revision(0)
            default: return .revision(StreamRevision(random.next() % 8))
            }
        }
        func batch() -> [UInt64] {
            let roll = recentBatches.isEmpty ? 9 : random.next() % 10
            switch roll {
            case 0, 1, 2:
                return recentBatches[Int(random.next() % UInt64(recentBatches.count))]  // a retry
            case 3:
                let base = recentBatches[Int(random.next() % UInt64(recentBatches.count))]
                return Array(base.dropFirst()) + [nextID]  // an overlap
            case 4:
                let base = recentBatches[Int(random.next() % UInt64(recentBatches.count))]
                return Array(base.prefix(Swift.max(1, base.count - 1)))  // a part of an earlier batch
            case 5:
                nextID += 1
                return [nextID, nextID]  // a duplicate
            default:
                let count = 1 + Int(random.next() % 3)
                let ids = (0..<count).map { _ in nextID += 1; return nextID }
                recentBatches.append(ids)
                if recentBatches.count > 6 { recentBatches.removeFirst() }
                return ids
            }
        }
        for step in 0..<500 {
            let advance: Int64 = random.chance(0.03) ? 61_000_000 : Int64(random.next() % 3)
            let name = names[Int(random.next() % UInt64(names.count))]
            let real: EventStoreResult
            let expected: ReferenceModel.Summary
            let roll = random.next() % 100
            let time = harness.time + advance
            switch roll {
            case 0..<55:
                let state = expectedState(name)
                let ids = batch()
                real = harness.run(.append(StreamAppend(stream: StreamName(name), expected: state, events: ids.map { event($0) })), advancing: advance)
                model.tick(time)
                expected = model.append(name, state, ids)
            case 55..<68:
                let other = names.filter { $0 != name }[Int(random.next() % 3)]
                let check = names.filter { $0 != name && $0 != other }[Int(random.next() % 2)]
                let first = (expectedState(name), batch())
                let second = (expectedState(other), batch())
                let condition = expectedState(check)
                real = harness.run(
                    .appendMultiple(
                        MultiStreamAppend(
                            writes: [
                                StreamAppend(stream: StreamName(name), expected: first.0, events: first.1.map { event($0) }),
                                StreamAppend(stream: StreamName(other), expected: second.0, events: second.1.map { event($0) }),
                            ],
                            checks: [StreamCondition(stream: StreamName(check), expected: condition)])), advancing: advance)
                model.tick(time)
                expected = model.appendMultiple([(name, first.0, first.1), (other, second.0, second.1)], checks: [(check, condition)])
            case 68..<75:
                let state = expectedState(name)
                real = harness.run(.softDelete(stream: StreamName(name), expected: state), advancing: advance)
                model.tick(time)
                expected = model.softDelete(name, state)
            case 75..<77 where step > 350:
                let state = expectedState(name)
                real = harness.run(.hardDelete(stream: StreamName(name), expected: state), advancing: advance)
                model.tick(time)
                expected = model.hardDelete(name, state)
            case 77..<87:
                let metadata = StreamMetadata(
                    maximumCount: random.chance(0.5) ? random.next() % 5 : nil,
                    maximumAge: random.chance(0.2) ? Microseconds(random.next() % 20) : nil,
                    truncateBefore: random.chance(0.3) ? StreamRevision(random.next() % 12) : nil)
                real = harness.run(.setMetadata(stream: StreamName(name), metadata: metadata), advancing: advance)
                model.tick(time)
                expected = model.setMetadata(name, metadata)
            case 87..<92:
                real = harness.run(.scavenge, advancing: advance)
                model.tick(time)
                model.scavenge()
                expected = .done
            default:
                continue
            }
            let summary = ReferenceModel.summarize(real)
            #expect(summary == expected, "seed \(seed) step \(step): store \(real) model \(expected)")
            if summary != expected { return }
            if step % 10 == 0 {
                for stream in names {
                    #expect(readStream(harness.store, stream) == model.readStream(stream), "seed \(seed) step \(step) stream \(stream)")
                }
                #expect(readAll(harness.store) == model.readAll(), "seed \(seed) step \(step) $all")
            }
        }
        #expect(harness.store.headPosition.rawValue == model.nextPosition, "seed \(seed)")
        #expect(model.nextPosition > 100, "seed \(seed): the workload appended \(model.nextPosition) events")
    }

    func readStream(_ store: EventStore, _ name: String) -> [String] {
        var lines: [String] = []
        var from = StreamReadStart.start
        while true {
            switch store.readStream(StreamReadRequest(stream: StreamName(name), from: from, maximumCount: 7)) {
            case .events(let page):
                lines += page.events.map { "\($0.revision.rawValue):\($0.id.low)@\($0.position.rawValue)" }
                guard let next = page.nextRevision else { return lines + ["last \(page.lastRevision.rawValue)"] }
                from = .revision(next)
            case .streamNotFound: return ["not found"]
            case .streamDeleted: return ["deleted"]
            case .asOfNotRetained: return ["?"]
            }
        }
    }

    func readAll(_ store: EventStore) -> [String] {
        var lines: [String] = []
        var from = AllReadStart.start
        while true {
            guard case .events(let page) = store.readAll(AllReadRequest(from: from, maximumCount: 16, filter: .everything)) else { return ["?"] }
            lines += page.events.map { "\($0.stream.text)/\($0.revision.rawValue)@\($0.position.rawValue)" }
            guard let next = page.nextPosition else { return lines }
            from = .position(next)
        }
    }
}
