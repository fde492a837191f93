import ChorusCore

extension SagaDefinition {
    /// Checks every rule a runnable definition follows, and throws the first
    /// violation found (in definition order):
    ///
    /// - names, versions, durations and sizes within `SagaLimits`;
    /// - step ids valid and unique; stages non-empty, groups bounded;
    /// - at most one pivot, never in a parallel group, without compensation;
    ///   compensatable steps before it, retriable steps (without
    ///   compensation) after it, members of one group of one kind;
    /// - every template parses, and refers only to the input, the saga, and
    ///   steps of earlier stages (a compensation may also read its own step's
    ///   result); anything else is an unknown step or a reference cycle.
    public func validate() throws(SagaDefinitionError) {
        guard SagaNames.isValidDefinitionName(name) else { throw SagaDefinitionError(.invalidName, at: "name") }
        guard version >= 1 else { throw SagaDefinitionError(.invalidVersion(version), at: "version") }
        if let deadlineMilliseconds { try Self.checkDuration(deadlineMilliseconds, at: "deadlineMilliseconds") }
        guard !stages.isEmpty else { throw SagaDefinitionError(.noSteps, at: "steps") }
        let allSteps = steps
        guard allSteps.count <= SagaLimits.maximumSteps else {
            throw SagaDefinitionError(.tooManySteps(count: allSteps.count, limit: SagaLimits.maximumSteps), at: "steps")
        }

        var stageOfStep: [StepID: Int] = [:]
        for (stageIndex, stage) in stages.enumerated() {
            guard !stage.steps.isEmpty else { throw SagaDefinitionError(.emptyParallelGroup, at: "steps[\(stageIndex)]") }
            guard stage.steps.count <= SagaLimits.maximumParallelSteps else {
                throw SagaDefinitionError(
                    .parallelGroupTooLarge(count: stage.steps.count, limit: SagaLimits.maximumParallelSteps),
                    at: "steps[\(stageIndex)]")
            }
            for step in stage.steps {
                guard SagaNames.isValidStepID(step.id) else {
                    throw SagaDefinitionError(.invalidStepID(step.id.rawValue), at: "steps[\(stageIndex)].id")
                }
                guard stageOfStep[step.id] == nil else {
                    throw SagaDefinitionError(.duplicateStepID(step.id), at: "steps.\(step.id)")
                }
                stageOfStep[step.id] = stageIndex
            }
        }

        try validateKinds()
        for (stageIndex, stage) in stages.enumerated() {
            for step in stage.steps {
                try Self.validateStep(step, stageIndex: stageIndex, stageOfStep: stageOfStep)
            }
        }
    }

    private func validateKinds() throws(SagaDefinitionError) {
        var pivot: StepID?
        var sawRetriable: StepID?
        for stage in stages {
            let kinds = stage.steps.map(\.kind).reduce(into: [SagaStepKind]()) { if !$0.contains($1) { $0.append($1) } }
            if stage.isParallel || stage.steps.count > 1 {
                if let member = stage.steps.first(where: { $0.kind == .pivot }) {
                    throw SagaDefinitionError(.pivotInParallelGroup(member.id), at: "steps.\(member.id).kind")
                }
                guard kinds.count == 1 else {
                    throw SagaDefinitionError(.mixedKindsInParallelGroup(kinds), at: "steps.\(stage.steps[0].id)")
                }
            }
            for step in stage.steps {
                let location = "steps.\(step.id)"
                switch step.kind {
                case .pivot:
                    if let pivot { throw SagaDefinitionError(.multiplePivots(first: pivot, second: step.id), at: location) }
                    if let sawRetriable {
                        throw SagaDefinitionError(.retriableBeforePivot(step: sawRetriable, pivot: step.id), at: "steps.\(sawRetriable)")
                    }
                    if step.compensation != nil {
                        throw SagaDefinitionError(.compensationOnPivot(step.id), at: location + ".compensation")
                    }
                    pivot = step.id
                case .retriable:
                    if step.compensation != nil {
                        throw SagaDefinitionError(.compensationOnRetriable(step.id), at: location + ".compensation")
                    }
                    if sawRetriable == nil { sawRetriable = step.id }
                case .compensatable:
                    if let pivot {
                        throw SagaDefinitionError(.compensatableAfterPivot(step: step.id, pivot: pivot), at: location + ".kind")
                    }
                    if let sawRetriable {
                        throw SagaDefinitionError(.retriableBeforePivot(step: sawRetriable, pivot: nil), at: "steps.\(sawRetriable)")
                    }
                }
            }
        }
        if let sawRetriable, pivot == nil {
            throw SagaDefinitionError(.retriableBeforePivot(step: sawRetriable, pivot: nil), at: "steps.\(sawRetriable)")
        }
    }

