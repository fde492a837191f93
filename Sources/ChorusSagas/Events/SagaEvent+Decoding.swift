import ChorusCore

extension SagaEvent {
    /// Decodes an event from its type name and data, bounding the data by
    /// `SagaLimits.maximumEventBytes` before parsing and checking every field.
    public init(decoding encoded: SagaEncodedEvent) throws(SagaEventDecodingError) {
        func fail(_ message: String) -> SagaEventDecodingError { SagaEventDecodingError(type: encoded.type, message: message) }
        guard let type = SagaEventType(rawValue: encoded.type) else { throw fail("unknown event type") }
        guard encoded.data.count <= SagaLimits.maximumEventBytes else {
            throw fail("data of \(encoded.data.count) bytes exceeds the limit of \(SagaLimits.maximumEventBytes)")
        }
        let value: JSONValue
        do { value = try JSONValue(parsing: encoded.data, limits: SagaLimits.json) } catch { throw fail(error.description) }
        do {
            self = try Self.decode(type, value)
        } catch let error as JSONFieldError {
            let what: String
            switch error.reason {
            case .missing: what = "missing"
            case .unknown: what = "unknown field"
            case .wrongType(let expected, let found): what = "expected \(expected), found \(found)"
            case .invalid(let message): what = message
            }
            throw fail("\(error.location): \(what)")
        } catch let error as SagaDefinitionError {
            throw fail("definition: \(error)")
        } catch {
            throw fail("\(error)")
        }
    }

    private static func decode(_ type: SagaEventType, _ value: JSONValue) throws -> SagaEvent {
        var fields = try JSONFields(value, at: "")
        let version = try fields.integer("schemaVersion", in: 0...Int64(Int32.max))
        guard version == schemaVersion else {
            throw fields.invalid("schemaVersion", "version \(version) is not \(schemaVersion) and has no upcaster")
        }
        let phase = type.phase
        let event: SagaEvent
        switch type {
        case .started:
            let sagaID = SagaID(try fields.string("sagaId", maximumBytes: SagaLimits.maximumSagaIDBytes))
            guard SagaNames.isValidSagaID(sagaID) else { throw fields.invalid("sagaId", "not a valid saga id") }
            let definition = try SagaDefinition(json: try fields.value("definition"))
            let input = try fields.value("input")
            event = .started(definition: definition, sagaID: sagaID, input: input, at: try fields.unsigned("at"))
        case .stepScheduled, .compensationScheduled:
            let step = try stepID(&fields)
            let number = try attempt(&fields)
            var request = try JSONFields(try fields.value("request"), at: "request")
            let decoded = ParticipantRequest(
                participant: try request.string("participant", maximumBytes: SagaLimits.maximumParticipantBytes),
                method: try request.enumeration("method", SagaHTTPMethod.self),
                path: try request.string("path", maximumBytes: SagaLimits.maximumRequestBodyBytes),
                body: request.optionalValue("body"),
                idempotencyKey: try request.string("idempotencyKey", maximumBytes: 1_024))
            try request.finish()
            event = .scheduled(step: step, phase: phase, attempt: number, request: decoded, at: try fields.unsigned("at"))
        case .stepSucceeded, .compensationSucceeded:
            let step = try stepID(&fields)
            let number = try attempt(&fields)
            event = .succeeded(step: step, phase: phase, attempt: number, result: try fields.value("result"), at: try fields.unsigned("at"))
        case .stepFailed, .compensationFailed:
            let step = try stepID(&fields)
            let number = try attempt(&fields)
            let failure = try self.failure(&fields, "error")
            event = .failed(
                step: step, phase: phase, attempt: number, failure: failure, retryable: try fields.bool("retryable"),
                at: try fields.unsigned("at"))
        case .stepTimedOut, .compensationTimedOut:
            let step = try stepID(&fields)
            event = .timedOut(step: step, phase: phase, attempt: try attempt(&fields), at: try fields.unsigned("at"))
        case .stepRenderingFailed, .compensationRenderingFailed:
            let step = try stepID(&fields)
            event = .renderingFailed(step: step, phase: phase, failure: try failure(&fields, "error"), at: try fields.unsigned("at"))
        case .lockRequested:
            let name = try lockName(&fields)
            let step = try stepID(&fields)
            event = .lockRequested(
                name: name, step: step, expiryMilliseconds: try fields.unsigned("expiryMilliseconds"),
                contention: try fields.enumeration("onContention", SagaLockContention.self), at: try fields.unsigned("at"))
        case .lockAcquired:
            let name = try lockName(&fields)
            let step = try stepID(&fields)
            event = .lockAcquired(
                name: name, step: step, grantedAt: try fields.unsigned("grantedAt"), expiresAt: try fields.unsigned("expiresAt"),
                at: try fields.unsigned("at"))
        case .lockDenied:
            let name = try lockName(&fields)
            event = .lockDenied(name: name, step: try stepID(&fields), at: try fields.unsigned("at"))
        case .lockReleased:
            event = .lockReleased(name: try lockName(&fields), at: try fields.unsigned("at"))
        case .lockExpired:
            let name = try lockName(&fields)
            event = .lockExpired(name: name, expiredAt: try fields.unsigned("expiredAt"), at: try fields.unsigned("at"))
        case .timerSet:
            let timer = SagaTimerID(try fields.unsigned("timer"))
            let purpose = try self.purpose(try fields.value("purpose"))
            event = .timerSet(timer: timer, purpose: purpose, dueAt: try fields.unsigned("dueAt"), at: try fields.unsigned("at"))
        case .timerFired:
            event = .timerFired(timer: SagaTimerID(try fields.unsigned("timer")), at: try fields.unsigned("at"))
        case .cancelRequested:
            event = .cancelRequested(
                reason: try fields.string("reason", maximumBytes: SagaLimits.maximumNoteBytes), at: try fields.unsigned("at"))
        case .aborted:
            event = .aborted(reason: try abortReason(try fields.value("reason")), at: try fields.unsigned("at"))
        case .parked:
            let reason = try parkReason(try fields.value("reason"))
            event = .parked(reason: reason, failure: try failure(&fields, "error"), at: try fields.unsigned("at"))
        case .operatorRetried:
            event = .operatorRetried(note: try fields.string("note", maximumBytes: SagaLimits.maximumNoteBytes), at: try fields.unsigned("at"))
        case .operatorResolved:
            var resolution = try JSONFields(try fields.value("resolution"), at: "resolution")
            let decoded: SagaResolution
            switch try resolution.string("outcome", maximumBytes: 16) {
            case "succeeded": decoded = .succeeded(result: try resolution.value("result"))
            case "failed": decoded = .failed(code: try resolution.string("code", maximumBytes: SagaLimits.maximumErrorCodeBytes))
            default: throw resolution.invalid("outcome", "must be \"succeeded\" or \"failed\"")
            }
            try resolution.finish()
            event = .operatorResolved(
                resolution: decoded, note: try fields.string("note", maximumBytes: SagaLimits.maximumNoteBytes),
                at: try fields.unsigned("at"))
        case .completed: event = .completed(at: try fields.unsigned("at"))
        case .compensated: event = .compensated(at: try fields.unsigned("at"))
        case .cancelled: event = .cancelled(at: try fields.unsigned("at"))
        }
        try fields.finish()
        return event
    }

