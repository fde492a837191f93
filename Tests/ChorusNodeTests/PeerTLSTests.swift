import ChorusCertificates
import ChorusCore
import ChorusKeyValue
import ChorusLocalCluster
import ChorusMachines
import ChorusRaft
import ChorusReplica
import ChorusWire
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization
import Testing

@testable import ChorusNode

/// Mutual TLS on the peer links, in process: two nodes with certificates of
/// one CA form a cluster; a dialler presenting anything else is refused
/// before a Raft frame is read, and a node refuses an acceptor whose
/// certificate names another node than the one it dialled.
@Suite struct PeerTLSTests {
    /// A Raft message that, if delivered, visibly moves node 1 to a far term.
    static let farTerm = Term(1_000_000)

    /// The loops of these tests' nodes, diallers and acceptors: their own, so
    /// that the rest of the package's tests, sharing the singleton group,
    /// do not queue a TLS handshake behind their work.
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)

    static func configuration(node: NodeID, ports: [Int], directory: String, credentials: PeerCredentials)
        -> NodeConfiguration
    {
        let members = ports.enumerated().map {
            PeerAddress(id: NodeID(UInt64($0.offset + 1)), address: NetworkAddress(host: "127.0.0.1", port: $0.element))
        }
        var configuration = NodeConfiguration(
            nodeID: node, members: members, peerListenAddress: members[Int(node.rawValue) - 1].address,
            advertisedHTTPURL: "http://127.0.0.1:1", dataDirectory: directory + "/n\(node.rawValue)")
        configuration.raft.electionTimeoutTicks = 10
        configuration.raft.heartbeatIntervalTicks = 2
        configuration.writeTimeoutMilliseconds = 10_000
        configuration.peerSecurity = .mutualTLS(credentials)
        // The test dialler sends no keepalives: keep its link open while it waits.
        configuration.peerSilenceMilliseconds = 10_000
        return configuration
    }

    static func temporaryDirectory(_ name: String) -> String {
        NSTemporaryDirectory() + "chorus-tls-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    @Test func twoNodesWithCertificatesOfOneCAElectALeaderAndCommit() async throws {
        let directory = Self.temporaryDirectory("pair")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let authority = try ClusterCertificateAuthority.create()
        let ports = LocalCluster.freePorts(2)
        try #require(ports.count == 2)
        let log = RecordedLog()
        var nodes: [ChorusNode] = []
        for node: NodeID in [1, 2] {
            let credentials = try authority.credentials(for: authority.issue(node: node))
            nodes.append(
                try await ChorusNode.start(
                    configuration: Self.configuration(node: node, ports: ports, directory: directory, credentials: credentials),
                    eventLoop: Self.group.next(), logger: log.logger))
        }
        // Two voters: a leader needs the other's vote and a write both logs, so both directions carry Raft over TLS.
        var leader: ChorusNode?
        // Generous deadlines: with the whole package's tests at once on two cores, a handshake can take seconds.
        let deadline = ContinuousClock.now + .seconds(60)
        while leader == nil && ContinuousClock.now < deadline {
            for node in nodes where try await node.status().role == .leader { leader = node }
            try await Task.sleep(for: .milliseconds(20))
        }
        let elected = try #require(leader, "no leader over mutual TLS")
        let put = ReplicatedMachines.Command.keyValue(
            KeyValueCommand(clientID: 0, sequence: 0, operation: .put(key: "k", value: [1])))
        let written = try await elected.write(put)
        #expect(written.index > .zero)
        // No certificate was refused. (A handshake cut short — a dial that timed out on a starved machine
        // and was retried — is logged as `handshake`; it says nothing about the certificates.)
        #expect(log.rejections.allSatisfy { $0 == "handshake" }, "\(log.rejections)")
        for node in nodes { await node.shutdown() }
    }

    @Test func aNodeRefusesToStartWithAnotherNodesCertificate() async throws {
        let directory = Self.temporaryDirectory("wrong-node")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let authority = try ClusterCertificateAuthority.create()
        let ports = LocalCluster.freePorts(2)
        try #require(ports.count == 2)
        let configuration = Self.configuration(
            node: 1, ports: ports, directory: directory, credentials: try authority.credentials(for: authority.issue(node: 2)))
        do {
            let node = try await ChorusNode.start(
                configuration: configuration, eventLoop: Self.group.next(), logger: RecordedLog().logger)
            await node.shutdown()
            Issue.record("node 1 started with node 2's certificate")
        } catch {
            #expect("\(error)" == "invalid configuration: the peer certificate is node 2's (chorus://node/2), this is node 1")
        }
    }

    /// One node of a three-member cluster (the other two never start); a test
    /// dialler plays node 2 with one certificate or another.
    @Test func aDiallerIsRefusedBeforeAnyFrameUnlessItsCertificateIsTheClaimedNodesOfThisCA() async throws {
        let directory = Self.temporaryDirectory("dialler")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let authority = try ClusterCertificateAuthority.create()
        let ports = LocalCluster.freePorts(3)
        try #require(ports.count == 3)
        let log = RecordedLog()
        let configuration = Self.configuration(
            node: 1, ports: ports, directory: directory, credentials: try authority.credentials(for: authority.issue(node: 1)))
        let node = try await ChorusNode.start(
            configuration: configuration, eventLoop: Self.group.next(), logger: log.logger)
        let now = Date()
        let foreign = try ClusterCertificateAuthority.create()
        let cases: [(String, IssuedCertificate?)] = [
            ("unknown_authority", try foreign.issue(node: 2)),
            ("identity_mismatch", try authority.issue(node: 3)),
            ("no_certificate", nil),
            ("expired", try authority.issue(node: 2, notValidBefore: now - 7_200, notValidAfter: now - 60)),
        ]
        for (reason, certificate) in cases {
            let closed = try await TestDialler.dial(port: ports[0], cluster: configuration.clusterID, as: 2, presenting: certificate)
            #expect(closed, "\(reason): the connection stays open")
            let logged = ContinuousClock.now + .seconds(60)
            while !log.rejections.contains(reason) && ContinuousClock.now < logged { try await Task.sleep(for: .milliseconds(10)) }
            #expect(try await node.status().term < Self.farTerm, "\(reason): a Raft frame was delivered")
            #expect(log.rejections.contains(reason), "\(reason) not logged; logged: \(log.rejections)")
        }
        // The control: node 2's own certificate gets the same frame delivered.
        let accepted = try await TestDialler.dial(
            port: ports[0], cluster: configuration.clusterID, as: 2, presenting: try authority.issue(node: 2), patience: .seconds(1))
        #expect(!accepted, "the control connection was closed")
        let deadline = ContinuousClock.now + .seconds(30)
        while try await node.status().term < Self.farTerm && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await node.status().term >= Self.farTerm, "the control's frame was not delivered")
        await node.shutdown()
    }

    /// Node 1 dials node 2's address, where a TLS server presents node 3's
    /// certificate (same CA): node 1 refuses it and writes nothing; the same
    /// server with node 2's certificate receives node 1's handshake.
    @Test func aDiallerRefusesAnAcceptorWhoseCertificateNamesAnotherNode() async throws {
        let directory = Self.temporaryDirectory("acceptor")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let authority = try ClusterCertificateAuthority.create()
        let ports = LocalCluster.freePorts(2)
        try #require(ports.count == 2)
        let log = RecordedLog()
        let impostor = try await TestAcceptor.start(port: ports[1], presenting: try authority.issue(node: 3))
        let node = try await ChorusNode.start(
            configuration: Self.configuration(
                node: 1, ports: ports, directory: directory, credentials: try authority.credentials(for: authority.issue(node: 1))),
            eventLoop: Self.group.next(), logger: log.logger)
        let deadline = ContinuousClock.now + .seconds(30)
        while !log.rejections.contains("identity_mismatch") && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(log.rejections.contains("identity_mismatch"), "logged: \(log.rejections)")
        #expect(impostor.handshakes.value > 0, "node 1 never tried the impostor")
        #expect(impostor.applicationBytes.value == 0, "node 1 wrote to an acceptor that is not node 2")
        try await impostor.channel.close()

        let genuine = try await TestAcceptor.start(port: ports[1], presenting: try authority.issue(node: 2))
        let reconnect = ContinuousClock.now + .seconds(30)
        while genuine.applicationBytes.value == 0 && ContinuousClock.now < reconnect {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(genuine.applicationBytes.value > 0, "node 1 sent nothing to the genuine node 2")
        await node.shutdown()
        try await genuine.channel.close()
    }
}

