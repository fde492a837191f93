import ChorusCore
import ChorusRaft

/// Every size bound the wire codec enforces, in one place (STYLE.md habit 5).
///
/// A decoder checks each length and count against these limits *before* it
/// allocates, so a corrupt or hostile peer cannot make a node reserve memory
/// it never meant to: a frame header announcing 4 GiB is refused from its
/// eight header bytes, an entry count of 2^60 is refused before the array is
/// created (`ByteReader.readCount` also bounds it by the bytes that remain).
///
/// How the limits relate (checked by `validate()`):
///
///     maximumCommandBytes + per-entry framing ≤ maximumFrameBytes
///     maximumSnapshotBytes + snapshot framing ≤ maximumFrameBytes
///     maximumHandshakeBytes ≤ maximumFrameBytes
public struct WireLimits: Sendable, Hashable {
    /// The largest frame payload accepted or produced (one message or one handshake).
    public var maximumFrameBytes: Int
    /// The most entries one AppendEntries may carry.
    public var maximumEntriesPerMessage: Int
    /// The largest application command inside an entry or a forwarded proposal.
    public var maximumCommandBytes: Int
    /// The most commands one forwarded proposal may carry.
    public var maximumCommandsPerProposal: Int
    /// The most voters (and, separately, learners) a configuration may list.
    public var maximumMembers: Int
    /// The largest snapshot payload an InstallSnapshot may carry.
    public var maximumSnapshotBytes: Int
    /// The longest advertised HTTP URL in a handshake.
    public var maximumURLBytes: Int

    public init(
        maximumFrameBytes: Int = 64 << 20,
        maximumEntriesPerMessage: Int = 4_096,
        maximumCommandBytes: Int = 2 << 20,
        maximumCommandsPerProposal: Int = 4_096,
        maximumMembers: Int = 64,
        maximumSnapshotBytes: Int = 60 << 20,
        maximumURLBytes: Int = 512
    ) {
        self.maximumFrameBytes = maximumFrameBytes
        self.maximumEntriesPerMessage = maximumEntriesPerMessage
        self.maximumCommandBytes = maximumCommandBytes
        self.maximumCommandsPerProposal = maximumCommandsPerProposal
        self.maximumMembers = maximumMembers
        self.maximumSnapshotBytes = maximumSnapshotBytes
        self.maximumURLBytes = maximumURLBytes
    }

    public static let `default` = WireLimits()

    /// The fixed allowance, beyond the payload bytes, that one entry or one
    /// snapshot's metadata may take on the wire (varint term and index, tag,
    /// length prefix, and a configuration of `maximumMembers` ids each way).
    public var snapshotFramingBytes: Int { 64 + 2 * 10 * maximumMembers }
    public static let entryFramingBytes = 32

    /// The largest handshake: magic, version, cluster id and node ids (under
    /// 64 bytes together) and the advertised URL. The first frame on an
    /// accepted connection is held to this, so a stranger cannot make a node
    /// buffer a whole message frame before saying who it is.
    public var maximumHandshakeBytes: Int { 64 + maximumURLBytes }

    /// The bounds the limits themselves must respect.
    public enum Bounds {
        public static let frameBytesMinimum = 4_096
        public static let frameBytesMaximum = 1 << 30
        public static let countMaximum = 1 << 20
    }

    /// The limits `RaftCoding` applies to the entries and snapshots inside messages.
    public var raftCodingLimits: RaftCoding.Limits {
        RaftCoding.Limits(
            maximumCommandBytes: maximumCommandBytes, maximumMembers: maximumMembers, maximumSnapshotBytes: maximumSnapshotBytes,
            maximumEntriesPerRecord: maximumEntriesPerMessage)
    }

    /// Throws the first limit out of range, or the first relation that does not hold.
    public func validate() throws(WireError) {
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(WireError) {
            if !condition { throw WireError.invalidLimits(message()) }
        }
        try require(
            (Bounds.frameBytesMinimum...Bounds.frameBytesMaximum).contains(maximumFrameBytes),
            "maximumFrameBytes \(maximumFrameBytes) must be in \(Bounds.frameBytesMinimum)...\(Bounds.frameBytesMaximum)")
        try require(
            (1...Bounds.countMaximum).contains(maximumEntriesPerMessage),
            "maximumEntriesPerMessage must be in 1...\(Bounds.countMaximum)")
        try require(
            (1...Bounds.countMaximum).contains(maximumCommandsPerProposal),
            "maximumCommandsPerProposal must be in 1...\(Bounds.countMaximum)")
        try require((1...1_024).contains(maximumMembers), "maximumMembers must be in 1...1024")
        try require(maximumCommandBytes >= 1, "maximumCommandBytes must be at least 1")
        try require(
            maximumCommandBytes + Self.entryFramingBytes <= maximumFrameBytes,
            "one largest command (\(maximumCommandBytes) bytes) and its framing must fit in a frame (\(maximumFrameBytes))")
        try require(maximumSnapshotBytes >= 1, "maximumSnapshotBytes must be at least 1")
        try require(
            maximumHandshakeBytes <= maximumFrameBytes,
            "a handshake (\(maximumHandshakeBytes) bytes) must fit in a frame (\(maximumFrameBytes))")
        try require(
            maximumSnapshotBytes + snapshotFramingBytes <= maximumFrameBytes,
            "the largest snapshot (\(maximumSnapshotBytes) bytes) and its metadata must fit in a frame (\(maximumFrameBytes))")
        try require((16...4_096).contains(maximumURLBytes), "maximumURLBytes must be in 16...4096")
    }
}
