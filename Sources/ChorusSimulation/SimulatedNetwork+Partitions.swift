import ChorusCore

/// The partition shapes of the nemesis (Jepsen's partitioners, and
/// FoundationDB's swizzle-clogging), shared by both simulators: each picks
/// the shapes it weights up and a victim for `isolate`.
enum PartitionShape: Sendable, Hashable {
    /// Any split in two: a random prefix of the shuffled servers against the rest.
    case split
    /// One server cut off from everyone; `label` names it in the trace.
    case isolate(server: Int, label: String)
    /// One server sees both halves, which cannot see each other.
    case bridge
    /// Some links carry traffic one way only.
    case asymmetric
    /// Clog a few servers one by one, then unclog them in another order.
    case swizzleClog
}

/// A clog or unclog the nemesis schedules, `after` microseconds from now.
struct ClogStep: Sendable, Hashable {
    var server: Int
    var clogged: Bool
    var after: UInt64
}

extension SimulatedNetwork {
    /// Cuts links in `shape`, with `order` a shuffle of the servers; returns
    /// the trace line and the clog steps to schedule (swizzle only).
    mutating func apply(_ shape: PartitionShape, order: [Int], random: inout SeededGenerator) -> (description: String, clogs: [ClogStep]) {
        let count = serverCount
        switch shape {
        case .split:
            let size = 1 + Int(random.next() % UInt64(count - 1))
            partition(Array(order.prefix(size)))
            return ("partition \(order.prefix(size)) | rest", [])
        case .isolate(let server, let label):
            partition([server])
            return ("partition isolate \(label) n\(server)", [])
        case .bridge:
            let bridge = order[0]
            let rest = Array(order.dropFirst())
            let left = Array(rest.prefix(rest.count / 2))
            for a in left { for b in rest where !left.contains(b) { block(from: a, to: b); block(from: b, to: a) } }
            return ("partition bridge n\(bridge) between \(left) and the rest", [])
        case .asymmetric:
            let links = 1 + Int(random.next() % UInt64(count))
            for _ in 0..<links {
                let from = 1 + Int(random.next() % UInt64(count))
                let to = 1 + Int(random.next() % UInt64(count))
                block(from: from, to: to)
            }
            return ("partition asymmetric (\(links) one-way cuts)", [])
        case .swizzleClog:
            let victims = Array(order.prefix(1 + Int(random.next() % UInt64(count))))
            var steps: [ClogStep] = []
            var at: UInt64 = 0
            for victim in victims {
                at += 1 + random.next() % 100_000
                steps.append(ClogStep(server: victim, clogged: true, after: at))
            }
            var unclogOrder = victims
            shuffleServers(&unclogOrder, random: &random)
            for victim in unclogOrder {
                at += 1 + random.next() % 200_000
                steps.append(ClogStep(server: victim, clogged: false, after: at))
            }
            return ("partition swizzle-clog \(victims)", steps)
        }
    }
}

/// Fisher–Yates with the simulator's own draws (not the standard library's
/// `shuffle(using:)`, whose draws may change between releases), so a seed
/// replays the same partitions forever.
func shuffleServers(_ array: inout [Int], random: inout SeededGenerator) {
    guard array.count > 1 else { return }
    for index in stride(from: array.count - 1, to: 0, by: -1) {
        array.swapAt(index, Int(random.next() % UInt64(index + 1)))
    }
}
