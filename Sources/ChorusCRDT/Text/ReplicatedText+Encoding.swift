import ChorusClocks
import ChorusCore

/// The binary form of a whole document: a format byte, the document as a
/// `TextDelta` body in document order (see `TextDelta+Encoding.swift`), then
/// the pending changes as a second delta.
///
/// Loading does not re-run integration: the runs arrive in document order,
/// so the tree is bulk-built bottom-up in O(n). Decoding still checks
/// everything the tree relies on (each replica's items are exactly 0..<n,
/// every origin names an item that exists, the content matches the live
/// items), so a malformed encoding is an error, never a trap.
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

    /// Bulk-builds a document from its runs in document order.
    init(documentOrder body: TextDelta, at offset: Int) throws(BinaryDecodingError) {
        self.init()
        let table = body.replicaTable
        for replica in table {
            replicas.append(replica)
            agents[replica] = UInt32(replicas.count - 1)
            knownCounts.append(0)
        }
        // Each replica's items must be exactly 0..<n, each once.
        var ranges: [(agent: UInt32, sequence: UInt32, length: UInt32)] = []
        ranges.reserveCapacity(body.insertions.count)
        for insertion in body.insertions {
            ranges.append((agents[insertion.replica]!, insertion.sequence, insertion.length))
        }
        ranges.sort { ($0.agent, $0.sequence) < ($1.agent, $1.sequence) }
        for range in ranges {
            guard knownCounts[Int(range.agent)] == range.sequence else {
                throw BinaryDecodingError(
                    .invalidValue("items of \(table[Int(range.agent)]) missing or repeated at sequence \(range.sequence)"),
                    at: offset)
            }
            knownCounts[Int(range.agent)] = range.sequence + range.length
        }
        func packed(_ id: TextItemID?) throws(BinaryDecodingError) -> PackedItemID {
            guard let id else { return .none }
            guard let agent = agents[id.replica], id.sequence < knownCounts[Int(agent)] else {
                throw BinaryDecodingError(.invalidValue("origin \(id) names no item of the document"), at: offset)
            }
            return PackedItemID(agent: agent, sequence: id.sequence)
        }
        var runs: [Run] = []
        runs.reserveCapacity(body.insertions.count)
        for insertion in body.insertions {
            let run = Run(
                agent: agents[insertion.replica]!, sequence: insertion.sequence, length: insertion.length,
                isDeleted: insertion.isDeleted, originLeft: try packed(insertion.originLeft),
                originRight: try packed(insertion.originRight))
            if let last = runs.last, last.isContinued(by: run, sameDeletion: true) {
                runs[runs.count - 1].length += run.length
            } else {
                runs.append(run)
            }
        }
        try Self.checkCausalOrder(runs, agentCount: table.count, at: offset)
        tree = RunTree(bulk: runs, agentCount: table.count)
        text = GapBuffer(scalars: body.content)
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
