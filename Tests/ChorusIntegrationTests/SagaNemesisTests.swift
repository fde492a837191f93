import ChorusClient
import ChorusCore
import ChorusLocalCluster
import ChorusSagas
import ChorusShop
import Foundation
import NIOHTTP1
import Testing

extension RealProcessTests {
    /// Sagas on a real three-node cluster against the shop's participants
    /// running as a process of their own, while the leader is SIGKILLed
    /// twice: every saga must end completed or compensated (none stuck, none
    /// parked — the participants answer again once a leader is back), and the
    /// saga streams and the participants' ledger must pass `SagaChecker`
    /// (no key applied twice, compensations in reverse order of completion,
    /// no two holders of a lock), with every order charged at most once and
    /// every compensated order refunded exactly when it was charged.
    @Suite struct SagaNemesisTests {
        static let sagaCount = 24

        @Test func sagasSurviveLeaderKillsAndEveryChargeIsAppliedOnce() async throws {
            guard let executable = ClusterHarness.executable else {
                print("skipping the saga nemesis test: no chorus executable next to the test bundle")
                return
            }
            let refused = Set((0..<Self.sagaCount).filter { $0 % 5 == 3 }.map { "o\($0)" })
            let declined = Set((0..<Self.sagaCount).filter { $0 % 7 == 5 }.map { "o\($0)" })
            let slow = Set((0..<Self.sagaCount).filter { $0 % 4 == 1 }.map { "o\($0)" })
            let shop = try ShopProcess(executable: executable, refused: refused, declined: declined, slow: slow)
            defer { shop.stop() }
            try await ClusterHarness.withCluster(name: "saga-nemesis") { harness in
                let client = harness.client
                for (service, url) in shop.urls { try await client.registerSagaParticipant(service, url: url) }
                try await client.defineSaga(ShopSaga.definition())
                // Start the sagas over about three seconds, killing the leader twice meanwhile.
                let starter = Task {
                    for index in 0..<Self.sagaCount {
                        let id = "o\(index)"
                        let input: JSONValue = ["orderId": .string(id), "sku": "tea", "quantity": 1, "amount": .integer(Int64(100 + index))]
                        var started = false
                        let deadline = ContinuousClock.now + .seconds(30)
                        while !started, ContinuousClock.now < deadline {
                            do {
                                _ = try await client.startSaga(ShopSaga.name, id: id, input: input)
                                started = true
                            } catch {
                                try await Task.sleep(for: .milliseconds(100))  // a start is idempotent by id: try again
                            }
                        }
                        #expect(started, "saga \(id) could not be started")
                        try await Task.sleep(for: .milliseconds(120))
                    }
                }
                for _ in 0..<2 {
                    try await Task.sleep(for: .milliseconds(900))
                    let leader = try await harness.leader()
                    await harness.cluster.crash(leader.node)
                    _ = try await harness.leader(excluding: [leader.node])
                    try await Task.sleep(for: .milliseconds(400))
                    try harness.cluster.start(leader.node)
                }
                try await starter.value
                try await harness.heal()

                // Every saga ends; read each one's stream.
                var records: [SagaStreamRecord] = []
                var states: [String: String] = [:]
                for index in 0..<Self.sagaCount {
                    let id = "o\(index)"
                    let saga = try await client.waitForSaga(ShopSaga.name, id: id, states: ["completed", "compensated", "parked"], timeoutMilliseconds: 60_000)
                    states[id] = saga["state"]?.stringValue
                    var events: [SagaEvent] = []
                    for event in saga["events"]?.arrayValue ?? [] {
                        let encoded = SagaEncodedEvent(type: event["type"]?.stringValue ?? "", data: Array((event["data"] ?? .null).text.utf8))
                        events.append(try SagaEvent(decoding: encoded))
                    }
                    records.append(SagaStreamRecord(stream: SagaNames.stream(definition: ShopSaga.name, id: SagaID(id)), events: events))
                }
                let ledger = try await shop.ledger(client: client)
                let applications = ledger.map { ParticipantApplication(participant: $0.service, idempotencyKey: $0.key) }
                let result = SagaChecker.check(streams: records, applications: applications)
                #expect(result.violations.isEmpty, "\(result.violations.prefix(5))")
                for index in 0..<Self.sagaCount {
                    let id = "o\(index)"
                    func count(_ operation: String) -> Int { ledger.filter { $0.order == id && $0.operation == operation }.count }
                    let expected = refused.contains(id) || declined.contains(id) ? "compensated" : "completed"
                    #expect(states[id] == expected, "\(id) ended \(states[id] ?? "?"), expected \(expected)")
                    #expect(count("charge") <= 1, "\(id) charged \(count("charge")) times")
                    #expect(count("reserve") == 1, "\(id) reserved \(count("reserve")) times")
                    if expected == "compensated" {
                        #expect(count("refund") == count("charge"), "\(id): \(count("charge")) charges, \(count("refund")) refunds")
                        #expect(count("release") == 1, "\(id) released \(count("release")) times")
                        #expect(count("ship") == 0)
                    } else {
                        #expect(count("charge") == 1 && count("ship") == 1 && count("refund") == 0 && count("release") == 0, "\(id): \(ledger.filter { $0.order == id })")
                    }
                }
                // Every node lists every saga in its final state: followers from their own
                // (deferred) fold of the log, the leader from its decisions.
                for node in harness.cluster.nodes {
                    let deadline = ContinuousClock.now + .seconds(20)
                    var listed: [String: String] = [:]
                    while ContinuousClock.now < deadline {
                        let response = try await client.send(.GET, url: harness.cluster.httpURL(node) + "/v1/sagas?limit=1000", headers: [("Authorization", "Bearer \(harness.token)")])
                        listed = [:]
                        for saga in (try? JSONValue(parsing: response.body))?["sagas"]?.arrayValue ?? [] {
                            listed[saga["id"]?.stringValue ?? ""] = saga["state"]?.stringValue
                            #expect(saga["version"]?.int64Value == 1 && (saga["startedAt"]?.int64Value ?? 0) > 0, "n\(node): \(saga)")
                        }
                        if listed == states { break }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    #expect(listed == states, "n\(node) lists \(listed.count) sagas: \(listed.filter { states[$0.key] != $0.value })")
                }
                print("saga nemesis: \(Self.sagaCount) sagas, \(states.values.filter { $0 == "completed" }.count) completed, "
                    + "\(states.values.filter { $0 == "compensated" }.count) compensated, \(ledger.count) applications, 2 leader kills")
            }
        }
    }
}

/// `chorus shop` as a child process: started, its URLs read from its output, killed at the end.
final class ShopProcess: @unchecked Sendable {
    struct Application: Hashable, CustomStringConvertible {
        var service: String
        var operation: String
        var key: String
        var order: String
        var description: String { "\(service) \(operation) \(order) \(key)" }
    }

