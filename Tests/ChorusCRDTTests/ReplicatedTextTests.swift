import ChorusCRDT
import ChorusClocks
import ChorusCore
import Testing

@Suite struct ReplicatedTextTests {
    // MARK: Local editing

    @Test func localEditsMatchAnArrayModel() throws {
        for seed: UInt64 in [1, 2, 3] {
            var editor = TextEditor(seed: seed)
            var document = ReplicatedText()
            var model: [Unicode.Scalar] = []
            for step in 0..<2_500 {
                var ignored = TextDelta()
                let edit = try editor.edit(&document, by: 1, recordingInto: &ignored)
                edit.apply(to: &model)
                if step % 250 == 0 {
                    document.checkInvariants()
                    #expect(document.firstDifference(from: model) == nil, "seed \(seed), step \(step)")
                }
            }
            document.checkInvariants()
            #expect(document.string == String(String.UnicodeScalarView(model)), "seed \(seed)")
            #expect(document.count == model.count, "seed \(seed)")
        }
    }

    @Test func manyScatteredEditsGrowATallTreeThatStaysConsistent() throws {
        // Random positions (no cursor locality) fragment the text into
        // thousands of runs, so leaves and branches split repeatedly.
        var random = SeededGenerator(seed: 77)
        var document = ReplicatedText()
        var model: [Unicode.Scalar] = []
        for _ in 0..<6_000 {
            let offset = Int.random(in: 0...model.count, using: &random)
            let scalar = TextEditor.alphabet[Int.random(in: 0..<TextEditor.alphabet.count, using: &random)]
            try document.insert(String(scalar), at: offset, by: 5)
            model.insert(scalar, at: offset)
            if random.chance(0.3), !model.isEmpty {
                let start = Int.random(in: 0..<model.count, using: &random)
                try document.delete(start..<(start + 1))
                model.remove(at: start)
            }
        }
        document.checkInvariants()
        #expect(document.runCount > RunTreeShape.leafCapacity * 32, "the tree should have more than two levels")
        #expect(document.firstDifference(from: model) == nil, "seed 77")
    }

    @Test func outOfBoundsEditsAreTypedErrors() throws {
        var document = try ReplicatedText("hello", by: 1)
        #expect(throws: TextEditError.offsetOutOfBounds(offset: 6, count: 5)) { try document.insert("x", at: 6, by: 1) }
        #expect(throws: TextEditError.offsetOutOfBounds(offset: -1, count: 5)) { try document.insert("x", at: -1, by: 1) }
        #expect(throws: TextEditError.rangeOutOfBounds(lower: 3, upper: 9, count: 5)) { try document.delete(3..<9) }
        #expect(document.string == "hello")
    }

    @Test func typingExtendsOneRun() throws {
        var document = ReplicatedText()
        for (offset, scalar) in "hello world".unicodeScalars.enumerated() {
            try document.insert(String(scalar), at: offset, by: 1)
        }
        #expect(document.runCount == 1)
        // Backspacing the last three characters leaves one live and one
        // tombstone run, whatever the number of keystrokes.
        for _ in 0..<3 { try document.delete((document.count - 1)..<document.count) }
        #expect(document.string == "hello wo")
        #expect(document.runCount == 2)
        // Retyping after the tombstones continues the same replica's run.
        try document.insert("x", at: document.count, by: 1)
        try document.insert("y", at: document.count, by: 1)
        #expect(document.string == "hello woxy")
        #expect(document.runCount == 3)
    }

    // MARK: Concurrency

    @Test func concurrentInsertionsAtOnePlaceAreNotInterleaved() throws {
        let base = try ReplicatedText("[]", by: 9)
        var left = base
        var right = base
        // Forward typing.
        for (offset, scalar) in "abc".unicodeScalars.enumerated() { try left.insert(String(scalar), at: 1 + offset, by: 1) }
        for (offset, scalar) in "xyz".unicodeScalars.enumerated() { try right.insert(String(scalar), at: 1 + offset, by: 2) }
        var merged = left
        merged.merge(right)
        var mergedOther = right
        mergedOther.merge(left)
        #expect(merged.string == "[abcxyz]")
        #expect(merged == mergedOther)
        // Backward typing (each character inserted before the previous one),
        // which RGA interleaves; this rule must not.
        var backwardLeft = base
        var backwardRight = base
        for scalar in "cba".unicodeScalars { try backwardLeft.insert(String(scalar), at: 1, by: 1) }
        for scalar in "zyx".unicodeScalars { try backwardRight.insert(String(scalar), at: 1, by: 2) }
        backwardLeft.merge(backwardRight)
        backwardRight.merge(backwardLeft)
        #expect(backwardLeft == backwardRight)
        #expect(["[abcxyz]", "[xyzabc]"].contains(backwardLeft.string), "interleaved: \(backwardLeft.string)")
    }

