import ChorusCore
import ChorusLocalCluster
import ChorusNode
import ChorusRaft
import Logging
import NIOPosix

/// A one-node cluster in this process, for tests of the layers above the node
/// (service, HTTP, client): quick elections, a peer port found free.
public enum SingleNode {
    public struct NoFreePort: Error, CustomStringConvertible {
        public var description: String { "no free TCP port on 127.0.0.1" }
    }

    /// Starts the node. Another test may take the free port between the check
    /// and the bind, so a failed bind tries fresh ports, five times in all.
    /// (A `catch .bind where …` clause crashes Swift 6.3.1's
    /// MandatoryAllocBoxToStack pass, hence the plain catch.)
    public static func start(
        directory: String, logger: Logger, adjust: (inout NodeConfiguration) -> Void = { _ in }
    ) async throws -> (ChorusNode, NodeConfiguration) {
        var attempt = 1
        while true {
            guard let port = LocalCluster.freePorts(1).first else { throw NoFreePort() }
            let address = NetworkAddress(host: "127.0.0.1", port: port)
            // A single node never redirects, so its advertised URL is never used.
            var configuration = NodeConfiguration(
                nodeID: 1, members: [PeerAddress(id: 1, address: address)], peerListenAddress: address,
                advertisedHTTPURL: "http://127.0.0.1:1", dataDirectory: directory)
            configuration.raft.electionTimeoutTicks = 5
            configuration.raft.heartbeatIntervalTicks = 1
            adjust(&configuration)
            do {
                let node = try await ChorusNode.start(
                    configuration: configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
                return (node, configuration)
            } catch {
                guard case .bind = error, attempt < 5 else { throw error }
                attempt += 1
            }
        }
    }
}
