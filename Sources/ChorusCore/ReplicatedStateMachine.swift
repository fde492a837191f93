/// The byte at the front of every command in the replicated log that names
/// the state machine which applies it. A log entry's command is
/// `tag · machine-specific bytes`; one Raft group hosts several machines, and
/// each sees only its own commands (the others are skipped past).
///
/// Tags are assigned here, once, so two machines can never claim the same one.
public struct MachineTag: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    /// The key-value store (`ChorusKeyValue`).
    public static let keyValue = MachineTag(1)
    /// The event store: streams, `$all`, subscription groups (`ChorusEventStore`).
    public static let eventStore = MachineTag(2)

    public static func < (lhs: MachineTag, rhs: MachineTag) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .keyValue: "key-value"
        case .eventStore: "event-store"
        default: "machine-\(rawValue)"
        }
    }
}

/// A deterministic state machine replicated by a log: the seam between a
/// consensus driver (`RaftReplica`) and what it replicates (DESIGN.md §3).
///
/// The driver calls, in log order, `apply` for each committed command of this
/// machine and `skip` for every other entry, so `appliedIndex` always equals
/// the index of the last entry the driver handed over. A machine must be a
/// pure function of that sequence: no clock, no randomness, no dictionary
/// iteration order in anything it returns or encodes. Time that a machine
/// records (an event's timestamp) travels inside the command, stamped by the
/// proposing leader, so every replica records the same one.
///
/// Reads are served outside the log, from the applied state, once the driver
/// has decided this replica may answer at the requested consistency level
/// (after a ReadIndex confirmation for `linearizable`, at once for
/// `eventual`, …); the machine only answers `read` at its applied index.
///
/// Snapshots capture the whole state at `appliedIndex` in the machine's own
/// versioned encoding; `restore` accepts exactly that encoding and refuses
/// anything else with an error (the bytes may come from a disk or a peer),
/// bounding every length before it allocates.
public protocol ReplicatedStateMachine: Sendable {
    /// What applying one command returns to the waiting writer.
    associatedtype Output: Sendable
    /// A read request, answered from the applied state.
    associatedtype Query: Sendable
    /// The answer to a `Query`.
    associatedtype QueryResult: Sendable

    /// The index of the last log entry applied or skipped.
    var appliedIndex: LogIndex { get }

    /// Applies the command committed at `index` (the entry's bytes after the
    /// machine tag). Precondition: `index > appliedIndex`.
    mutating func apply(_ command: ArraySlice<UInt8>, at index: LogIndex) -> Output

    /// Notes that the entry at `index` carries nothing for this machine (an
    /// empty or configuration entry, or another machine's command).
    /// Precondition: `index > appliedIndex`.
    mutating func skip(index: LogIndex)

    /// Answers `query` from the state at `appliedIndex`.
    func read(_ query: Query) -> QueryResult

    /// The whole state at `appliedIndex`.
    func snapshot() -> [UInt8]

    /// Replaces the state with a `snapshot()`'s taken at `index`. An empty
    /// `snapshot` means the empty machine at `index` (a machine that did not
    /// exist when the snapshot was taken).
    mutating func restore(from snapshot: [UInt8], at index: LogIndex) throws(BinaryDecodingError)
}

/// The snapshot of every machine a log hosts, as one versioned container:
///
///     magic "CHSM" · version (u8) · applied index (varint)
///     · count (varint) · { tag (u8) · length (varint) · machine snapshot }   tags ascending
///
/// Each machine's bytes are its own `snapshot()`; the container only says
/// which machine they belong to, so adding a machine adds an entry and no
/// machine's format changes.
public struct StateMachineSnapshot: Sendable, Hashable {
    public static let magic: [UInt8] = Array("CHSM".utf8)
    public static let version: UInt8 = 1

    public var appliedIndex: LogIndex
    /// Each machine's snapshot, by tag.
    public var machines: [(tag: MachineTag, bytes: [UInt8])]

    public init(appliedIndex: LogIndex, machines: [(tag: MachineTag, bytes: [UInt8])]) {
        self.appliedIndex = appliedIndex
        self.machines = machines.sorted { $0.tag < $1.tag }
    }

    public static func == (lhs: StateMachineSnapshot, rhs: StateMachineSnapshot) -> Bool {
        lhs.appliedIndex == rhs.appliedIndex && lhs.machines.map(\.tag) == rhs.machines.map(\.tag)
            && lhs.machines.map(\.bytes) == rhs.machines.map(\.bytes)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(appliedIndex)
        for machine in machines {
            hasher.combine(machine.tag)
            hasher.combine(machine.bytes)
        }
    }

    /// The bytes of `tag`'s machine, or nil if the container has none.
    public func bytes(of tag: MachineTag) -> [UInt8]? { machines.first { $0.tag == tag }?.bytes }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 16 + machines.reduce(0) { $0 + $1.bytes.count + 8 })
        writer.writeRaw(Self.magic)
        writer.write(Self.version)
        writer.writeVarint(appliedIndex.rawValue)
        writer.writeVarint(machines.count)
        for machine in machines {
            writer.write(machine.tag.rawValue)
            writer.writeLengthPrefixed(machine.bytes)
        }
        return writer.bytes
    }

    /// Decodes `encoded()`'s output. A container of another version is refused
    /// with a message that names it.
    public init(decoding bytes: [UInt8], maximumMachineBytes: Int) throws(BinaryDecodingError) {
        var reader = ByteReader(bytes)
        let magic = Array(try reader.readRaw(count: Self.magic.count))
        guard magic == Self.magic else {
            throw BinaryDecodingError(.invalidValue("not a state-machine snapshot (no CHSM header)"), at: 0)
        }
        let version = try reader.readByte()
        guard version == Self.version else {
            throw reader.error(.invalidValue(
                "state-machine snapshot version \(version); this release reads version \(Self.version)"))
        }
        appliedIndex = LogIndex(try reader.readVarint())
        let count = try reader.readCount(limit: Int(UInt8.max) + 1, minimumElementBytes: 2)
        var machines: [(tag: MachineTag, bytes: [UInt8])] = []
        machines.reserveCapacity(count)
        for _ in 0..<count {
            let tag = MachineTag(try reader.readByte())
            if let previous = machines.last?.tag, !(previous < tag) {
                throw reader.error(.invalidValue("machine tags not strictly ascending"))
            }
            machines.append((tag, Array(try reader.readLengthPrefixed(limit: maximumMachineBytes))))
        }
        try reader.expectEnd()
        self.machines = machines
    }
}
