import ChorusClocks
import ChorusCore

/// The binary form of a `TextDelta`, which is also the body of a whole
/// `ReplicatedText`'s encoding (a document is the delta since the empty
/// version, in document order).
///
/// ```
/// replica table   count, then replica identifiers ascending, gap-coded
/// groups          count, then per group (maximal runs ignoring deletion):
///                   header varint   bit 0: replica index follows (else the previous group's)
///                                   bit 1: sequence follows (else the end of the replica's last group)
///                                   bits 2-3: left origin: 0 the previous group's last item,
///                                             1 none, 2 explicit
///                                   bits 4-5: right origin: 0 the next group's first item,
///                                             1 none, 2 explicit, 3 the previous group's
///                   [replica index] [sequence] length [explicit origins: replica index, sequence]
/// deletion states count, then alternating live/deleted item counts over all groups, live first
/// content         scalar count, then the UTF-8 of the live items, length-prefixed
/// deletions       count of ranges, then per range: replica index, sequence gap, count
/// ```
///
/// Typing makes almost every group "same replica, next sequence, left origin
/// the previous group's last item", so a group costs two or three bytes and a
/// live character costs its UTF-8 bytes plus a fraction of that. A deleted
/// character costs only its share of its group's bytes and of one deletion-
/// state count: the tombstone rule of `ReplicatedText`.
extension TextDelta {
    private struct Group {
        var replica: ReplicaID
        var sequence: UInt32
        var length: UInt32
        var originLeft: TextItemID?
        var originRight: TextItemID?
    }

    private enum OriginKind: UInt64 {
        case adjacent = 0, none = 1, explicit = 2, previous = 3
    }

    public func encode(into writer: inout ByteWriter) {
        let table = replicaTable
        writer.writeVarint(table.count)
        var previousRaw: UInt64 = 0
        for (position, replica) in table.enumerated() {
            writer.writeVarint(position == 0 ? replica.rawValue : replica.rawValue - previousRaw)
            previousRaw = replica.rawValue
        }
        var tableIndex: [ReplicaID: Int] = [:]
        for (position, replica) in table.enumerated() { tableIndex[replica] = position }

        // Structural groups, ignoring deletion state.
        var groups: [Group] = []
        var previousInsertion: Insertion? = nil
        for insertion in insertions {
            if let previous = previousInsertion, previous.isContinued(by: insertion) {
                groups[groups.count - 1].length += insertion.length
            } else {
                groups.append(
                    Group(
                        replica: insertion.replica, sequence: insertion.sequence, length: insertion.length,
                        originLeft: insertion.originLeft, originRight: insertion.originRight))
            }
            previousInsertion = insertion
        }

        writer.writeVarint(groups.count)
        var expectedSequence = [UInt32](repeating: 0, count: table.count)
        for (position, group) in groups.enumerated() {
            let replicaIndex = tableIndex[group.replica]!
            let previous: Group? = position > 0 ? groups[position - 1] : nil
            let next: Group? = position + 1 < groups.count ? groups[position + 1] : nil
            var header: UInt64 = 0
            let writesReplica = previous?.replica != group.replica
            let writesSequence = expectedSequence[replicaIndex] != group.sequence
            if writesReplica { header |= 1 }
            if writesSequence { header |= 2 }
            let leftKind: OriginKind
            if group.originLeft == nil {
                leftKind = .none
            } else if let previous, group.originLeft == TextItemID(replica: previous.replica, sequence: previous.sequence + previous.length - 1) {
                leftKind = .adjacent
            } else {
                leftKind = .explicit
            }
            let rightKind: OriginKind
            if group.originRight == nil {
                rightKind = .none
            } else if let next, group.originRight == TextItemID(replica: next.replica, sequence: next.sequence) {
                rightKind = .adjacent
            } else if let previous, previous.originRight == group.originRight {
                rightKind = .previous
            } else {
                rightKind = .explicit
            }
            header |= leftKind.rawValue << 2 | rightKind.rawValue << 4
            writer.writeVarint(header)
            if writesReplica { writer.writeVarint(replicaIndex) }
            if writesSequence { writer.writeVarint(UInt64(group.sequence)) }
            writer.writeVarint(UInt64(group.length))
            if leftKind == .explicit, let origin = group.originLeft {
                writer.writeVarint(tableIndex[origin.replica]!)
                writer.writeVarint(UInt64(origin.sequence))
            }
            if rightKind == .explicit, let origin = group.originRight {
                writer.writeVarint(tableIndex[origin.replica]!)
                writer.writeVarint(UInt64(origin.sequence))
            }
            expectedSequence[replicaIndex] = group.sequence + group.length
        }

        // Deletion states: alternating live and deleted counts, live first.
        var states: [UInt64] = []
        var currentDeleted = false
        var currentCount: UInt64 = 0
        for insertion in insertions {
            if insertion.isDeleted != currentDeleted {
                states.append(currentCount)
                currentDeleted = insertion.isDeleted
                currentCount = 0
            }
            currentCount += UInt64(insertion.length)
        }
        if currentCount > 0 { states.append(currentCount) }
        writer.writeVarint(states.count)
        for state in states { writer.writeVarint(state) }

        // Content as UTF-8.
        writer.writeVarint(content.count)
        var utf8: [UInt8] = []
        utf8.reserveCapacity(content.count)
        for value in content {
            if value < 0x80 {
                utf8.append(UInt8(value))
            } else {
                // Content only ever holds valid scalars.
                UTF8.encode(Unicode.Scalar(value)!) { utf8.append($0) }
            }
        }
        writer.writeLengthPrefixed(utf8)

        // Deletions, sorted and merged.
        let ranges = Self.normalized(deletions)
        writer.writeVarint(ranges.count)
        var previousReplica: ReplicaID? = nil
        var previousEnd: UInt32 = 0
        for range in ranges {
            writer.writeVarint(tableIndex[range.replica]!)
            let base = previousReplica == range.replica ? previousEnd : 0
            writer.writeVarint(UInt64(range.sequence - base))
            writer.writeVarint(UInt64(range.count))
            previousReplica = range.replica
            previousEnd = range.sequence + range.count
        }
    }

