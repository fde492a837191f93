import ChorusCRDT
import ChorusCore
import ChorusKeyValue
import ChorusLocalCluster
import ChorusMachines
import ChorusRaft
import ChorusReplica
import ChorusReplication
import Foundation
import Logging
import NIOPosix
import Testing

@testable import ChorusNode

/// Three nodes in this process serving a leaderless keyspace over their
/// real peer channel and write-ahead logs: quorum writes and reads from any
/// node, recovery from the log after a restart, and a replica that missed
/// writes while down converging when it returns.
@Suite(.serialized) struct LeaderlessNodeTests {
    final class Cluster {
        let directory = NSTemporaryDirectory() + "chorus-leaderless-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let members: [PeerAddress]
        var nodes: [ChorusNode?]
        let logger: Logger

        init() throws {
            let ports = try #require(LocalCluster.freePorts(3))
            members = ports.enumerated().map { PeerAddress(id: NodeID(UInt64($0.offset + 1)), address: NetworkAddress(host: "127.0.0.1", port: $0.element)) }
            nodes = [nil, nil, nil]
            var logger = Logger(label: "leaderless-test")
            logger.logLevel = .critical
            self.logger = logger
        }

        func configuration(_ number: Int) -> NodeConfiguration {
            var configuration = NodeConfiguration(
                nodeID: NodeID(UInt64(number)), members: members, peerListenAddress: members[number - 1].address,
                advertisedHTTPURL: "http://127.0.0.1:1", dataDirectory: directory + "/n\(number)", clusterID: 7)
            configuration.raft.electionTimeoutTicks = 20
            configuration.raft.heartbeatIntervalTicks = 2
            configuration.leaderless.antiEntropyIntervalTicks = 20
            return configuration
        }