    private static func validateStep(_ step: SagaStep, stageIndex: Int, stageOfStep: [StepID: Int])
        throws(SagaDefinitionError)
    {
        let location = "steps.\(step.id)"
        try validateRequest(step.action, at: location + ".action", step: step.id, stageIndex: stageIndex, allowsSelf: false, stageOfStep: stageOfStep)
        try validateRetry(step.retry, at: location + ".retry")
        try checkDuration(step.attemptTimeoutMilliseconds, at: location + ".attemptTimeoutMilliseconds")
        if let compensation = step.compensation {
            let compensationLocation = location + ".compensation"
            try validateRequest(
                compensation.request, at: compensationLocation, step: step.id, stageIndex: stageIndex, allowsSelf: true,
                stageOfStep: stageOfStep)
            try validateRetry(compensation.retry, at: compensationLocation + ".retry")
            try checkDuration(compensation.attemptTimeoutMilliseconds, at: compensationLocation + ".attemptTimeoutMilliseconds")
        }
        if let lock = step.lock {
            let lockLocation = location + ".lock"
            guard !lock.name.isEmpty else { throw SagaDefinitionError(.invalidValue("a lock name cannot be empty"), at: lockLocation + ".name") }
            try validateTemplate(lock.name, at: lockLocation + ".name", step: step.id, stageIndex: stageIndex, allowsSelf: false, stageOfStep: stageOfStep)
            try checkDuration(lock.expiryMilliseconds, at: lockLocation + ".expiryMilliseconds")
        }
    }

    private static func validateRequest(
        _ request: SagaRequestTemplate, at location: String, step: StepID, stageIndex: Int, allowsSelf: Bool,
        stageOfStep: [StepID: Int]
    ) throws(SagaDefinitionError) {
        guard !request.participant.isEmpty, request.participant.utf8.count <= SagaLimits.maximumParticipantBytes,
            request.participant.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else {
            throw SagaDefinitionError(
                .invalidValue("a participant name is 1…\(SagaLimits.maximumParticipantBytes) printable ASCII characters"),
                at: location + ".participant")
        }
        guard request.path.hasPrefix("/") else {
            throw SagaDefinitionError(.invalidValue("a path starts with '/'"), at: location + ".path")
        }
        try validateTemplate(request.path, at: location + ".path", step: step, stageIndex: stageIndex, allowsSelf: allowsSelf, stageOfStep: stageOfStep)
        if let body = request.body {
            let size = body.text.utf8.count
            guard size <= SagaLimits.maximumRequestBodyBytes else {
                throw SagaDefinitionError(
                    .invalidTemplate(.tooLong(byteCount: size, limit: SagaLimits.maximumRequestBodyBytes)), at: location + ".body")
            }
            for text in body.templateStrings() {
                try validateTemplate(text, at: location + ".body", step: step, stageIndex: stageIndex, allowsSelf: allowsSelf, stageOfStep: stageOfStep)
            }
        }
    }

    private static func validateTemplate(
        _ text: String, at location: String, step: StepID, stageIndex: Int, allowsSelf: Bool, stageOfStep: [StepID: Int]
    ) throws(SagaDefinitionError) {
        let template: SagaTemplate
        do { template = try SagaTemplate(parsing: text) } catch { throw SagaDefinitionError(.invalidTemplate(error), at: location) }
        for reference in template.references {
            guard let referenced = reference.step else { continue }
            guard let referencedStage = stageOfStep[referenced] else {
                throw SagaDefinitionError(.unknownStepReference(referenced), at: location)
            }
            let isOwnResult = allowsSelf && referenced == step
            guard referencedStage < stageIndex || isOwnResult else {
                throw SagaDefinitionError(.referenceToStepNotBefore(referenced), at: location)
            }
        }
    }

    private static func validateRetry(_ policy: SagaRetryPolicy, at location: String) throws(SagaDefinitionError) {
        let limit = SagaLimits.maximumDurationMilliseconds
        func fail(_ message: String) -> SagaDefinitionError { SagaDefinitionError(.invalidRetryPolicy(message), at: location) }
        guard policy.initialIntervalMilliseconds >= 1, policy.initialIntervalMilliseconds <= limit else {
            throw fail("initialIntervalMilliseconds must be 1…\(limit)")
        }
        guard policy.backoffCoefficient.isFinite, policy.backoffCoefficient >= 1, policy.backoffCoefficient <= 100 else {
            throw fail("backoffCoefficient must be 1…100")
        }
        guard policy.maximumIntervalMilliseconds >= policy.initialIntervalMilliseconds,
            policy.maximumIntervalMilliseconds <= limit
        else { throw fail("maximumIntervalMilliseconds must be at least initialIntervalMilliseconds and at most \(limit)") }
        guard policy.maximumAttempts >= 0, policy.maximumAttempts <= SagaLimits.maximumAttemptsPerStep else {
            throw fail("maximumAttempts must be 0 (unlimited) or 1…\(SagaLimits.maximumAttemptsPerStep)")
        }
        guard policy.nonRetryableErrorCodes.count <= SagaLimits.maximumNonRetryableErrorCodes else {
            throw fail("more than \(SagaLimits.maximumNonRetryableErrorCodes) nonRetryableErrorCodes")
        }
        for code in policy.nonRetryableErrorCodes
        where code.isEmpty || code.utf8.count > SagaLimits.maximumErrorCodeBytes {
            throw fail("an error code is 1…\(SagaLimits.maximumErrorCodeBytes) bytes")
        }
    }

    static func checkDuration(_ value: UInt64, at location: String) throws(SagaDefinitionError) {
        guard value >= 1, value <= SagaLimits.maximumDurationMilliseconds else {
            throw SagaDefinitionError(.invalidDuration(value, limit: SagaLimits.maximumDurationMilliseconds), at: location)
        }
    }
}
