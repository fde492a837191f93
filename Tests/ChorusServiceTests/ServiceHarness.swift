import ChorusTesting
import ChorusCore
import ChorusEventStore
import ChorusLocalCluster
import ChorusRaft
import Foundation
import Logging
import MetricsTestKit
import NIOPosix
import ServiceLifecycle
import Synchronization
import Testing

@testable import ChorusNode
@testable import ChorusService

/// A real single-node `ChorusNode` in this process (a one-voter cluster on a
/// free port and a temporary directory), the service layer over it, and its
/// long-running parts running, for one test.
struct ServiceHarness: Sendable {
    let node: ChorusNode
    let service: ChorusService
    let metrics: TestMetrics
    let clock: TestClock

    /// A wall clock the test sets.
    final class TestClock: Sendable {
        let microseconds = Mutex<Int64>(1_700_000_000_000_000)
        var wallClock: WallClock { WallClock { [self] in RecordedTime(microsecondsSinceEpoch: self.microseconds.withLock { $0 }) } }
        func advance(seconds: Int64) { microseconds.withLock { $0 += seconds * 1_000_000 } }
        var now: RecordedTime { RecordedTime(microsecondsSinceEpoch: microseconds.withLock { $0 }) }
    }

    static func options(clock: TestClock, metrics: TestMetrics) -> EventServiceOptions {
        var options = EventServiceOptions()
        options.wallClock = clock.wallClock
        options.metricsFactory = metrics
        options.idleClockIntervalMilliseconds = 200
        options.groupTickMilliseconds = 20
        options.groupReconcileMilliseconds = 200
        options.subscriptionCheckpointIntervalMilliseconds = 100
        options.subscriptionHeartbeatIntervalMilliseconds = 300
        return options
    }

    /// A single-node cluster on a free port (`SingleNode`), with short write and catch-up waits.
    static func startNode(directory: String, logger: Logger) async throws -> ChorusNode {
        try await SingleNode.start(directory: directory, logger: logger) { configuration in
            configuration.writeTimeoutMilliseconds = 2_000
            configuration.sequentialWaitMilliseconds = 200
        }.0
    }

    /// Runs `body` against a fresh node; `configure` adjusts the event options.
    static func run(
        runsBackgroundServices: Bool = true, configure: (inout EventServiceOptions) -> Void = { _ in },
        _ body: (ServiceHarness) async throws -> Void
    ) async throws {
        let directory = NSTemporaryDirectory() + "chorus-service-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let node = try await startNode(directory: directory, logger: logger)
        let clock = TestClock()
        let metrics = TestMetrics()
        var options = Self.options(clock: clock, metrics: metrics)
        configure(&options)
        let service = ChorusService(node: node, eventOptions: options)
        let harness = ServiceHarness(node: node, service: service, metrics: metrics, clock: clock)
        let background = Task {
            guard runsBackgroundServices else { return }
            await withDiscardingTaskGroup { group in
                for part in service.eventStore.services { group.addTask { try? await part.run() } }
            }
        }
        do {
            try await harness.waitForLeadership()
            try await body(harness)
        } catch {
            background.cancel()
            await background.value
            await node.shutdown()
            throw error
        }
        background.cancel()
        await background.value
        await node.shutdown()
    }

    func waitForLeadership() async throws {
        // Generous: with the whole package's tests on two cores an election can take seconds.
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if try await node.status().role == .leader { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("the single node did not elect itself")
    }

    // MARK: Shorthands

    static func event(_ type: String = "Happened", _ json: String = "{}", id: EventID? = nil) -> EventDraft {
        EventDraft(id: id, type: type, data: Array(json.utf8))
    }

    static func ids(_ count: Int, seed: UInt64) -> [EventID] {
        (0..<UInt64(count)).map { EventID(high: seed, low: $0 + 1) }
    }

    @discardableResult
    func append(_ stream: StreamName, _ events: [EventDraft], expected: ExpectedState = .any) async throws(ServiceError)
        -> AppendResponse
    {
        try await service.append(AppendRequest(stream: stream, expected: expected, events: events), caller: .anonymous)
    }

    /// The error `operation` throws, or a recorded issue if it succeeds.
    func refusal<Value>(_ operation: () async throws(ServiceError) -> Value, sourceLocation: SourceLocation = #_sourceLocation)
        async -> ServiceError?
    {
        do {
            let value = try await operation()
            Issue.record("expected a refusal, got \(value)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    func counter(_ label: String) -> Int64 { metrics.counterTotal(label: label) }
}

/// Collects messages from a subscription until `stop` says so (or a bound on
/// messages), failing the test if that takes longer than `seconds`.
func collect(
    _ iterator: inout EventSubscription.Iterator, seconds: Double = 60, maximumMessages: Int = 100_000,
    until stop: ([SubscriptionMessage]) -> Bool
) async throws -> [SubscriptionMessage] {
    var messages: [SubscriptionMessage] = []
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1_000))
    while !stop(messages), messages.count < maximumMessages {
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out after \(messages.count) messages")
            return messages
        }
        guard let message = try await iterator.next() else { break }
        messages.append(message)
    }
    return messages
}

extension Collection<SubscriptionMessage> {
    var events: [RecordedEvent] {
        compactMap { if case .event(let event) = $0 { event } else { nil } }
    }
}
