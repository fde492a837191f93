import ChorusCRDT
import ChorusClocks
import ChorusCore
import FuzzSupport

/// The text CRDT's encodings: a whole `ReplicatedText` document (its runs in
/// document order plus its pending changes) and a `TextDelta` (what replicas
/// ship to each other). Loading integrates the runs as a remote replica would
/// and refuses anything no replica could have built, so beyond the round
/// trip, a loaded document must pass `checkInvariants`, deltas decoded from
/// the input must apply to it without trapping, and merging two documents
/// must be commutative and idempotent.
///
/// Input: a mode byte. 0: a document, then deltas to apply. 1: a delta,
/// applied to an empty document and to a seeded one. 2: two documents, merged.
enum TextHarness {
    static func decode<Value: CompactCodable>(_ bytes: [UInt8], as type: Value.Type) -> Value? {
        try? Value(decodingAll: bytes)
    }

    static func roundTrip<Value: CompactCodable & Equatable>(_ value: Value, _ what: StaticString) {
        Check.roundTrip(
            value, what, encode: { $0.encodedBytes },
            decode: { (bytes: [UInt8]) throws(BinaryDecodingError) in try Value(decodingAll: bytes) })
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
                roundTrip(delta, "TextDelta")
                document.apply(delta)
                document.checkInvariants()
            }
            roundTrip(document, "ReplicatedText after deltas")
        case 1:
            guard let delta = decode(input.rest(), as: TextDelta.self) else { return }
            roundTrip(delta, "TextDelta")
            for var document in [ReplicatedText(), seededDocument()] {
                document.apply(delta)
                document.checkInvariants()
                roundTrip(document, "ReplicatedText after a delta")
                var twice = document
                twice.apply(delta)
                precondition(twice == document, "applying a delta twice differs from once")
            }
        default:
            guard let first = decode(input.chunk(), as: ReplicatedText.self),
                let second = decode(input.chunk(), as: ReplicatedText.self)
            else { return }
            let joined = first.merging(second)
            joined.checkInvariants()
            precondition(joined == second.merging(first), "text merge is not commutative")
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
            Seed("merge", [2] + FuzzInput.chunked([a.encodedBytes, b.encodedBytes])),
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
