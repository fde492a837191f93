import ChorusAPI
import ChorusAuthorization
import ChorusCore
import ChorusEventStore
import ChorusNode
import ChorusRaft
import ChorusSagas

/// Sagas (issue 12): registering definitions and participants, starting,
/// reading, listing, cancelling, and the operator's retry and resolve.
///
/// Decisions are made by the leader (`SagasRuntime`); a follower answers
/// `not_leader` with the leader's URL, as for writes. Reads of one saga fold
/// its stream at the consistency asked (linearizable by default, on any
/// node); lists come from this node's fold of the applied log, which on a
/// follower may be a little behind the leader.
///
/// Permissions: `saga.start` to start, `saga.read` to read and list,
/// `saga.operate` to cancel, retry, resolve and to register definitions and
/// participants; the resource is the definition's name (`saga:order`).
extension ChorusService {
    // MARK: Registry

    public func registerSagaDefinition(_ json: [UInt8], caller: Caller) async throws(ServiceError) -> SagaRegistrationResponse {
        let definition: SagaDefinition
        do { definition = try SagaDefinition(jsonBytes: json) } catch {
            throw ServiceError(.invalidSagaDefinition, "\(error)")
        }
        try authorize(caller, .sagaOperate, .saga(definition.name))
        let registration: SagaRegistry.Registration
        do { registration = try await sagas.registry.register(definition) } catch { throw Self.registrationError(error) }
        try await requireLeader()
        try await sagas.register(registration)
        return SagaRegistrationResponse(created: registration != .unchanged, definition: definition)
    }

    public func sagaDefinitions(caller: Caller) async throws(ServiceError) -> [SagaDefinition] {
        try authorizeSome(caller, .sagaRead)
        return await sagas.registry.allDefinitions.filter { authorization.isAllowed(caller, .sagaRead, .saga($0.name)) }
    }

    /// Needs `saga.operate` on `$participants`: a participant URL decides where the
    /// engine sends requests, so only an operator of every saga may set one.
    public func registerSagaParticipant(name: String, url: String, caller: Caller) async throws(ServiceError) -> Bool {
        try authorize(caller, .sagaOperate, .saga(Self.participantsResource))
        let registration: SagaRegistry.Registration
        do { registration = try await sagas.registry.register(participant: name, url: url) } catch { throw Self.registrationError(error) }
        try await requireLeader()
        try await sagas.register(registration)
        return registration != .unchanged
    }

    public func sagaParticipants(caller: Caller) async throws(ServiceError) -> [(name: String, url: String)] {
        try authorizeSome(caller, .sagaRead)
        return await sagas.registry.participants.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { ($0.key, $0.value) }
    }

    // MARK: Instances

    public func startSaga(_ request: SagaStartRequest, caller: Caller) async throws(ServiceError) -> SagaStartResponse {
        try authorize(caller, .sagaStart, .saga(request.definition))
        guard let definition = await sagas.registry.definition(named: request.definition, version: request.version) else {
            let version = request.version.map { " version \($0)" } ?? ""
            throw ServiceError(.sagaDefinitionNotFound, "no saga definition \(JSONString.quoted(request.definition))\(version) is registered")
        }
        guard SagaNames.isValidSagaID(request.id) else { throw ServiceError(.badRequest, SagaRejection.invalidSagaID(request.id).description) }
        let stream = SagaNames.stream(definition: definition.name, id: request.id)
        let response = await sagas.submit(.start(definition: definition, sagaID: request.id, input: request.input), stream: stream)
        let revision = try await decided(response, stream: stream)
        return SagaStartResponse(stream: stream, created: revision.response == .accepted, revision: revision.revision)
    }

    /// One saga: its stream folded at `consistency`, with its events.
    public func saga(definition: String, id: SagaID, consistency: EventReadConsistency = .linearizable, caller: Caller)
        async throws(ServiceError) -> SagaDetail
    {
        try authorize(caller, .sagaRead, .saga(definition))
        let stream = SagaNames.stream(definition: definition, id: id)
        let recorded = try await readSagaStream(stream, consistency: consistency)
        guard !recorded.isEmpty else {
            throw ServiceError(.sagaNotFound, "no saga \(JSONString.quoted(id.rawValue)) of definition \(JSONString.quoted(definition))")
        }
        let events: [SagaEvent]
        do { events = try recorded.map(SagaStreamEvents.sagaEvent) } catch {
            throw ServiceError(.internal, "saga stream \(stream) holds an event that is not a saga event: \(error)")
        }
        let state: SagaState
        do { state = try SagaState(replaying: events) } catch {
            throw ServiceError(.internal, "saga stream \(stream) does not fold: \(error)")
        }
        return SagaDetail(state: state, events: events, positions: recorded.map(\.position))
    }

    /// Sagas this node knows, filtered by state name (`parked`, `running`, …) and definition, by stream name.
    public func listSagas(state: String?, definition: String?, limit: Int, caller: Caller) async throws(ServiceError) -> [SagaSummary] {
        try authorizeSome(caller, .sagaRead)
        let names = ["not_started", "running", "compensating", "parked", "completed", "compensated", "cancelled"]
        if let state, !names.contains(state) {
            throw ServiceError(.invalidParameter, "state must be one of \(names.joined(separator: ", ")), not \(JSONString.quoted(state))")
        }
        guard (1...10_000).contains(limit) else { throw ServiceError(.invalidParameter, "limit must be 1…10000") }
        var matching: [SagaSummary] = []
        for summary in await sagas.summaries {
            if let state, summary.status.name != state { continue }
            if let definition, summary.definition != definition { continue }
            guard authorization.isAllowed(caller, .sagaRead, .saga(summary.definition)) else { continue }
            matching.append(summary)
            if matching.count == limit { break }
        }
        return matching
    }

