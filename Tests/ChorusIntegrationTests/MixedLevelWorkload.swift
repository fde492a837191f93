import ChorusAPI
import ChorusCheck
import ChorusClient
import ChorusCore
import ChorusLab
import ChorusLocalCluster
import Foundation
import NIOHTTP1
import Testing

/// The clients of the mixed-level nemesis test (issue 13, "Proof"), each
/// recording what it did into one `KeyValueRecorder`:
///
/// | client | keys | does |
/// |---|---|---|
/// | session | `s/0`…`s/3` | writes and `session` reads, its own `ChorusClient` (so its own token) |
/// | writer | `b/…` (three), `p/…` (one) | writes through the leader (unique values) |
/// | staleness reader, one per node | `b/…` | `bounded-staleness` reads with `max-versions=K` or `max-lag=T` |
/// | prefix reader, one per node | `p/…` | paged range reads at `consistent-prefix` (raw HTTP: the client has no range call) |
///
/// Every write writes a value no other write writes, so a read names the
/// write it saw. Readers are pinned to one node each so followers serve
/// their levels too, not just the leader.
enum MixedLevelWorkload {
    /// The groups a recorded operation belongs to: which checker judges it.
    enum Group: String, CaseIterable {
        case session
        case writer
        case versionBound = "bounded-staleness (K)"
        case lagBound = "bounded-staleness (T)"
        case prefix = "consistent-prefix"
    }

    static let sessionCount = 3
    static let writerCount = 4
    /// Writers below this number write the staleness keys, the others the prefix keys.
    static let stalenessWriterCount = 3
    static let sessionKeys = (0..<4).map { "s/\($0)" }
    static let stalenessPrefix = "b/"
    static let stalenessKeys = (0..<3).map { "\(stalenessPrefix)\($0)" }
    static let prefix = "p/"
    static let prefixKeys = (0..<10).map { "\(prefix)\($0)" }
    /// K of the version-bounded reads: the read may miss at most this many
    /// newer versions. 1 is the tightest bound the API accepts.
    static let maximumVersions: UInt64 = 1
    /// T of the time-bounded reads, in milliseconds.
    static let maximumLagMilliseconds: UInt64 = 100
    /// A range page's size: small, so a scan of the prefix takes several pages.
    static let rangeLimit = 4
    /// The most pages one scan reads (10 keys at 4 a page take 3).
    static let rangePagesMaximum = 4
    /// Process numbers per group, apart, so no two clients share one (a
    /// staleness reader is one client recording into both bounded groups).
    static let processBase: [Group: Int] = [.session: 0, .writer: 10, .versionBound: 20, .lagBound: 20, .prefix: 40]
    /// After a failed attempt a pinned reader waits this long: its node may be down.
    static let failurePauseMilliseconds = 20

    // MARK: Session clients

    /// Writes and `session` reads of the shared session keys. By default the
    /// client's endpoints start at another node per session, so its reads
    /// are served by a follower at first, and by whichever node answers
    /// after a fault; `endpoints` pins them (writes are redirected to the leader).
    static func runSession(
        _ number: Int, harness: ClusterHarness, recorder: KeyValueRecorder, until deadline: ContinuousClock.Instant,
        endpoints: [String]? = nil
    ) async throws {
        let urls = harness.cluster.httpURLs
        let first = number % urls.count
        let client = try harness.loadClient(endpoints: endpoints ?? Array(urls[first...] + urls[..<first]))
        defer { client.shutdown() }
        var random = SeededGenerator(seed: UInt64(number) &* 104_729 &+ 3)
        let process = processBase[.session]! + number
        let session = "session-\(number)"
        var sequence = 0
        while ContinuousClock.now < deadline {
            sequence += 1
            let key = sessionKeys[Int(random.next() % UInt64(sessionKeys.count))]
            if random.next() % 2 == 0 {
                let unique = "s\(number)-\(sequence)"
                let handle = recorder.invoke(
                    group: Group.session.rawValue, process: process, session: session, function: .write, key: key,
                    value: .string(unique))
                do {
                    let version = try await client.put(key, Array(unique.utf8))
                    recorder.complete(handle, outcome: .ok, version: Int64(version))
                } catch {
                    recorder.complete(handle, outcome: .info)
                }
            } else {
                let handle = recorder.invoke(
                    group: Group.session.rawValue, process: process, session: session, function: .read, key: key)
                do {
                    let read = try await client.get(key, consistency: .session)
                    recorder.complete(handle, read: read)
                } catch {
                    recorder.complete(handle, outcome: .fail)
                }
            }
        }
    }

    // MARK: Writers

