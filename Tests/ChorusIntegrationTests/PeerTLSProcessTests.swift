import ChorusClient
import ChorusLocalCluster
import Foundation
import NIOHTTP1
import Testing

extension RealProcessTests {
    /// Mutual TLS between real `chorus node` processes, as a new user gets it
    /// from a local cluster, and what a node outside the cluster CA gets.
    @Suite struct PeerTLSProcessTests {
        /// A three-node LocalCluster runs over mutual TLS with the CA and
        /// certificates it made itself; node 3 restarted with a certificate
        /// of another CA (made with `chorus certs`) never rejoins: the others
        /// refuse it at TLS and count it, and it never learns a commit.
        @Test(.enabled(if: ClusterHarness.executable != nil, "needs the chorus executable next to the test bundle"))
        func aTLSClusterServesWritesAndANodeOfAnotherCANeverJoins() async throws {
            try await ClusterHarness.withCluster(name: "peer-tls") { harness in
                let cluster = harness.cluster
                let certificates = cluster.certificatesDirectory
                for node in cluster.nodes {
                    #expect(cluster.arguments(node).contains("--tls-cert"))
                    let mode = try FileManager.default.attributesOfItem(atPath: "\(certificates)/node-\(node)-key.pem")[.posixPermissions] as? Int
                    #expect(mode == 0o600, "node \(node)'s key is readable by others")
                }
                #expect(try await harness.client.put("tls", Array("over mutual TLS".utf8)) >= 1)

                // Node 3 again, with its own CA: same data directory, same peers.
                await cluster.stop(3)
                let foreign = harness.directory + "/foreign-ca"
                let executable = try #require(ClusterHarness.executable)
                #expect(try Self.run(executable, ["certs", "create-ca", "--out", foreign]).status == 0)
                #expect(try Self.run(executable, ["certs", "issue", "--ca", foreign, "--node", "3"]).status == 0)
                var arguments = cluster.arguments(3)
                for (flag, file) in [("--tls-ca", "ca.pem"), ("--tls-cert", "node-3.pem"), ("--tls-key", "node-3-key.pem")] {
                    let index = try #require(arguments.firstIndex(of: flag))
                    arguments[index + 1] = foreign + "/" + file
                }
                let outsider = Process()
                outsider.executableURL = URL(fileURLWithPath: executable)
                outsider.arguments = arguments
                let log = FileHandle(forWritingAtPath: cluster.logFile(3))
                log?.seekToEndOfFile()
                outsider.standardOutput = log
                outsider.standardError = log
                try outsider.run()
                defer { if outsider.isRunning { kill(outsider.processIdentifier, SIGKILL) } }

                var written = 0
                for index in 0..<20 {
                    _ = try await harness.client.put("after-\(index)", [UInt8(index)])
                    written += 1
                }
                try await Task.sleep(for: .seconds(2))
                let leader = try await harness.leader()
                #expect(leader.node != 3)
                let outsiderView = try await Self.cluster(of: 3, harness: harness)
                #expect(
                    outsiderView.commitIndex < leader.commitIndex,
                    "node 3 (another CA) learned commit \(outsiderView.commitIndex) of \(leader.commitIndex)")
                #expect(outsiderView.leader == 0 || outsiderView.leader == 3, "node 3 follows \(outsiderView.leader)")
                var refused = 0.0
                for node in [1, 2] {
                    refused += try await Self.rejections("unknown_authority", node: node, harness: harness)
                }
                #expect(refused > 0, "no node counted a refused certificate")
                #expect(written == 20)
            }
        }

        /// `chorus node` needs certificates or `--insecure-peers`; `chorus
        /// certs` refuses bad input with a message and its exit status.
        @Test(.enabled(if: ClusterHarness.executable != nil, "needs the chorus executable next to the test bundle"))
        func theCommandLineRequiresAPeerChoiceAndRefusesBadCertificates() async throws {
            let executable = try #require(ClusterHarness.executable)
            let directory = NSTemporaryDirectory() + "chorus-tls-cli-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let node = [
                "node", "--id", "1", "--data-dir", directory + "/n1", "--listen", "127.0.0.1:1", "--http", "127.0.0.1:2",
                "--peers", "1=127.0.0.1:1", "--insecure-no-auth",
            ]
            let neither = try Self.run(executable, node)
            #expect(neither.status == 64 && neither.output.contains("chorus node needs --tls-ca FILE"), "\(neither)")
            let partial = try Self.run(executable, node + ["--tls-ca", "x.pem"])
            #expect(partial.status == 64 && partial.output.contains("go together"), "\(partial)")
            let both = try Self.run(executable, node + ["--tls-ca", "a", "--tls-cert", "b", "--tls-key", "c", "--insecure-peers"])
            #expect(both.status == 64 && both.output.contains("exclude each other"), "\(both)")

            let certificates = directory + "/certs"
            #expect(try Self.run(executable, ["certs", "issue", "--ca", certificates, "--node", "1"]).status == 66)
            #expect(try Self.run(executable, ["certs", "create-ca", "--out", certificates]).status == 0)
            #expect(try Self.run(executable, ["certs", "create-ca", "--out", certificates]).status == 73, "never overwrites")
            #expect(try Self.run(executable, ["certs", "issue", "--ca", certificates, "--node", "0"]).status == 64)
            #expect(try Self.run(executable, ["certs", "issue", "--ca", certificates, "--node", "1"]).status == 0)
            #expect(try Self.run(executable, ["certs", "issue", "--ca", certificates, "--node", "2", "--host", "a b"]).status == 64)
            try "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n".write(
                toFile: directory + "/bad.pem", atomically: true, encoding: .utf8)
            let tls = ["--tls-ca", certificates + "/ca.pem", "--tls-cert", certificates + "/node-1.pem", "--tls-key", certificates + "/node-1-key.pem"]
            let malformed = try Self.run(executable, node + ["--tls-ca", directory + "/bad.pem"] + tls.suffix(4))
            #expect(malformed.status == 65 && malformed.output.contains("bad.pem"), "\(malformed)")
            let otherNode = try Self.run(executable, ["node", "--id", "2"] + node.dropFirst(3) + tls)
            #expect(otherNode.status == 64 && otherNode.output.contains("node 1's"), "\(otherNode)")
        }

        static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, text)
        }

        /// `GET /v1/cluster` of a node this cluster did not start itself.
        static func cluster(of node: Int, harness: ClusterHarness) async throws -> (leader: Int, commitIndex: UInt64) {
            let (origin, _) = try #require(HTTPOrigin.parse(harness.cluster.httpURL(node)))
            let text = try await harness.client(for: node).clusterJSON(at: origin)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            return ((object["leader"] as? NSNumber)?.intValue ?? -1, (object["commitIndex"] as? NSNumber)?.uint64Value ?? 0)
        }

        /// `chorus_peer_tls_rejections_total{reason="…"}` of a node, 0 if absent.
        static func rejections(_ reason: String, node: Int, harness: ClusterHarness) async throws -> Double {
            let response = try await harness.client.send(.GET, url: harness.cluster.httpURL(node) + "/metrics")
            for line in response.bodyText.split(separator: "\n")
            where line.hasPrefix("chorus_peer_tls_rejections_total{") && line.contains("reason=\"\(reason)\"") {
                return line.split(separator: " ").last.flatMap { Double($0) } ?? 0
            }
            return 0
        }
    }
}