    @Test func randomConcurrentSessionsConvergeToTheReferenceOrder() throws {
        for seed: UInt64 in 1...24 {
            let replicaCount = 3 + Int(seed % 3)
            var session = EditingSession(replicaCount: replicaCount, seed: seed)
            try session.run(steps: 160)
            session.synchronizeAll()
            var reference = ReferenceText()
            for operation in session.operations { reference.apply(operation) }
            let expected = reference.text
            for (index, replica) in session.replicas.enumerated() {
                replica.checkInvariants()
                #expect(replica == session.replicas[0], "seed \(seed): replica \(index) differs from replica 0")
                #expect(replica.firstDifference(from: expected.map { Unicode.Scalar($0)! }) == nil, "seed \(seed): replica \(index) differs from the reference")
                #expect(replica.pending.isEmpty, "seed \(seed)")
            }
        }
    }

    @Test func operationsDeliveredInAnyOrderWithDuplicatesConverge() throws {
        for seed: UInt64 in 100...115 {
            var session = EditingSession(replicaCount: 4, seed: seed)
            try session.run(steps: 120)
            var reference = ReferenceText()
            for operation in session.operations { reference.apply(operation) }
            var random = SeededGenerator(seed: seed ^ 0xABCD)
            var receivers: [ReplicatedText] = []
            for _ in 0..<3 {
                // Each operation once or twice, shuffled: out of causal order,
                // duplicated, and delayed behind later operations.
                var deliveries = Array(session.operations.indices)
                for index in session.operations.indices where random.chance(0.3) { deliveries.append(index) }
                deliveries.shuffle(using: &random)
                var receiver = ReplicatedText()
                for (step, index) in deliveries.enumerated() {
                    receiver.apply(session.operations[index])
                    if step % 40 == 0 { receiver.checkInvariants() }
                }
                receiver.checkInvariants()
                #expect(receiver.pending.isEmpty, "seed \(seed): operations left pending")
                #expect(receiver.firstDifference(from: reference.text.map { Unicode.Scalar($0)! }) == nil, "seed \(seed)")
                receivers.append(receiver)
            }
            #expect(receivers.allSatisfy { $0 == receivers[0] }, "seed \(seed)")
        }
    }

    @Test func mergeIsCommutativeAssociativeAndIdempotent() throws {
        for seed: UInt64 in 200...211 {
            var session = EditingSession(replicaCount: 3, seed: seed)
            try session.run(steps: 90)
            let (a, b, c) = (session.replicas[0], session.replicas[1], session.replicas[2])
            func merged(_ x: ReplicatedText, _ y: ReplicatedText) -> ReplicatedText {
                var result = x
                result.merge(y)
                return result
            }
            #expect(merged(a, b) == merged(b, a), "seed \(seed): commutativity")
            #expect(merged(merged(a, b), c) == merged(a, merged(b, c)), "seed \(seed): associativity")
            #expect(merged(a, a) == a, "seed \(seed): idempotence")
            #expect(merged(merged(a, b), b) == merged(a, b), "seed \(seed): idempotence after merge")
        }
    }

