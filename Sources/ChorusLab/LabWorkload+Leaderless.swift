import ChorusCheck
import ChorusClient
import ChorusCore
import NIOHTTP1

/// The leaderless levels' load: the same clients and writers, on the
/// leaderless keyspace `LabConfiguration.leaderlessKeyspace`, with the
/// level's R and W on every request.
///
/// A leaderless keyspace orders a key's writes only by causality, so each key
/// has one writer (writer j owns the keys whose index is j modulo the
/// writers) writing it one write after another, each with the context of
/// its previous one: its writes are totally ordered, and the k-th write of a
/// key is its version k (the value names it, `w<j>-<k>`), which is what the
/// staleness checker counts versions behind by. Clients only read (there is
/// no session to check: a leaderless level promises none).
extension LabWorkload {
    func leaderlessURL(_ base: String, key: String) -> String {
        let (read, write) = level.leaderlessQuorums ?? (1, 1)
        return base + "/v1/kv/\(LabConfiguration.leaderlessKeyspace)/\(ChorusClient.encodePathSegment(key))?r=\(read)&w=\(write)"
    }

    func runLeaderlessReader(_ number: Int, client: ChorusClient, node: String, until deadline: ContinuousClock.Instant) async throws {
        var random = SeededGenerator(seed: UInt64(number) &* 104_729 &+ 17)
        while mayContinue(until: deadline) {
            let key = self.key(Int(random.next() % UInt64(LabConfiguration.keyCount)))
            let handle = recorder.invoke(group: level.rawValue, process: number, session: "client-\(number)", function: .read, key: key)
            let answer = try? await client.send(.GET, url: leaderlessURL(node, key: key))
            switch answer?.status {
            case 200?:
                let text = answer?.bodyText ?? ""
                recorder.complete(handle, outcome: .ok, value: .string(text), version: Self.version(of: text))
            case 404?:
                recorder.complete(handle, outcome: .ok, value: .null)
            default:
                // A timeout, or siblings (300: a write whose context missed its predecessor) — not a read of one version.
                recorder.complete(handle, outcome: .fail)
                try await Task.sleep(for: .milliseconds(Self.failurePauseMilliseconds))
            }
        }
    }

    func runLeaderlessWriter(_ number: Int, client: ChorusClient, until deadline: ContinuousClock.Instant) async throws {
        let owned = (0..<LabConfiguration.keyCount).filter { $0 % LabConfiguration.writerCount == number }
        var versions: [Int: Int64] = [:]
        var contexts: [Int: String] = [:]
        var random = SeededGenerator(seed: UInt64(number) &* 7_727 &+ 11)
        let process = Self.writerProcessBase + number
        while mayContinue(until: deadline), !owned.isEmpty {
            let index = owned[Int(random.next() % UInt64(owned.count))]
            let key = self.key(index)
            let version = (versions[index] ?? 0) + 1
            versions[index] = version
            let value = "w\(number)-\(version)"
            let handle = recorder.invoke(
                group: level.rawValue, process: process, session: "writer-\(number)", function: .write, key: key, value: .string(value))
            let headers = contexts[index].map { [("X-Chorus-Context", $0)] } ?? []
            // Each key's writes go through one node, the one its writer started on.
            let answer = try? await client.send(.PUT, url: leaderlessURL(urls[number % urls.count], key: key), headers: headers, body: Array(value.utf8))
            if answer?.status == 200, let context = answer?.headers.first(name: "X-Chorus-Context") {
                contexts[index] = context
                recorder.complete(handle, outcome: .ok, version: version)
            } else {
                // It may have been stored: its outcome is unknown, and the next write supersedes it blind.
                contexts[index] = nil
                recorder.complete(handle, outcome: .info)
            }
        }
    }

    /// The version a value names (`w<j>-<k>` → k).
    static func version(of value: String) -> Int64? {
        guard let dash = value.lastIndex(of: "-") else { return nil }
        return Int64(value[value.index(after: dash)...])
    }
}
