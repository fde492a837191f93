import ChorusCRDT
import ChorusClocks
import ChorusCore
import FuzzSupport

/// The text CRDT's encodings: a whole `ReplicatedText` document (its runs in
/// document order plus its pending changes) and a `TextDelta` (what replicas
/// ship to each other). Loading integrates the runs as a remote replica would
/// and refuses anything no replica could have built, so beyond the round
/// trip, a loaded document must pass `checkInvariants`, deltas decoded from
/// the input must apply to it without trapping (and applying one twice is
/// applying it once), and merge must be commutative and idempotent.
///
/// Input: a mode byte. 0: a document, then deltas to apply. 1: a delta,
/// applied to an empty document and to a seeded one. 2: a document and a
/// delta: the document merged with itself plus the delta.
enum TextHarness {
    static func decode<Value: CompactCodable>(_ bytes: [UInt8], as type: Value.Type) -> Value? {
        try? Value(decodingAll: bytes)
    }

    static func roundTrip<Value: CompactCodable & Equatable>(_ value: Value, _ what: StaticString) {
        Check.roundTrip(
            value, what, encode: { $0.encodedBytes },
            decode: { (bytes: [UInt8]) throws(BinaryDecodingError) in try Value(decodingAll: bytes) })
    }

    /// A delta's encoding merges adjacent runs that continue each other, and
    /// the decoder accepts them split, so two deltas that differ only in how
    /// their runs are split encode alike: the check is that the encoding is a
    /// fixed point and that both deltas do the same to a document.
    static func deltaRoundTrip(_ delta: TextDelta) {
        Check.encodingRoundTrip(
            delta, "TextDelta", encode: { $0.encodedBytes },
            decode: { (bytes: [UInt8]) throws(BinaryDecodingError) in try TextDelta(decodingAll: bytes) })
        let again = try! TextDelta(decodingAll: delta.encodedBytes)
        for document in [ReplicatedText(), seededDocument()] {
            var first = document
            first.apply(delta)
            var second = document
            second.apply(again)
            precondition(first == second, "a delta and its re-decoded encoding do different things")
        }
    }

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        switch input.byte() % 3 {
        case 0:
            guard var document = decode(input.chunk(), as: ReplicatedText.self) else { return }
            document.checkInvariants()
            roundTrip(document, "ReplicatedText")
            for bytes in input.chunks(limit: 8) {
                guard let delta = decode(bytes, as: TextDelta.self) else { continue }
                deltaRoundTrip(delta)
                document.apply(delta)
                document.checkInvariants()
            }
            roundTrip(document, "ReplicatedText after deltas")
        case 1:
            guard let delta = decode(input.rest(), as: TextDelta.self) else { return }
            deltaRoundTrip(delta)
            for var document in [ReplicatedText(), seededDocument()] {
                document.apply(delta)
                document.checkInvariants()
                roundTrip(document, "ReplicatedText after a delta")
                var twice = document
                twice.apply(delta)
                precondition(twice == document, "applying a delta twice differs from once")
            }
        default:
            // Two decoded documents may give one item id two different
            // contents, which no replica can do (an id is minted once), and
            // then no merge order is right; so the second copy is derived
            // from the first: the first plus a decoded delta.
            guard let first = decode(input.chunk(), as: ReplicatedText.self),
                let delta = decode(input.chunk(), as: TextDelta.self)
            else { return }
            var second = first
            second.apply(delta)
            let joined = first.merging(second)
            joined.checkInvariants()
            precondition(joined == second.merging(first), "text merge is not commutative")
            precondition(joined == second, "merging a copy with its own later state is not that state")
            precondition(joined.merging(joined) == joined, "text merge is not idempotent")
            roundTrip(joined, "merged ReplicatedText")
        }
    }

    static func seededDocument() -> ReplicatedText {
        var document = try! ReplicatedText("hello wörld", by: ReplicaID(1))
        try! document.delete(5..<6)
        try! document.insert("—🙂", at: 5, by: ReplicaID(2))
        return document
    }

    static func seeds() -> [Seed] {
        let a = seededDocument()
        var b = try! ReplicatedText("hello", by: ReplicaID(1))
        try! b.insert(" there", at: 5, by: ReplicaID(3))
        try! b.delete(0..<1)
        let deltaFromB = b.delta(since: VersionVector())
        let deltaFromA = a.delta(since: VersionVector())
        var withPending = ReplicatedText()
        withPending.apply(b.delta(since: VersionVector([(ReplicaID(1), UInt64(3))])))
        return [
            Seed("document-and-deltas", [0] + FuzzInput.chunked([a.encodedBytes, deltaFromB.encodedBytes])),
            Seed("document-with-pending", [0] + FuzzInput.chunked([withPending.encodedBytes])),
            Seed("delta", [1] + deltaFromA.encodedBytes),
            Seed("delta-with-deletions", [1] + deltaFromB.encodedBytes),
            Seed("merge", [2] + FuzzInput.chunked([a.encodedBytes, deltaFromB.encodedBytes])),
        ]
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzText(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    TextHarness.run(FuzzMain.bytes(start, count))
    return 0
}

@main
struct FuzzTextMain {
    static func main() { FuzzMain.run(seeds: TextHarness.seeds, testOneInput: fuzzText) }
}
