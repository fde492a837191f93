import ChorusAPI
import Hummingbird
import HummingbirdCore
import HTTPTypes
import Logging
import NIOCore
import Synchronization

/// A request as the scripted server received it.
struct ReceivedRequest: Sendable {
    var method: String
    /// Path and query.
    var uri: String
    /// Header names lowercased; the last value of a repeated header.
    var headers: [String: String]
    var body: [UInt8]

    func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// `X-Chorus-Idempotency` (`<client>.<sequence>`), and its two parts.
    var idempotencyHeader: String? { header(ChorusHeader.idempotency) }
    var clientHeader: String? { idempotencyHeader?.split(separator: ".").first.map(String.init) }
    var sequenceHeader: String? { idempotencyHeader?.split(separator: ".").last.map(String.init) }
}

/// What the scripted server answers, after an optional delay (cut short
/// when the test body ends: `.forever` never answers while the test runs).
struct ScriptedAnswer: Sendable {
    var status: Int
    var headers: [(String, String)] = []
    var body: [UInt8] = []
    var delay: Duration = .zero

    /// Longer than any test.
    static let forever = Duration.seconds(600)

    func delayed(_ delay: Duration) -> ScriptedAnswer {
        var answer = self
        answer.delay = delay
        return answer
    }

    static func ok(version: UInt64, index: UInt64? = nil) -> ScriptedAnswer {
        ScriptedAnswer(
            status: 200,
            headers: [(ChorusHeader.version, "\(version)"), (ChorusHeader.index, "\(index ?? version)")],
            body: Array("{\"version\":\(version),\"index\":\(version)}\n".utf8))
    }

    static func value(_ text: String, version: UInt64, index: UInt64) -> ScriptedAnswer {
        ScriptedAnswer(
            status: 200, headers: [(ChorusHeader.version, "\(version)"), (ChorusHeader.index, "\(index)")],
            body: Array(text.utf8))
    }

    /// An API error with its code's status, as `ChorusHTTP` renders it.
    static func problem(_ code: ErrorCode, headers: [(String, String)] = []) -> ScriptedAnswer {
        ScriptedAnswer(status: code.httpStatus, headers: headers, body: Array(APIProblem(code, "scripted").json.utf8))
    }

    /// An error body naming a code no release knows.
    static func unknownCode(_ code: String, status: Int) -> ScriptedAnswer {
        ScriptedAnswer(status: status, body: Array("{\"error\":{\"code\":\"\(code)\",\"message\":\"from the future\"}}".utf8))
    }

    static func redirect(to url: String) -> ScriptedAnswer {
        var answer = problem(.notLeader, headers: [("Location", url)])
        answer.status = 307
        return answer
    }
}

/// A tiny HTTP server whose answers a test scripts: the `n`th request
/// (from 0) gets `script(request, n)`. It records every request it received,
/// so a test can check what the client sent (sessions, indexes, tokens).
final class ScriptedServer: Sendable {
    let script: @Sendable (ReceivedRequest, Int) -> ScriptedAnswer
    private let received = Mutex<[ReceivedRequest]>([])
    /// Set when the test body is done: delayed answers go out at once, so
    /// the server's graceful shutdown never waits for a scripted delay.
    private let released = Mutex(false)

    init(_ script: @escaping @Sendable (ReceivedRequest, Int) -> ScriptedAnswer) { self.script = script }

    /// Answers everything with `answer`.
    convenience init(always answer: ScriptedAnswer) { self.init { _, _ in answer } }

    /// The first answers in order, then the last one forever.
    convenience init(sequence answers: [ScriptedAnswer]) {
        precondition(!answers.isEmpty, "a script needs an answer")
        self.init { _, number in answers[min(number, answers.count - 1)] }
    }

    var requests: [ReceivedRequest] { received.withLock { $0 } }

    /// Runs the server on 127.0.0.1 (a free port) while `body` runs; `body`
    /// gets its URL. Both run on the dedicated executor.
    func run<Value: Sendable>(server: HTTPServerBuilder = .http1(), scheme: String = "http", _ body: (String) async throws -> Value)
        async throws -> Value
    {
        let bound = BoundPort()
        let application = Application(
            router: router(), server: server,
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "scripted"),
            onServerRunning: bound.serverRunning, logger: quietLogger)
        return try await onDedicatedThreads {
            try await withRunningApplication(application) {
                let port = await bound.port
                defer { self.released.withLock { $0 = true } }
                return try await body("\(scheme)://127.0.0.1:\(port)")
            }
        }
    }

    private func router() -> Router<BasicRequestContext> {
        let router = Router()
        for path in ["/v1/kv/:key", "/v1/cluster", "/healthz"] {
            for method in [HTTPRequest.Method.get, .put, .delete, .post] {
                router.on(RouterPath(path), method: method) { request, _ in try await self.answer(request) }
            }
        }
        return router
    }

    private func answer(_ request: Request) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 4 << 20)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let received = ReceivedRequest(
            method: request.method.rawValue, uri: request.uri.description, headers: headers, body: Array(body.readableBytesView))
        let number = self.received.withLock { list in
            list.append(received)
            return list.count - 1
        }
        let answer = script(received, number)
        let until = ContinuousClock.now + answer.delay
        while ContinuousClock.now < until, !released.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(5)) }
        var fields = HTTPFields()
        for (name, value) in answer.headers {
            guard let name = HTTPField.Name(name) else { preconditionFailure("a scripted header name '\(name)' is invalid") }
            fields.append(HTTPField(name: name, value: value))
        }
        return Response(
            status: HTTPResponse.Status(code: answer.status), headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
    }
}
