import ChorusCore

/// The JSON form users write (README "Definition format"):
///
///     {"name": "order", "version": 1, "deadlineMilliseconds": 60000,
///      "steps": [ step, {"parallel": [step, step]}, step ]}
///
///     step = {"id": "charge", "kind": "pivot",
///             "action": {"participant": "payments", "method": "POST",
///                        "path": "/v1/charges", "body": {...}},
///             "compensation": {... request ..., "retry": {...}, "attemptTimeoutMilliseconds": 5000},
///             "retry": {"initialIntervalMilliseconds": 1000, "backoffCoefficient": 2,
///                       "maximumIntervalMilliseconds": 100000, "maximumAttempts": 0,
///                       "nonRetryableErrorCodes": ["card_declined"]},
///             "attemptTimeoutMilliseconds": 10000,
///             "lock": {"name": "account:{{input.accountId}}", "expiryMilliseconds": 30000,
///                      "onContention": "wait"}}
///
/// Omitted optional fields take their defaults (`kind` compensatable,
/// Temporal's retry policy, a three-attempt compensation policy, a 10 s
/// attempt timeout). Unknown fields are errors. `json` writes every field
/// explicitly, so a decoded definition encodes to a document that decodes
/// back to it exactly.
extension SagaDefinition {
    /// Parses, decodes and validates a definition from its JSON text.
    public init(jsonText: String) throws(SagaDefinitionError) {
        try self.init(jsonBytes: Array(jsonText.utf8))
    }

    /// Parses, decodes and validates a definition from its JSON bytes.
    public init(jsonBytes: [UInt8]) throws(SagaDefinitionError) {
        guard jsonBytes.count <= SagaLimits.maximumDefinitionBytes else {
            throw SagaDefinitionError(
                .definitionTooLarge(byteCount: jsonBytes.count, limit: SagaLimits.maximumDefinitionBytes), at: "")
        }
        let value: JSONValue
        do { value = try JSONValue(parsing: jsonBytes, limits: SagaLimits.json) } catch {
            throw SagaDefinitionError(.invalidJSON(error), at: "")
        }
        try self.init(json: value)
    }

    /// Decodes and validates a definition from a parsed JSON value.
    public init(json: JSONValue) throws(SagaDefinitionError) {
        do { self = try Self.decode(json) } catch { throw SagaDefinitionError(error) }
        try validate()
    }

    /// Every field, defaults included, in a fixed member order.
    public var json: JSONValue {
        var object: JSONObject = ["name": .string(name), "version": .integer(Int64(version))]
        if let deadlineMilliseconds { object["deadlineMilliseconds"] = .number(JSONNumber(deadlineMilliseconds)) }
        object["steps"] = .array(
            stages.map { stage in
                stage.isParallel ? ["parallel": .array(stage.steps.map(Self.encode))] : Self.encode(stage.steps[0])
            })
        return .object(object)
    }

    private static func encode(_ step: SagaStep) -> JSONValue {
        var object: JSONObject = ["id": .string(step.id.rawValue), "kind": .string(step.kind.rawValue)]
        object["action"] = .object(encode(step.action))
        if let compensation = step.compensation {
            var encoded = encode(compensation.request)
            encoded["retry"] = encode(compensation.retry)
            encoded["attemptTimeoutMilliseconds"] = .number(JSONNumber(compensation.attemptTimeoutMilliseconds))
            object["compensation"] = .object(encoded)
        }
        object["retry"] = encode(step.retry)
        object["attemptTimeoutMilliseconds"] = .number(JSONNumber(step.attemptTimeoutMilliseconds))
        if let lock = step.lock {
            object["lock"] = [
                "name": .string(lock.name), "expiryMilliseconds": .number(JSONNumber(lock.expiryMilliseconds)),
                "onContention": .string(lock.onContention.rawValue),
            ]
        }
        return .object(object)
    }

    private static func encode(_ request: SagaRequestTemplate) -> JSONObject {
        var object: JSONObject = [
            "participant": .string(request.participant), "method": .string(request.method.rawValue),
            "path": .string(request.path),
        ]
        if let body = request.body { object["body"] = body }
        return object
    }

    private static func encode(_ policy: SagaRetryPolicy) -> JSONValue {
        [
            "initialIntervalMilliseconds": .number(JSONNumber(policy.initialIntervalMilliseconds)),
            // An unvalidated policy may hold a non-finite coefficient; it encodes as null, which decoding refuses.
            "backoffCoefficient": JSONNumber(policy.backoffCoefficient).map(JSONValue.number) ?? .null,
            "maximumIntervalMilliseconds": .number(JSONNumber(policy.maximumIntervalMilliseconds)),
            "maximumAttempts": .integer(Int64(policy.maximumAttempts)),
            "nonRetryableErrorCodes": .array(policy.nonRetryableErrorCodes.map { .string($0) }),
        ]
    }

    // MARK: Decoding

