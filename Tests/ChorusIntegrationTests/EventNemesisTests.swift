import ChorusAPI
import ChorusCheck
import ChorusClient
import ChorusCore
import ChorusLocalCluster
import Foundation
import Synchronization
import Testing

extension RealProcessTests {
    /// The event store under a nemesis, on real processes (issue 10): six
    /// appenders share three streams, each appending at the revision it last
    /// saw (and learning the actual one from a conflict), retrying through
    /// the client with the same event ids; two readers read whole streams
    /// linearizably; meanwhile the leader is SIGKILLed and restarted and a
    /// follower is paused (SIGSTOP) and resumed. Every operation goes into an
    /// `EventStoreHistory`, and `EventStoreChecker` must find every property
    /// valid: no acknowledged append lost, no phantom, gap-free revisions and
    /// `$all`, retries applied at most once, expected versions linearizable.
    @Suite struct EventNemesisTests {
        /// The operations of a run, with one instant counter for real-time order.
        final class Recorder: Sendable {
            let state = Mutex((operations: [ChorusCheck.EventStoreOperation](), instant: 0))

            func invoke() -> Int { state.withLock { $0.instant += 1; return $0.instant } }

            func complete(process: Int, stream: String, kind: ChorusCheck.EventStoreOperation.Kind, invokedAt: Int, completed: Bool) {
                state.withLock {
                    $0.instant += 1
                    $0.operations.append(ChorusCheck.EventStoreOperation(
                        process: ProcessID(rawValue: Int64(process)), stream: stream, kind: kind, invokedAt: invokedAt,
                        completedAt: completed ? $0.instant : nil))
                }
            }
        }

        static let streams = ["nemesis-0", "nemesis-1", "nemesis-2"]

