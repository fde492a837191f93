import ChorusCore

/// The network between servers: per-link blocking (partitions of every
/// shape, including one-way), per-server clogging (messages wait instead of
/// vanishing), random delay with a long tail, loss and duplication.
struct SimulatedNetwork {
    let serverCount: Int
    /// blocked[from][to]: messages from → to are dropped. Indexed by server number − 1.
    private(set) var blocked: [[Bool]]
    /// Clogged servers: their traffic is held until they are unclogged.
    private(set) var clogged: [Bool]
    /// Servers cut off from everyone, independently of `blocked` (several may
    /// overlap, each with its own end).
    private(set) var isolated: [Bool]

    init(serverCount: Int) {
        self.serverCount = serverCount
        blocked = Array(repeating: Array(repeating: false, count: serverCount), count: serverCount)
        clogged = Array(repeating: false, count: serverCount)
        isolated = Array(repeating: false, count: serverCount)
    }

    var isHealthy: Bool { !blocked.joined().contains(true) && !clogged.contains(true) && !isolated.contains(true) }

    func isBlocked(from: Int, to: Int) -> Bool {
        blocked[from - 1][to - 1] || isolated[from - 1] || isolated[to - 1]
    }

    mutating func setIsolated(_ server: Int, _ value: Bool) { isolated[server - 1] = value }
    func isIsolated(_ server: Int) -> Bool { isolated[server - 1] }
    func isClogged(_ server: Int) -> Bool { clogged[server - 1] }

    mutating func heal() {
        for from in 0..<serverCount { for to in 0..<serverCount { blocked[from][to] = false } }
        for server in 0..<serverCount {
            clogged[server] = false
            isolated[server] = false
        }
    }

    mutating func block(from: Int, to: Int) { if from != to { blocked[from - 1][to - 1] = true } }

    /// Cuts every link between `side` and the rest, both ways.
    mutating func partition(_ side: [Int]) {
        for a in 1...serverCount {
            for b in 1...serverCount where side.contains(a) != side.contains(b) { block(from: a, to: b) }
        }
    }

    mutating func setClogged(_ server: Int, _ value: Bool) { clogged[server - 1] = value }
}
