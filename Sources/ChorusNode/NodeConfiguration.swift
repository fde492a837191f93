import ChorusCertificates
import ChorusCore
import ChorusKeyValue
import ChorusRaft
import ChorusReplica
import ChorusStorage
import ChorusWire

/// A host and port, as given on the command line (`127.0.0.1:7001`).
public struct NetworkAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` (the last colon separates the port, so `[::1]:7001` works).
    public static func parse(_ text: String) throws(NodeConfigurationError) -> NetworkAddress {
        guard let colon = text.lastIndex(of: ":") else {
            throw .invalid("address '\(text)' is not HOST:PORT")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(where: { $0 == "[" || $0 == "]" || $0 == ":" }) {
            throw .invalid("address '\(text)' is not HOST:PORT (write an IPv6 host in brackets: [::1]:7001)")
        }
        guard !host.isEmpty, !host.contains(where: { $0 == "[" || $0 == "]" }), let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port) else {
            throw .invalid("address '\(text)' is not HOST:PORT with a port in 1...65535")
        }
        return NetworkAddress(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// One member of the cluster as every node's configuration lists it.
public struct PeerAddress: Sendable, Hashable {
    public var id: NodeID
    public var address: NetworkAddress

    public init(id: NodeID, address: NetworkAddress) {
        self.id = id
        self.address = address
    }

    /// Parses `id=host:port,id=host:port,…` (ids are positive integers, each listed once).
    public static func parseList(_ text: String) throws(NodeConfigurationError) -> [PeerAddress] {
        var peers: [PeerAddress] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: true) {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let raw = UInt64(parts[0].trimmingWhitespace), raw > 0 else {
                throw .invalid("peer '\(item)' is not ID=HOST:PORT with a positive integer ID")
            }
            let address = try NetworkAddress.parse(String(parts[1].trimmingWhitespace))
            guard !peers.contains(where: { $0.id == NodeID(raw) }) else { throw .invalid("node \(raw) is listed twice") }
            peers.append(PeerAddress(id: NodeID(raw), address: address))
        }
        guard !peers.isEmpty else { throw .invalid("the peer list is empty") }
        return peers.sorted { $0.id < $1.id }
    }
}

extension Substring {
    var trimmingWhitespace: Substring {
        var result = self
        while let first = result.first, first == " " { result = result.dropFirst() }
        while let last = result.last, last == " " { result = result.dropLast() }
        return result
    }
}

/// A configuration that cannot be used, and why.
public enum NodeConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let reason): reason
        }
    }
}

/// Everything one node needs to run, with every limit of the runtime named
/// here and validated together at start-up (STYLE.md habit 5).
///
/// **Time.** The runtime calls `RaftNode.tick()` every `tickMilliseconds`
/// (10 ms). With the defaults below that makes the election timeout E = 30
/// ticks = 300 ms (a follower campaigns after a random 300–600 ms without a
/// leader, thesis §3.4), the heartbeat interval 5 ticks = 50 ms (so a healthy
/// leader is heard six times per minimum election timeout, and CheckQuorum
/// steps a cut-off leader down within 300 ms), and the snapshot retry 100
/// ticks = 1 s. Linearizable reads do not wait for the heartbeat timer: the
/// core starts a read round at once when none is outstanding. Elapsed time
/// comes from the uptime clock (`TickClock`), not from counting timer
/// firings: a node stopped by SIGSTOP for 5 s counts 500 ticks when it
/// resumes, so no staleness bound or lease outlives the pause.
///
/// **Sizes.** A value is at most `keyValue.maximumValueBytes`; its command (key,
/// session, framing) must fit in a wire command and in a log record, and an
/// AppendEntries carries at most `raft.maximumMessageBytes` plus one entry, which
/// must fit in a frame.
public struct NodeConfiguration: Sendable {
    public var nodeID: NodeID
    /// Every voter, this node included, with its peer (Raft) address.
    public var members: [PeerAddress]
    /// Where this node accepts peer connections.
    public var peerListenAddress: NetworkAddress
    /// The URL clients reach this node's HTTP API at; sent in handshakes so
    /// that every node can redirect clients to the leader.
    public var advertisedHTTPURL: String
    /// The storage directory (created if missing).
    public var dataDirectory: String
    /// Identifies the cluster in handshakes; nodes of another cluster are refused.
    public var clusterID: UInt64
    /// Plaintext or mutual TLS on the peer links (`PeerSecurity`). Plaintext
    /// here; `chorus node` makes its user choose.
    public var peerSecurity: PeerSecurity = .insecurePlaintext

    public var tickMilliseconds: Int = 10
    /// Timing and limits of the leaderless keyspaces' runtime.
    public var leaderless = LeaderlessSettings()
    public var raft: RaftConfiguration
    public var storage: StorageConfiguration = StorageConfiguration(
        maximumRecordBytes: 4 << 20, maximumBatchBytes: 16 << 20, maximumPendingBytes: 128 << 20)
    public var wire: WireLimits = .default
    public var keyValue: KeyValueLimits = KeyValueLimits(
        maximumKeyBytes: 1_024, maximumValueBytes: 1 << 20, maximumSessions: 65_536, maximumKeys: 1 << 24)

    /// A snapshot is taken and the log compacted once this many entries are
    /// applied beyond the previous snapshot.
    public var snapshotThresholdEntries: Int = 20_000
    /// Writes waiting to be proposed or applied on this node; beyond it a
    /// write is refused (`NodeError.overloaded`) rather than queued without bound.
    public var maximumPendingWrites: Int = 32_768
    /// Reads waiting for a read index or for the state machine to catch up.
    public var maximumPendingReads: Int = 32_768
    /// The most commands one `propose(batch:)` carries.
    public var maximumProposalBatch: Int = 2_048
    /// A write not applied within this long is answered "outcome unknown".
    public var writeTimeoutMilliseconds: Int = 5_000
    /// A linearizable read not confirmed and applied within this long fails (safe to retry).
    public var readTimeoutMilliseconds: Int = 3_000
    /// The longest a sequential read waits for `minimumIndex` to be applied.
    public var sequentialWaitMilliseconds: Int = 1_000

    /// Peer connection backoff: the first retry after `reconnectInitialMilliseconds`,
    /// doubling up to `reconnectMaximumMilliseconds`, each drawn uniformly from
    /// [half, full] of the current step (jitter, so restarting nodes do not dial in lockstep).
    ///
    /// Both bounds are short so a healed peer is dialled again within two
    /// election timeouts: while the network is cut, a dial waits at most
    /// `connectTimeoutMilliseconds` for a lost SYN, then at most
    /// `reconnectMaximumMilliseconds` before the next one.
    public var reconnectInitialMilliseconds: Int = 20
    public var reconnectMaximumMilliseconds: Int = 250
    public var connectTimeoutMilliseconds: Int = 250
    /// A peer connection on which nothing arrived for this long is closed
    /// (and, for this node's own link, dialled again): the peer is silent —
    /// partitioned, paused or gone without a FIN. Both ends send a keepalive
    /// frame every heartbeat interval they would otherwise be quiet
    /// (`PeerProtocol.keepalive`), so a live link is never this quiet.
    public var peerSilenceMilliseconds: Int = 400
    /// How often a quiet peer link sends a keepalive: the heartbeat interval.
    public var peerKeepaliveMilliseconds: Int { raft.heartbeatIntervalTicks * tickMilliseconds }
    /// Bytes a peer connection may buffer while connecting or while the peer
    /// reads slowly; beyond it messages are dropped (Raft retransmits).
    public var peerOutboundBufferBytesMaximum: Int = 80 << 20
    /// For experiments only (`chorus lab --peer-delay-ms`): every outbound
    /// peer frame is held this long before it is written, in order, to model
    /// a slower network between nodes. 0 (the default) sends at once.
    public var peerDelayMilliseconds: Int = 0
    /// The longest `peerDelayMilliseconds` accepted: past it elections and
    /// heartbeats stop making sense with the default timings.
    public static let peerDelayMillisecondsMaximum = 10_000
    /// For tests only (`chorus node --clock-rate`, hidden): this node's clock
    /// runs at this rate against real time — its tick timer fires every
    /// `tickMilliseconds / clockRate` and its clock readings advance
    /// `clockRate` times as fast — as a crystal running slow or fast would.
    /// Within `raft.clockDriftBoundPartsPerThousand` of 1 the lease bound
    /// holds; far beyond it a lease outlives the leader's authority (the
    /// negative control of the partition tests). 1 (the default) is real time.
    public var clockRate: Double = 1
    public static let clockRateRange: ClosedRange<Double> = 0.05...20

    public init(
        nodeID: NodeID, members: [PeerAddress], peerListenAddress: NetworkAddress, advertisedHTTPURL: String,
        dataDirectory: String, clusterID: UInt64? = nil
    ) {
        self.nodeID = nodeID
        self.members = members.sorted { $0.id < $1.id }
        self.peerListenAddress = peerListenAddress
        self.advertisedHTTPURL = advertisedHTTPURL
        self.dataDirectory = dataDirectory
        self.clusterID = clusterID ?? Self.clusterID(of: members)
        var raft = RaftConfiguration(nodeID: nodeID)
        raft.electionTimeoutTicks = 30
        raft.heartbeatIntervalTicks = 5
        raft.snapshotRetryTicks = 100
        raft.maximumEntriesPerMessage = 1_024
        raft.maximumMessageBytes = 4 << 20
        raft.maximumInflightMessages = 256
        raft.maximumUncommittedEntries = 65_536
        raft.maximumPendingReads = 65_536
        raft.maximumCommittedEntriesPerReady = 4_096
        raft.leaseDurationTicks = 20
        self.raft = raft
    }

    /// The default cluster id: FNV-1a (64-bit) of the sorted member list, so
    /// nodes started with the same `--peers` agree without another flag.
    public static func clusterID(of members: [PeerAddress]) -> UInt64 {
        var hasher = FNV1a()
        for member in members.sorted(by: { $0.id < $1.id }) {
            hasher.combine(bytes: "\(member.id.rawValue)=\(member.address);".utf8)
        }
        return hasher.value
    }

    /// The replica driver's limits, with this node's milliseconds in ticks.
    public var replica: ReplicaConfiguration {
        ReplicaConfiguration(
            maximumPendingWrites: maximumPendingWrites, maximumPendingReads: maximumPendingReads,
            maximumProposalBatch: maximumProposalBatch, writeTimeoutTicks: ticks(writeTimeoutMilliseconds),
            readTimeoutTicks: ticks(readTimeoutMilliseconds), catchUpWaitTicks: ticks(sequentialWaitMilliseconds),
            // Deadlines are swept ten times a second.
            expiryIntervalTicks: min(
                ticks(100), ticks(min(writeTimeoutMilliseconds, readTimeoutMilliseconds, sequentialWaitMilliseconds))),
            snapshotThresholdEntries: snapshotThresholdEntries,
            clockDriftBoundPartsPerThousand: raft.clockDriftBoundPartsPerThousand, injectedBug: raft.injectedBug)
    }

    /// Milliseconds as whole ticks, rounded up, at least one.
    func ticks(_ milliseconds: Int) -> UInt64 {
        UInt64(max(1, (milliseconds + tickMilliseconds - 1) / tickMilliseconds))
    }

    public var peers: [PeerAddress] { members.filter { $0.id != nodeID } }
    public var voters: [NodeID] { members.map(\.id) }

    /// The largest encoded command: a value, a key, the session varints and framing.
    public var maximumCommandBytes: Int { keyValue.maximumValueBytes + keyValue.maximumKeyBytes + 64 }

    /// Throws the first invalid setting or broken relation.
    public func validate() throws(NodeConfigurationError) {
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(NodeConfigurationError) {
            if !condition { throw .invalid(message()) }
        }
        try require(nodeID != .none, "the node id must be positive")
        try require(members.contains { $0.id == nodeID }, "node \(nodeID.rawValue) is not in the member list")
        try require(members.count <= wire.maximumMembers, "at most \(wire.maximumMembers) members")
        try require(raft.nodeID == nodeID, "the Raft configuration is for another node")
        do { try raft.validate() } catch { throw .invalid(error.description) }
        do { try storage.validate() } catch { throw .invalid("storage: \(error)") }
        do { try wire.validate() } catch { throw .invalid(error.description) }
        try require((1...1_000).contains(tickMilliseconds), "tickMilliseconds must be in 1...1000")
        try require(
            (0...Self.peerDelayMillisecondsMaximum).contains(peerDelayMilliseconds),
            "peerDelayMilliseconds must be in 0...\(Self.peerDelayMillisecondsMaximum)")
        try require(Self.clockRateRange.contains(clockRate), "clockRate must be in \(Self.clockRateRange)")
        try require(!advertisedHTTPURL.isEmpty, "the advertised HTTP URL is empty")
        try require(
            advertisedHTTPURL.utf8.count <= wire.maximumURLBytes,
            "the advertised HTTP URL is longer than \(wire.maximumURLBytes) bytes")
        try require(!dataDirectory.isEmpty, "the data directory is empty")
        try require(keyValue.maximumKeyBytes >= 1 && keyValue.maximumValueBytes >= 1, "key and value limits must be positive")
        try require(
            maximumCommandBytes <= wire.maximumCommandBytes,
            "a largest command (\(maximumCommandBytes) bytes) must fit the wire's command limit (\(wire.maximumCommandBytes))")
        try require(
            maximumCommandBytes + WireLimits.entryFramingBytes + 16 <= storage.maximumRecordBytes,
            "a largest command must fit in one log record (\(storage.maximumRecordBytes) bytes)")
        try require(
            raft.maximumEntriesPerMessage <= wire.maximumEntriesPerMessage,
            "raft.maximumEntriesPerMessage exceeds the wire's maximumEntriesPerMessage")
        try require(
            raft.maximumMessageBytes + maximumCommandBytes + 256 <= wire.maximumFrameBytes,
            "an AppendEntries of raft.maximumMessageBytes plus one largest entry must fit in a frame")
        try require(
            maximumProposalBatch <= raft.maximumUncommittedEntries,
            "maximumProposalBatch must not exceed raft.maximumUncommittedEntries")
        try require(maximumProposalBatch <= wire.maximumCommandsPerProposal, "maximumProposalBatch exceeds the wire limit")
        try require((1...100_000_000).contains(snapshotThresholdEntries), "snapshotThresholdEntries must be in 1...100000000")
        try require((1...(1 << 24)).contains(maximumPendingWrites), "maximumPendingWrites must be in 1...16777216")
        try require((1...(1 << 24)).contains(maximumPendingReads), "maximumPendingReads must be in 1...16777216")
        try require((1...(1 << 16)).contains(maximumProposalBatch), "maximumProposalBatch must be in 1...65536")
        for (name, value) in [
            ("writeTimeoutMilliseconds", writeTimeoutMilliseconds), ("readTimeoutMilliseconds", readTimeoutMilliseconds),
            ("sequentialWaitMilliseconds", sequentialWaitMilliseconds),
            ("reconnectInitialMilliseconds", reconnectInitialMilliseconds),
            ("reconnectMaximumMilliseconds", reconnectMaximumMilliseconds),
            ("connectTimeoutMilliseconds", connectTimeoutMilliseconds), ("peerSilenceMilliseconds", peerSilenceMilliseconds),
        ] {
            try require((1...3_600_000).contains(value), "\(name) must be in 1...3600000")
        }
        try require(
            reconnectInitialMilliseconds <= reconnectMaximumMilliseconds,
            "reconnectInitialMilliseconds must not exceed reconnectMaximumMilliseconds")
        try require(
            peerSilenceMilliseconds >= 2 * peerKeepaliveMilliseconds,
            "peerSilenceMilliseconds must be at least two heartbeat intervals (\(2 * peerKeepaliveMilliseconds) ms): a live link sends a keepalive every one")
        try require(
            writeTimeoutMilliseconds >= raft.electionTimeoutTicks * tickMilliseconds,
            "writeTimeoutMilliseconds must cover at least one election timeout")
        try require(
            peerOutboundBufferBytesMaximum >= wire.maximumFrameBytes,
            "peerOutboundBufferBytesMaximum must hold at least one largest frame")
        try require(
            wire.maximumSnapshotBytes <= storage.maximumSnapshotBytes,
            "a snapshot the wire accepts must fit the storage's snapshot limit")
        do { try replica.validate() } catch { throw .invalid("replica: \(error)") }
        if case .mutualTLS(let credentials) = peerSecurity {
            try require(
                credentials.node == nodeID,
                "the peer certificate is node \(credentials.node.rawValue)'s (chorus://node/\(credentials.node.rawValue)), this is node \(nodeID.rawValue)")
            if let problem = credentials.validityProblem() { throw .invalid("peer TLS: \(problem)") }
        }
    }
}
