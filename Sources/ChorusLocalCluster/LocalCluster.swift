import ChorusCertificates
import ChorusClient
import ChorusCore
import ChorusKeyValue
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A cluster of `chorus node` child processes on one machine: what `chorus
/// cluster up`, `chorus demo` and the real-process tests run.
///
/// Each node gets its own storage directory (`DIR/nI`) and log file
/// (`DIR/nI.log`), a peer port and an HTTP port. Children are started with
/// `--parent-pid`, so a node whose parent dies (even by SIGKILL, when no
/// cleanup code runs) notices within a fraction of a second and exits:
/// no orphaned nodes hold ports or storage locks after a crashed test.
public final class LocalCluster: Sendable {
    public struct Options: Sendable {
        public var nodeCount: Int
        public var dataDirectory: String
        public var host: String = "127.0.0.1"
        /// Node i's peer port is `peerPorts[i-1]`, its HTTP port `httpPorts[i-1]`.
        public var peerPorts: [Int]
        public var httpPorts: [Int]
        /// Node i serves the Redis protocol on `respPorts[i-1]` (`chorus node
        /// --resp`); empty: no node does.
        public var respPorts: [Int] = []
        /// The `chorus` binary to start (by default this process's own executable).
        public var executable: String
        /// Extra arguments for every `chorus node` (timings, log level, …).
        public var extraArguments: [String] = []
        /// Extra arguments for node i only, after `extraArguments` (a clock rate, say).
        public var nodeArguments: [Int: [String]] = [:]
        /// How clients authenticate: by default a keyring and an admin token
        /// made in the data directory on first start (`prepareAuthorization`).
        public var authorization: Authorization = .generatedKeyring
        /// How nodes authenticate each other: by default mutual TLS with a CA
        /// and node certificates made in the data directory on first start
        /// (`preparePeerCertificates`).
        public var peerSecurity: PeerSecurity = .generatedCertificates
        /// For experiments (`chorus lab`): every node holds its outbound peer
        /// frames this long (`chorus node --peer-delay-ms`); 0 sends at once.
        public var peerDelayMilliseconds: Int = 0
        /// Each node in a network namespace of its own (`NodeNetwork`), at
        /// the network's address for it instead of `host`; nil: every node
        /// on `host`.
        public var network: NodeNetwork?

        public init(nodeCount: Int, dataDirectory: String, peerPorts: [Int], httpPorts: [Int], executable: String) {
            self.nodeCount = nodeCount
            self.dataDirectory = dataDirectory
            self.peerPorts = peerPorts
            self.httpPorts = httpPorts
            self.executable = executable
        }

        /// Ports from a base: node i listens for peers on `base + i` and serves HTTP on `base + 1000 + i`.
        public init(nodeCount: Int, dataDirectory: String, basePort: Int, executable: String) {
            self.init(
                nodeCount: nodeCount, dataDirectory: dataDirectory, peerPorts: (1...nodeCount).map { basePort + $0 },
                httpPorts: (1...nodeCount).map { basePort + 1_000 + $0 }, executable: executable)
            respPorts = (1...nodeCount).map { basePort + 2_000 + $0 }
        }

        /// Every node in its own namespace of `network`: each has an address
        /// of its own, so all use the same ports (peers 7000, HTTP 8000,
        /// Redis protocol 6379).
        public init(network: NodeNetwork, dataDirectory: String, executable: String) {
            self.init(
                nodeCount: network.nodeCount, dataDirectory: dataDirectory,
                peerPorts: Array(repeating: 7_000, count: network.nodeCount),
                httpPorts: Array(repeating: 8_000, count: network.nodeCount), executable: executable)
            respPorts = Array(repeating: 6_379, count: network.nodeCount)
            self.network = network
        }
    }

    /// Client authorization of the nodes (issue 15): secure unless asked.
    public enum Authorization: Sendable, Hashable {
        /// `DIR/auth-keys.json` (a keyring) and `DIR/admin.token` (a token of
        /// the `admin` role), made on first start by `chorus tokens`; every
        /// node gets `--auth-keys DIR/auth-keys.json`.
        case generatedKeyring
        /// `--insecure-no-auth`: every client may do everything.
        case insecure
    }

