import ChorusCore

/// A Lamport clock (Lamport, "Time, Clocks, and the Ordering of Events in a
/// Distributed System", CACM 1978, implementation rules IR1 and IR2).
///
/// Each local event ticks the counter; each received timestamp pulls the
/// counter past it. If event a happened before event b then
/// `time(a) < time(b)`; the converse does not hold, which is what version
/// vectors add. Pair the time with a `ReplicaID` (`LamportTimestamp`) for a
/// total order that breaks ties between concurrent events deterministically.
public struct LamportClock: Hashable, Sendable, CompactCodable {
    /// The time of the latest event seen or made here; 0 before any.
    public private(set) var time: UInt64

    public init(time: UInt64 = 0) { self.time = time }

    /// A local event (IR1): returns its time. Traps after 2^64 − 1 events,
    /// which no replica reaches.
    @discardableResult
    public mutating func tick() -> UInt64 {
        time += 1
        return time
    }

    /// The receipt of a message stamped `remote` (IR2): the clock moves past
    /// both, and the receipt's own time is returned.
    @discardableResult
    public mutating func receive(_ remote: UInt64) throws(ClockError) -> UInt64 {
        let base = Swift.max(time, remote)
        guard base < .max else { throw ClockError.counterExhausted }
        time = base + 1
        return time
    }

    public func encode(into writer: inout ByteWriter) { writer.writeVarint(time) }
    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        time = try reader.readVarint()
    }
}

/// A Lamport time with the replica that made it: a total order consistent with
/// causality, ties broken by replica.
public struct LamportTimestamp: Hashable, Comparable, Sendable, CustomStringConvertible, CompactCodable {
    public var time: UInt64
    public var replica: ReplicaID

    public init(time: UInt64, replica: ReplicaID) {
        self.time = time
        self.replica = replica
    }

    public static func < (lhs: LamportTimestamp, rhs: LamportTimestamp) -> Bool {
        (lhs.time, lhs.replica) < (rhs.time, rhs.replica)
    }

    public var description: String { "\(time)@\(replica)" }

    public func encode(into writer: inout ByteWriter) {
        writer.writeVarint(time)
        replica.encode(into: &writer)
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        time = try reader.readVarint()
        replica = try ReplicaID(decoding: &reader)
    }
}

/// Why a clock refused an input. These are expected failures (a remote peer's
/// clock is wrong, or a message is forged), not bugs, so they are errors.
public enum ClockError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A counter would pass 2^64 − 1 (or the HLC logical counter its limit):
    /// only a forged or corrupt remote timestamp gets here.
    case counterExhausted
    /// A remote hybrid timestamp is further ahead of our physical clock than
    /// the configured maximum drift allows.
    case driftExceeded(remotePhysical: UInt64, localPhysical: UInt64, maximumDrift: UInt64)

    public var description: String {
        switch self {
        case .counterExhausted: "clock counter exhausted"
        case .driftExceeded(let remote, let local, let maximum):
            "remote physical time \(remote) is more than \(maximum) ahead of local \(local)"
        }
    }
}
