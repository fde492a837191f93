import ChorusCRDT
import ChorusClocks
import ChorusCore

extension ReplicationWire {
    // MARK: Write operations

    static func encode(_ operation: WriteOperation, into writer: inout ByteWriter) {
        switch operation {
        case .put(let value, let context, let timestamp):
            writer.write(UInt8(0))
            writer.writeLengthPrefixed(value)
            encode(context, into: &writer)
            timestamp.encode(into: &writer)
        case .delete(let context, let timestamp):
            writer.write(UInt8(1))
            encode(context, into: &writer)
            timestamp.encode(into: &writer)
        case .update(let operation):
            writer.write(UInt8(2))
            encode(operation, into: &writer)
        }
    }

    static func encode(_ context: WriteContext, into writer: inout ByteWriter) {
        switch context {
        case .client(let vector):
            writer.write(UInt8(0))
            vector.encode(into: &writer)
        case .observedAtCoordinatingReplica:
            writer.write(UInt8(1))
        }
    }

    /// Refuses an operation that does not fit the key's kind, so a decoded
    /// mint request can always be applied or refused with a typed error.
    static func decodeOperation(_ reader: inout ByteReader, key: ObjectKey) throws(BinaryDecodingError) -> WriteOperation {
        let start = reader.offset
        let operation: WriteOperation
        switch try reader.readTag(limit: 2, of: "write operation") {
        case 0:
            let value = Array(try reader.readLengthPrefixed(limit: ReplicationLimits.maximumValueBytes))
            let context = try decodeContext(&reader)
            operation = .put(value: value, context: context, timestamp: try HybridTimestamp(decoding: &reader))
        case 1:
            let context = try decodeContext(&reader)
            operation = .delete(context: context, timestamp: try HybridTimestamp(decoding: &reader))
        default:
            operation = .update(try decodeCRDTOperation(&reader))
        }
        let kind: ValueKind
        switch operation {
        case .put, .delete: kind = .versioned
        case .update(let crdt): kind = crdt.kind
        }
        guard kind == key.kind else {
            throw BinaryDecodingError(.invalidValue("a \(kind) operation on a \(key.kind) key"), at: start)
        }
        return operation
    }

    static func decodeContext(_ reader: inout ByteReader) throws(BinaryDecodingError) -> WriteContext {
        switch try reader.readTag(limit: 1, of: "write context") {
        case 0: return .client(try reader.readBoundedVector())
        default: return .observedAtCoordinatingReplica
        }
    }

    static func encode(_ operation: CRDTOperation, into writer: inout ByteWriter) {
        func writeElements(_ elements: [[UInt8]]) {
            writer.writeVarint(elements.count)
            for element in elements { writer.writeLengthPrefixed(element) }
        }
        switch operation {
        case .counterIncrement(let amount):
            writer.write(UInt8(0))
            writer.writeSignedVarint(amount)
        case .counterReset: writer.write(UInt8(1))
        case .setInsert(let elements):
            writer.write(UInt8(2))
            writeElements(elements)
        case .setRemove(let elements):
            writer.write(UInt8(3))
            writeElements(elements)
        case .setClear: writer.write(UInt8(4))
        case .registerAssign(let value):
            writer.write(UInt8(5))
            value.encode(into: &writer)
        case .registerClear: writer.write(UInt8(6))
        case .flagEnable: writer.write(UInt8(7))
        case .flagDisable: writer.write(UInt8(8))
        case .map(let operations):
            writer.write(UInt8(9))
            encode(operations, into: &writer)
        case .mapClear: writer.write(UInt8(10))
        }
    }

    static func decodeCRDTOperation(_ reader: inout ByteReader) throws(BinaryDecodingError) -> CRDTOperation {
        func readElements() throws(BinaryDecodingError) -> [[UInt8]] {
            let count = try reader.readCount(limit: ReplicationLimits.maximumMessageEntryCount)
            var elements: [[UInt8]] = []
            for _ in 0..<count { elements.append(Array(try reader.readLengthPrefixed(limit: ReplicationLimits.maximumValueBytes))) }
            return elements
        }
        switch try reader.readTag(limit: 10, of: "CRDT operation") {
        case 0: return .counterIncrement(try reader.readSignedVarint())
        case 1: return .counterReset
        case 2: return .setInsert(try readElements())
        case 3: return .setRemove(try readElements())
        case 4: return .setClear
        case 5: return .registerAssign(try TimestampedBytes(decoding: &reader))
        case 6: return .registerClear
        case 7: return .flagEnable
        case 8: return .flagDisable
        case 9: return .map(try decodeMapOperations(&reader, depth: 0))
        default: return .mapClear
        }
    }