    /// Peer security of the nodes (issue 15): mutual TLS unless asked.
    public enum PeerSecurity: Sendable, Hashable {
        /// `DIR/certs/ca.pem` (the cluster CA) and `DIR/certs/node-N.pem` with
        /// their keys, made on first start (ChorusCertificates); node N gets
        /// `--tls-ca`, `--tls-cert` and `--tls-key` for them.
        case generatedCertificates
        /// `--insecure-peers`: plain TCP between nodes.
        case insecure
    }

    public enum ClusterError: Error, CustomStringConvertible {
        case spawnFailed(node: Int, reason: String)
        case invalid(String)

        public var description: String {
            switch self {
            case .spawnFailed(let node, let reason): "cannot start node \(node): \(reason)"
            case .invalid(let reason): reason
            }
        }
    }

    public let options: Options
    let processes = Mutex<[Int: Process]>([:])
    /// Held while certificates are made, so two starts never race to create the CA.
    let certificateLock = Mutex<Void>(())

    public init(options: Options) throws(ClusterError) {
        guard (1...9).contains(options.nodeCount) else { throw .invalid("a local cluster has 1 to 9 nodes") }
        guard options.peerPorts.count == options.nodeCount, options.httpPorts.count == options.nodeCount else {
            throw .invalid("one peer port and one HTTP port per node")
        }
        for port in options.peerPorts + options.httpPorts where !(1...65_535).contains(port) {
            throw .invalid("port \(port) is out of range")
        }
        self.options = options
    }

    public var nodes: ClosedRange<Int> { 1...options.nodeCount }

    /// The address node i listens on.
    public func host(_ node: Int) -> String { options.network?.address(node) ?? options.host }

    public func httpURL(_ node: Int) -> String { "http://\(host(node)):\(options.httpPorts[node - 1])" }
    public var httpURLs: [String] { nodes.map(httpURL) }
    /// Node i's Redis-protocol URL, when the nodes serve it (`Options.respPorts`).
    public func respURL(_ node: Int) -> String? {
        options.respPorts.isEmpty ? nil : "redis://\(host(node)):\(options.respPorts[node - 1])"
    }
    public func dataDirectory(_ node: Int) -> String { options.dataDirectory + "/n\(node)" }
    public func logFile(_ node: Int) -> String { options.dataDirectory + "/n\(node).log" }

    /// The keyring file the nodes verify tokens with.
    public var keyringFile: String { options.dataDirectory + "/auth-keys.json" }
    /// The admin token file (`chorus cluster up` and `chorus demo` print it; the CLI reads it).
    public var adminTokenFile: String { options.dataDirectory + "/admin.token" }

