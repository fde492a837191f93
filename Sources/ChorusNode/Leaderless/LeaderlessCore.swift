import ChorusCore
import CoreMetrics
import ChorusKeyValue
import ChorusReplication
import ChorusStorage
import ChorusWire
import Logging
import NIOCore
import NIOPosix

/// The runtime of this node's leaderless keyspaces: an interpreter of one
/// `ReplicationDriver`'s outputs on a write-ahead log of its own, the node's
/// peer channel and a repeating timer. It lives on the node's event loop,
/// beside `NodeCore` (the Raft group), and shares its peer connections:
/// leaderless messages travel as `PeerProtocol.replication` (and `.gossip`
/// for SWIM) frames on the same links.
///
/// - **Storage**: `DATA/leaderless`, a `DurableStorage` of its own (owner
///   `node N`, format `chorus-leaderless 1`). Records are the core's
///   `DurableRecord`s; each output's records are one append, whose
///   completion (after its fdatasync) reports the batch durable to the
///   driver, which then releases the messages and responses that waited.
///   The log syncs every record, so a record that needs no sync is durable
///   soon too; the driver never waits for it.
/// - **Compaction**: after `compactionThresholdRecords` records, the core's
///   `durableSnapshot()` is taken on the loop together with the log's next
///   sequence number S (everything the snapshot reflects is below S), and
///   saved on the thread pool once the log is durable up to S.
/// - **Keyspaces** come from the Raft catalog, which this node applies:
///   every leaderless keyspace of the catalog is defined in the core at
///   start (recovery needs them: a causal keyspace's records recover by
///   their conditions) and whenever the catalog changes.
/// - **Time**: the core counts ticks of `tickMilliseconds`; a starved loop
///   ticks late, which only delays timeouts and exchanges.
final class LeaderlessCore {
    let loop: any EventLoop
    let logger: Logger
    let storage: DurableStorage
    let threadPool: NIOThreadPool
    let transport: PeerTransport
    let settings: LeaderlessSettings
    let metrics = LeaderlessMetrics()
    let onFatalError: @Sendable (String) -> Void
    var driver: ReplicationDriver
    var waiting: [ClientRequestID: Continuation] = [:]
    var nextRequest: UInt64 = 0
    var tickTask: RepeatedTask?
    var stopReason: String?
    /// The catalog's keyspaces as last defined (by name).
    var definedKeyspaces: [String: KeyspaceConfiguration] = [:]
    var recordsSinceSnapshot = 0
    /// A snapshot waiting for the log to be durable up to its coverage, or being saved.
    var snapshot: (payload: [UInt8], coveredBelow: SequenceNumber)?
    var snapshotSaving = false
    var ticks: UInt64 = 0
    var exportedMetrics = ReplicationMetrics()

    typealias Continuation = CheckedContinuation<Result<ClientReply, LeaderlessError>, Never>

    static let dataFormat = "chorus-leaderless 1"
    static let directoryName = "leaderless"

    init(
        loop: any EventLoop, logger: Logger, storage: DurableStorage, threadPool: NIOThreadPool, transport: PeerTransport,
        settings: LeaderlessSettings, driver: ReplicationDriver, keyspaces: [String: KeyspaceConfiguration],
        onFatalError: @escaping @Sendable (String) -> Void
    ) {
        self.loop = loop
        self.logger = logger
        self.storage = storage
        self.threadPool = threadPool
        self.transport = transport
        self.settings = settings
        self.driver = driver
        self.definedKeyspaces = keyspaces
        self.onFatalError = onFatalError
    }

    // MARK: Start-up

    /// Opens `DATA/leaderless` (blocking: call it off the loop).
    static func openStorage(configuration: NodeConfiguration, fileSystem: any StorageFileSystem) throws(NodeStartupError)
        -> (storage: DurableStorage, recovered: DurableStorage.Recovered)
    {
        do {
            return try DurableStorage.open(
                directory: configuration.dataDirectory + "/" + directoryName, configuration: configuration.storage,
                fileSystem: fileSystem, owner: "node \(configuration.nodeID.rawValue)", format: dataFormat,
                lockWaitMilliseconds: ChorusNode.lockWaitMilliseconds)
        } catch {
            throw .storage(error)
        }
    }

