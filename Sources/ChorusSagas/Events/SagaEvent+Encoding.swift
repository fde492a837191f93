import ChorusCore

/// A saga event as the event store holds it: a type name and JSON data
/// (`application/json`) whose first member is `schemaVersion`.
public struct SagaEncodedEvent: Sendable, Hashable {
    public var type: String
    public var data: [UInt8]

    public static let contentType = "application/json"

    public init(type: String, data: [UInt8]) {
        self.type = type
        self.data = data
    }
}

/// Why stored bytes are not a saga event.
public struct SagaEventDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    public var type: String
    public var message: String

    public var description: String { "cannot decode saga event \(JSONString.quoted(type)): \(message)" }
}

extension SagaEvent {
    /// The schema version written into every event's data; decoding refuses
    /// others until an upcaster exists for them.
    public static let schemaVersion: Int64 = 1

    /// The event's type name and JSON data.
    public func encoded() -> SagaEncodedEvent {
        var object: JSONObject = ["schemaVersion": .integer(Self.schemaVersion)]
        func put(_ key: String, _ value: JSONValue) { object[key] = value }
        func time(_ value: UInt64) -> JSONValue { .number(JSONNumber(value)) }
        func attempt(_ value: Int) -> JSONValue { .integer(Int64(value)) }
        switch self {
        case .started(let definition, let sagaID, let input, _):
            put("sagaId", .string(sagaID.rawValue))
            put("definition", definition.json)
            put("input", input)
        case .scheduled(let step, _, let number, let request, _):
            put("step", .string(step.rawValue))
            put("attempt", attempt(number))
            var encoded: JSONObject = [
                "participant": .string(request.participant), "method": .string(request.method.rawValue),
                "path": .string(request.path),
            ]
            if let body = request.body { encoded["body"] = body }
            encoded["idempotencyKey"] = .string(request.idempotencyKey)
            put("request", .object(encoded))
        case .succeeded(let step, _, let number, let result, _):
            put("step", .string(step.rawValue))
            put("attempt", attempt(number))
            put("result", result)
        case .failed(let step, _, let number, let failure, let retryable, _):
            put("step", .string(step.rawValue))
            put("attempt", attempt(number))
            put("error", Self.encode(failure))
            put("retryable", .bool(retryable))
        case .timedOut(let step, _, let number, _):
            put("step", .string(step.rawValue))
            put("attempt", attempt(number))
        case .renderingFailed(let step, _, let failure, _):
            put("step", .string(step.rawValue))
            put("error", Self.encode(failure))
        case .lockRequested(let name, let step, let expiry, let contention, _):
            put("name", .string(name))
            put("step", .string(step.rawValue))
            put("expiryMilliseconds", time(expiry))
            put("onContention", .string(contention.rawValue))
        case .lockAcquired(let name, let step, let grantedAt, let expiresAt, _):
            put("name", .string(name))
            put("step", .string(step.rawValue))
            put("grantedAt", time(grantedAt))
            put("expiresAt", time(expiresAt))
        case .lockDenied(let name, let step, _):
            put("name", .string(name))
            put("step", .string(step.rawValue))
        case .lockReleased(let name, _):
            put("name", .string(name))
        case .lockExpired(let name, let expiredAt, _):
            put("name", .string(name))
            put("expiredAt", time(expiredAt))
        case .timerSet(let timer, let purpose, let dueAt, _):
            put("timer", time(timer.rawValue))
            put("purpose", Self.encode(purpose))
            put("dueAt", time(dueAt))
        case .timerFired(let timer, _):
            put("timer", time(timer.rawValue))
        case .cancelRequested(let reason, _):
            put("reason", .string(reason))
        case .aborted(let reason, _):
            put("reason", Self.encode(reason))
        case .parked(let reason, let failure, _):
            put("reason", Self.encode(reason))
            put("error", Self.encode(failure))
        case .operatorRetried(let note, _):
            put("note", .string(note))
        case .operatorResolved(let resolution, let note, _):
            switch resolution {
            case .succeeded(let result): put("resolution", ["outcome": "succeeded", "result": result])
            case .failed(let code): put("resolution", ["outcome": "failed", "code": .string(code)])
            }
            put("note", .string(note))
        case .completed, .compensated, .cancelled:
            break
        }
        put("at", time(at))
        return SagaEncodedEvent(type: SagaEventType(self).rawValue, data: JSONValue.object(object).utf8Bytes)
    }

    private static func encode(_ failure: SagaFailure) -> JSONValue {
        ["code": .string(failure.code), "message": .string(failure.message)]
    }

    private static func encode(_ purpose: SagaTimerPurpose) -> JSONValue {
        switch purpose {
        case .attemptTimeout(let step, let phase, let attempt):
            ["kind": "attemptTimeout", "step": .string(step.rawValue), "phase": .string(phase.rawValue), "attempt": .integer(Int64(attempt))]
        case .retry(let step, let phase, let attempt):
            ["kind": "retry", "step": .string(step.rawValue), "phase": .string(phase.rawValue), "attempt": .integer(Int64(attempt))]
        case .deadline:
            ["kind": "deadline"]
        }
    }

    private static func encode(_ reason: SagaAbortReason) -> JSONValue {
        switch reason {
        case .stepFailed(let step, let code): ["kind": "stepFailed", "step": .string(step.rawValue), "code": .string(code)]
        case .cancelled: ["kind": "cancelled"]
        case .deadlineExceeded: ["kind": "deadlineExceeded"]
        case .lockExpired(let name): ["kind": "lockExpired", "name": .string(name)]
        }
    }

    private static func encode(_ reason: SagaParkReason) -> JSONValue {
        switch reason {
        case .compensationFailed(let step): ["kind": "compensationFailed", "step": .string(step.rawValue)]
        case .stepFailed(let step): ["kind": "stepFailed", "step": .string(step.rawValue)]
        case .pivotUncertain(let step): ["kind": "pivotUncertain", "step": .string(step.rawValue)]
        }
    }
}
