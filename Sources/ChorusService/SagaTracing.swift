import ChorusSagas
import Instrumentation
import Tracing

/// One trace per saga, through swift-distributed-tracing: a root span per
/// saga on the node that leads it (`saga order`, attributes `saga.stream`,
/// `saga.id`, `saga.definition`, and `saga.outcome` when it ends), and a
/// child span per step attempt and per compensation attempt
/// (`saga.step charge`, `saga.compensation charge`: `saga.attempt`,
/// `saga.outcome`, `saga.error`), whose context is injected into the
/// participant's request (`traceparent`). A leader that takes over a saga
/// in flight opens a root span of its own (`saga.resumed` true). With the
/// default no-op tracer nothing is recorded, and the request carries
/// `SagaParticipantTransport.traceParent`, derived from the saga's stream.
struct SagaTracing {
    let tracer: any Tracer
    /// Root spans of the sagas this node leads, by stream.
    var roots: [String: any Span] = [:]

    /// Follows the events one decision appended.
    mutating func appended(_ events: [SagaEvent], stream: String) {
        for event in events {
            switch event {
            case .started(let definition, let sagaID, _, _):
                roots[stream]?.end()
                roots[stream] = startRoot(stream: stream, definition: definition.name, sagaID: sagaID.rawValue, resumed: false)
            case .parked(let reason, let failure, _):
                roots[stream]?.addEvent(SpanEvent(name: "parked", attributes: ["saga.reason": "\(reason)", "saga.error": .string(failure.code)]))
            case .aborted(let reason, _):
                roots[stream]?.addEvent(SpanEvent(name: "aborted", attributes: ["saga.reason": "\(reason)"]))
            case .completed, .compensated, .cancelled:
                if let root = roots.removeValue(forKey: stream) {
                    root.attributes["saga.outcome"] = SagaEventType(event).rawValue
                    root.end()
                }
            default:
                break
            }
        }
    }

    mutating func startRoot(stream: String, definition: String, sagaID: String, resumed: Bool) -> any Span {
        let span = tracer.startSpan("saga \(definition)", context: .topLevel, ofKind: .internal)
        span.attributes["saga.stream"] = stream
        span.attributes["saga.id"] = sagaID
        span.attributes["saga.definition"] = definition
        if resumed { span.attributes["saga.resumed"] = true }
        return span
    }

    /// The span of one attempt, a child of its saga's (opened if this node took the saga over).
    mutating func startAttempt(_ call: SagaCall, stream: String, state: SagaState?) -> any Span {
        if roots[stream] == nil {
            roots[stream] = startRoot(
                stream: stream, definition: state?.definition?.name ?? "?", sagaID: state?.sagaID?.rawValue ?? "?", resumed: true)
        }
        let name = call.phase == .action ? "saga.step \(call.step)" : "saga.compensation \(call.step)"
        let span = tracer.startSpan(name, context: roots[stream]!.context, ofKind: .client)
        span.attributes["saga.stream"] = stream
        span.attributes["saga.step"] = call.step.rawValue
        span.attributes["saga.phase"] = call.phase.rawValue
        span.attributes["saga.attempt"] = call.attempt
        span.attributes["saga.idempotency_key"] = call.request.idempotencyKey
        return span
    }

    /// The headers that carry `span`'s context to the participant.
    func headers(for span: any Span) -> [String: String] {
        var headers: [String: String] = [:]
        tracer.inject(span.context, into: &headers, using: DictionaryInjector())
        return headers
    }

    static func finish(_ span: any Span, outcome: ParticipantOutcome) {
        switch outcome {
        case .succeeded:
            span.attributes["saga.outcome"] = "succeeded"
        case .failed(let code, let message, let nonRetryable):
            span.attributes["saga.outcome"] = nonRetryable ? "failed" : "failed_retryable"
            span.attributes["saga.error"] = code
            span.setStatus(SpanStatus(code: .error, message: message))
        }
        span.end()
    }

    /// The node stopped leading: its open root spans end (the next leader opens its own).
    mutating func endAll() {
        for root in roots.values {
            root.attributes["saga.outcome"] = "handed_over"
            root.end()
        }
        roots = [:]
    }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}
