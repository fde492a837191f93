import CoreMetrics
import ChorusCore
import ChorusMachines
import ChorusRaft
import ChorusReplica
import ChorusStorage
import ChorusWire
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Why a node could not start.
public enum NodeStartupError: Error, Sendable, CustomStringConvertible {
    case configuration(NodeConfigurationError)
    case storage(StorageError)
    /// The storage holds records that do not decode or do not fit together.
    case recovery(String)
    case bind(address: String, reason: String)

    public var description: String {
        switch self {
        case .configuration(let error): "invalid configuration: \(error)"
        case .storage(let error): "storage: \(error)"
        case .recovery(let reason): "recovery: \(reason)"
        case .bind(let address, let reason): "cannot listen for peers on \(address): \(reason)"
        }
    }
}

/// One running Chorus node: the public, thread-safe face of a `NodeCore`
/// that lives on one event loop. Every request hops to that loop, does its
/// work there, and resumes the caller when it completes.
///
/// It is a swift-service-lifecycle `Service`: `run()` returns after graceful
/// shutdown (SIGTERM/SIGINT in the executable), having closed peer
/// connections, failed waiting requests with `NodeError.stopped`, and closed
/// the write-ahead log (draining what it had accepted).
public final class ChorusNode: Service, Sendable {
    public let configuration: NodeConfiguration
    public let eventLoop: any EventLoop
    let core: NIOLoopBound<NodeCore>
    let listener: any Channel
    let storage: DurableStorage
    let leaderlessStorage: DurableStorage
    let logger: Logger

    private init(
        configuration: NodeConfiguration, eventLoop: any EventLoop, core: NIOLoopBound<NodeCore>,
        listener: any Channel, storage: DurableStorage, leaderlessStorage: DurableStorage, logger: Logger
    ) {
        self.leaderlessStorage = leaderlessStorage
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.core = core
        self.listener = listener
        self.storage = storage
        self.logger = logger
    }

