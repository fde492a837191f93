import ChorusClocks
import ChorusCore

/// A grow-only set (Shapiro et al., INRIA RR-7506, 2011): elements are
/// added and never removed; merge is union.
public struct GSet<Element: Hashable & Sendable & CompactCodable>: DeltaCRDT {
    public typealias Delta = GSet

    public private(set) var elements: Set<Element>

    public init() { elements = [] }

    public init<Elements: Sequence>(_ elements: Elements) where Elements.Element == Element {
        self.elements = Set(elements)
    }

    public func contains(_ element: Element) -> Bool { elements.contains(element) }
    public var count: Int { elements.count }

    /// Adds `element`; returns the delta (the one-element set).
    @discardableResult
    public mutating func insert(_ element: Element) -> GSet {
        elements.insert(element)
        return GSet([element])
    }

    public mutating func merge(_ other: GSet) { elements.formUnion(other.elements) }

    public func encode(into writer: inout ByteWriter) {
        let sorted = CanonicalOrder.sorted(elements)
        writer.writeVarint(sorted.count)
        for entry in sorted { writer.writeRaw(entry.bytes) }
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let count = try reader.readCount(limit: CRDTLimits.maximumElementCount)
        elements = []
        elements.reserveCapacity(count)
        var previous: [UInt8]? = nil
        for _ in 0..<count { elements.insert(try CanonicalOrder.decode(&reader, after: &previous)) }
    }
}

/// A two-phase set (Shapiro et al. 2011): a grow-only set of added
/// elements and one of removed elements (tombstones). An element can be
/// added, then removed once, and never added again; remove wins over a
/// concurrent add of an element already added.
///
/// The removed set grows forever; that is the type's definition, and why
/// `ORSet` exists. A remove of an element that is not present is refused
/// (`CRDTError.notAnElement`), as the paper's precondition requires.
public struct TwoPhaseSet<Element: Hashable & Sendable & CompactCodable>: DeltaCRDT {
    public typealias Delta = TwoPhaseSet

    public private(set) var added: GSet<Element>
    public private(set) var removed: GSet<Element>

    public init() {
        added = GSet()
        removed = GSet()
    }

    public func contains(_ element: Element) -> Bool { added.contains(element) && !removed.contains(element) }

    /// The elements added and not removed.
    public var elements: Set<Element> { added.elements.subtracting(removed.elements) }

    @discardableResult
    public mutating func insert(_ element: Element) throws(CRDTError) -> TwoPhaseSet {
        guard !removed.contains(element) else { throw CRDTError.elementRemovedForever }
        var delta = TwoPhaseSet()
        delta.added = added.insert(element)
        return delta
    }

    @discardableResult
    public mutating func remove(_ element: Element) throws(CRDTError) -> TwoPhaseSet {
        guard contains(element) else { throw CRDTError.notAnElement }
        var delta = TwoPhaseSet()
        delta.removed = removed.insert(element)
        return delta
    }

    public mutating func merge(_ other: TwoPhaseSet) {
        added.merge(other.added)
        removed.merge(other.removed)
    }

    public func encode(into writer: inout ByteWriter) {
        added.encode(into: &writer)
        removed.encode(into: &writer)
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        added = try GSet(decoding: &reader)
        removed = try GSet(decoding: &reader)
    }
}
