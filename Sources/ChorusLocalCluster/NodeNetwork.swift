import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A network of its own for each node of a local cluster: one network
/// namespace per node (`ip netns`), a veth pair from each to one bridge in
/// the host's namespace, and a packet filter chain in each namespace that
/// the nemesis rewrites (`apply`). The test process stays in the host's
/// namespace, on the bridge, and reaches every node: only the links between
/// nodes are cut.
///
/// ```
///   host (clients) 10.A.B.254 ── bridge chbTAG ─┬─ chvTAG1 ══ eth0 10.A.B.1  [netns chorus-PID-TAG-n1: chorus node 1]
///                                               ├─ chvTAG2 ══ eth0 10.A.B.2  [netns …-n2]
///                                               └─ chvTAG3 ══ eth0 10.A.B.3  [netns …-n3]
/// ```
///
/// Linux only, and only as root with iproute2 and iptables installed
/// (`unavailableReason` says what is missing; tests skip with it). Names
/// carry the creating process's id, so `removeStale` can delete what a
/// killed test left behind. The kernel here has no `netem`, so delay is not
/// a fault this network injects (`chorus node --peer-delay-ms` is).
public final class NodeNetwork: Sendable {
    public enum NetworkError: Error, CustomStringConvertible {
        case unavailable(String)
        case command(String, status: Int32, output: String)

        public var description: String {
            switch self {
            case .unavailable(let reason): "node networks are unavailable: \(reason)"
            case .command(let command, let status, let output): "`\(command)` failed (\(status)): \(output)"
            }
        }
    }

    public let nodeCount: Int
    /// Four hex digits naming this network's bridge and interfaces.
    public let tag: String
    /// The /24 the nodes live in: 10.`subnet.0`.`subnet.1`.0.
    public let subnet: (Int, Int)
    let creator: Int32
    /// The faults in force (`apply`), and the nodes whose veth is off the bridge.
    private let state = Mutex<(faults: NetworkFaults, detached: Set<Int>)>((.none, []))

    public var bridge: String { "chb\(tag)" }
    public func namespace(_ node: Int) -> String { "chorus-\(creator)-\(tag)-n\(node)" }
    public func address(_ node: Int) -> String { "10.\(subnet.0).\(subnet.1).\(node)" }
    /// The host's address on the bridge.
    public var hostAddress: String { "10.\(subnet.0).\(subnet.1).254" }
    func hostInterface(_ node: Int) -> String { "chv\(tag)\(node)" }
    public var nodes: ClosedRange<Int> { 1...nodeCount }
    public var faults: NetworkFaults { state.withLock { $0.faults } }