    /// Recovers the node's storage, binds its peer listener and starts it.
    ///
    /// - Parameters:
    ///   - eventLoop: the loop that will own the replica and all peer connections.
    ///   - fileSystem: the storage's file system (tests inject faults through it).
    ///   - onFatalError: called once if the node stops for good (a failed
    ///     fsync); the executable logs and exits non-zero.
    public static func start(
        configuration: NodeConfiguration, eventLoop: any EventLoop, threadPool: NIOThreadPool = .singleton,
        fileSystem: any StorageFileSystem = PosixFileSystem(), logger: Logger,
        onFatalError: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws(NodeStartupError) -> ChorusNode {
        let tls = try PeerBootstrap.security(for: configuration)
        var nodeLogger = logger
        nodeLogger[metadataKey: "node"] = "\(configuration.nodeID)"
        let logger = nodeLogger

        let opened: (storage: DurableStorage, recovered: DurableStorage.Recovered)
        do {
            opened = try await threadPool.runIfActive { () throws -> (DurableStorage, DurableStorage.Recovered) in
                try openStorage(configuration: configuration, fileSystem: fileSystem)
            }
        } catch let error as NodeStartupError {
            throw error
        } catch {
            throw .recovery("\(error)")
        }
        let storage = opened.storage
        // The election timer's randomization only needs to differ between
        // nodes and restarts; the runtime may read the clock, the core may not.
        let seed = UInt64(truncatingIfNeeded: NIODeadline.now().uptimeNanoseconds) ^ (configuration.nodeID.rawValue &* 0x9E37_79B9_7F4A_7C15)
        let replica: RaftReplica<ReplicatedMachines>
        do {
            let (state, machines) = try rebuild(from: opened.recovered, configuration: configuration)
            logRepairs(opened.recovered, directory: configuration.dataDirectory, logger: logger)
            let persistent = try await suspendVotesIfAcknowledgedDataMayBeLost(
                state.persistentState, recovered: opened.recovered, storage: storage, threadPool: threadPool, logger: logger)
            replica = try recoverReplica(
                persistent, machines: machines, configuration: configuration, seed: seed, logger: logger)
        } catch {
            await storage.close()
            throw error
        }

        let core: NIOLoopBound<NodeCore>
        do {
            core = try await eventLoop.submit {
                NIOLoopBound(
                    NodeCore(
                        configuration: configuration, loop: eventLoop, logger: logger, storage: storage,
                        threadPool: threadPool, replica: replica, seed: seed ^ 0x5DEE_CE66, tls: tls, onFatalError: onFatalError),
                    eventLoop: eventLoop)
            }.get()
        } catch {
            await storage.close()
            throw .recovery("the event loop refused the node: \(error)")
        }

        let leaderlessStorage: DurableStorage
        do {
            leaderlessStorage = try await startLeaderless(
                configuration: configuration, eventLoop: eventLoop, threadPool: threadPool, fileSystem: fileSystem, core: core,
                seed: seed ^ 0x1EAD_1E55, logger: logger, onFatalError: onFatalError)
        } catch {
            await storage.close()
            throw error
        }
        let listener: any Channel
        do {
            listener = try await PeerBootstrap.listen(
                configuration: configuration, tls: tls, eventLoop: eventLoop, core: core, storage: storage)
        } catch {
            await leaderlessStorage.close()
            await storage.close()
            throw error
        }
        eventLoop.execute {
            core.value.start()
            core.value.leaderless?.start()
        }
        logger.info(
            "node started",
            metadata: [
                "peers_listen": "\(configuration.peerListenAddress)", "http": "\(configuration.advertisedHTTPURL)",
                "peer_security": "\(configuration.peerSecurity.isMutualTLS ? "mutual TLS" : "plaintext")",
                "members": "\(configuration.members.map { "\($0.id.rawValue)=\($0.address)" }.joined(separator: ","))",
            ])
        return ChorusNode(
            configuration: configuration, eventLoop: eventLoop, core: core, listener: listener, storage: storage,
            leaderlessStorage: leaderlessStorage, logger: logger)
    }

    /// The replica as it was before the node stopped: the Raft state and the
    /// machines rebuilt from the newest checkpoint plus the log after it.
    static func recoverReplica(
        _ state: RaftPersistentState, machines: ReplicatedMachines, configuration: NodeConfiguration, seed: UInt64,
        logger: Logger
    ) throws(NodeStartupError) -> RaftReplica<ReplicatedMachines> {
        logger.info(
            "recovered storage",
            metadata: [
                "directory": "\(configuration.dataDirectory)", "term": "\(state.hardState.term.rawValue)",
                "snapshot": "\(state.snapshot.metadata.index.rawValue)",
                "last_index": "\(state.entries.last?.index.rawValue ?? state.snapshot.metadata.index.rawValue)",
                "commit": "\(state.hardState.commit.rawValue)",
                "votes_suspended_through": "\(state.hardState.votingSuspendedThrough.rawValue)",
            ])
        do {
            let raft = try RaftNode(configuration: configuration.raft, persistentState: state, randomSeed: seed)
            return try RaftReplica(configuration: configuration.replica, raft: raft, machine: machines, durable: state)
        } catch let error as RaftRecoveryError {
            throw .recovery(error.description)
        } catch {
            throw .configuration(.invalid("\(error)"))
        }
    }

    /// Says what recovery repaired: every truncation, removed file and
    /// snapshot set aside is a warning naming the file, never silent.
    static func logRepairs(_ recovered: DurableStorage.Recovered, directory: String, logger: Logger) {
        let log = recovered.logReport
        let lastSegment = log.segments.last?.fileName ?? "?"
        switch log.tail {
        case .clean:
            break
        case .zeroFilled(let offset, let count):
            logger.warning(
                "storage repair: truncated a zero-filled tail",
                metadata: ["file": "\(directory)/wal/\(lastSegment)", "offset": "\(offset)", "bytes": "\(count)"])
        case .tornRecord(let offset, let count, let reason), .uncertainRecord(let offset, let count, let reason):
            logger.warning(
                log.tail.mayHoldAcknowledgedData
                    ? "storage repair: truncated a complete final record that fails its checks (torn, or damaged after it was acknowledged)"
                    : "storage repair: truncated a torn final record, never acknowledged",
                metadata: [
                    "file": "\(directory)/wal/\(lastSegment)", "offset": "\(offset)", "bytes": "\(count)",
                    "reason": "\(reason)",
                ])
        }
        if let torn = log.tornSegmentFile {
            logger.warning("storage repair: removed a segment whose header was never completed", metadata: ["file": "\(directory)/wal/\(torn)"])
        }
        for corruption in recovered.snapshotReport.corruptFiles {
            logger.warning("storage repair: set aside an invalid snapshot (renamed .corrupt)", metadata: ["problem": "\(corruption)"])
        }
        for name in recovered.snapshotReport.temporaryFiles {
            logger.warning("storage repair: removed an unfinished snapshot file", metadata: ["file": "\(directory)/snapshots/\(name)"])
        }
    }

    /// What a node's records hold: log commands tagged by machine
    /// (`MachineTag`) and state-machine snapshots in the versioned container
    /// (`StateMachineSnapshot`). Format 1, written before the machine tags,
    /// is refused with a message naming it.
    public static let dataFormat = "chorus-node 2"

    /// How long a node's start retries a held storage lock before it reports
    /// the directory locked: long enough for a child process that another
    /// part of this process was spawning to exec and let go of it.
    static let lockWaitMilliseconds = 1_000

    /// Opens (creating if needed) and recovers the storage directory. Blocking.
    static func openStorage(configuration: NodeConfiguration, fileSystem: any StorageFileSystem) throws(NodeStartupError)
        -> (DurableStorage, DurableStorage.Recovered)
    {
        let metrics = NodeMetrics()
        do {
            return try DurableStorage.open(
                directory: configuration.dataDirectory, configuration: configuration.storage, fileSystem: fileSystem,
                owner: "node \(configuration.nodeID.rawValue)", format: Self.dataFormat,
                lockWaitMilliseconds: lockWaitMilliseconds, batchObserver: { batch in
                    metrics.fsyncs.increment()
                    metrics.fsyncDuration.recordNanoseconds(Int64(batch.fsyncNanoseconds))
                    metrics.recordsPerFsync.record(batch.recordCount)
                })
        } catch {
            throw .storage(error)
        }
    }

    /// After a recovery that cut a final log record which may have been
    /// acknowledged (`SegmentScanner`'s uncertain record), moves to a term past
    /// every term the record can belong to and suspends votes until caught up
    /// (`RaftPersistentState.suspendingVotes`), durably, before anything is
    /// sent. Otherwise returns `state` unchanged.
    static func suspendVotesIfAcknowledgedDataMayBeLost(
        _ state: RaftPersistentState, recovered: DurableStorage.Recovered, storage: DurableStorage,
        threadPool: NIOThreadPool, logger: Logger
    ) async throws(NodeStartupError) -> RaftPersistentState {
        guard recovered.logReport.tail.mayHoldAcknowledgedData else { return state }
        let suspended = state.suspendingVotes(termHighWater: recovered.recordedTerm)
        do {
            try await threadPool.runIfActive { try storage.raiseRecordedTerm(to: suspended.hardState.term) }
            _ = try await storage.log.append(PersistenceRecord.hardState(suspended.hardState).encoded())
        } catch {
            throw .recovery("cannot record the suspension of votes: \(error)")
        }
        logger.warning(
            "storage recovery cut a complete final record that may have been acknowledged: votes suspended until this node holds a committed entry of a later term",
            metadata: [
                "recorded_term": "\(recovered.recordedTerm.rawValue)",
                "votes_suspended_through": "\(suspended.hardState.votingSuspendedThrough.rawValue)",
                "term": "\(suspended.hardState.term.rawValue)",
            ])
        return suspended
    }

    /// Rebuilds the Raft state and the store from the newest checkpoint plus
    /// the log records after it.
    static func rebuild(from recovered: DurableStorage.Recovered, configuration: NodeConfiguration)
        throws(NodeStartupError) -> (RecoveredRaftState, ReplicatedMachines)
    {
        let codingLimits = RaftCoding.Limits(
            maximumCommandBytes: configuration.wire.maximumCommandBytes, maximumMembers: configuration.wire.maximumMembers,
            maximumSnapshotBytes: configuration.storage.maximumSnapshotBytes, maximumEntriesPerRecord: 1 << 20)
        var checkpoint: Checkpoint?
        if let snapshot = recovered.snapshot {
            do {
                checkpoint = try Checkpoint(decoding: snapshot.payload, limits: codingLimits)
            } catch {
                throw .recovery("the snapshot covering records below \(snapshot.coveredBelow) does not decode: \(error)")
            }
        }
        var state = RecoveredRaftState(
            checkpoint: checkpoint, initial: RaftPersistentState.bootstrap(voters: configuration.voters))
        for record in recovered.records {
            do {
                try state.apply(PersistenceRecord(decoding: record.payload, limits: codingLimits))
            } catch {
                throw .recovery("log record \(record.sequence) does not decode or does not follow: \(error)")
            }
        }
        var machines = ReplicatedMachines(keyValueLimits: configuration.keyValue)
        do {
            try machines.restore(
                from: state.snapshot.metadata.index == .zero ? [] : state.snapshot.data, at: state.snapshot.metadata.index)
        } catch {
            throw .recovery("the state-machine snapshot at \(state.snapshot.metadata.index) does not restore: \(error)")
        }
        return (state, machines)
    }

    // MARK: Requests

    /// Proposes a command and returns once it is applied. A write with an
    /// idempotency key that is already in flight on this node joins it.
    public func write(_ command: ReplicatedMachines.Command, idempotencyKey: IdempotencyKey? = nil) async throws(NodeError)
        -> WriteResult<ReplicatedMachines.Output>
    {
        let core = self.core
        let result = await withCheckedContinuation { (continuation: NodeCore.WriteContinuation) in
            eventLoop.execute { core.value.submitWrite(command, key: idempotencyKey, continuation: continuation) }
        }
        return try result.get()
    }

    /// Reads once the node may answer as `requirement` asks.
    public func read(_ query: ReplicatedMachines.Query, requirement: ReadRequirement) async throws(NodeError)
        -> ReadResult<ReplicatedMachines.Answer>
    {
        let core = self.core
        let result = await withCheckedContinuation { (continuation: NodeCore.ReadContinuation) in
            eventLoop.execute { core.value.submitRead(query, requirement: requirement, continuation: continuation) }
        }
        return try result.get()
    }

    public func status() async throws(NodeError) -> NodeStatus {
        let core = self.core
        do {
            return try await eventLoop.submit { core.value.status() }.get()
        } catch {
            throw .stopped("the node's event loop is gone: \(error)")
        }
    }

    // MARK: Lifecycle

    public func run() async throws {
        try? await gracefulShutdown()
        await handOffLeadership()
        await shutdown()
    }

    /// If this node leads, transfers leadership and waits until it no longer
    /// leads. Each attempt gets one election timeout (the core abandons a
    /// transfer after that); if the target does not take over (its
    /// `timeoutNow` may have been lost with a connection that just reset), the
    /// next-best follower is tried, so the wait is bounded by one election
    /// timeout per follower.
    public func handOffLeadership() async {
        let core = self.core
        let limit = configuration.raft.electionTimeoutTicks * configuration.tickMilliseconds
        var tried: Set<NodeID> = []
        while true {
            let excluded = tried
            guard let target = try? await eventLoop.submit({ core.value.startLeadershipTransfer(excluding: excluded) }).get()
            else { return }
            tried.insert(target)
            let deadline = ContinuousClock.now + .milliseconds(limit)
            while ContinuousClock.now < deadline {
                if let status = try? await status(), status.role != .leader {
                    logger.info("leadership handed over", metadata: ["leader": "\(status.leader)", "target": "\(target)"])
                    return
                }
                try? await Task.sleep(for: .milliseconds(5))
            }
            logger.info("leadership transfer timed out; trying another follower", metadata: ["target": "\(target)"])
        }
    }

    /// Stops the node: idempotent.
    public func shutdown() async {
        let core = self.core
        // A checkpoint being saved on the thread pool finishes before the storage closes under it.
        let checkpoints = try? await eventLoop.submit { () -> EventLoopFuture<Void> in
            core.value.stop(reason: "the node is shutting down")
            return core.value.checkpointChain
        }.get()
        try? await checkpoints?.get()
        // A leaderless snapshot being saved finishes before its storage closes.
        for _ in 0..<2_000 {
            guard (try? await eventLoop.submit({ core.value.leaderless?.snapshotSaving ?? false }).get()) == true else { break }
            try? await Task.sleep(for: .milliseconds(5))
        }
        try? await listener.close()
        await leaderlessStorage.close()
        await storage.close()
        logger.info("node stopped")
    }
}
