import ChorusClocks
import ChorusCore
import Testing

@testable import ChorusCRDT

/// Adversarial, seeded tests of the text CRDT's waiting changes (`pending`),
/// their canonical form, and the decode-time causal check: receivers get
/// random, duplicated, reordered subsets of recorded deltas and of other
/// receivers' `delta(since:)` (which forward those receivers' waiting
/// changes, deleted copies included), and every law is checked by encoding.
@Suite struct PendingAdversaryTests {
    // MARK: Helpers

    static func merged(_ x: ReplicatedText, _ y: ReplicatedText) -> ReplicatedText {
        var result = x
        result.merge(y)
        return result
    }

    static func applied(_ x: ReplicatedText, _ delta: TextDelta) -> ReplicatedText {
        var result = x
        result.apply(delta)
        return result
    }

    /// Fisher–Yates with the seeded generator.
    static func shuffled<T>(_ values: [T], using random: inout SeededGenerator) -> [T] {
        var values = values
        if values.count > 1 {
            for index in stride(from: values.count - 1, to: 0, by: -1) {
                values.swapAt(index, Int.random(in: 0...index, using: &random))
            }
        }
        return values
    }

    /// Checks everything a receiver must satisfy on its own; returns a
    /// description of the first failure, or nil.
    static func selfCheck(_ receiver: ReplicatedText, distinctItems: Int) -> String? {
        receiver.checkInvariants()
        let pending = receiver.pending
        // Content and live insertions in step.
        let live = pending.insertions.reduce(0) { $0 + ($1.isDeleted ? 0 : Int($1.length)) }
        if live != pending.content.count { return "pending content \(pending.content.count) for \(live) live items" }
        // No item twice, none already held, sorted by (replica, sequence).
        let version = receiver.version
        var total = 0
        var previous: TextDelta.Insertion?
        for insertion in pending.insertions {
            if insertion.length == 0 { return "empty pending insertion" }
            total += Int(insertion.length)
            if UInt64(insertion.sequence) < version[insertion.replica] {
                return "pending insertion \(insertion.replica).\(insertion.sequence)+\(insertion.length) already held (version \(version[insertion.replica]))"
            }
            if let previous {
                if (previous.replica, previous.sequence) >= (insertion.replica, insertion.sequence) {
                    return "pending insertions out of order"
                }
                if previous.replica == insertion.replica, previous.sequence + previous.length > insertion.sequence {
                    return "pending insertions overlap at \(insertion.replica).\(insertion.sequence)"
                }
                if previous.isDeleted == insertion.isDeleted, previous.isContinued(by: insertion) {
                    return "pending insertions not coalesced at \(insertion.replica).\(insertion.sequence)"
                }
            }
            previous = insertion
        }
        if total > distinctItems { return "\(total) waiting items of \(distinctItems) distinct" }
        // Deletions sorted, merged, not on held items, not on waiting items.
        var previousDeletion: TextDelta.Deletion?
        for deletion in pending.deletions {
            if deletion.count == 0 { return "empty pending deletion" }
            if let previousDeletion {
                if previousDeletion.replica > deletion.replica
                    || (previousDeletion.replica == deletion.replica
                        && previousDeletion.sequence + previousDeletion.count >= deletion.sequence)
                {
                    return "pending deletions not sorted and merged"
                }
            }
            previousDeletion = deletion
            if UInt64(deletion.sequence) < version[deletion.replica] {
                return "pending deletion \(deletion.replica).\(deletion.sequence)+\(deletion.count) of held items"
            }
            for insertion in pending.insertions where insertion.replica == deletion.replica {
                if insertion.sequence < deletion.sequence + deletion.count && deletion.sequence < insertion.sequence + insertion.length {
                    return "pending deletion \(deletion.replica).\(deletion.sequence)+\(deletion.count) not folded"
                }
            }
        }
        // Round trip: equal, and byte-identical on re-encoding.
        let bytes = receiver.encoded()
        guard let decoded = try? ReplicatedText(decodingAll: bytes) else { return "a real document was refused" }
        decoded.checkInvariants()
        if decoded.encoded() != bytes { return "round trip changed the bytes" }
        if decoded.string != receiver.string { return "round trip changed the text" }
        if decoded.pending != receiver.pending { return "round trip changed pending" }
        return nil
    }