    /// Sorted by (replica, sequence), overlapping and adjacent ranges merged.
    static func normalized(_ deletions: [Deletion]) -> [Deletion] {
        let sorted = deletions.sorted { ($0.replica, $0.sequence) < ($1.replica, $1.sequence) }
        var merged: [Deletion] = []
        merged.reserveCapacity(sorted.count)
        for range in sorted {
            if var last = merged.last, last.replica == range.replica,
                UInt64(last.sequence) + UInt64(last.count) >= UInt64(range.sequence)
            {
                let end = Swift.max(UInt64(last.sequence) + UInt64(last.count), UInt64(range.sequence) + UInt64(range.count))
                last.count = UInt32(end - UInt64(last.sequence))
                merged[merged.count - 1] = last
            } else {
                merged.append(range)
            }
        }
        return merged
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let replicaCount = try reader.readCount(limit: TextLimits.maximumReplicaCount)
        var table: [ReplicaID] = []
        table.reserveCapacity(replicaCount)
        for position in 0..<replicaCount {
            let start = reader.offset
            let gap = try reader.readVarint()
            if position == 0 {
                table.append(ReplicaID(gap))
            } else {
                let (raw, overflow) = table[position - 1].rawValue.addingReportingOverflow(gap)
                guard gap > 0, !overflow else {
                    throw BinaryDecodingError(.invalidValue("replica table not strictly increasing"), at: start)
                }
                table.append(ReplicaID(raw))
            }
        }
        func readReplica(_ reader: inout ByteReader) throws(BinaryDecodingError) -> ReplicaID {
            let start = reader.offset
            let index = try reader.readVarint()
            guard index < UInt64(table.count) else {
                throw BinaryDecodingError(.invalidValue("replica index \(index) outside the table"), at: start)
            }
            return table[Int(index)]
        }
        func readSequence(_ reader: inout ByteReader) throws(BinaryDecodingError) -> UInt32 {
            let start = reader.offset
            let raw = try reader.readVarint()
            guard raw <= UInt64(TextLimits.maximumItemsPerReplica) else {
                throw BinaryDecodingError(.invalidValue("sequence number \(raw) beyond the limit"), at: start)
            }
            return UInt32(raw)
        }

        let groupCount = try reader.readCount(limit: TextLimits.maximumRunCount, minimumElementBytes: 2)
        var groups: [Group] = []
        groups.reserveCapacity(groupCount)
        var rightIsNext: [Bool] = []
        rightIsNext.reserveCapacity(groupCount)
        var expectedSequence = [UInt32](repeating: 0, count: table.count)
        var totalItems: UInt64 = 0
        for position in 0..<groupCount {
            let start = reader.offset
            let header = try reader.readVarint()
            guard header < 64 else { throw BinaryDecodingError(.invalidValue("group header \(header)"), at: start) }
            let previous: Group? = position > 0 ? groups[position - 1] : nil
            let replica: ReplicaID
            if header & 1 != 0 {
                replica = try readReplica(&reader)
            } else if let previous {
                replica = previous.replica
            } else {
                throw BinaryDecodingError(.invalidValue("first group names no replica"), at: start)
            }
            // The table is sorted, so the replica's index is found by search.
            var low = 0
            var high = table.count
            while low < high {
                let middle = (low + high) / 2
                if table[middle] < replica { low = middle + 1 } else { high = middle }
            }
            let replicaIndex = low
            let sequence = header & 2 != 0 ? try readSequence(&reader) : expectedSequence[replicaIndex]
            let lengthStart = reader.offset
            let length = try reader.readVarint()
            guard length >= 1, length <= UInt64(TextLimits.maximumItemsPerReplica) - UInt64(sequence) else {
                throw BinaryDecodingError(.invalidValue("group length \(length) at sequence \(sequence)"), at: lengthStart)
            }
            let originLeft: TextItemID?
            switch (header >> 2) & 3 {
            case OriginKind.adjacent.rawValue:
                guard let previous else {
                    throw BinaryDecodingError(.invalidValue("first group's left origin refers to a previous group"), at: start)
                }
                originLeft = TextItemID(replica: previous.replica, sequence: previous.sequence + previous.length - 1)
            case OriginKind.none.rawValue:
                originLeft = nil
            case OriginKind.explicit.rawValue:
                originLeft = TextItemID(replica: try readReplica(&reader), sequence: try readSequence(&reader))
            default:
                throw BinaryDecodingError(.invalidValue("left origin kind 3"), at: start)
            }
            var originRight: TextItemID? = nil
            var isNext = false
            switch (header >> 4) & 3 {
            case OriginKind.adjacent.rawValue:
                isNext = true
            case OriginKind.none.rawValue:
                originRight = nil
            case OriginKind.explicit.rawValue:
                originRight = TextItemID(replica: try readReplica(&reader), sequence: try readSequence(&reader))
            default:
                guard let previous else {
                    throw BinaryDecodingError(.invalidValue("first group's right origin refers to a previous group"), at: start)
                }
                if position > 0 && rightIsNext[position - 1] {
                    // The previous group's right origin is this group's first item.
                    originRight = TextItemID(replica: replica, sequence: sequence)
                } else {
                    originRight = previous.originRight
                }
            }
            groups.append(
                Group(replica: replica, sequence: sequence, length: UInt32(length), originLeft: originLeft, originRight: originRight))
            rightIsNext.append(isNext)
            expectedSequence[replicaIndex] = sequence + UInt32(length)
            totalItems += length
        }
        for position in groups.indices where rightIsNext[position] {
            guard position + 1 < groups.count else {
                throw BinaryDecodingError(.invalidValue("last group's right origin refers to a next group"), at: reader.offset)
            }
            groups[position].originRight = TextItemID(replica: groups[position + 1].replica, sequence: groups[position + 1].sequence)
        }

        // Deletion states.
        let stateCount = try reader.readCount(limit: TextLimits.maximumRunCount)
        var states: [UInt64] = []
        states.reserveCapacity(stateCount)
        var stateTotal: UInt64 = 0
        var liveTotal: UInt64 = 0
        for position in 0..<stateCount {
            let start = reader.offset
            let count = try reader.readVarint()
            guard count > 0 || position == 0, count <= totalItems - stateTotal else {
                throw BinaryDecodingError(.invalidValue("deletion state count \(count)"), at: start)
            }
            states.append(count)
            stateTotal += count
            if position % 2 == 0 { liveTotal += count }
        }
        guard stateTotal == totalItems else {
            throw BinaryDecodingError(.invalidValue("deletion states cover \(stateTotal) of \(totalItems) items"), at: reader.offset)
        }

        // Content.
        let scalarStart = reader.offset
        let scalarCount = try reader.readVarint(limit: TextLimits.maximumScalarCount)
        guard UInt64(scalarCount) == liveTotal else {
            throw BinaryDecodingError(.invalidValue("content has \(scalarCount) scalars for \(liveTotal) live items"), at: scalarStart)
        }
        let utf8Start = reader.offset
        let utf8 = try reader.readLengthPrefixed(limit: TextLimits.maximumScalarCount * 4)
        var decoded: [UInt32] = []
        decoded.reserveCapacity(scalarCount)
        var iterator = utf8.makeIterator()
        var decoder = UTF8()
        decoding: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): decoded.append(scalar.value)
            case .emptyInput: break decoding
            case .error: throw BinaryDecodingError(.invalidUTF8, at: utf8Start)
            }
        }
        guard decoded.count == scalarCount else {
            throw BinaryDecodingError(.invalidValue("content decodes to \(decoded.count) scalars, not \(scalarCount)"), at: utf8Start)
        }

        // Split groups at deletion-state boundaries into uniform insertions.
        var insertions: [Insertion] = []
        insertions.reserveCapacity(groups.count + states.count)
        var stateIndex = 0
        var stateRemaining = states.first ?? 0
        for group in groups {
            var offset: UInt32 = 0
            while offset < group.length {
                while stateRemaining == 0 {
                    stateIndex += 1
                    stateRemaining = states[stateIndex]
                }
                let take = UInt32(Swift.min(UInt64(group.length - offset), stateRemaining))
                let left = offset == 0 ? group.originLeft : TextItemID(replica: group.replica, sequence: group.sequence + offset - 1)
                insertions.append(
                    Insertion(
                        replica: group.replica, sequence: group.sequence + offset, length: take,
                        isDeleted: stateIndex % 2 == 1, originLeft: left, originRight: group.originRight))
                offset += take
                stateRemaining -= UInt64(take)
            }
        }

        // Deletions.
        let deletionCount = try reader.readCount(limit: TextLimits.maximumRunCount, minimumElementBytes: 3)
        var deletions: [Deletion] = []
        deletions.reserveCapacity(deletionCount)
        for _ in 0..<deletionCount {
            let start = reader.offset
            let replica = try readReplica(&reader)
            let gap = try reader.readVarint()
            let count = try reader.readVarint()
            let base: UInt64 = deletions.last?.replica == replica ? UInt64(deletions.last!.sequence) + UInt64(deletions.last!.count) : 0
            let (sequence, overflow) = base.addingReportingOverflow(gap)
            guard !overflow, count >= 1, sequence <= UInt64(TextLimits.maximumItemsPerReplica),
                count <= UInt64(TextLimits.maximumItemsPerReplica) - sequence,
                deletions.last.map({ $0.replica <= replica }) ?? true
            else {
                throw BinaryDecodingError(.invalidValue("deletion range \(gap)+\(count)"), at: start)
            }
            deletions.append(Deletion(replica: replica, sequence: UInt32(sequence), count: UInt32(count)))
        }
        self.insertions = insertions
        self.content = decoded
        self.deletions = deletions
    }
}