    static func encode(_ operations: [MapOperation], into writer: inout ByteWriter) {
        writer.writeVarint(operations.count)
        for operation in operations {
            switch operation {
            case .remove(let field):
                writer.write(UInt8(0))
                field.encode(into: &writer)
            case .update(let field, let fieldOperation):
                writer.write(UInt8(1))
                field.encode(into: &writer)
                switch fieldOperation {
                case .increment(let amount):
                    writer.write(UInt8(0))
                    writer.writeSignedVarint(amount)
                case .assign(let text):
                    writer.write(UInt8(1))
                    writer.writeString(text)
                case .enable: writer.write(UInt8(2))
                case .disable: writer.write(UInt8(3))
                case .insert(let element):
                    writer.write(UInt8(4))
                    writer.writeString(element)
                case .remove(let element):
                    writer.write(UInt8(5))
                    writer.writeString(element)
                case .map(let nested):
                    writer.write(UInt8(6))
                    encode(nested, into: &writer)
                }
            }
        }
    }

    /// Counts depth itself, so hostile nesting cannot recurse without bound.
    static func decodeMapOperations(_ reader: inout ByteReader, depth: Int) throws(BinaryDecodingError) -> [MapOperation] {
        guard depth < CRDTLimits.maximumNestingDepth else {
            throw reader.error(.invalidValue("map operations nested deeper than \(CRDTLimits.maximumNestingDepth)"))
        }
        let count = try reader.readCount(limit: ReplicationLimits.maximumMessageEntryCount, minimumElementBytes: 2)
        var operations: [MapOperation] = []
        for _ in 0..<count {
            if try reader.readTag(limit: 1, of: "map operation") == 0 {
                operations.append(.remove(try FieldKey(decoding: &reader)))
                continue
            }
            let field = try FieldKey(decoding: &reader)
            let fieldOperation: MapFieldOperation
            switch try reader.readTag(limit: 6, of: "map field operation") {
            case 0: fieldOperation = .increment(try reader.readSignedVarint())
            case 1: fieldOperation = .assign(try reader.readString(limit: ReplicationLimits.maximumValueBytes))
            case 2: fieldOperation = .enable
            case 3: fieldOperation = .disable
            case 4: fieldOperation = .insert(try reader.readString(limit: ReplicationLimits.maximumValueBytes))
            case 5: fieldOperation = .remove(try reader.readString(limit: ReplicationLimits.maximumValueBytes))
            default: fieldOperation = .map(try decodeMapOperations(&reader, depth: depth + 1))
            }
            operations.append(.update(field, fieldOperation))
        }
        return operations
    }

    static func encode(_ error: OperationError, into writer: inout ByteWriter) {
        switch error {
        case .wrongKind(let key, let operation):
            writer.write(UInt8(0))
            writer.write(key.rawValue)
            writer.write(operation.rawValue)
        case .wrongFieldKind(let field):
            writer.write(UInt8(1))
            field.encode(into: &writer)
        case .counterOverflow: writer.write(UInt8(2))
        case .tooManySiblings(let count, let limit):
            writer.write(UInt8(3))
            writer.writeVarint(count)
            writer.writeVarint(limit)
        case .nestingTooDeep: writer.write(UInt8(4))
        case .backlogFull: writer.write(UInt8(5))
        }
    }

    static func decodeOperationError(_ reader: inout ByteReader) throws(BinaryDecodingError) -> OperationError {
        func readKind() throws(BinaryDecodingError) -> ValueKind {
            let start = reader.offset
            guard let kind = ValueKind(rawValue: try reader.readByte()) else {
                throw BinaryDecodingError(.invalidValue("value kind"), at: start)
            }
            return kind
        }
        switch try reader.readTag(limit: 5, of: "operation error") {
        case 0: return .wrongKind(key: try readKind(), operation: try readKind())
        case 1: return .wrongFieldKind(try FieldKey(decoding: &reader))
        case 2: return .counterOverflow
        case 3:
            let count = try reader.readInt(limit: Int(Int32.max))
            return .tooManySiblings(count: count, limit: try reader.readInt(limit: Int(Int32.max)))
        case 4: return .nestingTooDeep
        default: return .backlogFull
        }
    }

    // MARK: Anti-entropy