    struct ItemFacts: Equatable {
        var originLeft: TextItemID?
        var originRight: TextItemID?
        var scalar: UInt32?  // nil: deleted in the final document
    }

    /// Per item, its origins and (when live) content, from a delta.
    static func facts(of delta: TextDelta) -> [TextItemID: ItemFacts] {
        var table: [TextItemID: ItemFacts] = [:]
        var offset = 0
        for insertion in delta.insertions {
            for k in 0..<insertion.length {
                let id = TextItemID(replica: insertion.replica, sequence: insertion.sequence + k)
                let left = k == 0 ? insertion.originLeft : TextItemID(replica: insertion.replica, sequence: insertion.sequence + k - 1)
                table[id] = ItemFacts(
                    originLeft: left, originRight: insertion.originRight,
                    scalar: insertion.isDeleted ? nil : delta.content[offset + Int(k)])
            }
            if !insertion.isDeleted { offset += Int(insertion.length) }
        }
        return table
    }

    /// Waiting items must be real items: same origins, same content (a live
    /// waiting copy of an item deleted in the end is fine).
    static func pendingMatches(_ pending: TextDelta, _ truth: [TextItemID: ItemFacts]) -> String? {
        for (id, fact) in facts(of: pending) {
            guard let real = truth[id] else { return "pending item \(id) never existed" }
            if real.originLeft != fact.originLeft || real.originRight != fact.originRight {
                return "pending item \(id) has origins \(String(describing: fact.originLeft)) \(String(describing: fact.originRight)), really \(String(describing: real.originLeft)) \(String(describing: real.originRight))"
            }
            if let scalar = fact.scalar, let realScalar = real.scalar, scalar != realScalar { return "pending item \(id) has wrong content" }
        }
        return nil
    }

    /// A random version vector at or below `version` (or beyond it).
    static func randomVersion(below version: VersionVector, replicas: [ReplicaID], using random: inout SeededGenerator) -> VersionVector {
        if random.chance(0.3) { return VersionVector() }
        var pairs: [(ReplicaID, UInt64)] = []
        for replica in replicas where random.chance(0.7) {
            let held = version[replica]
            pairs.append((replica, random.chance(0.1) ? held + UInt64.random(in: 0...3, using: &random) : UInt64.random(in: 0...held, using: &random)))
        }
        return VersionVector(pairs)
    }

    /// A receiver's random history: recorded deltas in random order, some
    /// duplicated, plus deltas and merges from earlier receivers (so their
    /// waiting changes are forwarded) and from the session's replicas
    /// (whose `delta(since:)` carries deleted copies of items).
    static func randomReceiver(
        session: EditingSession, earlier: [ReplicatedText], density: Double, own: ReplicaID, extra: inout [TextDelta],
        using random: inout SeededGenerator
    ) throws -> ReplicatedText {
        var receiver = ReplicatedText()
        var editor = TextEditor(seed: random.next())
        var chosen: [Int] = []
        for index in session.operations.indices where random.chance(density) {
            for _ in 0..<Int.random(in: 1...2, using: &random) { chosen.append(index) }
        }
        chosen = shuffled(chosen, using: &random)
        for index in chosen {
            receiver.apply(session.operations[index])
            if random.chance(0.05), let source = earlier.randomElement(using: &random) {
                let since = randomVersion(below: receiver.version, replicas: session.identifiers, using: &random)
                receiver.apply(source.delta(since: since))
            }
            if random.chance(0.03), let source = earlier.randomElement(using: &random) {
                receiver.merge(source)
            }
            if random.chance(0.02) {
                // A slice of a live replica's state: deleted copies of items.
                let source = session.replicas[Int.random(in: 0..<session.replicas.count, using: &random)]
                let since = randomVersion(below: source.version, replicas: session.identifiers, using: &random)
                let delta = source.delta(since: since)
                // Only its deleted insertions and deletions, or all of it.
                if random.chance(0.5) {
                    var partial = TextDelta()
                    var offset = 0
                    for insertion in delta.insertions {
                        let length = insertion.isDeleted ? 0 : Int(insertion.length)
                        if random.chance(0.4) {
                            let scalars = Array(delta.content[offset..<(offset + length)])
                            scalars.withUnsafeBufferPointer { partial.appendInsertion(insertion, content: $0) }
                        }
                        offset += length
                    }
                    for deletion in delta.deletions where random.chance(0.5) { partial.appendDeletion(deletion) }
                    receiver.apply(partial)
                } else {
                    receiver.apply(delta)
                }
            }
            if random.chance(0.02) {
                receiver = try ReplicatedText(decodingAll: receiver.encoded())
            }
            if random.chance(0.08) {
                // The receiver types too, while changes wait.
                var delta = TextDelta()
                try editor.edit(&receiver, by: own, recordingInto: &delta)
                extra.append(delta)
            }
        }
        return receiver
    }

