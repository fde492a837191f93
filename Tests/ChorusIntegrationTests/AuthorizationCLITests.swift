import ChorusClient
import ChorusLocalCluster
import Foundation
import Testing

extension RealProcessTests {
    /// Secure by default, as a new user meets it: `chorus node` refuses to
    /// start without a keyring unless told `--insecure-no-auth` (and then
    /// warns), and `chorus tokens` makes keys and tokens the nodes accept.
    @Suite struct AuthorizationCLITests {
        /// Runs the executable to the end (bounded), returning its status and output.
        static func run(_ arguments: [String]) async throws -> (Int32, String) {
            let executable = try #require(ClusterHarness.executable)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let deadline = ContinuousClock.now + .seconds(30)
            while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }

        @Test(.enabled(if: ClusterHarness.executable != nil, "needs the chorus executable next to the test bundle"))
        func aNodeNeedsAKeyringOrAnExplicitInsecureFlag() async throws {
            let directory = NSTemporaryDirectory() + "chorus-auth-cli-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let node = ["node", "--id", "1", "--data-dir", directory + "/n1", "--listen", "127.0.0.1:1", "--http", "127.0.0.1:2", "--peers", "1=127.0.0.1:1"]
            let (status, output) = try await Self.run(node)
            #expect(status != 0)
            #expect(output.contains("chorus node needs --auth-keys FILE"), "\(output)")
            let (both, bothOutput) = try await Self.run(node + ["--auth-keys", directory + "/keys.json", "--insecure-no-auth"])
            #expect(both != 0 && bothOutput.contains("--auth-keys and --insecure-no-auth exclude each other"), "\(bothOutput)")

            // keygen, rotate, issue, revoke: the files and the refusals.
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let keys = directory + "/keys.json"
            #expect(try await Self.run(["tokens", "keygen", "--out", keys]).0 == 0)
            let mode = try FileManager.default.attributesOfItem(atPath: keys)[.posixPermissions] as? Int
            #expect(mode == 0o600, "the keyring holds secrets")
            #expect(try await Self.run(["tokens", "keygen", "--out", keys]).0 != 0, "keygen never overwrites")
            let (issued, token) = try await Self.run(["tokens", "issue", "--keys", keys, "--subject", "ci", "--role", "reader", "--expires", "10m"])
            #expect(issued == 0 && token.hasPrefix("chorus1."), "\(token)")
            let (unknownRole, unknownOutput) = try await Self.run(["tokens", "issue", "--keys", keys, "--subject", "ci", "--role", "root"])
            #expect(unknownRole != 0 && unknownOutput.contains("unknown role 'root'"), "\(unknownOutput)")
            #expect(try await Self.run(["tokens", "rotate", "--keys", keys]).0 == 0)
            let (revokeActive, revokeOutput) = try await Self.run(["tokens", "revoke", "--keys", keys, "--key-id", "k2"])
            #expect(revokeActive != 0 && revokeOutput.contains("cannot be removed"), "\(revokeOutput)")
            #expect(try await Self.run(["tokens", "revoke", "--keys", keys, "--key-id", "k1"]).0 == 0)
        }

        @Test(.enabled(if: ClusterHarness.executable != nil, "needs the chorus executable next to the test bundle"))
        func anInsecureNodeWarnsOnEveryStartAndServesWithoutAToken() async throws {
            let executable = try #require(ClusterHarness.executable)
            let directory = NSTemporaryDirectory() + "chorus-auth-insecure-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let ports = LocalCluster.freePorts(2)
            try #require(ports.count == 2)
            var options = LocalCluster.Options(
                nodeCount: 1, dataDirectory: directory, peerPorts: [ports[0]], httpPorts: [ports[1]], executable: executable)
            options.authorization = .insecure
            options.extraArguments = ["--log-level", "info"]
            let cluster = try LocalCluster(options: options)
            let client = try ChorusClient(endpoints: cluster.httpURLs)
            defer {
                cluster.killAll()
                client.shutdown()
            }
            try cluster.start(1)
            #expect(await cluster.waitUntilServing(client: client, timeoutMilliseconds: 30_000), "logs in \(directory)")
            #expect(cluster.adminToken == nil && !FileManager.default.fileExists(atPath: cluster.keyringFile))
            #expect(try await client.put("open", [1]) >= 1)
            await cluster.stop(1)
            try cluster.start(1)
            #expect(await cluster.waitUntilServing(client: client, timeoutMilliseconds: 30_000))
            await cluster.stop(1)
            let log = String(decoding: FileManager.default.contents(atPath: cluster.logFile(1)) ?? Data(), as: UTF8.self)
            #expect(log.components(separatedBy: "--insecure-no-auth: every client may").count - 1 == 2, "one warning per start:\n\(log)")
        }
    }
}
