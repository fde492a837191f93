import ChorusCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The payment story's participants — inventory, payments and shipping —
/// as three HTTP services on 127.0.0.1, sharing one ledger: started by
/// `chorus demo` in its own process, by `chorus shop` as a process of their
/// own (the real-process tests kill the cluster's leader around them), and
/// by tests.
public final class Shop: Sendable {
    public let ledger: ShopLedger
    public let faults: ShopFaults
    /// The base URL of each service.
    public let urls: [ShopService: String]
    let tasks: [Task<Void, any Error>]

    init(ledger: ShopLedger, faults: ShopFaults, urls: [ShopService: String], tasks: [Task<Void, any Error>]) {
        self.ledger = ledger
        self.faults = faults
        self.urls = urls
        self.tasks = tasks
    }

    /// Starts the three services; `basePort` nil picks free ports, else
    /// inventory, payments and shipping listen on basePort, +1, +2.
    public static func start(faults: ShopFaults = ShopFaults(), host: String = "127.0.0.1", basePort: Int? = nil, logger: Logger? = nil)
        async throws -> Shop
    {
        let ledger = ShopLedger()
        var quiet = logger ?? Logger(label: "chorus.shop")
        if logger == nil { quiet.logLevel = .critical }
        var urls: [ShopService: String] = [:]
        var tasks: [Task<Void, any Error>] = []
        for (offset, service) in ShopService.allCases.enumerated() {
            let (stream, continuation) = AsyncStream<Int>.makeStream()
            let responder = CallbackResponder<BasicRequestContext> { request, _ in
                try await Self.respond(request, service: service, ledger: ledger, faults: faults)
            }
            let application = Application(
                responder: responder,
                configuration: ApplicationConfiguration(address: .hostname(host, port: basePort.map { $0 + offset } ?? 0), serverName: service.rawValue),
                onServerRunning: { channel in
                    continuation.yield(channel.localAddress?.port ?? 0)
                    continuation.finish()
                },
                logger: quiet)
            tasks.append(Task { try await application.runService(gracefulShutdownSignals: []) })
            var iterator = stream.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else {
                for task in tasks { task.cancel() }
                throw ShopError("the \(service.rawValue) service did not start on \(host):\(basePort.map { String($0 + offset) } ?? "a free port")")
            }
            urls[service] = "http://\(host):\(port)"
        }
        return Shop(ledger: ledger, faults: faults, urls: urls, tasks: tasks)
    }

    public func stop() async {
        for task in tasks { task.cancel() }
        for task in tasks { _ = try? await task.value }
    }

    static let maximumBodyBytes = 64 << 10

    static func respond(_ request: Request, service: ShopService, ledger: ShopLedger, faults: ShopFaults) async throws -> Response {
        let path = request.uri.path
        if request.method == .get && path == "/ledger" {
            let entries = ledger.entries.filter { $0.service == service }.map(\.json)
            return json(200, ["entries": .array(entries), "requests": .integer(Int64(ledger.requests(service)))])
        }
        guard let key = request.headers[HTTPField.Name("Idempotency-Key")!], !key.isEmpty else {
            return json(400, ShopService.error("missing_idempotency_key", "every request that changes something carries Idempotency-Key"))
        }
        if let stored = ledger.stored(service, key: key) { return json(stored.status, stored.body) }
        var request = request
        let bytes = Array(try await request.collectBody(upTo: maximumBodyBytes).readableBytesView)
        let body = bytes.isEmpty ? JSONValue.object(JSONObject()) : (try? JSONValue(parsing: bytes)) ?? .null
        guard body.objectValue != nil else { return json(400, ShopService.error("invalid_json", "the body must be a JSON object")) }
        let (entry, answer) = service.handle(
            method: request.method.rawValue, path: path, body: body, key: key, ledger: ledger, faults: faults)
        let recorded = ledger.record(entry, answer: answer, service: service, key: key)
        if service == .payments, entry?.operation == "charge", faults.slowFirstCharge.contains(entry?.orderID ?? "") {
            // Applied and recorded; the answer is held back past the saga's attempt timeout.
            try? await Task.sleep(for: .milliseconds(faults.slowReplyMilliseconds))
        }
        return json(recorded.status, recorded.body)
    }

    static func json(_ status: Int, _ body: JSONValue) -> Response {
        Response(
            status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body.text)))
    }
}

public struct ShopError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