    /// Every recorded delta applied in creation order: the reference.
    static func reference(_ session: EditingSession) -> ReplicatedText {
        var reference = ReplicatedText()
        for operation in session.operations { reference.apply(operation) }
        return reference
    }

    // MARK: Laws with forwarded waiting changes

    struct Statistics {
        var receivers = 0
        var withWaitingInsertions = 0
        var withDeletedWaiting = 0
        var withWaitingDeletions = 0
    }

    static func runLawSeed(_ seed: UInt64, replicaCount: Int, steps: Int, statistics: inout Statistics) throws -> [String] {
        var failures: [String] = []
        var session = EditingSession(replicaCount: replicaCount, seed: seed)
        try session.run(steps: steps)
        var random = SeededGenerator(seed: seed &* 0x9E37_79B9 ^ 0xAD7E)
        var receivers: [ReplicatedText] = []
        var extra: [TextDelta] = []
        var built: [ReplicatedText] = []
        for index in 0..<4 {
            let density = [0.3, 0.5, 0.7, 0.9][Int.random(in: 0..<4, using: &random)]
            built.append(
                try randomReceiver(
                    session: session, earlier: built, density: density, own: ReplicaID(UInt64(10_000 + index)), extra: &extra,
                    using: &random))
        }
        // Every operation, in a causal order: the session's, then the receivers'.
        let allOperations = session.operations + extra
        let distinctItems = allOperations.reduce(0) { total, operation in
            total + operation.insertions.reduce(0) { $0 + Int($1.length) }
        }
        var expected = ReplicatedText()
        for operation in allOperations { expected.apply(operation) }
        let truth = facts(of: expected.integratedDelta(since: VersionVector(), includingDeletions: false))
        for receiver in built {
            if let problem = selfCheck(receiver, distinctItems: distinctItems) { failures.append("receiver \(receivers.count): \(problem)") }
            if let problem = pendingMatches(receiver.pending, truth) { failures.append("receiver \(receivers.count): \(problem)") }
            if !receiver.pending.insertions.isEmpty { statistics.withWaitingInsertions += 1 }
            if receiver.pending.insertions.contains(where: \.isDeleted) { statistics.withDeletedWaiting += 1 }
            if !receiver.pending.deletions.isEmpty { statistics.withWaitingDeletions += 1 }
            statistics.receivers += 1
            receivers.append(receiver)
        }
        let (a, b, c, d) = (receivers[0], receivers[1], receivers[2], receivers[3])
        func check(_ condition: Bool, _ what: String) { if !condition { failures.append(what) } }
        for (name, x, y) in [("ab", a, b), ("bc", b, c), ("cd", c, d), ("da", d, a), ("ac", a, c)] {
            let xy = merged(x, y)
            let yx = merged(y, x)
            check(merged(x, x) == x, "idempotence \(name)")
            check(xy == yx, "commutativity \(name)")
            check(merged(xy, y) == xy, "idempotence after merge \(name)")
            check(merged(xy, x) == xy, "absorption \(name)")
            check(applied(x, y.delta(since: x.version)) == xy, "delta(since:) is merge \(name)")
            check(applied(x, y.delta(since: VersionVector())) == xy, "full delta is merge \(name)")
            if let problem = selfCheck(xy, distinctItems: distinctItems) { failures.append("merge \(name): \(problem)") }
            if let problem = pendingMatches(xy.pending, truth) { failures.append("merge \(name): \(problem)") }
        }
        check(merged(merged(a, b), c) == merged(a, merged(b, c)), "associativity abc")
        check(merged(merged(b, d), a) == merged(b, merged(d, a)), "associativity bda")
        check(merged(merged(merged(a, b), c), d) == merged(merged(d, c), merged(b, a)), "four-way join")
        // Redelivery: once == twice, for recorded deltas and forwarded ones.
        for _ in 0..<6 {
            let x = receivers[Int.random(in: 0..<4, using: &random)]
            let delta: TextDelta
            if random.chance(0.5) {
                delta = session.operations[Int.random(in: 0..<session.operations.count, using: &random)]
            } else {
                let y = receivers[Int.random(in: 0..<4, using: &random)]
                delta = y.delta(since: randomVersion(below: y.version, replicas: session.identifiers, using: &random))
            }
            let once = applied(x, delta)
            check(applied(once, delta) == once, "redelivery")
            // A delta's encoding round trip does not change its effect.
            if let decodedDelta = try? TextDelta(decodingAll: delta.encodedBytes) {
                check(applied(x, decodedDelta) == once, "delta round trip changed its effect")
            } else {
                failures.append("a real delta was refused")
            }
        }
        // Convergence: everything delivered, in a random order, to everyone.
        check(expected.pending.isEmpty, "reference has waiting changes")
        var complete: [ReplicatedText] = []
        for var receiver in receivers {
            for operation in Self.shuffled(allOperations, using: &random) { receiver.apply(operation) }
            check(receiver.pending.isEmpty, "pending not empty after everything arrived")
            check(receiver.string == expected.string, "diverged from the causal-order reference")
            check(receiver == expected, "not equal by encoding to the reference")
            complete.append(receiver)
        }
        // And the session's own replicas, fully synchronized, agree too.
        session.synchronizeAll()
        check(session.replicas.allSatisfy { $0.string == reference(session).string }, "session replicas diverged from the reference")
        // Receivers gossiping only among themselves converge as well.
        var gossip = receivers
        for operation in allOperations { gossip[Int.random(in: 0..<gossip.count, using: &random)].apply(operation) }
        for _ in 0..<2 {
            for target in gossip.indices {
                for source in gossip.indices where source != target {
                    gossip[target].apply(gossip[source].delta(since: gossip[target].version))
                }
            }
        }
        check(gossip.allSatisfy { $0 == expected }, "gossip did not converge to the reference")
        return failures.map { "seed \(seed) (\(replicaCount) replicas, \(steps) steps): \($0)" }
    }