        func start(_ number: Int) async throws {
            nodes[number - 1] = try await ChorusNode.start(
                configuration: configuration(number), eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
        }

        func stop(_ number: Int) async {
            await nodes[number - 1]?.shutdown()
            nodes[number - 1] = nil
        }

        func node(_ number: Int) throws -> ChorusNode { try #require(nodes[number - 1]) }

        func shutdown() async {
            for number in 1...3 { await stop(number) }
            try? FileManager.default.removeItem(atPath: directory)
        }

        /// Creates the keyspace through the Raft catalog, on whichever node leads.
        func createKeyspace(_ name: String, _ definition: KeyspaceDefinition) async throws {
            let command = ReplicatedMachines.Command.keyValue(
                KeyValueCommand(clientID: 0, sequence: 0, keyspace: name, operation: .createKeyspace(definition)))
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                for node in nodes.compactMap({ $0 }) {
                    if let written = try? await node.write(command), case .keyValue(let applied) = written.output,
                        case .keyspaceCreated = applied.result
                    {
                        return
                    }
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("no node created the keyspace")
        }

        /// Retries a request until the cluster (peers connecting, SWIM settling, the catalog applying) serves it.
        func eventually(_ operation: ClientOperation, on number: Int, options: RequestOptions = RequestOptions()) async throws -> ClientReply {
            let deadline = ContinuousClock.now + .seconds(20)
            var last: (any Error)?
            while ContinuousClock.now < deadline {
                do { return try await node(number).leaderless(operation, options: options) } catch { last = error }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw try #require(last)
        }
    }

    static let keyspace = "carts"
    static func key(_ name: String, _ kind: ValueKind) -> ObjectKey {
        ObjectKey(keyspace: KeyspaceID(naming: keyspace), kind: kind, key: Array(name.utf8))
    }

    static func counterValue(_ reply: ClientReply) -> Int64? {
        guard case .read(let read) = reply, case .counter(let counter)? = read.value else { return nil }
        return counter.value
    }

    @Test func writesOnEveryNodeAreReadFromEveryNodeAndSurviveARestart() async throws {
        let cluster = try Cluster()
        for number in 1...3 { try await cluster.start(number) }
        do {
            try await cluster.createKeyspace(Self.keyspace, KeyspaceDefinition(mode: .leaderless, defaultLevel: "eventual"))
            for number in 1...3 {
                #expect(try await cluster.node(number).serveLeaderless(Self.keyspace, LeaderlessKeyspaces.configuration(
                    name: Self.keyspace, definition: KeyspaceDefinition(mode: .leaderless, defaultLevel: "eventual"))!))
            }
            // Increments coordinated by each node merge: 1 + 2 + 3, read with R=2 anywhere.
            // An attempt that failed may still have been applied (a timeout on
            // a loaded machine), and a retried increment counts again: the
            // value lies between the acknowledged and the attempted sums, and
            // every node reads the same one.
            var attempted: Int64 = 0
            for number in 1...3 {
                let deadline = ContinuousClock.now + .seconds(20)
                while true {
                    attempted += Int64(number)
                    do {
                        _ = try await cluster.node(number).leaderless(
                            .update(Self.key("visits", .counter), .counterIncrement(Int64(number))), options: RequestOptions())
                        break
                    } catch {
                        guard ContinuousClock.now < deadline else { throw error }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
            }
            let visits = Self.counterValue(try await cluster.eventually(.get(Self.key("visits", .counter)), on: 1)) ?? -1
            #expect((6...attempted).contains(visits), "visits \(visits), 6 acknowledged, \(attempted) attempted")
            for number in 2...3 {
                #expect(Self.counterValue(try await cluster.eventually(.get(Self.key("visits", .counter)), on: number)) == visits)
            }
            // An add-wins set written through two coordinators.
            _ = try await cluster.eventually(.update(Self.key("cart", .set), .setInsert([Array("apple".utf8)])), on: 1)
            _ = try await cluster.eventually(.update(Self.key("cart", .set), .setInsert([Array("pear".utf8)])), on: 2)
            guard case .read(let read) = try await cluster.eventually(.get(Self.key("cart", .set)), on: 3),
                case .set(let set)? = read.value
            else {
                Issue.record("the cart is not a set")
                return
            }
            #expect(set.elements.sorted { $0.lexicographicallyPrecedes($1) } == [Array("apple".utf8), Array("pear".utf8)])

            // A restarted node recovers what it held from its own log.
            let held = try await cluster.node(2).leaderlessKeyCount(KeyspaceID(naming: Self.keyspace))
            #expect(held == 2)
            await cluster.stop(2)
            try await cluster.start(2)
            #expect(try await cluster.node(2).leaderlessKeyCount(KeyspaceID(naming: Self.keyspace)) == held)
            #expect(Self.counterValue(try await cluster.eventually(.get(Self.key("visits", .counter)), on: 2)) == visits)
        } catch {
            await cluster.shutdown()
            throw error
        }
        await cluster.shutdown()
    }

    @Test func aReplicaThatWasDownConvergesWhenItReturns() async throws {
        let cluster = try Cluster()
        for number in 1...3 { try await cluster.start(number) }
        do {
            let definition = KeyspaceDefinition(mode: .leaderless, defaultLevel: "eventual")
            try await cluster.createKeyspace(Self.keyspace, definition)
            _ = try await cluster.eventually(.update(Self.key("warm-up", .counter), .counterIncrement(1)), on: 1)
            await cluster.stop(3)
            // W=2 with node 3 down: node 1 and 2 take every write (fallbacks hold hints for node 3).
            for index in 0..<40 {
                _ = try await cluster.eventually(.update(Self.key("item-\(index)", .counter), .counterIncrement(1)), on: 1 + index % 2)
            }
            try await cluster.start(3)
            let id = KeyspaceID(naming: Self.keyspace)
            let deadline = ContinuousClock.now + .seconds(30)
            var held = 0
            while ContinuousClock.now < deadline {
                held = try await cluster.node(3).leaderlessKeyCount(id)
                if held == 41 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(held == 41, "node 3 holds \(held) of 41 keys 30 s after returning (hinted handoff and anti-entropy)")
        } catch {
            await cluster.shutdown()
            throw error
        }
        await cluster.shutdown()
    }
}