    /// The driver as the node left it: the core recovered from the snapshot
    /// and the log after it, with the catalog's leaderless keyspaces.
    static func recover(
        _ recovered: DurableStorage.Recovered, configuration: NodeConfiguration, settings: LeaderlessSettings,
        keyspaces: [KeyspaceConfiguration], seed: UInt64
    ) throws(NodeStartupError) -> ReplicationDriver {
        var records: [[UInt8]] = []
        if let snapshot = recovered.snapshot {
            do { records = try LeaderlessSnapshot.records(decoding: snapshot.payload) } catch {
                throw .recovery("leaderless keyspaces: the snapshot does not decode: \(error)")
            }
        }
        records += recovered.records.map(\.payload)
        let members = configuration.members.map(\.id)
        var replication = ReplicationConfiguration(myself: configuration.nodeID, members: members, keyspaces: keyspaces)
        settings.apply(to: &replication)
        let node: ReplicationNode
        do { node = try ReplicationNode(configuration: replication, recovering: records, now: 0) } catch {
            throw .recovery("leaderless keyspaces: \(error)")
        }
        let membership = SwimMembership(myself: configuration.nodeID, members: members, configuration: settings.swim, seed: seed)
        return ReplicationDriver(replication: node, membership: membership)
    }

    /// Starts the clock once the node serves a leaderless keyspace: a node
    /// whose catalog has none writes nothing to its leaderless log and
    /// spends no ticks (it still answers peers' probes).
    func start() {
        loop.preconditionInEventLoop()
        guard tickTask == nil, stopReason == nil, !definedKeyspaces.isEmpty else { return }
        let bound = NIOLoopBound(self, eventLoop: loop)
        let interval = TimeAmount.milliseconds(Int64(settings.tickMilliseconds))
        tickTask = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in bound.value.tick() }
    }

    func stop(reason: String) {
        loop.preconditionInEventLoop()
        guard stopReason == nil else { return }
        stopReason = reason
        tickTask?.cancel()
        tickTask = nil
        let pending = waiting
        waiting = [:]
        for continuation in pending.values { continuation.resume(returning: .failure(.stopped(reason))) }
    }

    // MARK: Inputs

    func submit(_ operation: ClientOperation, options: RequestOptions, continuation: Continuation) {
        loop.preconditionInEventLoop()
        if let stopReason {
            continuation.resume(returning: .failure(.stopped(stopReason)))
            return
        }
        nextRequest += 1
        let id = ClientRequestID(nextRequest)
        waiting[id] = continuation
        interpret(driver.submit(ClientRequest(id: id, operation: operation, options: options)))
    }

    /// A leaderless frame from `peer`; false if it does not decode (the connection is refused).
    func receive(_ body: [UInt8], protocol protocolTag: PeerProtocol, from peer: NodeID) -> Bool {
        guard stopReason == nil else { return true }
        let message: LeaderlessPeerMessage
        do { message = try ReplicationWire.decode(body) } catch { return false }
        switch (message, protocolTag) {
        case (.membership, .gossip), (.replication, .replication): break
        default: return false
        }
        metrics.messagesReceived.increment()
        interpret(driver.receive(message, from: peer))
        return true
    }

    func tick() {
        guard stopReason == nil else { return }
        ticks += 1
        interpret(driver.tick())
        if ticks % settings.gaugeIntervalTicks == 0 {
            let core = driver.replication.metrics
            metrics.export(
                core, since: exportedMetrics, keys: driver.replication.store.entries.count,
                membersAlive: driver.membership.aliveMembers.count, tickSeconds: Double(settings.tickMilliseconds) / 1_000)
            exportedMetrics = core
        }
    }

    /// The catalog as the node has applied it: defines every leaderless keyspace not defined yet.
    func catalogChanged(_ keyspaces: [String: KeyspaceConfiguration]) {
        for (name, keyspace) in keyspaces.sorted(by: { $0.key < $1.key }) where definedKeyspaces[name] != keyspace {
            do {
                try driver.define(keyspace)
                definedKeyspaces[name] = keyspace
                start()
            } catch {
                logger.error("cannot serve leaderless keyspace", metadata: ["keyspace": "\(name)", "error": "\(error)"])
            }
        }
    }

    // MARK: Outputs

    func interpret(_ output: ReplicationDriver.Output) {
        if !output.records.isEmpty, let batch = output.persistBatch { persist(output.records, batch: batch) }
        for (to, message) in output.messages {
            let tag: PeerProtocol = if case .membership = message { .gossip } else { .replication }
            transport.send(ReplicationWire.encode(message), protocol: tag, to: to)
            metrics.messagesSent.increment()
        }
        for response in output.responses {
            guard let continuation = waiting.removeValue(forKey: response.id) else { continue }
            continuation.resume(returning: response.result.mapError(LeaderlessError.failed))
        }
    }

    /// Appends one batch (in as many log appends as the log's limits ask);
    /// the last append's completion reports the batch durable.
    func persist(_ records: [[UInt8]], batch: UInt64) {
        let bound = NIOLoopBound(self, eventLoop: loop)
        let chunks = LeaderlessSnapshot.chunks(records, limits: storage.log.configuration)
        for (index, chunk) in chunks.enumerated() {
            let last = index == chunks.count - 1
            do {
                try storage.log.append(contentsOf: chunk) { [loop] result in
                    loop.execute {
                        switch result {
                        case .success: if last { bound.value.persisted(batch) }
                        case .failure(let error): bound.value.fail("the leaderless log failed: \(error)")
                        }
                    }
                }
            } catch {
                fail("the leaderless log refused an append: \(error)")
                return
            }
        }
        recordsSinceSnapshot += records.count
        if recordsSinceSnapshot >= settings.compactionThresholdRecords, snapshot == nil {
            recordsSinceSnapshot = 0
            snapshot = (LeaderlessSnapshot.encode(driver.replication.durableSnapshot()), storage.log.nextSequence)
        }
    }

    func persisted(_ batch: UInt64) {
        guard stopReason == nil else { return }
        interpret(driver.persisted(through: batch))
        saveSnapshotIfDurable()
    }

    func saveSnapshotIfDurable() {
        guard let snapshot, !snapshotSaving, storage.log.durableNextSequence >= snapshot.coveredBelow else { return }
        snapshotSaving = true
        let storage = storage
        let bound = NIOLoopBound(self, eventLoop: loop)
        threadPool.submit { [loop] state in
            var failure: String?
            if case .active = state {
                do { try storage.saveSnapshot(snapshot.payload, coveringBelow: snapshot.coveredBelow) } catch { failure = "\(error)" }
            }
            loop.execute {
                bound.value.snapshotSaving = false
                bound.value.snapshot = nil
                if let failure { bound.value.fail("the leaderless snapshot failed: \(failure)") } else { bound.value.metrics.snapshots.increment() }
            }
        }
    }

    func fail(_ reason: String) {
        guard stopReason == nil else { return }
        logger.critical("stopping: \(reason)")
        onFatalError(reason)
        stop(reason: reason)
    }
}

/// Why a leaderless request did not complete.
public enum LeaderlessError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The core refused or could not meet the request (see `RequestFailure`).
    case failed(RequestFailure)
    /// The node is stopping, or its leaderless log failed.
    case stopped(String)

    public var description: String {
        switch self {
        case .failed(let failure): "\(failure)"
        case .stopped(let reason): "stopped: \(reason)"
        }
    }
}