    @Test func lawsHoldWithForwardedWaitingChanges() throws {
        var failures: [String] = []
        var statistics = Statistics()
        for seed: UInt64 in 1...140 {
            failures += try Self.runLawSeed(seed, replicaCount: 3, steps: 70, statistics: &statistics)
        }
        for seed: UInt64 in 1_000...1_040 {
            failures += try Self.runLawSeed(seed, replicaCount: 5, steps: 160, statistics: &statistics)
        }
        #expect(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(8))")
        // The test must exercise what it is about.
        #expect(statistics.withWaitingInsertions > statistics.receivers / 2, "\(statistics)")
        #expect(statistics.withDeletedWaiting > statistics.receivers / 10, "\(statistics)")
        #expect(statistics.withWaitingDeletions > statistics.receivers / 10, "\(statistics)")
        print("PendingAdversary statistics: \(statistics)")
    }

    /// Pending canonical form: the same waiting items, delivered in any order
    /// and multiplicity, encode identically.
    @Test func waitingChangesCanonicalWhateverTheOrder() throws {
        var failures: [String] = []
        for seed: UInt64 in 300...420 {
            var session = EditingSession(replicaCount: 3, seed: seed)
            try session.run(steps: 60)
            var random = SeededGenerator(seed: seed ^ 0xCA70)
            // Drop a few operations so that much waits, then deliver the rest
            // in two different orders and multiplicities.
            let kept = session.operations.indices.filter { _ in random.chance(0.75) }
            var first = ReplicatedText()
            for index in Self.shuffled(kept, using: &random) { first.apply(session.operations[index]) }
            var second = ReplicatedText()
            for index in Self.shuffled(kept + kept.filter { _ in random.chance(0.5) }, using: &random) {
                second.apply(session.operations[index])
            }
            var combined = TextDelta()
            for index in Self.shuffled(kept, using: &random) { combined.append(session.operations[index]) }
            var third = ReplicatedText()
            third.apply(combined)
            if first != second { failures.append("seed \(seed): order/multiplicity changed the state") }
            if first != third { failures.append("seed \(seed): one combined delta differs from many") }
            if first.pending != second.pending { failures.append("seed \(seed): pending differs") }
        }
        #expect(failures.isEmpty, "\(failures.prefix(8))")
    }

