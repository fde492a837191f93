import ChorusCore
import ChorusMachines
import ChorusReplica
import ChorusReplication
import ChorusStorage
import Logging
import NIOCore
import NIOPosix

extension ChorusNode {
    /// Opens and recovers the leaderless log, and puts its runtime beside the core on the loop.
    static func startLeaderless(
        configuration: NodeConfiguration, eventLoop: any EventLoop, threadPool: NIOThreadPool,
        fileSystem: any StorageFileSystem, core: NIOLoopBound<NodeCore>, seed: UInt64, logger: Logger,
        onFatalError: @escaping @Sendable (String) -> Void
    ) async throws(NodeStartupError) -> DurableStorage {
        let opened: (storage: DurableStorage, recovered: DurableStorage.Recovered)
        do {
            opened = try await threadPool.runIfActive { () throws -> (DurableStorage, DurableStorage.Recovered) in
                try LeaderlessCore.openStorage(configuration: configuration, fileSystem: fileSystem)
            }
        } catch let error as NodeStartupError {
            throw error
        } catch {
            throw .recovery("leaderless keyspaces: \(error)")
        }
        let recovered = opened.recovered
        let settings = configuration.leaderless
        do {
            try await eventLoop.submit { () throws -> Void in
                let keyspaces = LeaderlessKeyspaces.configurations(in: core.value.replica.machine.keyValue)
                let driver = try LeaderlessCore.recover(
                    recovered, configuration: configuration, settings: settings,
                    keyspaces: keyspaces.keys.sorted().map { keyspaces[$0]! }, seed: seed)
                core.value.leaderless = LeaderlessCore(
                    loop: eventLoop, logger: logger, storage: opened.storage, threadPool: threadPool,
                    transport: core.value.transport, settings: settings, driver: driver, keyspaces: keyspaces,
                    onFatalError: onFatalError)
                core.value.catalogCheckedAt = core.value.replica.machine.appliedIndex
            }.get()
        } catch {
            await opened.storage.close()
            if let error = error as? NodeStartupError { throw error }
            throw .recovery("leaderless keyspaces: \(error)")
        }
        return opened.storage
    }

    /// Runs one request on this node's leaderless keyspaces: this node
    /// coordinates it (any node may). The keyspace must be one the node
    /// serves (`serveLeaderless`, or the catalog it applied).
    public func leaderless(_ operation: ClientOperation, options: RequestOptions = RequestOptions()) async throws(LeaderlessError)
        -> ClientReply
    {
        let core = self.core
        let result = await withCheckedContinuation { (continuation: LeaderlessCore.Continuation) in
            eventLoop.execute {
                guard let leaderless = core.value.leaderless else {
                    continuation.resume(returning: .failure(.stopped("this node serves no leaderless keyspaces")))
                    return
                }
                leaderless.submit(operation, options: options, continuation: continuation)
            }
        }
        return try result.get()
    }

    /// Makes sure this node serves `keyspace` (read from the catalog by the
    /// caller, possibly before this node applied it); false if the node
    /// serves another keyspace under the same identifier.
    public func serveLeaderless(_ name: String, _ keyspace: KeyspaceConfiguration) async -> Bool {
        let core = self.core
        return (try? await eventLoop.submit { () -> Bool in
            guard let leaderless = core.value.leaderless else { return false }
            leaderless.catalogChanged([name: keyspace])
            return leaderless.definedKeyspaces[name] == keyspace
        }.get()) ?? false
    }

    /// The keys of `keyspace` this node holds (as a replica), counted here.
    public func leaderlessKeyCount(_ keyspace: KeyspaceID) async -> Int {
        let core = self.core
        return (try? await eventLoop.submit { () -> Int in
            core.value.leaderless?.driver.replication.store.entries.keys.reduce(0) { $0 + ($1.keyspace == keyspace ? 1 : 0) } ?? 0
        }.get()) ?? 0
    }

    /// What the leaderless runtime knows of the cluster: SWIM's view of each member, hints pending, keys held.
    public func leaderlessStatus() async -> LeaderlessStatus? {
        let core = self.core
        return try? await eventLoop.submit { () -> LeaderlessStatus? in
            guard let leaderless = core.value.leaderless else { return nil }
            let driver = leaderless.driver
            let members = driver.replication.configuration.members.sorted().map { member in
                LeaderlessStatus.Member(
                    node: member, status: member == driver.replication.myself ? .alive : driver.membership.status(of: member))
            }
            return LeaderlessStatus(
                members: members, keys: driver.replication.store.entries.count,
                hintsPending: driver.replication.hints.count,
                keyspaces: leaderless.definedKeyspaces.keys.sorted(), metrics: driver.replication.metrics)
        }.get()
    }
}

/// `GET /v1/cluster`'s leaderless part for one node.
public struct LeaderlessStatus: Sendable, Hashable {
    public struct Member: Sendable, Hashable {
        public var node: NodeID
        public var status: MemberStatus
    }

    public var members: [Member]
    public var keys: Int
    public var hintsPending: Int
    public var keyspaces: [String]
    public var metrics: ReplicationMetrics
}