    static let chain = "CHORUS"
    static let ipTool = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let iptablesTool = ["/usr/sbin/iptables", "/sbin/iptables", "/usr/bin/iptables"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    static let iptablesRestoreTool = ["/usr/sbin/iptables-restore", "/sbin/iptables-restore", "/usr/bin/iptables-restore"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Why networks cannot be made here, or nil if they can.
    public static let unavailableReason: String? = {
        #if os(Linux)
        guard getuid() == 0 else { return "network namespaces need root" }
        guard ipTool != nil else { return "no `ip` (iproute2)" }
        guard iptablesTool != nil, iptablesRestoreTool != nil else { return "no `iptables` (Debian's iptables package)" }
        // Every kind of step `create` takes, once: a namespace, a veth pair
        // into it, a filter chain in it.
        let probe = "chorus-probe-\(getpid())"
        defer { try? run(ipTool!, ["netns", "del", probe]) }
        do {
            try run(ipTool!, ["netns", "add", probe])
            try run(ipTool!, ["link", "add", "chp\(getpid() % 100_000)", "type", "veth", "peer", "name", "eth0", "netns", probe])
            try run(ipTool!, ["netns", "exec", probe, iptablesTool!, "-N", chain])
        } catch {
            return "cannot make a node network here: \(error)"
        }
        return nil
        #else
        return "network namespaces are Linux's"
        #endif
    }()

    /// Subnets handed out in this process.
    static let subnetsInUse = Mutex<Set<Int>>([])

    private init(nodeCount: Int, tag: String, subnet: (Int, Int)) {
        self.nodeCount = nodeCount
        self.tag = tag
        self.subnet = subnet
        self.creator = getpid()
    }

    /// Makes the namespaces, veth pairs, bridge and filter chains for
    /// `nodeCount` nodes. Removes what it made if a step fails.
    public static func create(nodeCount: Int) throws(NetworkError) -> NodeNetwork {
        if let unavailableReason { throw .unavailable(unavailableReason) }
        guard (1...9).contains(nodeCount) else { throw .unavailable("a node network has 1 to 9 nodes") }
        removeStale()
        let existing = (try? output(ipTool!, ["-o", "-4", "addr", "show"])) ?? ""
        var chosen: (Int, Int)?
        for _ in 0..<64 {
            let candidate = (Int.random(in: 200...249), Int.random(in: 0...255))
            let key = candidate.0 << 8 | candidate.1
            guard !existing.contains("10.\(candidate.0).\(candidate.1)."),
                subnetsInUse.withLock({ $0.insert(key).inserted })
            else { continue }
            chosen = candidate
            break
        }
        guard let chosen else { throw .unavailable("no free 10.x.y.0/24 subnet") }
        let tag = String(format: "%04x", UInt16.random(in: 0...UInt16.max))
        let network = NodeNetwork(nodeCount: nodeCount, tag: tag, subnet: chosen)
        do {
            try network.build()
        } catch {
            network.remove()
            throw error
        }
        return network
    }

    private func build() throws(NetworkError) {
        let ip = Self.ipTool!
        try Self.run(ip, ["link", "add", bridge, "type", "bridge"])
        try Self.run(ip, ["addr", "add", "\(hostAddress)/24", "dev", bridge])
        try Self.run(ip, ["link", "set", bridge, "up"])
        for node in nodes {
            let namespace = namespace(node)
            try Self.run(ip, ["netns", "add", namespace])
            try Self.run(ip, ["link", "add", hostInterface(node), "type", "veth", "peer", "name", "eth0", "netns", namespace])
            try Self.run(ip, ["link", "set", hostInterface(node), "master", bridge, "up"])
            try Self.run(ip, ["-n", namespace, "addr", "add", "\(address(node))/24", "dev", "eth0"])
            try Self.run(ip, ["-n", namespace, "link", "set", "eth0", "up"])
            try Self.run(ip, ["-n", namespace, "link", "set", "lo", "up"])
            try inNamespace(node, Self.iptablesTool!, ["-N", Self.chain])
            try inNamespace(node, Self.iptablesTool!, ["-A", "INPUT", "-j", Self.chain])
        }
    }

    /// The command line that runs `executable arguments` in node `node`'s namespace.
    public func command(for node: Int, executable: String, arguments: [String]) -> (executable: String, arguments: [String]) {
        // `ip netns exec` execs the command (no fork): the child's pid is the node's.
        (Self.ipTool!, ["netns", "exec", namespace(node), executable] + arguments)
    }

    /// Replaces the faults in force with `faults` (`.none` heals): each
    /// node's chain is rewritten in one `iptables-restore`.
    public func apply(_ faults: NetworkFaults) throws(NetworkError) {
        for node in nodes {
            var script = "*filter\n:\(Self.chain) - [0:0]\n"
            for rule in faults.inputRules(of: node, address: address) {
                script += "-A \(Self.chain) " + rule.joined(separator: " ") + "\n"
            }
            script += "COMMIT\n"
            try inNamespace(node, Self.iptablesRestoreTool!, ["--noflush"], input: script)
        }
        state.withLock { $0.faults = faults }
    }

    public func heal() throws(NetworkError) { try apply(.none) }

    /// Takes node `node`'s veth off the bridge: the node loses every packet,
    /// the host's too (the partition of the report, made the way
    /// it was found). `attach` puts it back.
    public func detach(_ node: Int) throws(NetworkError) {
        try Self.run(Self.ipTool!, ["link", "set", hostInterface(node), "nomaster"])
        state.withLock { _ = $0.detached.insert(node) }
    }

    public func attach(_ node: Int) throws(NetworkError) {
        try Self.run(Self.ipTool!, ["link", "set", hostInterface(node), "master", bridge])
        state.withLock { _ = $0.detached.remove(node) }
    }

    /// The rules in node `node`'s chain now (`iptables -S`), for checks and logs.
    public func rules(of node: Int) throws(NetworkError) -> [String] {
        let text = try Self.output(Self.ipTool!, ["netns", "exec", namespace(node), Self.iptablesTool!, "-S", Self.chain])
        return text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("-A ") }
    }

    /// Deletes the namespaces (their veth pairs go with them) and the bridge.
    public func remove() {
        for node in nodes { try? Self.run(Self.ipTool!, ["netns", "del", namespace(node)]) }
        try? Self.run(Self.ipTool!, ["link", "del", bridge])
        Self.subnetsInUse.withLock { _ = $0.remove(subnet.0 << 8 | subnet.1) }
    }

    /// Deletes the namespaces and bridges of networks whose creating process
    /// is gone (a test killed before its cleanup ran).
    public static func removeStale() {
        guard let ip = ipTool, let list = try? output(ip, ["netns", "list"]) else { return }
        for line in list.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            let parts = name.split(separator: "-")
            guard parts.count == 4, parts[0] == "chorus", let creator = Int32(parts[1]) else { continue }
            guard kill(creator, 0) != 0 && errno == ESRCH else { continue }
            try? run(ip, ["netns", "del", name])
            try? run(ip, ["link", "del", "chb\(parts[2])"])
        }
    }

    private func inNamespace(_ node: Int, _ tool: String, _ arguments: [String], input: String? = nil) throws(NetworkError) {
        try Self.run(Self.ipTool!, ["netns", "exec", namespace(node), tool] + arguments, input: input)
    }

    static func run(_ tool: String, _ arguments: [String], input: String? = nil) throws(NetworkError) {
        _ = try output(tool, arguments, input: input)
    }

    /// Runs a tool to its end; its standard output, or an error with what it printed.
    static func output(_ tool: String, _ arguments: [String], input: String? = nil) throws(NetworkError) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let out = Pipe()
        let standardInput = Pipe()
        process.standardOutput = out
        process.standardError = out
        process.standardInput = input == nil ? FileHandle.nullDevice : standardInput
        let command = ([tool] + arguments).joined(separator: " ")
        do { try process.run() } catch { throw .command(command, status: -1, output: "\(error)") }
        if let input {
            standardInput.fileHandleForWriting.write(Data(input.utf8))
            try? standardInput.fileHandleForWriting.close()
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw .command(command, status: process.terminationStatus, output: text) }
        return text
    }
}