    /// The admin token, once `prepareAuthorization` made it; nil for an insecure cluster.
    public var adminToken: String? {
        guard options.authorization == .generatedKeyring, let data = FileManager.default.contents(atPath: adminTokenFile) else {
            return nil
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }

    /// Makes the keyring and the admin token with `chorus tokens keygen` and
    /// `chorus tokens issue` (the same executable as the nodes), unless they
    /// exist: a restarted cluster keeps its keys, so its tokens keep working.
    /// `startAll` and `start` call it; call it first to read `adminToken`
    /// before the nodes run.
    public func prepareAuthorization() throws(ClusterError) {
        guard options.authorization == .generatedKeyring else { return }
        do {
            try FileManager.default.createDirectory(atPath: options.dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw .invalid("cannot create \(options.dataDirectory): \(error)")
        }
        if !FileManager.default.fileExists(atPath: keyringFile) {
            try runTool(["tokens", "keygen", "--out", keyringFile])
        }
        if !FileManager.default.fileExists(atPath: adminTokenFile) {
            try runTool([
                "tokens", "issue", "--keys", keyringFile, "--subject", "admin", "--role", "admin", "--expires", "366d",
                "--out", adminTokenFile,
            ])
        }
    }

    /// The directory of the cluster CA and the node certificates.
    public var certificatesDirectory: String { options.dataDirectory + "/certs" }

    /// The three `--tls-*` files of node i.
    public func peerCertificateFiles(_ node: Int) -> (authority: String, certificate: String, key: String) {
        let directory = certificatesDirectory
        return (
            directory + "/" + CertificateFiles.authorityCertificateName,
            directory + "/" + CertificateFiles.nodeCertificateName(NodeID(UInt64(node))),
            directory + "/" + CertificateFiles.nodeKeyName(NodeID(UInt64(node)))
        )
    }

    /// Makes the cluster CA and every node's certificate, unless they exist:
    /// a restarted cluster keeps its CA. A node certificate that no longer
    /// passes (expired, or not of this CA) is issued again; the old files
    /// are renamed `.replaced`. `start` calls it.
    public func preparePeerCertificates() throws(ClusterError) {
        guard options.peerSecurity == .generatedCertificates else { return }
        let result: Result<Void, any Error> = certificateLock.withLock { _ in
            do {
                let authorityFile = peerCertificateFiles(1).authority
                if !FileManager.default.fileExists(atPath: authorityFile) {
                    try CertificateFiles.write(ClusterCertificateAuthority.create(), to: certificatesDirectory)
                }
                let authority = try CertificateFiles.readAuthority(from: certificatesDirectory)
                for node in nodes {
                    let files = peerCertificateFiles(node)
                    if FileManager.default.fileExists(atPath: files.certificate) {
                        let usable = try? PeerCredentials.load(
                            authorityFile: files.authority, certificateFile: files.certificate, privateKeyFile: files.key)
                        if let usable, usable.validityProblem() == nil { continue }
                        for file in [files.certificate, files.key] { rename(file, file + ".replaced") }
                    }
                    try CertificateFiles.write(authority.issue(node: NodeID(UInt64(node))), to: certificatesDirectory)
                }
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        if case .failure(let error) = result { throw .invalid("peer certificates in \(certificatesDirectory): \(error)") }
    }

    /// Issues a token of `role` for `subject` with the cluster's keyring
    /// (`chorus tokens issue`), written to `file` in the data directory, and
    /// returns it.
    public func issueToken(subject: String, role: String, expires: String = "1h", file: String) throws(ClusterError) -> String {
        let path = options.dataDirectory + "/" + file
        try runTool(["tokens", "issue", "--keys", keyringFile, "--subject", subject, "--role", role, "--expires", expires, "--out", path])
        guard let data = FileManager.default.contents(atPath: path) else { throw .invalid("chorus tokens issue wrote no \(path)") }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func runTool(_ arguments: [String]) throws(ClusterError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: options.executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        do { try process.run() } catch { throw .invalid("cannot run \(options.executable) \(arguments[0]) \(arguments[1]): \(error)") }
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw .invalid(
                "chorus \(arguments[0]) \(arguments[1]) failed (\(process.terminationStatus)): \(String(decoding: output, as: UTF8.self))")
        }
    }

    public var peerList: String {
        nodes.map { "\($0)=\(host($0)):\(options.peerPorts[$0 - 1])" }.joined(separator: ",")
    }

    /// The command line of node i.
    public func arguments(_ node: Int) -> [String] {
        [
            "node", "--id", "\(node)", "--data-dir", dataDirectory(node),
            "--listen", "\(host(node)):\(options.peerPorts[node - 1])",
            "--http", "\(host(node)):\(options.httpPorts[node - 1])", "--peers", peerList,
            "--parent-pid", "\(getpid())",
        ] + (options.respPorts.isEmpty ? [] : ["--resp", "\(host(node)):\(options.respPorts[node - 1])"])
            + authorizationArguments + peerSecurityArguments(node)
            + (options.peerDelayMilliseconds > 0 ? ["--peer-delay-ms", "\(options.peerDelayMilliseconds)"] : [])

            + options.extraArguments + (options.nodeArguments[node] ?? [])
    }

    var authorizationArguments: [String] {
        switch options.authorization {
        case .generatedKeyring: ["--auth-keys", keyringFile]
        case .insecure: ["--insecure-no-auth"]
        }
    }

    func peerSecurityArguments(_ node: Int) -> [String] {
        switch options.peerSecurity {
        case .generatedCertificates:
            let files = peerCertificateFiles(node)
            return ["--tls-ca", files.authority, "--tls-cert", files.certificate, "--tls-key", files.key]
        case .insecure:
            return ["--insecure-peers"]
        }
    }

    // MARK: Processes

    public func startAll() throws(ClusterError) {
        for node in nodes { try start(node) }
    }

    /// Starts node i (again, if it ran before: same directory, appending to its log).
    public func start(_ node: Int) throws(ClusterError) {
        guard nodes.contains(node) else { throw .invalid("no node \(node)") }
        if isRunning(node) { return }
        do {
            try FileManager.default.createDirectory(atPath: options.dataDirectory, withIntermediateDirectories: true)
            if !FileManager.default.fileExists(atPath: logFile(node)) {
                _ = FileManager.default.createFile(atPath: logFile(node), contents: nil)
            }
            guard let log = FileHandle(forWritingAtPath: logFile(node)) else {
                throw ClusterError.spawnFailed(node: node, reason: "cannot open \(logFile(node))")
            }
            log.seekToEndOfFile()
            do {
                try prepareAuthorization()
                try preparePeerCertificates()
            } catch {
                throw ClusterError.spawnFailed(node: node, reason: "\(error)")
            }
            let process = Process()
            if let network = options.network {
                let command = network.command(for: node, executable: options.executable, arguments: arguments(node))
                process.executableURL = URL(fileURLWithPath: command.executable)
                process.arguments = command.arguments
            } else {
                process.executableURL = URL(fileURLWithPath: options.executable)
                process.arguments = arguments(node)
            }
            process.standardOutput = log
            process.standardError = log
            process.standardInput = FileHandle.nullDevice
            try process.run()
            processes.withLock { $0[node] = process }
        } catch let error as ClusterError {
            throw error
        } catch {
            throw .spawnFailed(node: node, reason: "\(error)")
        }
    }

    public func processID(_ node: Int) -> Int32? {
        processes.withLock { $0[node].map { $0.isRunning ? $0.processIdentifier : nil } ?? nil }
    }

    public func isRunning(_ node: Int) -> Bool { processID(node) != nil }

    /// How node i's last process ended: "exit N" or "signal N", nil while it runs or if it never ran.
    public func termination(_ node: Int) -> String? {
        processes.withLock { processes in
            guard let process = processes[node], !process.isRunning else { return nil }
            switch process.terminationReason {
            case .exit: return "exit \(process.terminationStatus)"
            case .uncaughtSignal: return "signal \(process.terminationStatus)"
            @unknown default: return "ended \(process.terminationStatus)"
            }
        }
    }

    /// SIGTERM only; true if the node exited by itself within the timeout.
    public func terminate(_ node: Int, timeoutMilliseconds: Int = 5_000) async -> Bool {
        guard isRunning(node) else { return false }
        signal(node, SIGTERM)
        return await waitForExit(node, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Sends a signal to node i's process, if it runs.
    @discardableResult
    public func signal(_ node: Int, _ signal: Int32) -> Bool {
        guard let pid = processID(node) else { return false }
        return kill(pid, signal) == 0
    }

    /// SIGKILL: the node dies at once, mid-write if it was writing.
    public func crash(_ node: Int) async {
        signal(node, SIGKILL)
        await waitForExit(node, timeoutMilliseconds: 5_000)
    }

    public func pause(_ node: Int) { signal(node, SIGSTOP) }
    public func resume(_ node: Int) { signal(node, SIGCONT) }

    /// SIGTERM (graceful), then SIGKILL if it has not exited within the timeout.
    public func stop(_ node: Int, timeoutMilliseconds: Int = 5_000) async {
        guard isRunning(node) else { return }
        signal(node, SIGCONT)
        signal(node, SIGTERM)
        if await !waitForExit(node, timeoutMilliseconds: timeoutMilliseconds) {
            signal(node, SIGKILL)
            await waitForExit(node, timeoutMilliseconds: 5_000)
        }
    }

    @discardableResult
    public func waitForExit(_ node: Int, timeoutMilliseconds: Int) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(timeoutMilliseconds)
        while ContinuousClock.now < deadline {
            if !isRunning(node) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return !isRunning(node)
    }

    /// Stops every node (gracefully, then forcibly).
    public func shutdown() async {
        for node in nodes where isRunning(node) {
            signal(node, SIGCONT)
            signal(node, SIGTERM)
        }
        for node in nodes { await stop(node, timeoutMilliseconds: 3_000) }
    }

    /// Kills every node at once, synchronously: for `defer` blocks and signal handlers.
    public func killAll() {
        let all = processes.withLock { Array($0.values) }
        for process in all where process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    // MARK: Observing

    /// What one node says about the cluster (`GET /v1/cluster`), or nil if it does not answer.
    public struct NodeView: Sendable {
        public var node: Int
        public var role: String
        public var term: UInt64
        public var leader: Int
        public var commitIndex: UInt64
        public var appliedIndex: UInt64
    }

    public func view(of node: Int, client: ChorusClient) async -> NodeView? {
        guard isRunning(node), let (origin, _) = HTTPOrigin.parse(httpURL(node)),
            let text = try? await client.clusterJSON(at: origin),
            let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        else { return nil }
        func number(_ key: String) -> UInt64 { (object[key] as? NSNumber)?.uint64Value ?? 0 }
        return NodeView(
            node: node, role: object["role"] as? String ?? "?", term: number("term"), leader: Int(number("leader")),
            commitIndex: number("commitIndex"), appliedIndex: number("appliedIndex"))
    }

    /// Waits until a running node reports itself leader (and is not `excluding`);
    /// returns it, or nil at the deadline.
    public func waitForLeader(
        client: ChorusClient, excluding: Set<Int> = [], timeoutMilliseconds: Int = 10_000
    ) async -> NodeView? {
        let deadline = ContinuousClock.now + .milliseconds(timeoutMilliseconds)
        while ContinuousClock.now < deadline {
            for node in nodes where !excluding.contains(node) {
                if let view = await view(of: node, client: client), view.role == "leader" { return view }
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// Creates the leaderless keyspace the Redis protocol's database 0 names
    /// (N = min(3, nodes), R = W = a majority of N), retrying while the
    /// cluster elects; false if it could not within the deadline.
    public func createLeaderlessKeyspace(client: ChorusClient, timeoutMilliseconds: Int = 10_000) async -> Bool {
        let replicas = min(3, options.nodeCount)
        let quorum = replicas / 2 + 1
        let deadline = ContinuousClock.now + .milliseconds(timeoutMilliseconds)
        while ContinuousClock.now < deadline {
            do {
                try await client.createKeyspace(
                    KeyspaceName.leaderlessDefaultName, replication: "leaderless", defaultLevel: "eventual", replicas: replicas,
                    readQuorum: quorum, writeQuorum: quorum)
                return true
            } catch {
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        return false
    }

    /// Waits until every started node answers `/v1/cluster`; false at the
    /// deadline or as soon as a started node has exited.
    public func waitUntilServing(client: ChorusClient, timeoutMilliseconds: Int = 15_000) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(timeoutMilliseconds)
        let started = processes.withLock { Array($0.keys) }.sorted()
        while ContinuousClock.now < deadline {
            var all = true
            for node in started {
                guard isRunning(node) else { return false }
                if await view(of: node, client: client) == nil { all = false }
            }
            if all { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// The path of this process's own executable (to re-exec it as `chorus node`).
    public static func currentExecutable() -> String {
        #if os(Linux)
        var buffer = [CChar](repeating: 0, count: 4_096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if length > 0 {
            return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        #endif
        return CommandLine.arguments[0]
    }

    /// A base port whose layout (`BASE+i` for peers, `BASE+1000+i` for HTTP,
    /// i = 1…nodeCount) is free on 127.0.0.1: `preferred` if it is, else one
    /// drawn from 25000–29000 (below the ephemeral range, and apart from the
    /// ports `freePorts` hands out, so a concurrent test's port never lands in
    /// the layout). Nil if none is found in a bounded number of tries.
    public static func freeBasePort(nodeCount: Int, preferred: Int? = nil) -> Int? {
        func layoutIsFree(_ base: Int) -> Bool {
            (1...nodeCount).allSatisfy { isPortFree(base + $0) && isPortFree(base + 1_000 + $0) }
        }
        if let preferred, layoutIsFree(preferred) { return preferred }
        for _ in 0..<64 {
            let base = Int.random(in: 25_000...29_000)
            if layoutIsFree(base) { return base }
        }
        return nil
    }

    /// Whether a TCP port on 127.0.0.1 can be bound right now.
    public static func isPortFree(_ port: Int) -> Bool {
        guard (1...65_535).contains(port) else { return false }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return bound == 0
    }

    /// Ports that were free a moment ago, drawn from 10000–24999: below
    /// Linux's ephemeral range (32768–60999), so an outgoing connection of this
    /// or another process never takes one between the choice and the bind,
    /// nor while a node restarts on it (found in the full test suite, where
    /// hundreds of connections come and go). Never the same port twice in one
    /// process. Fewer than `count` if none can be found in a bounded number of tries.
    public static func freePorts(_ count: Int) -> [Int] {
        var ports: [Int] = []
        var attempts = 0
        while ports.count < count && attempts < 2_000 {
            attempts += 1
            let port = Int.random(in: 10_000...24_999)
            guard isPortFree(port), handedOut.withLock({ $0.insert(port).inserted }) else { continue }
            ports.append(port)
        }
        return ports
    }

    /// Every port `freePorts` has handed out in this process.
    static let handedOut = Mutex<Set<Int>>([])
}