    let process = Process()
    private(set) var urls: [String: String] = [:]

    init(executable: String, refused: Set<String>, declined: Set<String>, slow: Set<String>) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["shop"]
            + refused.sorted().flatMap { ["--refuse-shipment", $0] } + declined.sorted().flatMap { ["--decline", $0] }
            + slow.sorted().flatMap { ["--slow-charge", $0] }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        let deadline = Date().addingTimeInterval(15)
        while !text.contains("ready\n"), Date() < deadline {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2 { urls[String(parts[0])] = String(parts[1]) }
        }
        guard urls.count == 3 else {
            stop()
            throw ShopError(description: "chorus shop did not start: \(text)")
        }
    }

    struct ShopError: Error, CustomStringConvertible { var description: String }

    /// Every application the three services recorded.
    func ledger(client: ChorusClient) async throws -> [Application] {
        var applications: [Application] = []
        for (_, url) in urls.sorted(by: { $0.key < $1.key }) {
            let response = try await client.send(.GET, url: url + "/ledger")
            let json = try JSONValue(parsing: response.body)
            for entry in json["entries"]?.arrayValue ?? [] {
                applications.append(Application(
                    service: entry["service"]?.stringValue ?? "", operation: entry["operation"]?.stringValue ?? "",
                    key: entry["idempotencyKey"]?.stringValue ?? "", order: entry["orderId"]?.stringValue ?? ""))
            }
        }
        return applications
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
