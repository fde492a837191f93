import ArgumentParser
import ChorusCore
import ChorusLocalCluster
import ChorusNode
import ChorusRaft
import ChorusSagas
import ChorusService
import Foundation
import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization

/// `chorus bench sagas`: the figure of issue 12 — durable saga state
/// transitions per second on a three-node cluster (three `ChorusNode`s in
/// this process, Raft over TCP on 127.0.0.1, each with its own fsynced log),
/// a three-step saga whose participant answers at once (an in-process
/// closure), `--concurrency` sagas in flight, closed loop.
///
/// A **transition** is one decision appended to a saga's stream at its
/// expected revision and committed on a majority (each is durable before
/// any effect follows): a three-step saga makes four — started (with the
/// first call scheduled), then one per step answer, the last ending it. The
/// PostgreSQL peer (`Scripts/peers/postgres-sagas.sh`) counts five per saga
/// (insert, three steps, completion), so sagas per second is the like-for-like
/// figure; `Scripts/bench-sagas.sh` prints both and the ratio of sagas/s.
struct SagasBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sagas", abstract: "Durable saga transitions per second on an in-process three-node cluster.")

    @Option(help: "Seconds to measure (after a one-second warm-up).") var seconds: Int = 10
    @Option(help: "Sagas in flight at once.") var concurrency: Int = 64

    func validate() throws {
        guard (1...600).contains(seconds) else { throw ValidationError("--seconds must be in 1...600") }
        guard (1...4_096).contains(concurrency) else { throw ValidationError("--concurrency must be in 1...4096") }
    }

    static let definition = """
        {"name": "bench", "version": 1, "steps": [
          {"id": "reserve", "action": {"participant": "echo", "method": "POST", "path": "/reserve"},
           "compensation": {"participant": "echo", "method": "POST", "path": "/release"}},
          {"id": "charge", "kind": "pivot", "action": {"participant": "echo", "method": "POST", "path": "/charge"}},
          {"id": "ship", "kind": "retriable", "action": {"participant": "echo", "method": "POST", "path": "/ship"}}
        ]}
        """

    func run() async throws {
        let directory = NSTemporaryDirectory() + "chorus-bench-sagas-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let ports = LocalCluster.freePorts(3)
        guard ports.count == 3 else { throw ValidationError("no free ports") }
        let members = (0..<3).map { PeerAddress(id: NodeID(UInt64($0 + 1)), address: NetworkAddress(host: "127.0.0.1", port: ports[$0])) }
        var options = SagasRuntime.Options()
        options.localParticipants = ["echo": SagaLocalParticipant { _ in .succeeded(result: ["ok": true]) }]
        options.leadershipPollMilliseconds = 10
        var nodes: [ChorusNode] = []
        var services: [ChorusService] = []
        var tasks: [Task<Void, any Error>] = []
        for member in members {
            var configuration = NodeConfiguration(
                nodeID: member.id, members: members, peerListenAddress: member.address, advertisedHTTPURL: "http://127.0.0.1:1",
                dataDirectory: directory + "/n\(member.id.rawValue)")
            configuration.writeTimeoutMilliseconds = 30_000
            let node = try await ChorusNode.start(
                configuration: configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
            let service = ChorusService(node: node, sagaOptions: options)
            nodes.append(node)
            services.append(service)
            for part in service.sagaServices { tasks.append(Task { try await part.run() }) }
        }
        do {
            try await measure(services: services)
        } catch {
            for task in tasks { task.cancel() }
            for node in nodes { await node.shutdown() }
            throw error
        }
        for task in tasks { task.cancel() }
        for node in nodes { await node.shutdown() }
    }

    func measure(services: [ChorusService]) async throws {
        // The service whose saga engine leads.
        var leader: ChorusService?
        let deadline = ContinuousClock.now + .seconds(30)
        while leader == nil, ContinuousClock.now < deadline {
            for service in services where await service.sagas.isLeading { leader = service }
            if leader == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        guard let leader else { throw ValidationError("no node led within 30 s") }
        _ = try await leader.registerSagaDefinition(Array(Self.definition.utf8), caller: .anonymous)

        let run = BenchmarkRun()
        let clock = ContinuousClock()
        let concurrency = concurrency
        let runner = Task {
            await withTaskGroup(of: Void.self) { group in
                for client in 0..<concurrency {
                    group.addTask {
                        var number = 0
                        while !run.stop.load(ordering: .relaxed) {
                            number += 1
                            let id = SagaID("c\(client)-\(number)")
                            let started = clock.now
                            do {
                                let response = try await leader.startSaga(
                                    SagaStartRequest(definition: "bench", id: id, input: .object(JSONObject())), caller: .anonymous)
                                let summary = await leader.sagas.waitForEnd(of: response.stream)
                                let elapsed = clock.now - started
                                let milliseconds = Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15
                                guard run.measuring.load(ordering: .relaxed) else { continue }
                                run.counters.withLock {
                                    if summary?.status == .completed {
                                        $0.sagas += 1
                                        $0.latencies.append(milliseconds)
                                    } else {
                                        $0.failures += 1
                                    }
                                }
                            } catch {
                                if run.measuring.load(ordering: .relaxed) { run.counters.withLock { $0.failures += 1 } }
                                try? await Task.sleep(for: .milliseconds(10))
                            }
                        }
                    }
                }
            }
        }
        try await Task.sleep(for: .seconds(1))
        run.measuring.store(true, ordering: .relaxed)
        let measuredFrom = clock.now
        try await Task.sleep(for: .seconds(seconds))
        run.measuring.store(false, ordering: .relaxed)
        let measured = clock.now - measuredFrom
        run.stop.store(true, ordering: .relaxed)
        await runner.value
        let result = run.counters.withLock { $0 }
        let elapsed = Double(measured.components.seconds) + Double(measured.components.attoseconds) / 1e18
        let sagasPerSecond = Double(result.sagas) / elapsed
        let latencies = result.latencies.sorted()
        func percentile(_ fraction: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * fraction))]
        }
        print(String(
            format: "chorus sagas concurrency=%d seconds=%d sagas=%d transitions=%d transitions_per_saga=4 sagas_per_second=%.1f transitions_per_second=%.1f saga_p50_ms=%.3f saga_p99_ms=%.3f failed=%d",
            concurrency, seconds, result.sagas, result.sagas * 4, sagasPerSecond, sagasPerSecond * 4, percentile(0.5), percentile(0.99),
            result.failures))
    }
}

/// The shared state of one run's clients.
final class BenchmarkRun: Sendable {
    let counters = Mutex((sagas: 0, failures: 0, latencies: [Double]()))
    let measuring = Atomic<Bool>(false)
    let stop = Atomic<Bool>(false)
}