        @Test func appendsAndReadsUnderLeaderKillsAndPausesPassTheEventChecker() async throws {
            try await ClusterHarness.withCluster(name: "event-nemesis") { harness in
                let recorder = Recorder()
                let endpoints = harness.cluster.httpURLs
                let stop = Date().addingTimeInterval(6)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for process in 0..<6 {
                        let client = try harness.loadClient(endpoints: endpoints)
                        group.addTask {
                            defer { client.shutdown() }
                            let stream = Self.streams[process % Self.streams.count]
                            // The last revision this appender knows (-1: no stream; nil: unknown, after an
                            // append whose outcome it never learned, so the next one expects `any`).
                            var known: Int64? = -1
                            var number = 0
                            while Date() < stop {
                                number += 1
                                let events = (0..<2).map { index in
                                    EventToAppend(type: "Tick", json: #"{"p":\#(process),"n":\#(number),"i":\#(index)}"#)
                                }
                                let expected: ChorusCheck.ExpectedState
                                let asked: ExpectedRevision
                                if let revision = known {
                                    (expected, asked) = revision < 0 ? (.noStream, .noStream) : (.exact(revision), .exactly(UInt64(revision)))
                                } else {
                                    (expected, asked) = (.any, .any)
                                }
                                let invokedAt = recorder.invoke()
                                let result: ChorusCheck.AppendResult
                                do {
                                    let appended = try await client.append(events, to: stream, expected: asked)
                                    result = .appended(
                                        revisions: (appended.firstRevision...appended.lastRevision).map { Int64($0) },
                                        positions: (appended.firstPosition...appended.lastPosition).map { Int64($0) })
                                    known = Int64(appended.lastRevision)
                                } catch ChorusClientError.api(let problem, _) where problem.code == .wrongExpectedVersion {
                                    let actual = problem.details["actualRevision"]?.int64Value ?? -1
                                    result = .wrongExpectedVersion(actual: actual)
                                    known = actual
                                } catch {
                                    result = .indeterminate  // it may or may not have been written
                                    known = nil
                                }
                                let completed = result != .indeterminate
                                recorder.complete(
                                    process: process, stream: stream, kind: .append(expected: expected, eventIDs: events.map(\.id), result: result),
                                    invokedAt: invokedAt, completed: completed)
                            }
                        }
                    }
                    for reader in 0..<2 {
                        let client = try harness.loadClient(endpoints: endpoints)
                        group.addTask {
                            defer { client.shutdown() }
                            var turn = 0
                            while Date() < stop {
                                turn += 1
                                let stream = Self.streams[(reader + turn) % Self.streams.count]
                                let invokedAt = recorder.invoke()
                                var observed: [ObservedEvent]?
                                do {
                                    let page = try await client.readStream(stream, limit: 4_096, consistency: .linearizable)
                                    observed = page.events.map {
                                        ObservedEvent(id: $0.id, stream: $0.stream, revision: Int64($0.revision), position: Int64($0.position))
                                    }
                                } catch ChorusClientError.api(let problem, _) where problem.code == .streamNotFound {
                                    observed = []
                                } catch {
                                    observed = nil
                                }
                                recorder.complete(
                                    process: 100 + reader, stream: stream,
                                    kind: .read(direction: .forwards, from: nil, limit: 4_096, linearizable: true, events: observed),
                                    invokedAt: invokedAt, completed: observed != nil)
                                try await Task.sleep(for: .milliseconds(50))
                            }
                        }
                    }
                    // The nemesis: kill the leader, bring it back; pause a follower, resume it.
                    group.addTask {
                        try await Task.sleep(for: .milliseconds(1_500))
                        let leader = try await harness.leader()
                        await harness.cluster.crash(leader.node)
                        try await Task.sleep(for: .milliseconds(1_200))
                        try harness.cluster.start(leader.node)
                        try await Task.sleep(for: .milliseconds(800))
                        let next = try await harness.leader()
                        let follower = harness.cluster.nodes.first { $0 != next.node }!
                        harness.cluster.pause(follower)
                        try await Task.sleep(for: .milliseconds(1_000))
                        harness.cluster.resume(follower)
                    }
                    try await group.waitForAll()
                }
                try await harness.heal()
                // A final linearizable read of every stream after the faults.
                let final = try harness.loadClient(endpoints: endpoints, operationTimeoutMilliseconds: 15_000)
                defer { final.shutdown() }
                for stream in Self.streams {
                    let invokedAt = recorder.invoke()
                    let page = try await final.readStream(stream, limit: 4_096, consistency: .linearizable)
                    let observed = page.events.map {
                        ObservedEvent(id: $0.id, stream: $0.stream, revision: Int64($0.revision), position: Int64($0.position))
                    }
                    recorder.complete(
                        process: 200, stream: stream, kind: .read(direction: .forwards, from: nil, limit: 4_096, linearizable: true, events: observed),
                        invokedAt: invokedAt, completed: true)
                }
                let operations = recorder.state.withLock { $0.operations }
                let history = try EventStoreHistory(operations: operations)
                let result = try EventStoreChecker.check(history)
                let appends = operations.filter { if case .append(_, _, .appended) = $0.kind { true } else { false } }.count
                let conflicts = operations.filter { if case .append(_, _, .wrongExpectedVersion) = $0.kind { true } else { false } }.count
                let unknown = operations.filter { if case .append(_, _, .indeterminate) = $0.kind { true } else { false } }.count
                print("event nemesis: \(operations.count) operations, \(appends) appends acknowledged, \(conflicts) conflicts, \(unknown) indeterminate")
                #expect(appends > 20, "the workload did append")
                // The checker can fail on this very history: drop the last event from the final reads.
                var mutated = operations
                for index in mutated.indices.reversed().prefix(Self.streams.count) {
                    if case .read(let direction, let from, let limit, let linearizable, let events?) = mutated[index].kind, !events.isEmpty {
                        mutated[index].kind = .read(direction: direction, from: from, limit: limit, linearizable: linearizable, events: Array(events.dropLast()))
                    }
                }
                let lost = try EventStoreChecker.check(try EventStoreHistory(operations: mutated))
                #expect(lost.properties.contains { $0.name == EventStoreProperty.acknowledgedAppendsKept.rawValue && $0.verdict == .violated })
                for property in result.properties {
                    #expect(property.verdict == .satisfied, "\(property.name): \(property.verdict) \(property.violations.prefix(3)) \(property.note ?? "")")
                }
            }
        }
    }
}
