import ChorusTesting
import ChorusCore
import ChorusEventStore
import ChorusLocalCluster
import ChorusRaft
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

@testable import ChorusHTTP
@testable import ChorusNode
@testable import ChorusService

/// The event-store routes over a real single-node `ChorusNode` in this
/// process, through HummingbirdTesting (`.router` for plain requests, `.live`
/// for server-sent events read by `ServerSentEventsReader`).
struct EventRoutesHarness: Sendable {
    let node: ChorusNode
    let service: ChorusService

    /// A single-node cluster on a free port (`SingleNode`), with short write and catch-up waits.
    static func startNode(directory: String, logger: Logger) async throws -> ChorusNode {
        try await SingleNode.start(directory: directory, logger: logger) { configuration in
            configuration.writeTimeoutMilliseconds = 2_000
            configuration.sequentialWaitMilliseconds = 200
        }.0
    }

    static func run(
        _ setup: TestingSetup = .router, authorization: ServiceAuthorization = .disabled,
        configure: (inout HTTPAPIConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (EventRoutesHarness, any TestClientProtocol) async throws -> Void
    ) async throws {
        let directory = NSTemporaryDirectory() + "chorus-http-events-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let node = try await startNode(directory: directory, logger: logger)
        var api = HTTPAPIConfiguration(host: "127.0.0.1", port: 0)
        api.eventOptions.groupTickMilliseconds = 20
        api.eventOptions.groupReconcileMilliseconds = 200
        api.eventOptions.subscriptionHeartbeatIntervalMilliseconds = 300
        api.eventOptions.subscriptionCheckpointIntervalMilliseconds = 100
        configure(&api)
        let service = ChorusService(node: node, eventOptions: api.eventOptions, authorization: authorization)
        let harness = EventRoutesHarness(node: node, service: service)
        let application = ChorusHTTPServer.makeApplication(service: service, configuration: api, logger: logger)
        do {
            let deadline = ContinuousClock.now + .seconds(10)
            while try await node.status().role != .leader, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            try await application.test(setup) { client in try await body(harness, client) }
        } catch {
            await node.shutdown()
            throw error
        }
        await node.shutdown()
    }
}

extension TestClientProtocol {
    /// A request with a JSON (or any text) body.
    func send(_ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], body: String? = nil) async throws
        -> TestResponse
    {
        try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body as JSON (a recorded issue if it is not).
    var json: JSONValue {
        do { return try JSONValue(parsing: Array(body.readableBytesView)) } catch {
            Issue.record("not JSON: \(text)")
            return .null
        }
    }

    /// The error code of an error body.
    var errorCode: String? { json["error"]?["code"]?.stringValue }

    func header(_ name: String) -> String? { headers[HTTPField.Name(name)!] }
}

/// One server-sent-events message, or a comment (`comment` set).
struct ServerSentMessage: Sendable, Hashable {
    var event: String?
    var id: String?
    var data: String?
    var comment: String?

    var json: JSONValue? { data.flatMap { try? JSONValue(parsing: $0) } }
}

/// A minimal HTTP/1.1 reader of one server-sent-events response, over NIO.
/// The connection closes after `timeoutSeconds` whatever happens, so a
/// server that stops sending ends the read (and fails the test) instead of hanging it.
struct ServerSentEventsReader {
    var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    var head: HTTPResponseHead?
    var pending: [UInt8] = []
    var ended = false

    /// The response status (after `open` read the head).
    var status: Int { Int(head?.status.code ?? 0) }

    static func withStream<Result: Sendable>(
        port: Int, path: String, headers: [(String, String)] = [], timeoutSeconds: Int64 = 15,
        _ body: (inout ServerSentEventsReader) async throws -> Result
    ) async throws -> Result {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        let timeout = channel.channel.eventLoop.scheduleTask(in: .seconds(timeoutSeconds)) { channel.channel.close(promise: nil) }
        defer { timeout.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
            head.headers.add(name: "Host", value: "127.0.0.1")
            head.headers.add(name: "Accept", value: "text/event-stream")
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            try await outbound.write(.head(head))
            try await outbound.write(.end(nil))
            var reader = ServerSentEventsReader(inbound: inbound.makeAsyncIterator())
            try await reader.readHead()
            return try await body(&reader)
        }
    }

    mutating func readHead() async throws {
        while head == nil, let part = try await inbound.next() {
            if case .head(let received) = part { head = received }
        }
    }

    /// The whole remaining body as text (for error responses).
    mutating func remainingBody() async throws -> String {
        while !ended, let part = try await inbound.next() {
            switch part {
            case .body(let buffer): pending += Array(buffer.readableBytesView)
            case .end: ended = true
            case .head: break
            }
        }
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }

    /// The next message, or nil when the stream ends.
    mutating func next() async throws -> ServerSentMessage? {
        while true {
            if let message = takeMessage() { return message }
            guard !ended, let part = try await inbound.next() else { return nil }
            switch part {
            case .body(let buffer): pending += Array(buffer.readableBytesView)
            case .end: ended = true
            case .head: break
            }
        }
    }

    /// Messages until `stop` holds of them (or the stream ends).
    mutating func collect(until stop: ([ServerSentMessage]) -> Bool) async throws -> [ServerSentMessage] {
        var messages: [ServerSentMessage] = []
        while !stop(messages), let message = try await next() { messages.append(message) }
        return messages
    }

    private mutating func takeMessage() -> ServerSentMessage? {
        guard let end = pending.firstRange(of: [0x0A, 0x0A]) else { return nil }
        let block = String(decoding: pending[..<end.lowerBound], as: UTF8.self)
        pending.removeSubrange(..<end.upperBound)
        var message = ServerSentMessage()
        for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(": ") {
                message.comment = String(line.dropFirst(2))
            } else if let colon = line.firstIndex(of: ":") {
                let value = String(line[line.index(after: colon)...].drop { $0 == " " })
                switch line[..<colon] {
                case "event": message.event = value
                case "id": message.id = value
                case "data": message.data = (message.data.map { $0 + "\n" } ?? "") + value
                default: break
                }
            }
        }
        return message
    }
}

extension [ServerSentMessage] {
    var events: [JSONValue] { filter { $0.event == "event" }.compactMap(\.json) }
    var positions: [Int64] { events.compactMap { $0["position"]?.int64Value } }
}

/// A value shared between a test and the tasks it starts.
final class Shared<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value { storage.withLock { $0 } }
    func update(_ change: (inout Value) -> Void) { storage.withLock { change(&$0) } }
}
