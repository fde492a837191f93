import ChorusCore

/// A dotted version vector: the causal history "this version vector, plus one
/// more event" (Preguiça, Baquero, Almeida, Fonte and Gonçalves, "Dotted
/// Version Vectors: Logical Clocks for Optimistic Replication", 2010;
/// and "Brief Announcement: Efficient Causality Tracking in Distributed
/// Storage Systems with Dotted Version Vectors", PODC 2012).
///
/// A replicated key-value store tags every stored version with one. When a
/// client writes with the context it read (a version vector), the server
/// coordinating the write makes a new dot for itself and tags the value with
/// `(dot, context)`. Unlike a plain version vector incremented at the server,
/// this tells apart concurrent writes that went through the same server, so no
/// concurrent sibling is lost and no false conflict appears (the paper
/// shows both failures of per-server version vectors).
///
/// Invariant: the dot is not already in the context (`dot.counter >
/// context[dot.replica]`); the dot may leave a gap after the context's prefix.
public struct DottedVersionVector: Hashable, Sendable, CustomStringConvertible, CompactCodable {
    /// The event this version is.
    public private(set) var dot: Dot
    /// The causal past the writer had seen.
    public private(set) var context: VersionVector

    public init(dot: Dot, context: VersionVector) {
        precondition(!context.contains(dot), "a dotted version vector's dot must be outside its context")
        self.dot = dot
        self.context = context
    }

    /// The server-side update of the paper (`update`): a new version
    /// written at `replica` by a client that had seen `clientContext`. The new
    /// dot follows every event of `replica` the client context or the stored
    /// siblings know about, so it is unique at that replica.
    public static func event(
        at replica: ReplicaID, clientContext: VersionVector, siblings: [DottedVersionVector]
    ) -> DottedVersionVector {
        var highest = clientContext[replica]
        for sibling in siblings {
            highest = Swift.max(highest, sibling.context[replica])
            if sibling.dot.replica == replica { highest = Swift.max(highest, sibling.dot.counter) }
        }
        return DottedVersionVector(dot: Dot(replica: replica, counter: highest + 1), context: clientContext)
    }

    /// Whether `event` is in this causal history.
    public func contains(_ event: Dot) -> Bool { event == dot || context.contains(event) }

    /// Whether the first `count` events of `replica` are all in this history.
    private func includesPrefix(of replica: ReplicaID, count: UInt64) -> Bool {
        let prefix = context[replica]
        if count <= prefix { return true }
        return count == prefix + 1 && dot == Dot(replica: replica, counter: count)
    }

    /// Whether this whole history is inside `other`'s.
    public func isIncluded(in other: DottedVersionVector) -> Bool {
        guard other.contains(dot) else { return false }
        return context.entries.allSatisfy { other.includesPrefix(of: $0.replica, count: $0.counter) }
    }

    /// The partial order of the two histories.
    public func compare(_ other: DottedVersionVector) -> CausalOrder {
        switch (isIncluded(in: other), other.isIncluded(in: self)) {
        case (true, true): .equal
        case (true, false): .before
        case (false, true): .after
        case (false, false): .concurrent
        }
    }

    /// The whole history as a causal context (the dot may leave a gap).
    public var causalContext: CausalContext {
        var result = CausalContext(context)
        result.insert(dot)
        return result
    }

    /// The paper's `sync`: the union of two sets of sibling versions,
    /// without any version that another one includes. The result is sorted
    /// by dot, so both sides of a synchronization compute the same array.
    public static func synchronize(_ lhs: [DottedVersionVector], _ rhs: [DottedVersionVector]) -> [DottedVersionVector] {
        var all = lhs + rhs
        all.sort { ($0.dot, $0.context.eventCount) < ($1.dot, $1.context.eventCount) }
        var kept: [DottedVersionVector] = []
        for (index, candidate) in all.enumerated() {
            if kept.contains(candidate) { continue }
            let obsolete = all.indices.contains { other in
                other != index && all[other] != candidate && candidate.isIncluded(in: all[other])
            }
            if !obsolete { kept.append(candidate) }
        }
        return kept
    }

    public var description: String { "(\(dot), \(context))" }

    public func encode(into writer: inout ByteWriter) {
        dot.encode(into: &writer)
        context.encode(into: &writer)
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let start = reader.offset
        let dot = try Dot(decoding: &reader)
        let context = try VersionVector(decoding: &reader)
        guard !context.contains(dot) else {
            throw BinaryDecodingError(.invalidValue("dotted version vector's dot \(dot) is inside its context"), at: start)
        }
        self.dot = dot
        self.context = context
    }
}