    private static func stepID(_ fields: inout JSONFields, _ key: String = "step") throws(JSONFieldError) -> StepID {
        let step = StepID(try fields.string(key, maximumBytes: SagaLimits.maximumNameBytes))
        guard SagaNames.isValidStepID(step) else { throw fields.invalid(key, "not a valid step id") }
        return step
    }

    private static func attempt(_ fields: inout JSONFields) throws(JSONFieldError) -> Int {
        Int(try fields.integer("attempt", in: 1...Int64(Int32.max)))
    }

    private static func lockName(_ fields: inout JSONFields) throws(JSONFieldError) -> String {
        let name = try fields.string("name", maximumBytes: SagaLimits.maximumLockNameBytes)
        guard !name.isEmpty else { throw fields.invalid("name", "a lock name cannot be empty") }
        return name
    }

    private static func failure(_ fields: inout JSONFields, _ key: String) throws(JSONFieldError) -> SagaFailure {
        var error = try JSONFields(try fields.value(key), at: key)
        let failure = SagaFailure(
            code: try error.string("code", maximumBytes: SagaLimits.maximumErrorCodeBytes),
            message: try error.string("message", maximumBytes: SagaLimits.maximumErrorMessageBytes))
        try error.finish()
        return failure
    }

    private static func purpose(_ value: JSONValue) throws(JSONFieldError) -> SagaTimerPurpose {
        var fields = try JSONFields(value, at: "purpose")
        let purpose: SagaTimerPurpose
        switch try fields.string("kind", maximumBytes: 32) {
        case "deadline": purpose = .deadline
        case "attemptTimeout":
            purpose = .attemptTimeout(
                step: try stepID(&fields), phase: try fields.enumeration("phase", SagaPhase.self), attempt: try attempt(&fields))
        case "retry":
            purpose = .retry(step: try stepID(&fields), phase: try fields.enumeration("phase", SagaPhase.self), attempt: try attempt(&fields))
        default: throw fields.invalid("kind", "must be \"attemptTimeout\", \"retry\" or \"deadline\"")
        }
        try fields.finish()
        return purpose
    }

    private static func abortReason(_ value: JSONValue) throws(JSONFieldError) -> SagaAbortReason {
        var fields = try JSONFields(value, at: "reason")
        let reason: SagaAbortReason
        switch try fields.string("kind", maximumBytes: 32) {
        case "stepFailed":
            reason = .stepFailed(try stepID(&fields), code: try fields.string("code", maximumBytes: SagaLimits.maximumErrorCodeBytes))
        case "cancelled": reason = .cancelled
        case "deadlineExceeded": reason = .deadlineExceeded
        case "lockExpired": reason = .lockExpired(name: try lockName(&fields))
        default: throw fields.invalid("kind", "must be \"stepFailed\", \"cancelled\", \"deadlineExceeded\" or \"lockExpired\"")
        }
        try fields.finish()
        return reason
    }

    private static func parkReason(_ value: JSONValue) throws(JSONFieldError) -> SagaParkReason {
        var fields = try JSONFields(value, at: "reason")
        let reason: SagaParkReason
        switch try fields.string("kind", maximumBytes: 32) {
        case "compensationFailed": reason = .compensationFailed(try stepID(&fields))
        case "stepFailed": reason = .stepFailed(try stepID(&fields))
        case "pivotUncertain": reason = .pivotUncertain(try stepID(&fields))
        default: throw fields.invalid("kind", "must be \"compensationFailed\", \"stepFailed\" or \"pivotUncertain\"")
        }
        try fields.finish()
        return reason
    }
}