    static func decode(_ value: JSONValue) throws(JSONFieldError) -> SagaDefinition {
        var fields = try JSONFields(value, at: "")
        let name = try fields.string("name", maximumBytes: SagaLimits.maximumNameBytes)
        let version = Int(try fields.integer("version", in: Int64(Int32.min)...Int64(Int32.max)))
        let deadline = try fields.optionalUnsigned("deadlineMilliseconds")
        let stageValues = try fields.array("steps", maximumCount: SagaLimits.maximumSteps)
        try fields.finish()
        var stages: [SagaStage] = []
        for (index, stageValue) in stageValues.enumerated() {
            let location = "steps[\(index)]"
            if case .object(let object) = stageValue, object["parallel"] != nil {
                var group = try JSONFields(stageValue, at: location)
                let members = try group.array("parallel", maximumCount: SagaLimits.maximumParallelSteps)
                try group.finish()
                var steps: [SagaStep] = []
                for (memberIndex, member) in members.enumerated() {
                    steps.append(try decodeStep(member, at: "\(location).parallel[\(memberIndex)]"))
                }
                stages.append(.parallel(steps))
            } else {
                stages.append(.single(try decodeStep(stageValue, at: location)))
            }
        }
        return SagaDefinition(name: name, version: version, stages: stages, deadlineMilliseconds: deadline)
    }

    private static func decodeStep(_ value: JSONValue, at location: String) throws(JSONFieldError) -> SagaStep {
        var fields = try JSONFields(value, at: location)
        let id = StepID(try fields.string("id", maximumBytes: SagaLimits.maximumNameBytes))
        let kind = try fields.optionalEnumeration("kind", SagaStepKind.self) ?? .compensatable
        let action = try decodeRequest(try fields.value("action"), at: fields.path("action"), isCompensation: false).request
        var compensation: SagaCompensation?
        if let compensationValue = fields.optionalValue("compensation") {
            let decoded = try decodeRequest(compensationValue, at: fields.path("compensation"), isCompensation: true)
            compensation = SagaCompensation(
                request: decoded.request, retry: decoded.retry ?? .compensationDefault,
                attemptTimeoutMilliseconds: decoded.timeout ?? SagaStep.defaultAttemptTimeoutMilliseconds)
        }
        var retry = SagaRetryPolicy.default
        if let policy = fields.optionalValue("retry") { retry = try decodeRetry(policy, at: fields.path("retry")) }
        let timeout = try fields.optionalUnsigned("attemptTimeoutMilliseconds") ?? SagaStep.defaultAttemptTimeoutMilliseconds
        var lock: SagaLockRequirement?
        if let lockValue = fields.optionalValue("lock") {
            var lockFields = try JSONFields(lockValue, at: fields.path("lock"))
            lock = SagaLockRequirement(
                name: try lockFields.string("name", maximumBytes: SagaLimits.maximumTemplateBytes),
                expiryMilliseconds: try lockFields.unsigned("expiryMilliseconds"),
                onContention: try lockFields.optionalEnumeration("onContention", SagaLockContention.self) ?? .wait)
            try lockFields.finish()
        }
        try fields.finish()
        return SagaStep(
            id: id, kind: kind, action: action, compensation: compensation, retry: retry,
            attemptTimeoutMilliseconds: timeout, lock: lock)
    }

    private static func decodeRequest(_ value: JSONValue, at location: String, isCompensation: Bool)
        throws(JSONFieldError) -> (request: SagaRequestTemplate, retry: SagaRetryPolicy?, timeout: UInt64?)
    {
        var fields = try JSONFields(value, at: location)
        let participant = try fields.string("participant", maximumBytes: SagaLimits.maximumParticipantBytes)
        let method = try fields.enumeration("method", SagaHTTPMethod.self)
        let path = try fields.string("path", maximumBytes: SagaLimits.maximumTemplateBytes)
        let body = fields.optionalValue("body")
        var retry: SagaRetryPolicy?
        var timeout: UInt64?
        if isCompensation {
            if let policy = fields.optionalValue("retry") { retry = try decodeRetry(policy, at: fields.path("retry")) }
            timeout = try fields.optionalUnsigned("attemptTimeoutMilliseconds")
        }
        try fields.finish()
        return (SagaRequestTemplate(participant: participant, method: method, path: path, body: body), retry, timeout)
    }

    static func decodeRetry(_ value: JSONValue, at location: String) throws(JSONFieldError) -> SagaRetryPolicy {
        var fields = try JSONFields(value, at: location)
        let initial = try fields.optionalUnsigned("initialIntervalMilliseconds") ?? 1_000
        let coefficient = try fields.optionalDouble("backoffCoefficient") ?? 2
        let maximum = try fields.optionalUnsigned("maximumIntervalMilliseconds")
        let attempts = Int(try fields.optionalInteger("maximumAttempts", in: 0...Int64(Int32.max)) ?? 0)
        var codes: [String] = []
        for (index, code) in (try fields.optionalArray(
            "nonRetryableErrorCodes", maximumCount: SagaLimits.maximumNonRetryableErrorCodes) ?? []).enumerated()
        {
            guard case .string(let text) = code else {
                throw JSONFieldError(
                    location: fields.path("nonRetryableErrorCodes[\(index)]"),
                    reason: .wrongType(expected: "string", found: code.typeName))
            }
            codes.append(text)
        }
        try fields.finish()
        return SagaRetryPolicy(
            initialIntervalMilliseconds: initial, backoffCoefficient: coefficient, maximumIntervalMilliseconds: maximum,
            maximumAttempts: attempts, nonRetryableErrorCodes: codes)
    }
}

extension SagaDefinitionError {
    init(_ error: JSONFieldError) {
        switch error.reason {
        case .missing: self.init(.missingField, at: error.location)
        case .unknown: self.init(.unknownField, at: error.location)
        case .wrongType(let expected, let found): self.init(.wrongType(expected: expected, found: found), at: error.location)
        case .invalid(let message): self.init(.invalidValue(message), at: error.location)
        }
    }
}
