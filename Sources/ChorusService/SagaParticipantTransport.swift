import AsyncHTTPClient
import ChorusCore
import ChorusSagas
import NIOCore
import NIOHTTP1

/// How the saga runtime reaches participants: the HTTP request a step
/// recorded, sent to the participant's registered base URL with its
/// `Idempotency-Key` and a W3C `traceparent`, and the answer classified by
/// `ParticipantOutcome.classify` (README of ChorusSagas, "Effect contract").
///
/// When Chorus is used as a library, a participant can instead be a Swift
/// async closure (`SagaLocalParticipant`), called with the same request.
public struct SagaParticipantTransport: Sendable {
    /// The largest response body read; a longer one is cut, and the core refuses the result as too large.
    public static let maximumResponseBytes = SagaLimits.maximumResultBytes + 1

    let local: [String: SagaLocalParticipant]
    let client: HTTPClient

    public init(local: [String: SagaLocalParticipant] = [:], client: HTTPClient = .shared) {
        self.local = local
        self.client = client
    }

    /// Sends `request` and returns what the participant said, or a retryable
    /// failure when it could not be asked (unknown participant, unreachable,
    /// timed out). `timeoutMilliseconds` bounds the whole exchange.
    /// `headers` carry the attempt's trace context (`traceparent`, …).
    public func send(_ request: ParticipantRequest, baseURL: String?, headers: [String: String], timeoutMilliseconds: UInt64) async
        -> ParticipantOutcome
    {
        if let handler = local[request.participant] { return await handler.call(request) }
        guard let baseURL else {
            return .failed(
                code: "unknown_participant",
                message: "no participant named \(JSONString.quoted(request.participant)) is registered", nonRetryable: false)
        }
        var http = HTTPClientRequest(url: baseURL + request.path)
        http.method = HTTPMethod(rawValue: request.method.rawValue)
        http.headers.add(name: "Idempotency-Key", value: request.idempotencyKey)
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { http.headers.add(name: name, value: value) }
        http.headers.add(name: "Accept", value: "application/json")
        if let body = request.body {
            http.headers.add(name: "Content-Type", value: "application/json")
            http.body = .bytes(ByteBuffer(string: body.text))
        }
        do {
            let response = try await client.execute(http, timeout: .milliseconds(Int64(min(timeoutMilliseconds, SagaLimits.maximumDurationMilliseconds))))
            var bytes: [UInt8] = []
            for try await chunk in response.body {
                bytes += chunk.readableBytesView.prefix(Self.maximumResponseBytes - bytes.count)
                if bytes.count >= Self.maximumResponseBytes { break }
            }
            return ParticipantOutcome.classify(status: Int(response.status.code), body: bytes)
        } catch {
            return .failed(code: "unreachable", message: "\(request.participant) at \(baseURL): \(error)", nonRetryable: false)
        }
    }

    /// A W3C trace context for one attempt: the trace is the saga's (from its
    /// stream), the parent span is the attempt's, so a participant's logs of
    /// every attempt of every step of one saga share one trace id.
    public static func traceParent(stream: String, call: SagaCall) -> String {
        var trace = FNV1a()
        trace.combine(bytes: stream.utf8)
        var second = FNV1a(continuing: trace.value)
        second.combine(bytes: Array("trace".utf8))
        var span = FNV1a(continuing: trace.value)
        span.combine(bytes: Array("\(call.step.rawValue)/\(call.phase.rawValue)/\(call.attempt)".utf8))
        return "00-\(hex(trace.value))\(hex(second.value))-\(hex(span.value))-01"
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// A participant inside the process: a Swift async closure that answers a
/// step's request (library use, tests, benchmarks).
public struct SagaLocalParticipant: Sendable {
    public let call: @Sendable (ParticipantRequest) async -> ParticipantOutcome

    public init(_ call: @escaping @Sendable (ParticipantRequest) async -> ParticipantOutcome) { self.call = call }
}