    /// The laws hold while changes wait too: receivers that got a random,
    /// duplicated, out-of-order part of the operations hold some of them
    /// pending, and merging, redelivering or merging twice changes nothing a
    /// second time. Waiting changes never pile up: each item waits once.
    @Test func mergeLawsHoldWithChangesWaiting() throws {
        for seed: UInt64 in 220...235 {
            var session = EditingSession(replicaCount: 3, seed: seed)
            try session.run(steps: 90)
            var random = SeededGenerator(seed: seed ^ 0x5EED)
            var receivers: [ReplicatedText] = []
            var waitingReceivers = 0
            for _ in 0..<3 {
                var receiver = ReplicatedText()
                for index in session.operations.indices where random.chance(0.6) {
                    for _ in 0..<Int.random(in: 1...3, using: &random) {
                        receiver.apply(session.operations[Int.random(in: index..<session.operations.count, using: &random)])
                    }
                }
                receiver.checkInvariants()
                if !receiver.pending.isEmpty { waitingReceivers += 1 }
                receivers.append(receiver)
            }
            let (a, b, c) = (receivers[0], receivers[1], receivers[2])
            func merged(_ x: ReplicatedText, _ y: ReplicatedText) -> ReplicatedText {
                var result = x
                result.merge(y)
                return result
            }
            #expect(merged(a, a) == a, "seed \(seed): idempotence")
            #expect(merged(a, b) == merged(b, a), "seed \(seed): commutativity")
            #expect(merged(merged(a, b), c) == merged(a, merged(b, c)), "seed \(seed): associativity")
            #expect(merged(merged(a, b), b) == merged(a, b), "seed \(seed): idempotence after merge")
            var again = a
            for operation in session.operations.suffix(5) {
                var once = again
                once.apply(operation)
                again = once
                again.apply(operation)
                #expect(again == once, "seed \(seed): a redelivered delta changed the state")
            }
            for receiver in receivers {
                let waitingItems = receiver.pending.insertions.reduce(0) { $0 + Int($1.length) }
                let distinctItems = session.operations.reduce(0) { total, operation in
                    total + operation.insertions.reduce(0) { $0 + Int($1.length) }
                }
                #expect(waitingItems <= distinctItems, "seed \(seed): \(waitingItems) waiting items")
                let decoded = try ReplicatedText(decodingAll: receiver.encoded())
                #expect(decoded == receiver, "seed \(seed): round trip with changes waiting")
            }
            // And once everything arrives, every receiver converges.
            var complete: [ReplicatedText] = []
            for var receiver in receivers {
                for operation in session.operations { receiver.apply(operation) }
                #expect(receiver.pending.isEmpty, "seed \(seed)")
                complete.append(receiver)
            }
            #expect(complete.allSatisfy { $0 == complete[0] }, "seed \(seed)")
            #expect(waitingReceivers > 0 || seed != 220, "seed \(seed): the test must exercise waiting changes")
        }
    }

    @Test func redeliveredWaitingChangesAreKeptOnce() throws {
        var typist = ReplicatedText()
        var first = TextDelta()
        var second = TextDelta()
        try typist.insert("a", at: 0, by: 7, recordingInto: &first)
        try typist.insert("b", at: 1, by: 7, recordingInto: &second)
        var once = ReplicatedText()
        once.apply(second)
        var many = ReplicatedText()
        for _ in 0..<1_000 { many.apply(second) }
        #expect(once.pending.insertions.count == 1)
        #expect(many == once)
        #expect(many.encoded().count == once.encoded().count)
        var doubled = once
        doubled.merge(once)
        #expect(doubled == once)
        // A deletion of the waiting item folds into it, whatever the order.
        var deletion = TextDelta()
        var deleter = typist
        try deleter.delete(1..<2, recordingInto: &deletion)
        var deletionFirst = ReplicatedText()
        deletionFirst.apply(deletion)
        deletionFirst.apply(second)
        var insertionFirst = ReplicatedText()
        insertionFirst.apply(second)
        insertionFirst.apply(deletion)
        #expect(deletionFirst == insertionFirst)
        #expect(deletionFirst.pending.deletions.isEmpty)
        #expect(deletionFirst.pending.insertions.first?.isDeleted == true)
        deletionFirst.apply(first)
        #expect(deletionFirst.string == "a")
        #expect(deletionFirst.pending.isEmpty)
    }

    @Test func applyingADeltaSinceACommonVersionEqualsTheFullMerge() throws {
        for seed: UInt64 in 300...311 {
            var session = EditingSession(replicaCount: 3, seed: seed)
            try session.run(steps: 60)
            session.synchronizeAll()
            let common = session.replicas[0].version
            try session.run(steps: 60)
            var viaDelta = session.replicas[0]
            viaDelta.apply(session.replicas[1].delta(since: common))
            var viaMerge = session.replicas[0]
            viaMerge.merge(session.replicas[1])
            #expect(viaDelta == viaMerge, "seed \(seed)")
            // And the delta is smaller than the whole state when little changed.
            let full = session.replicas[1].delta(since: VersionVector())
            #expect(session.replicas[1].delta(since: common).insertions.count <= full.insertions.count, "seed \(seed)")
        }
    }

    // MARK: Encoding

    @Test func documentsRoundTripThroughTheirEncoding() throws {
        for seed: UInt64 in 400...415 {
            var session = EditingSession(replicaCount: 3, seed: seed)
            try session.run(steps: 150)
            // One replica also holds pending changes it cannot integrate yet.
            var holder = ReplicatedText()
            if let last = session.operations.last { holder.apply(last) }
            for document in session.replicas + [holder] {
                let bytes = document.encoded()
                let decoded = try ReplicatedText(decodingAll: bytes)
                decoded.checkInvariants()
                #expect(decoded == document, "seed \(seed)")
                #expect(decoded.string == document.string, "seed \(seed)")
                #expect(decoded.version == document.version, "seed \(seed)")
                #expect(decoded.pending == document.pending, "seed \(seed)")
                #expect(decoded.encoded() == bytes, "seed \(seed): encoding is canonical")
                // The loaded copy keeps working: edit it and merge it back.
                var edited = decoded
                try edited.insert("!", at: edited.count / 2, by: 99)
                var original = document
                original.merge(edited)
                #expect(original.string == edited.string || !document.pending.isEmpty, "seed \(seed)")
            }
        }
    }

