import ChorusClocks
import ChorusCore

/// The primitive pieces shared by the wire codec and the durable records.
extension ByteWriter {
    mutating func write(node: NodeID) { writeVarint(node.rawValue) }

    mutating func write(optionalNode node: NodeID?) {
        write(node != nil)
        if let node { write(node: node) }
    }

    mutating func write(keyedValue key: ObjectKey, _ value: ReplicatedValue) {
        precondition(key.kind == value.kind, "value kind must match key kind")
        key.encode(into: &self)
        value.encode(into: &self)
    }

    mutating func write(requestID: RequestID) {
        write(node: requestID.coordinator)
        writeVarint(requestID.boot)
        writeVarint(requestID.sequence)
    }
}

extension ByteReader {
    mutating func readNode() throws(BinaryDecodingError) -> NodeID { NodeID(try readVarint()) }

    mutating func readOptionalNode() throws(BinaryDecodingError) -> NodeID? {
        try readBool() ? try readNode() : nil
    }

    /// A key, then a value of the key's kind: the kind is never sent twice,
    /// so a value can never disagree with its key.
    mutating func readKeyedValue() throws(BinaryDecodingError) -> (ObjectKey, ReplicatedValue) {
        let key = try ObjectKey(decoding: &self)
        let value = try ReplicatedValue(decoding: &self, kind: key.kind)
        return (key, value)
    }

    mutating func readRequestID() throws(BinaryDecodingError) -> RequestID {
        RequestID(coordinator: try readNode(), boot: try readVarint(), sequence: try readVarint())
    }

    /// A version vector naming at most `ReplicationLimits.maximumReplicaCount` replicas.
    mutating func readBoundedVector() throws(BinaryDecodingError) -> VersionVector {
        var peek = self
        _ = try peek.readCount(limit: ReplicationLimits.maximumReplicaCount, minimumElementBytes: 2)
        return try VersionVector(decoding: &self)
    }

    mutating func readTag(limit: UInt8, of what: String) throws(BinaryDecodingError) -> UInt8 {
        let start = offset
        let tag = try readByte()
        guard tag <= limit else { throw BinaryDecodingError(.invalidValue("\(what) tag \(tag)"), at: start) }
        return tag
    }

    mutating func readInt(limit: Int) throws(BinaryDecodingError) -> Int { try readVarint(limit: limit) }
}