    public func cancelSaga(definition: String, id: SagaID, reason: String, caller: Caller) async throws(ServiceError) -> SagaOperationResponse {
        try await operate(.cancel(reason: reason), definition: definition, id: id, caller: caller)
    }

    public func retrySaga(definition: String, id: SagaID, note: String, caller: Caller) async throws(ServiceError) -> SagaOperationResponse {
        try await operate(.operatorRetry(note: note), definition: definition, id: id, caller: caller)
    }

    public func resolveSaga(definition: String, id: SagaID, resolution: SagaResolution, note: String, caller: Caller)
        async throws(ServiceError) -> SagaOperationResponse
    {
        try await operate(.operatorResolve(resolution, note: note), definition: definition, id: id, caller: caller)
    }

    // MARK: Helpers

    /// The resource participant registrations are authorized on.
    public static let participantsResource = "$participants"

    func operate(_ input: SagaInput, definition: String, id: SagaID, caller: Caller) async throws(ServiceError) -> SagaOperationResponse {
        try authorize(caller, .sagaOperate, .saga(definition))
        let stream = SagaNames.stream(definition: definition, id: id)
        let decided = try await decided(await sagas.submit(input, stream: stream), stream: stream)
        switch decided.response {
        case .accepted:
            return SagaOperationResponse(stream: stream, revision: decided.revision, note: nil)
        case .ignored(let reason):
            // A cancel of a saga that already compensates, or a second cancel: what was asked is under way.
            if reason == .sagaFinished {
                throw ServiceError(.sagaConflict, "the saga \(stream) has finished")
            }
            return SagaOperationResponse(stream: stream, revision: decided.revision, note: "\(reason)")
        default:
            return SagaOperationResponse(stream: stream, revision: decided.revision, note: nil)
        }
    }

    /// The decision, or the error it amounts to.
    func decided(_ response: SagaHostResponse, stream: String) async throws(ServiceError) -> (response: SagaResponse, revision: UInt64?) {
        switch response {
        case .notLeading:
            try await requireLeader()
            throw ServiceError(.noLeader, "this node stopped leading while deciding; send the request again")
        case .outcomeUnknown:
            throw ServiceError(.outcomeUnknown, "this node stopped leading while recording the decision; it may or may not be recorded (sending it again is safe)")
        case .decided(.rejected(let rejection), _):
            throw Self.sagaError(rejection, stream: stream)
        case .decided(let response, let revision):
            return (response, revision)
        }
    }

    /// Throws `not_leader` (with the leader's URL) unless this node leads and its saga engine has taken over.
    func requireLeader() async throws(ServiceError) {
        let status = try await self.status()
        if status.role == .leader, await sagas.isLeading { return }
        if status.role == .leader {
            var error = ServiceError(.noLeader, "this node has just become leader and is resuming its sagas; try again shortly")
            error.retryAfterSeconds = 1
            throw error
        }
        throw ServiceError(status.leader == .none ? .noLeader : .notLeader(leader: status.leader, leaderURL: status.leaderURL))
    }

    func readSagaStream(_ stream: String, consistency: EventReadConsistency) async throws(ServiceError) -> [RecordedEvent] {
        try await eventStore.proposer.readWholeStream(stream, requirement: consistency.requirement)
    }

    static func registrationError(_ error: SagaRegistry.RegistrationError) -> ServiceError {
        switch error {
        case .invalidDefinition: ServiceError(.invalidSagaDefinition, error.description)
        case .conflict: ServiceError(.sagaDefinitionConflict, error.description)
        case .invalidParticipant: ServiceError(.invalidParameter, error.description)
        case .full: ServiceError(.storeFull, error.description)
        }
    }

    static func sagaError(_ rejection: SagaRejection, stream: String) -> ServiceError {
        switch rejection {
        case .unknownSaga: ServiceError(.sagaNotFound, "no saga \(stream)")
        case .invalidDefinition: ServiceError(.invalidSagaDefinition, rejection.description)
        case .invalidSagaID, .unknownStep: ServiceError(.badRequest, rejection.description)
        case .inputTooLarge, .resultTooLarge: ServiceError(.payloadTooLarge, rejection.description)
        case .notParked, .pivotPassed, .sagaParked, .resolutionNotAllowed: ServiceError(.sagaConflict, rejection.description)
        }
    }
}

public struct SagaStartRequest: Sendable, Hashable {
    public var definition: String
    /// The definition's version; nil for the latest registered.
    public var version: Int?
    public var id: SagaID
    public var input: JSONValue

    public init(definition: String, version: Int? = nil, id: SagaID, input: JSONValue) {
        self.definition = definition
        self.version = version
        self.id = id
        self.input = input
    }
}

public struct SagaStartResponse: Sendable, Hashable {
    public var stream: String
    /// False when a saga with this id existed: it is the answer, and nothing was appended.
    public var created: Bool
    public var revision: UInt64?
}

public struct SagaOperationResponse: Sendable, Hashable {
    public var stream: String
    public var revision: UInt64?
    /// Why nothing new was recorded, when nothing was (`alreadyCompensating`, `cancelAlreadyRequested`).
    public var note: String?
}

public struct SagaRegistrationResponse: Sendable, Hashable {
    public var created: Bool
    public var definition: SagaDefinition
}

/// One saga as its stream says.
public struct SagaDetail: Sendable, Hashable {
    public var state: SagaState
    public var events: [SagaEvent]
    /// The global position of each event.
    public var positions: [GlobalPosition]
}