    static func encode(_ message: AntiEntropyMessage, into writer: inout ByteWriter) {
        func writeTree(_ tree: TreeID) {
            tree.keyspace.encode(into: &writer)
            writer.writeVarint(tree.range.rawValue)
        }
        switch message {
        case .roots(let exchange, let roots):
            writer.write(UInt8(0))
            writer.writeVarint(exchange)
            writer.writeVarint(roots.count)
            for root in roots {
                writeTree(root.tree)
                writer.writeFixed(root.hash)
            }
        case .nodes(let exchange, let nodes):
            writer.write(UInt8(1))
            writer.writeVarint(exchange)
            writer.writeVarint(nodes.count)
            for node in nodes {
                writeTree(node.tree)
                writer.writeVarint(node.level)
                writer.writeVarint(node.index)
                writer.writeVarint(node.childHashes.count)
                for hash in node.childHashes { writer.writeFixed(hash) }
            }
        case .segments(let exchange, let segments):
            writer.write(UInt8(2))
            writer.writeVarint(exchange)
            writer.writeVarint(segments.count)
            for segment in segments {
                writeTree(segment.tree)
                writer.writeVarint(segment.segment)
                writer.writeVarint(segment.entries.count)
                for entry in segment.entries {
                    entry.key.encode(into: &writer)
                    writer.writeFixed(entry.entryHash)
                }
            }
        case .fetch(let exchange, let keys):
            writer.write(UInt8(3))
            writer.writeVarint(exchange)
            writer.writeVarint(keys.count)
            for key in keys { key.encode(into: &writer) }
        case .repair(let exchange, let repairs):
            writer.write(UInt8(4))
            writer.writeVarint(exchange)
            writer.writeVarint(repairs.count)
            for repair in repairs {
                writer.write(keyedValue: repair.key, repair.value)
                repair.dependencies.encode(into: &writer)
            }
        }
    }

    static func decodeAntiEntropy(_ reader: inout ByteReader) throws(BinaryDecodingError) -> AntiEntropyMessage {
        func readTree() throws(BinaryDecodingError) -> TreeID {
            let keyspace = try KeyspaceID(decoding: &reader)
            return TreeID(keyspace: keyspace, range: RingRangeIndex(try reader.readInt(limit: HashRing.maximumMemberCount * HashRing.maximumVirtualNodesPerMember)))
        }
        let limit = ReplicationLimits.maximumMessageEntryCount
        let tag = try reader.readTag(limit: 4, of: "anti-entropy message")
        let exchange = try reader.readVarint()
        switch tag {
        case 0:
            let count = try reader.readCount(limit: limit, minimumElementBytes: 10)
            var roots: [TreeHash] = []
            for _ in 0..<count {
                let tree = try readTree()
                roots.append(TreeHash(tree: tree, hash: try reader.readFixedUInt64()))
            }
            return .roots(exchange: exchange, roots)
        case 1:
            let count = try reader.readCount(limit: limit, minimumElementBytes: 5)
            var nodes: [TreeNodeHashes] = []
            for _ in 0..<count {
                let tree = try readTree()
                let level = try reader.readInt(limit: 64)
                let index = try reader.readInt(limit: MerkleTree.maximumLeafCount)
                let hashCount = try reader.readCount(limit: MerkleTree.maximumBranching, minimumElementBytes: 8)
                var hashes: [UInt64] = []
                for _ in 0..<hashCount { hashes.append(try reader.readFixedUInt64()) }
                nodes.append(TreeNodeHashes(tree: tree, level: level, index: index, childHashes: hashes))
            }
            return .nodes(exchange: exchange, nodes)
        case 2:
            let count = try reader.readCount(limit: limit, minimumElementBytes: 4)
            var segments: [SegmentEntries] = []
            for _ in 0..<count {
                let tree = try readTree()
                let segment = try reader.readInt(limit: MerkleTree.maximumLeafCount)
                let entryCount = try reader.readCount(limit: limit, minimumElementBytes: 11)
                var entries: [SegmentEntry] = []
                for _ in 0..<entryCount {
                    let key = try ObjectKey(decoding: &reader)
                    entries.append(SegmentEntry(key: key, entryHash: try reader.readFixedUInt64()))
                }
                segments.append(SegmentEntries(tree: tree, segment: segment, entries: entries))
            }
            return .segments(exchange: exchange, segments)
        case 3:
            let count = try reader.readCount(limit: limit, minimumElementBytes: 3)
            var keys: [ObjectKey] = []
            for _ in 0..<count { keys.append(try ObjectKey(decoding: &reader)) }
            return .fetch(exchange: exchange, keys)
        default:
            let count = try reader.readCount(limit: limit, minimumElementBytes: 4)
            var repairs: [RepairEntry] = []
            for _ in 0..<count {
                let (key, value) = try reader.readKeyedValue()
                repairs.append(RepairEntry(key: key, value: value, dependencies: try reader.readBoundedVector()))
            }
            return .repair(exchange: exchange, repairs)
        }
    }
}
