import ChorusCore

/// A hybrid logical timestamp: the largest physical time seen (`physical`,
/// the paper's `l`) and a logical counter that orders events sharing it
/// (`logical`, the paper's `c`).
///
/// Ordered lexicographically, so it compares like a Lamport clock (an event
/// that happened before another has a smaller timestamp) while staying within
/// the clock drift of real time.
public struct HybridTimestamp: Hashable, Comparable, Sendable, CustomStringConvertible, CompactCodable {
    /// The largest physical time seen, in whatever unit the caller's clock
    /// uses (Chorus passes milliseconds since the Unix epoch).
    public var physical: UInt64
    /// Orders events with the same `physical`; reset to 0 when it advances.
    public var logical: UInt32

    public init(physical: UInt64, logical: UInt32) {
        self.physical = physical
        self.logical = logical
    }

    public static let zero = HybridTimestamp(physical: 0, logical: 0)

    public static func < (lhs: HybridTimestamp, rhs: HybridTimestamp) -> Bool {
        (lhs.physical, lhs.logical) < (rhs.physical, rhs.logical)
    }

    public var description: String { "\(physical).\(logical)" }

    public func encode(into writer: inout ByteWriter) {
        writer.writeVarint(physical)
        writer.writeVarint(UInt64(logical))
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        physical = try reader.readVarint()
        let start = reader.offset
        let raw = try reader.readVarint()
        guard let logical = UInt32(exactly: raw) else {
            throw BinaryDecodingError(.invalidValue("hybrid logical counter \(raw) exceeds 32 bits"), at: start)
        }
        self.logical = logical
    }
}

/// A hybrid logical clock (Kulkarni, Demirbas, Madappa, Avva and Leone,
/// "Logical Physical Clocks and Consistent Snapshots in Globally Distributed
/// Databases", OPODIS 2014).
///
/// It keeps Lamport's guarantee (e happened before f ⇒ hlc(e) < hlc(f)) while
/// its physical part never runs ahead of the largest physical clock in the
/// system, so timestamps can be compared with wall-clock times and used for
/// last-writer-wins registers and snapshot reads.
///
/// Sans-IO: the physical time is always an argument. The clock never reads a
/// clock itself, so the simulator can skew it and tests can replay it.
///
/// `maximumDrift` bounds how far ahead of our own physical time a remote
/// timestamp may be (CockroachDB's "max offset"). Without it, one node with a
/// clock set to the year 3000 would drag every clock there for good, since
/// the physical part only grows.
public struct HybridLogicalClock: Hashable, Sendable {
    /// The latest timestamp issued or received.
    public private(set) var latest: HybridTimestamp
    /// How far ahead of the local physical time a received timestamp may be;
    /// `nil` accepts any.
    public let maximumDrift: UInt64?

    public init(latest: HybridTimestamp = .zero, maximumDrift: UInt64? = nil) {
        self.latest = latest
        self.maximumDrift = maximumDrift
    }

    /// A local or send event at physical time `now` (the paper's "send or local
    /// event" rule). Returns the event's timestamp.
    public mutating func now(physical now: UInt64) throws(ClockError) -> HybridTimestamp {
        if now > latest.physical {
            latest = HybridTimestamp(physical: now, logical: 0)
        } else {
            guard latest.logical < .max else { throw ClockError.counterExhausted }
            latest.logical += 1
        }
        return latest
    }

    /// The receipt of a message stamped `remote` at physical time `now`
    /// (the paper's "receive event" rule). Returns the receipt's
    /// timestamp, which is greater than both `remote` and every timestamp this
    /// clock issued before.
    public mutating func receive(_ remote: HybridTimestamp, physical now: UInt64) throws(ClockError) -> HybridTimestamp {
        if let maximumDrift, remote.physical > now, remote.physical - now > maximumDrift {
            throw ClockError.driftExceeded(remotePhysical: remote.physical, localPhysical: now, maximumDrift: maximumDrift)
        }
        let previous = latest.physical
        let physical = Swift.max(previous, remote.physical, now)
        let logical: UInt32
        if physical == previous && physical == remote.physical {
            let base = Swift.max(latest.logical, remote.logical)
            guard base < .max else { throw ClockError.counterExhausted }
            logical = base + 1
        } else if physical == previous {
            guard latest.logical < .max else { throw ClockError.counterExhausted }
            logical = latest.logical + 1
        } else if physical == remote.physical {
            guard remote.logical < .max else { throw ClockError.counterExhausted }
            logical = remote.logical + 1
        } else {
            logical = 0
        }
        latest = HybridTimestamp(physical: physical, logical: logical)
        return latest
    }
}