    // MARK: The causal check

    /// Documents of real sessions always decode: many replicas, deletions,
    /// larger sessions, mid-session states.
    @Test func realDocumentsAreNeverRefused() throws {
        var refused: [String] = []
        var documents = 0
        for seed: UInt64 in 500...560 {
            let replicaCount = 2 + Int(seed % 7)
            var session = EditingSession(replicaCount: replicaCount, seed: seed)
            for round in 0..<4 {
                try session.run(steps: 80)
                for (index, replica) in session.replicas.enumerated() {
                    documents += 1
                    do {
                        let decoded = try ReplicatedText(decodingAll: replica.encoded())
                        if decoded != replica { refused.append("seed \(seed) round \(round) replica \(index): not equal") }
                        var fresh = ReplicatedText()
                        fresh.merge(decoded)
                        if fresh.string != replica.string || !fresh.pending.isEmpty {
                            refused.append("seed \(seed) round \(round) replica \(index): a fresh merge differs")
                        }
                    } catch {
                        refused.append("seed \(seed) round \(round) replica \(index): \(error)")
                    }
                }
            }
            session.synchronizeAll()
            let all = session.replicas[0]
            documents += 1
            if (try? ReplicatedText(decodingAll: all.encoded())) != all { refused.append("seed \(seed): synchronized refused") }
        }
        #expect(refused.isEmpty, "\(documents) documents, \(refused.count) refused: \(refused.prefix(8))")
    }