    @Test func deltasRoundTripThroughTheirEncoding() throws {
        for seed: UInt64 in 500...511 {
            var session = EditingSession(replicaCount: 3, seed: seed)
            try session.run(steps: 120)
            let delta = session.replicas[0].delta(since: session.replicas[1].version)
            let decoded = try TextDelta(decodingAll: delta.encodedBytes)
            #expect(decoded.encodedBytes == delta.encodedBytes, "seed \(seed)")
            var viaOriginal = session.replicas[1]
            viaOriginal.apply(delta)
            var viaDecoded = session.replicas[1]
            viaDecoded.apply(decoded)
            #expect(viaOriginal == viaDecoded, "seed \(seed)")
        }
    }

    @Test func deletedCharactersCostAFractionOfLiveOnes() throws {
        // The tombstone rule: type 20,000 characters (as a person would, with
        // the occasional correction), delete 90% of them in 300 ranges.
        var random = SeededGenerator(seed: 9)
        var document = ReplicatedText()
        var cursor = 0
        while document.count < 20_000 {
            if random.chance(0.02) { cursor = Int.random(in: 0...document.count, using: &random) }
            try document.insert("word ", at: cursor, by: 1)
            cursor += 5
        }
        let liveEncoding = document.encoded().count
        let liveCount = document.count
        while document.count > liveCount / 10 {
            let length = Swift.min(document.count - liveCount / 10, Int.random(in: 1...120, using: &random))
            let start = Int.random(in: 0...(document.count - length), using: &random)
            try document.delete(start..<(start + length))
        }
        let deletedCount = liveCount - document.count
        let structureBytesPerLive = Double(liveEncoding - liveCount) / Double(liveCount)
        let bytesPerLive = Double(liveEncoding) / Double(liveCount)
        // What the deleted characters cost: everything that is not the
        // remaining live content, minus the structure the live ones had.
        let afterEncoding = document.encoded().count
        let bytesPerDeleted = Double(afterEncoding - document.count) / Double(deletedCount)
        #expect(bytesPerDeleted < bytesPerLive / 4, "deleted \(bytesPerDeleted) B vs live \(bytesPerLive) B per character")
        #expect(structureBytesPerLive < 0.2, "structure \(structureBytesPerLive) B per live character")
        // And in memory: the deleted content is gone, only runs remain.
        #expect(document.runCount < 1_000, "runs after deleting: \(document.runCount)")
    }

    @Test func malformedEncodingsAreErrorsNeverTraps() throws {
        var session = EditingSession(replicaCount: 3, seed: 600)
        try session.run(steps: 120)
        let valid = session.replicas[0].encoded()
        let validDelta = session.replicas[1].delta(since: VersionVector()).encodedBytes
        var random = SeededGenerator(seed: 601)
        var accepted = 0
        for iteration in 0..<1_500 {
            var bytes: [UInt8]
            switch iteration % 3 {
            case 0:
                bytes = (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            case 1:
                bytes = iteration % 2 == 0 ? valid : validDelta
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    let index = Int.random(in: 0..<bytes.count, using: &random)
                    bytes[index] = UInt8.random(in: 0...255, using: &random)
                }
            default:
                bytes = Array((iteration % 2 == 0 ? valid : validDelta).prefix(Int.random(in: 0..<valid.count, using: &random)))
            }
            if let document = try? ReplicatedText(decodingAll: bytes) {
                // Whatever decodes must be a working document.
                accepted += 1
                document.checkInvariants()
                var edited = document
                try edited.insert("z", at: edited.count, by: 1234)
                edited.merge(session.replicas[2])
                edited.checkInvariants()
            }
            if let delta = try? TextDelta(decodingAll: bytes) {
                var receiver = session.replicas[2]
                receiver.apply(delta)
                receiver.checkInvariants()
            }
        }
        #expect(accepted < 1_500)
        #expect(throws: BinaryDecodingError.self) { try ReplicatedText(decodingAll: []) }
        #expect(throws: BinaryDecodingError.self) { try ReplicatedText(decodingAll: Array(valid.dropLast())) }
    }
}

/// The tree's leaf capacity, restated for the shape assertion above.
enum RunTreeShape {
    static let leafCapacity = 64
}