/// Captures log lines: the reasons of TLS rejections, in order.
final class RecordedLog: Sendable {
    let lines = Mutex<[(message: String, reason: String?)]>([])

    var logger: Logger {
        Logger(label: "test") { _ in RecordingLogHandler(log: self) }
    }

    var rejections: [String] {
        lines.withLock { $0.filter { $0.message == "refused a peer connection at TLS" }.compactMap(\.reason) }
    }

    struct RecordingLogHandler: LogHandler {
        let log: RecordedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(
            level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
            function: String, line: UInt
        ) {
            let reason = metadata?["reason"].map { "\($0)" }
            log.lines.withLock { $0.append((message.description, reason)) }
        }
    }
}

/// A TLS client that claims to be node `claimed`: on its TLS handshake it
/// sends a Chorus handshake and a `timeoutNow` at `PeerTLSTests.farTerm`.
enum TestDialler {
    /// True if the node closed the connection within `patience` (the
    /// control waits it out, so it is short when a connection should stay).
    static func dial(
        port: Int, cluster: UInt64, as claimed: NodeID, presenting issued: IssuedCertificate?, patience: Duration = .seconds(30)
    ) async throws -> Bool {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        configuration.minimumTLSVersion = .tlsv13
        if let issued {
            configuration.certificateChain = [
                .certificate(try NIOSSLCertificate(bytes: Array(issued.certificatePEM().utf8), format: .pem))
            ]
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(issued.privateKeyPEM().utf8), format: .pem))
        }
        let context = try NIOSSLContext(configuration: configuration)
        var frames: [UInt8] = []
        Frame.append(
            payload: try Handshake(clusterID: cluster, from: claimed, to: 1, httpURL: "http://127.0.0.1:1").encoded(),
            to: &frames)
        Frame.append(
            payload: [PeerProtocol.raft.rawValue]
                + (try MessageCodec.encoded(RaftMessage(from: claimed, to: 1, term: PeerTLSTests.farTerm, payload: .timeoutNow))),
            to: &frames)
        let channel = try await ClientBootstrap(group: PeerTLSTests.group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        try NIOSSLClientHandler(context: context, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(SendOnHandshake(frames: frames))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let closed = Mutex(false)
        channel.closeFuture.whenComplete { _ in closed.withLock { $0 = true } }
        let deadline = ContinuousClock.now + patience
        while !closed.withLock({ $0 }) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        let result = closed.withLock { $0 }
        try? await channel.close()
        return result
    }

    final class SendOnHandshake: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let frames: [UInt8]
        init(frames: [UInt8]) { self.frames = frames }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
                context.writeAndFlush(NIOAny(context.channel.allocator.buffer(bytes: frames)), promise: nil)
            }
            context.fireUserInboundEventTriggered(event)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }
}

/// A TLS server that presents a chosen node certificate (and asks for none),
/// counting handshakes begun and application bytes received.
struct TestAcceptor {
    let channel: any Channel
    let handshakes: Counter
    let applicationBytes: Counter

    final class Counter: Sendable {
        let storage = Atomic<Int>(0)
        var value: Int { storage.load(ordering: .relaxed) }
        func add(_ amount: Int) { storage.add(amount, ordering: .relaxed) }
    }

    static func start(port: Int, presenting issued: IssuedCertificate) async throws -> TestAcceptor {
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(issued.certificatePEM().utf8), format: .pem))],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(issued.privateKeyPEM().utf8), format: .pem)))
        let context = try NIOSSLContext(configuration: configuration)
        let handshakes = Counter()
        let bytes = Counter()
        let channel = try await ServerBootstrap(group: PeerTLSTests.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                handshakes.add(1)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.addHandler(CountingHandler(bytes: bytes))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        return TestAcceptor(channel: channel, handshakes: handshakes, applicationBytes: bytes)
    }

    final class CountingHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let bytes: Counter
        init(bytes: Counter) { self.bytes = bytes }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            bytes.add(unwrapInboundIn(data).readableBytes)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }
}