    /// Random cycles among single-item and multi-item runs are refused;
    /// the same shapes without the back edge load.
    @Test func cyclicDocumentsAreRefused() throws {
        var random = SeededGenerator(seed: 0xC1C1E)
        var accepted = 0
        for trial in 0..<300 {
            // k runs of distinct replicas, each of length 1...3, chained by
            // left or right origins run i -> run i+1, then a back edge.
            let k = Int.random(in: 2...6, using: &random)
            var insertions: [TextDelta.Insertion] = []
            for i in 0..<k {
                let length = UInt32.random(in: 1...3, using: &random)
                insertions.append(
                    TextDelta.Insertion(
                        replica: ReplicaID(UInt64(i + 1)), sequence: 0, length: length, isDeleted: random.chance(0.3),
                        originLeft: nil, originRight: nil))
            }
            for i in 0..<k {
                let target = (i + 1) % k
                if target == 0 && trial % 2 == 1 { continue }  // acyclic twin
                let item = TextItemID(
                    replica: ReplicaID(UInt64(target + 1)),
                    sequence: UInt32.random(in: 0..<insertions[target].length, using: &random))
                if random.chance(0.5) { insertions[i].originLeft = item } else { insertions[i].originRight = item }
            }
            let content = insertions.flatMap { $0.isDeleted ? [] : [UInt32](repeating: 0x61, count: Int($0.length)) }
            let bytes = TextDecodingValidationTests.document(Self.shuffled(insertions, using: &random), content: content)
            let decoded = try? ReplicatedText(decodingAll: bytes)
            if trial % 2 == 0 {
                #expect(decoded == nil, "trial \(trial): a cycle of \(k) runs was accepted")
            } else {
                // The acyclic twin always integrates, and the document that
                // results loads; the shuffled order loads only if it is that one.
                var delta = TextDelta()
                delta.insertions = insertions
                delta.content = content
                var built = ReplicatedText()
                built.apply(delta)
                #expect(built.pending.isEmpty, "trial \(trial): an acyclic set of items cannot be integrated")
                let reloaded = try ReplicatedText(decodingAll: built.encoded())
                reloaded.checkInvariants()
                #expect(reloaded == built, "trial \(trial)")
                accepted += 1
                if let decoded { #expect(decoded == built, "trial \(trial): a misordered document loaded") }
            }
        }
        #expect(accepted == 150)
    }

    /// An acyclic document whose order is not the one integration yields
    /// (here b, whose left origin is a, stored before a; or two siblings
    /// in the wrong tie-break order) is refused: a fresh replica merging it
    /// would otherwise diverge from it for good.
    @Test func acyclicButMisorderedDocumentsAreRefused() throws {
        let a = TextDelta.Insertion(replica: ReplicaID(1), sequence: 0, length: 1, isDeleted: false, originLeft: nil, originRight: nil)
        let b = TextDelta.Insertion(
            replica: ReplicaID(2), sequence: 0, length: 1, isDeleted: false, originLeft: TextItemID(replica: ReplicaID(1), sequence: 0),
            originRight: nil)
        #expect(throws: BinaryDecodingError.self) { try ReplicatedText(decodingAll: TextDecodingValidationTests.document([b, a], content: [0x62, 0x61])) }
        let sibling = TextDelta.Insertion(replica: ReplicaID(2), sequence: 0, length: 1, isDeleted: false, originLeft: nil, originRight: nil)
        let first = try? ReplicatedText(decodingAll: TextDecodingValidationTests.document([a, sibling], content: [0x61, 0x62]))
        let second = try? ReplicatedText(decodingAll: TextDecodingValidationTests.document([sibling, a], content: [0x62, 0x61]))
        #expect((first == nil) != (second == nil), "exactly one order of two siblings is the integrated one")
        // The right order loads and a fresh merge rebuilds it exactly.
        let decoded = try ReplicatedText(decodingAll: TextDecodingValidationTests.document([a, b], content: [0x61, 0x62]))
        var fresh = ReplicatedText()
        fresh.merge(decoded)
        #expect(fresh == decoded)
    }

    /// Random and mutated bytes never trap; what decodes is a usable document.
    @Test func mutatedEncodingsNeverTrap() throws {
        var random = SeededGenerator(seed: 0xF022)
        var sources: [[UInt8]] = []
        for seed: UInt64 in 600...620 {
            var session = EditingSession(replicaCount: 3, seed: seed)
            try session.run(steps: 40)
            var receiver = ReplicatedText()
            for operation in session.operations where random.chance(0.6) { receiver.apply(operation) }
            sources.append(receiver.encoded())
            sources.append(session.replicas[0].encoded())
        }
        var decodedCount = 0
        for trial in 0..<20_000 {
            var bytes = sources[trial % sources.count]
            switch Int.random(in: 0..<5, using: &random) {
            case 0:
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            case 1:
                let index = Int.random(in: 0..<bytes.count, using: &random)
                bytes[index] ^= 1 << UInt8.random(in: 0..<8, using: &random)
            case 2:
                bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &random)))
            case 3:
                let index = Int.random(in: 0..<bytes.count, using: &random)
                bytes.insert(UInt8.random(in: 0...255, using: &random), at: index)
            default:
                bytes = (0..<Int.random(in: 1...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                bytes[0] = ReplicatedText.formatVersion
            }
            guard let decoded = try? ReplicatedText(decodingAll: bytes) else { continue }
            decodedCount += 1
            decoded.checkInvariants()
            let again = try ReplicatedText(decodingAll: decoded.encoded())
            #expect(again == decoded, "trial \(trial): re-decoding changed a decoded document")
            var fresh = ReplicatedText()
            fresh.merge(decoded)
            fresh.checkInvariants()
            var edited = decoded
            try edited.insert("x", at: edited.count / 2, by: ReplicaID(999_999))
            if edited.count > 1 { try edited.delete(0..<1) }
            edited.checkInvariants()
        }
        #expect(decodedCount > 0)
    }
}
