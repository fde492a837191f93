import ChorusClocks
import ChorusCore

/// The binary form of a whole document: a format byte, the document as a
/// `TextDelta` body in document order (see `TextDelta+Encoding.swift`), then
/// the pending changes as a second delta.
///
/// Loading integrates the runs as a remote replica would and then requires
/// the result to list exactly the encoded runs, in the same order (see
/// `init(documentOrder:at:)`), so a malformed or impossible encoding is an
/// error, never a trap and never a copy that cannot converge.
extension ReplicatedText: Equatable, CompactCodable {
    static let formatVersion: UInt8 = 1

    public func encode(into writer: inout ByteWriter) {
        writer.write(Self.formatVersion)
        integratedDelta(since: VersionVector(), includingDeletions: false).encode(into: &writer)
        pending.encode(into: &writer)
    }

    /// The encoding of this document.
    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: tree.liveCount + tree.totalCount / 4 + 64)
        encode(into: &writer)
        return writer.bytes
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let formatStart = reader.offset
        let format = try reader.readByte()
        guard format == Self.formatVersion else {
            throw BinaryDecodingError(.invalidValue("text document format \(format)"), at: formatStart)
        }
        let bodyStart = reader.offset
        let body = try TextDelta(decoding: &reader)
        guard body.deletions.isEmpty else {
            throw BinaryDecodingError(.invalidValue("a document body carries no deletion ranges"), at: bodyStart)
        }
        let pending = try TextDelta(decoding: &reader)
        try self.init(documentOrder: body, at: bodyStart)
        // Through `apply`, so that pending changes from any encoder end in
        // the canonical form (see `TextDelta.canonicalPending`).
        apply(pending)
    }

    /// Loads a document from its runs in document order by integrating them
    /// as a remote replica would, then requires the result to be exactly the
    /// body. So a loaded document is always one that merging its own items
    /// rebuilds: bytes whose items depend on each other in a cycle, or that
    /// list items in an order their origins do not give, are refused rather
    /// than loaded into a copy that other replicas could never converge with.
    init(documentOrder body: TextDelta, at offset: Int) throws(BinaryDecodingError) {
        // Each replica's items must be exactly 0..<n, each once, and every
        // origin must name one of them: checked first for a precise error.
        var ranges: [(replica: ReplicaID, sequence: UInt32, length: UInt32)] = body.insertions.map {
            ($0.replica, $0.sequence, $0.length)
        }
        ranges.sort { ($0.replica, $0.sequence) < ($1.replica, $1.sequence) }
        var counts: [ReplicaID: UInt32] = [:]
        for range in ranges {
            guard counts[range.replica, default: 0] == range.sequence else {
                throw BinaryDecodingError(
                    .invalidValue("items of \(range.replica) missing or repeated at sequence \(range.sequence)"), at: offset)
            }
            counts[range.replica] = range.sequence + range.length
        }
        func checkExists(_ origin: TextItemID?) throws(BinaryDecodingError) {
            guard let origin, origin.sequence >= counts[origin.replica, default: 0] else { return }
            throw BinaryDecodingError(.invalidValue("origin \(origin) names no item of the document"), at: offset)
        }
        for insertion in body.insertions {
            try checkExists(insertion.originLeft)
            try checkExists(insertion.originRight)
        }
        self.init()
        // The structure only: the content is in document order already, so
        // the text is set at once below instead of scalar run by scalar run.
        integrate(body, placingText: false)
        guard pending.isEmpty else {
            throw BinaryDecodingError(
                .invalidValue("the items' origins form a cycle: no replica could have typed this document"), at: offset)
        }
        text = GapBuffer(scalars: body.content)
        guard integratedDelta(since: VersionVector(), includingDeletions: false) == body else {
            throw BinaryDecodingError(
                .invalidValue("the items are not in the order their origins give: no replica could have built this document"),
                at: offset)
        }
    }

    public static func == (lhs: ReplicatedText, rhs: ReplicatedText) -> Bool {
        lhs.count == rhs.count && lhs.itemCount == rhs.itemCount && lhs.encoded() == rhs.encoded()
    }
}

/// The text CRDT as a delta CRDT: its deltas are `TextDelta`s rather than
/// states of its own type, because a delta of new items needs origins and
/// content but not the rest of the document.
extension ReplicatedText: DeltaCRDT {
    public typealias Delta = TextDelta
}