    /// Writes the staleness keys (or, past `stalenessWriterCount`, the prefix
    /// keys) with unique values, through any node. Several writers on three
    /// keys keep the log moving fast enough for followers to lag behind it.
    static func runWriter(_ number: Int, harness: ClusterHarness, recorder: KeyValueRecorder, until deadline: ContinuousClock.Instant)
        async throws
    {
        let client = try harness.loadClient(endpoints: harness.cluster.httpURLs)
        defer { client.shutdown() }
        var random = SeededGenerator(seed: UInt64(number) &* 7_727 &+ 11)
        let keys = number < stalenessWriterCount ? stalenessKeys : prefixKeys
        var sequence = 0
        while ContinuousClock.now < deadline {
            sequence += 1
            let key = keys[Int(random.next() % UInt64(keys.count))]
            let unique = "w\(number)-\(sequence)"
            let handle = recorder.invoke(
                group: Group.writer.rawValue, process: processBase[.writer]! + number, function: .write, key: key,
                value: .string(unique))
            do {
                let version = try await client.put(key, Array(unique.utf8))
                recorder.complete(handle, outcome: .ok, version: Int64(version))
            } catch {
                recorder.complete(handle, outcome: .info)
            }
        }
    }

    // MARK: Bounded-staleness readers

    /// Reads the staleness keys from one node, alternately with `max-versions=K`
    /// and with `max-lag=T` (recorded in separate groups: each is checked
    /// against its own bound).
    static func runStalenessReader(
        node: Int, harness: ClusterHarness, recorder: KeyValueRecorder, until deadline: ContinuousClock.Instant,
        operationTimeoutMilliseconds: Int = 2_000
    ) async throws {
        let client = try harness.loadClient(
            endpoints: [harness.cluster.httpURL(node)], operationTimeoutMilliseconds: operationTimeoutMilliseconds,
            requestTimeoutMilliseconds: min(1_000, operationTimeoutMilliseconds))
        defer { client.shutdown() }
        var random = SeededGenerator(seed: UInt64(node) &* 15_485_863 &+ 5)
        var byVersions = node % 2 == 0
        while ContinuousClock.now < deadline {
            byVersions.toggle()
            let key = stalenessKeys[Int(random.next() % UInt64(stalenessKeys.count))]
            let group = byVersions ? Group.versionBound : Group.lagBound
            let handle = recorder.invoke(group: group.rawValue, process: processBase[group]! + node, function: .read, key: key)
            do {
                let read = try await client.get(
                    key, consistency: .boundedStaleness, maximumVersions: byVersions ? maximumVersions : nil,
                    maximumLagMilliseconds: byVersions ? nil : maximumLagMilliseconds)
                recorder.complete(handle, read: read)
            } catch {
                recorder.complete(handle, outcome: .fail)
                try await Task.sleep(for: .milliseconds(failurePauseMilliseconds))
            }
        }
    }

    // MARK: Consistent-prefix range readers

    /// Scans the prefix keys on one node, page by page at `consistent-prefix`;
    /// each page is one range read (served at its own applied state), and
    /// must name the level and the node in its headers.
    static func runPrefixReader(node: Int, harness: ClusterHarness, recorder: KeyValueRecorder, until deadline: ContinuousClock.Instant)
        async throws
    {
        let base = harness.cluster.httpURL(node)
        let client = try harness.loadClient(endpoints: [base], operationTimeoutMilliseconds: 1_000)
        defer { client.shutdown() }
        let process = processBase[.prefix]! + node
        while ContinuousClock.now < deadline {
            var after: String?
            for _ in 0..<rangePagesMaximum {
                let url = RangePage.url(
                    base: base, prefix: prefix, limit: rangeLimit, after: after, query: "consistency=consistent-prefix")
                let handle = recorder.invoke(
                    group: Group.prefix.rawValue, process: process, function: .rangeRead, key: prefix, rangeStartAfter: after)
                let response: ChorusResponse
                do {
                    response = try await client.send(.GET, url: url)
                } catch {
                    recorder.complete(handle, outcome: .fail)
                    try await Task.sleep(for: .milliseconds(failurePauseMilliseconds))
                    break
                }
                guard response.status == 200 else {
                    recorder.complete(handle, outcome: .fail)
                    try await Task.sleep(for: .milliseconds(failurePauseMilliseconds))
                    break
                }
                let page = try parsePage(response, node: node)
                recorder.complete(handle, outcome: .ok, range: page.result(limit: rangeLimit))
                guard let continuation = page.continuation else { break }
                after = continuation
            }
        }
    }

    /// A range page; its headers must name the level asked for and the node asked.
    static func parsePage(_ response: ChorusResponse, node: Int) throws -> RangePage {
        let page = try RangePage(parsing: response)
        #expect(page.consistency == ConsistencyLevel.consistentPrefix.rawValue)
        #expect(page.servedBy == "\(node)")
        return page
    }
}
