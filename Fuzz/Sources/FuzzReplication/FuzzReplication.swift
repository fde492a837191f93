import ChorusCRDT
import ChorusClocks
import ChorusCore
import ChorusReplication
import FuzzSupport

/// Leaderless replication's decoders: every peer message (`ReplicationWire`,
/// SWIM and replication), the durable log's records (`DurableRecord`, folded
/// by `ReplicationNode(recovering:)`), and the session token's leaderless
/// half (`LeaderlessSessionState`).
///
/// Properties: each round-trips; a decoded replication message received by a
/// node (prepared by a short real exchange) and the ticks after it never
/// trap; a node recovered from decoded records writes a durable snapshot that
/// recovers to the same snapshot (its documented promise), apart from the
/// boot counter, which every start advances.
///
/// Input: a mode byte. 0: a peer message, then a byte choosing the sender
/// and a tick count. 1: chunks, each a durable record. 2: a session state.
enum ReplicationHarness {
    static let eventual = KeyspaceID(0)
    static let causal = KeyspaceID(1)

    static var configuration: ReplicationConfiguration {
        var causalKeyspace = KeyspaceConfiguration(id: causal, mode: .causal)
        causalKeyspace.replicationFactor = 3
        var configuration = ReplicationConfiguration(
            myself: NodeID(1), members: [NodeID(1), NodeID(2), NodeID(3)],
            keyspaces: [KeyspaceConfiguration(id: eventual), causalKeyspace])
        configuration.virtualNodesPerMember = 4
        configuration.merkleBranching = 4
        configuration.merkleDepth = 1
        return configuration
    }

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        switch input.byte() % 3 {
        case 0:
            let selector = input.byte()
            let ticks = Int(input.byte() % 8)
            message(input.rest(), sender: NodeID(2 + UInt64(selector % 2)), ticks: ticks, stateIndex: Int(selector >> 1))
        case 1: records(input.chunks(limit: 32))
        default:
            var reader = ByteReader(input.rest())
            guard let state = try? LeaderlessSessionState(decoding: &reader), reader.isAtEnd else { return }
            Check.roundTrip(
                state, "LeaderlessSessionState", encode: { $0.encodedBytes },
                decode: { (bytes: [UInt8]) throws(BinaryDecodingError) in try LeaderlessSessionState(decodingAll: bytes) })
            precondition(state.merging(state) == state, "session merge is not idempotent")
            _ = state.pruned(stableFrontier: state.dependencies)
            _ = state.restricted(to: [NodeID(1), NodeID(2)])
        }
    }

    static func message(_ bytes: [UInt8], sender: NodeID, ticks: Int, stateIndex: Int) {
        guard let decoded = try? ReplicationWire.decode(bytes) else { return }
        Check.roundTrip(
            decoded, "LeaderlessPeerMessage", encode: { ReplicationWire.encode($0) },
            decode: { (bytes: [UInt8]) throws(BinaryDecodingError) in try ReplicationWire.decode(bytes) })
        guard case .replication(let replication) = decoded else { return }
        let nodes = Prepared.nodes
        var node = nodes[stateIndex % nodes.count]
        _ = node.receive(replication, from: sender)
        for _ in 0..<ticks { _ = node.tick() }
    }

    static func records(_ chunks: [[UInt8]]) {
        for bytes in chunks {
            guard let record = try? DurableRecord(decodingAll: bytes) else { return }
            Check.roundTrip(
                record, "DurableRecord", encode: { $0.encodedBytes },
                decode: { (bytes: [UInt8]) throws(BinaryDecodingError) in try DurableRecord(decodingAll: bytes) })
        }
        let node: ReplicationNode
        do { node = try ReplicationNode(configuration: configuration, recovering: chunks) } catch { return }
        let snapshot = node.durableSnapshot()
        let again: ReplicationNode
        do { again = try ReplicationNode(configuration: configuration, recovering: snapshot) } catch {
            preconditionFailure("a node's durable snapshot does not recover: \(error)")
        }
        precondition(
            Array(again.durableSnapshot().dropFirst()) == Array(snapshot.dropFirst()),
            "a node recovered from its durable snapshot writes another one")
    }

    /// A real exchange among three nodes, recorded: every message and every
    /// durable record, the seeds' source and the prepared receivers.
    enum Prepared {
        static let exchange: (nodes: [ReplicationNode], messages: [ReplicationMessage], records: [[[UInt8]]]) = run()
        static var nodes: [ReplicationNode] { [exchange.nodes[0], try! ReplicationNode(configuration: configuration)] }

        static func run() -> ([ReplicationNode], [ReplicationMessage], [[[UInt8]]]) {
            var nodes: [ReplicationNode] = (1...3).map { id in
                var configuration = ReplicationHarness.configuration
                configuration.myself = NodeID(UInt64(id))
                return try! ReplicationNode(configuration: configuration)
            }
            var messages: [ReplicationMessage] = []
            var records: [[[UInt8]]] = [[], [], []]
            var queue: [(from: NodeID, to: NodeID, message: ReplicationMessage)] = []
            func absorb(_ effects: ReplicationEffects, from node: NodeID) {
                records[Int(node.rawValue) - 1] += effects.persist.map(\.bytes)
                for (to, message) in effects.messages {
                    messages.append(message)
                    queue.append((node, to, message))
                }
            }
            let stamp = HybridTimestamp(physical: 1_000, logical: 0)
            let requests: [ClientOperation] = [
                .put(ObjectKey(keyspace: eventual, kind: .versioned, "x"), value: [1, 2], context: .observedAtCoordinatingReplica, timestamp: stamp),
                .update(ObjectKey(keyspace: eventual, kind: .counter, "c"), .counterIncrement(5)),
                .update(ObjectKey(keyspace: eventual, kind: .set, "s"), .setInsert([[7], [8]])),
                .put(ObjectKey(keyspace: causal, kind: .versioned, "y"), value: [3], context: .observedAtCoordinatingReplica, timestamp: stamp),
                .get(ObjectKey(keyspace: eventual, kind: .versioned, "x")),
                .delete(ObjectKey(keyspace: eventual, kind: .versioned, "x"), context: .observedAtCoordinatingReplica, timestamp: stamp),
            ]
            for (position, operation) in requests.enumerated() {
                absorb(nodes[0].submit(ClientRequest(id: ClientRequestID(UInt64(position) + 1), operation: operation)), from: NodeID(1))
                var delivered = 0
                while !queue.isEmpty && delivered < 256 {
                    let next = queue.removeFirst()
                    delivered += 1
                    absorb(nodes[Int(next.to.rawValue) - 1].receive(next.message, from: next.from), from: next.to)
                }
            }
            for _ in 0..<60 {
                for index in nodes.indices { absorb(nodes[index].tick(), from: NodeID(UInt64(index) + 1)) }
                var delivered = 0
                while !queue.isEmpty && delivered < 256 {
                    let next = queue.removeFirst()
                    delivered += 1
                    absorb(nodes[Int(next.to.rawValue) - 1].receive(next.message, from: next.from), from: next.to)
                }
            }
            return (nodes, messages, records)
        }
    }

    static func seeds() -> [Seed] {
        var seeds: [Seed] = []
        var seen = Set<[UInt8]>()
        for message in Prepared.exchange.messages {
            let bytes = ReplicationWire.encode(.replication(message))
            guard seen.insert(bytes).inserted, seeds.count < 24 else { continue }
            seeds.append(Seed("message-\(seeds.count)", [0, UInt8(seeds.count % 4), 2] + bytes))
        }
        let gossip = [MembershipUpdate(member: NodeID(3), status: .suspect, incarnation: 2)]
        seeds.append(Seed("swim-ping", [0, 0, 0] + ReplicationWire.encode(.membership(.ping(sequence: 4, gossip: gossip)))))
        seeds.append(Seed("swim-ping-request", [0, 0, 0] + ReplicationWire.encode(
            .membership(.pingRequest(sequence: 5, target: NodeID(3), gossip: [])))))
        for node in 0..<3 {
            seeds.append(Seed("durable-log-\(node + 1)", [1] + FuzzInput.chunked(Array(Prepared.exchange.records[node].prefix(32)))))
            seeds.append(Seed("durable-snapshot-\(node + 1)", [1] + FuzzInput.chunked(Prepared.exchange.nodes[node].durableSnapshot())))
        }
        let session = LeaderlessSessionState(dependencies: VersionVector([(ReplicaID(1), UInt64(4)), (ReplicaID(3), UInt64(9))]))
        seeds.append(Seed("session", [2] + session.encodedBytes))
        return seeds
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReplication(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    ReplicationHarness.run(FuzzMain.bytes(start, count))
    return 0
}

@main
struct FuzzReplicationMain {
    static func main() { FuzzMain.run(seeds: ReplicationHarness.seeds, testOneInput: fuzzReplication) }
}
