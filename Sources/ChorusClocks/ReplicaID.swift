import ChorusCore

/// The identity of a replica of replicated state: whoever can mutate a CRDT or
/// tick a clock independently of the others.
///
/// This is deliberately not `NodeID`. A node of the cluster hosts many
/// replicas over its life, and a replica need not live on a node at all: an
/// offline client editing a document is a replica, and so is each restart of
/// a node that lost its state (it must never reuse its old dots). Keeping the
/// two apart means a bug that passes one for the other does not type-check.
/// A node that is one replica can say `ReplicaID(node.rawValue)` explicitly.
public struct ReplicaID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible,
    ExpressibleByIntegerLiteral, CompactCodable
{
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt64) { self.rawValue = value }

    public static func < (lhs: ReplicaID, rhs: ReplicaID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "r\(rawValue)" }

    public func encode(into writer: inout ByteWriter) { writer.writeVarint(rawValue) }
    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        rawValue = try reader.readVarint()
    }
}

/// The bounds every clock decoder checks before it allocates.
public enum ClockLimits {
    /// The most replicas a version vector or causal context may name. Version
    /// vectors grow with the number of replicas that ever wrote; past a few
    /// hundred thousand the right tool is a different design (interval tree
    /// clocks, server-side dotted version vectors), not a bigger vector.
    public static let maximumReplicaCount = 1 << 20
    /// The most out-of-order dots a causal context may hold outside its
    /// version vector before decoding refuses it.
    public static let maximumDotCloudCount = 1 << 22
    /// The most concurrent siblings a `DottedVersionVector.synchronize` input may carry.
    public static let maximumSiblingCount = 1 << 16
}
