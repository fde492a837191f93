import ChorusClocks
import ChorusCore
import Testing

@testable import ChorusCRDT

/// Encodings no replica could have produced are refused, not loaded into a
/// document that a fresh replica could never merge.
@Suite struct TextDecodingValidationTests {
    /// The encoding of a document with exactly these runs, in this order,
    /// whether or not a replica could have built it.
    static func document(_ insertions: [TextDelta.Insertion], content: [UInt32], pending: TextDelta = TextDelta()) -> [UInt8] {
        var body = TextDelta()
        body.insertions = insertions
        body.content = content
        var writer = ByteWriter(capacity: 64)
        writer.write(ReplicatedText.formatVersion)
        body.encode(into: &writer)
        pending.encode(into: &writer)
        return writer.bytes
    }

    static func document(_ insertions: [TextDelta.Insertion], content: String) -> [UInt8] {
        document(insertions, content: content.unicodeScalars.map(\.value))
    }

    static func item(_ replica: UInt64, _ sequence: UInt32, left: TextItemID? = nil, right: TextItemID? = nil) -> TextDelta.Insertion {
        TextDelta.Insertion(
            replica: ReplicaID(replica), sequence: sequence, length: 1, isDeleted: false, originLeft: left, originRight: right)
    }

    static func id(_ replica: UInt64, _ sequence: UInt32) -> TextItemID { TextItemID(replica: ReplicaID(replica), sequence: sequence) }

    @Test func aCausallyPossibleDocumentLoadsAndMerges() throws {
        let bytes = Self.document([Self.item(1, 0), Self.item(2, 0, left: Self.id(1, 0))], content: "ab")
        let decoded = try ReplicatedText(decodingAll: bytes)
        #expect(decoded.string == "ab")
        var fresh = ReplicatedText()
        fresh.merge(decoded)
        #expect(fresh == decoded)
    }

    @Test func originsThatFormACycleAreRefused() {
        // Each replica's item claims to follow the other's.
        let crossed = Self.document([Self.item(1, 0, left: Self.id(2, 0)), Self.item(2, 0, left: Self.id(1, 0))], content: "ab")
        #expect(throws: BinaryDecodingError.self) { try ReplicatedText(decodingAll: crossed) }
        // An item whose origin its own replica typed later.
        let forward = Self.document([Self.item(1, 1), Self.item(1, 0, left: Self.id(1, 1))], content: "ba")
        #expect(throws: BinaryDecodingError.self) { try ReplicatedText(decodingAll: forward) }
        // A right origin inside the item's own run.
        let inside = Self.document(
            [TextDelta.Insertion(replica: 1, sequence: 0, length: 3, isDeleted: false, originLeft: nil, originRight: Self.id(1, 2))],
            content: "abc")
        #expect(throws: BinaryDecodingError.self) { try ReplicatedText(decodingAll: inside) }
    }
}
