import ChorusCore
import ChorusSagas

/// The services sagas call (inventory, payments, shipping, hotel, flight,
/// car), as the saga README's participant contract asks them to behave:
///
/// - **idempotent on `Idempotency-Key`**: the first request with a key is
///   applied (or refused) and its answer stored; every later request with
///   that key gets the stored answer, success or refusal, and applies nothing;
/// - **a compensation of a key never applied is a successful no-op**, and it
///   *voids* the key: an action that arrives after its own compensation (a
///   deposed leader re-sending a call, a request that lingered) is refused,
///   so it can never apply after its undo;
/// - while faults are on: retryable failures (`unavailable`, nothing applied),
///   lost requests, requests and replies later than the attempt timeout,
///   lost replies;
///   always: business refusals with the definitions' non-retryable codes.
///
/// Every application (not every reply) is recorded for `SagaChecker`.
struct SimulatedParticipants {
    var unavailableProbability: Double
    var requestLossProbability: Double
    var replyLossProbability: Double
    var lateReplyProbability: Double
    /// Requests that linger on the way (a proxy's queue) and arrive after their attempt timed out.
    var lateRequestProbability: Double
    var refusalProbability: Double
    /// participant → idempotency key → the stored answer.
    var answers: [String: [String: ParticipantOutcome]] = [:]
    var applications: [ParticipantApplication] = []

    static let requestDelayMicroseconds: ClosedRange<UInt64> = 500...20_000
    static let replyDelayMaximumMicroseconds: UInt64 = 30_000
    /// Past every attempt timeout (`SimulatedSagaDefinitions.attemptTimeoutMilliseconds`).
    static let lateReplyDelayMicroseconds: ClosedRange<UInt64> = 450_000...1_500_000
    static let compensationSuffix = "/compensation"

    /// The code a participant refuses an action with, if it does this time.
    func businessRefusal(_ participant: String, random: inout SeededGenerator) -> String? {
        guard random.chance(refusalProbability) else { return nil }
        switch participant {
        case "inventory": return "out_of_stock"
        case "payments": return "card_declined"
        case "hotel", "flight", "car": return "sold_out"
        case "shipping": return "address_invalid"
        default: return nil
        }
    }

    /// One request arrives: what the participant does and answers.
    mutating func handle(_ call: SagaCall, faultsActive: Bool, random: inout SeededGenerator) -> ParticipantOutcome {
        let participant = call.request.participant
        let key = call.request.idempotencyKey
        if faultsActive && random.chance(unavailableProbability) {
            return .failed(code: "unavailable", message: "try again", nonRetryable: false)
        }
        if let stored = answers[participant]?[key] { return stored }
        if call.phase == .compensation {
            let outcome = apply(participant: participant, key: key)
            if key.hasSuffix(Self.compensationSuffix) {
                let actionKey = String(key.dropLast(Self.compensationSuffix.count))
                if answers[participant]?[actionKey] == nil {
                    answers[participant, default: [:]][actionKey] = .failed(
                        code: "voided", message: "compensated before it arrived", nonRetryable: true)
                }
            }
            return outcome
        }
        if let code = businessRefusal(participant, random: &random) {
            let refusal = ParticipantOutcome.failed(code: code, message: "refused", nonRetryable: true)
            answers[participant, default: [:]][key] = refusal
            return refusal
        }
        return apply(participant: participant, key: key)
    }

    /// Applies the request with `key` (once: callers check the stored answers first).
    mutating func apply(participant: String, key: String) -> ParticipantOutcome {
        precondition(answers[participant]?[key] == nil, "\(participant) applies \(key) a second time")
        applications.append(ParticipantApplication(participant: participant, idempotencyKey: key))
        let outcome = ParticipantOutcome.succeeded(result: ["id": .string("\(participant)-\(applications.count)")])
        answers[participant, default: [:]][key] = outcome
        return outcome
    }

    /// What an operator does by hand for a step a saga could not finish: the
    /// stored success if the participant applied the key, else the work done
    /// by hand now (recorded as the key's one application).
    mutating func doByHand(participant: String, key: String) -> JSONValue {
        if case .succeeded(let result)? = answers[participant]?[key] { return result }
        answers[participant]?[key] = nil
        guard case .succeeded(let result) = apply(participant: participant, key: key) else {
            preconditionFailure("apply succeeds")
        }
        return result
    }

    /// What an operator finds for an uncertain pivot: the result if the
    /// participant applied the key; otherwise the key is voided (a request
    /// still on its way will be refused) and nil is returned.
    mutating func checkOrVoid(participant: String, key: String) -> JSONValue? {
        switch answers[participant]?[key] {
        case .succeeded(let result)?: return result
        case .failed?: return nil
        case nil:
            answers[participant, default: [:]][key] = .failed(
                code: "voided", message: "voided by an operator", nonRetryable: true)
            return nil
        }
    }

    /// Network: whether a request or a reply is lost, and a reply's delay.
    func requestLost(faultsActive: Bool, random: inout SeededGenerator) -> Bool {
        faultsActive && random.chance(requestLossProbability)
    }

    func replyLost(faultsActive: Bool, random: inout SeededGenerator) -> Bool {
        faultsActive && random.chance(replyLossProbability)
    }

    func replyDelay(faultsActive: Bool, random: inout SeededGenerator) -> UInt64 {
        if faultsActive && random.chance(lateReplyProbability) {
            let range = Self.lateReplyDelayMicroseconds
            return range.lowerBound + random.next() % (range.upperBound - range.lowerBound + 1)
        }
        return 500 + random.next() % Self.replyDelayMaximumMicroseconds
    }

    func requestDelay(faultsActive: Bool, random: inout SeededGenerator) -> UInt64 {
        let range =
            faultsActive && random.chance(lateRequestProbability)
            ? Self.lateReplyDelayMicroseconds : Self.requestDelayMicroseconds
        return range.lowerBound + random.next() % (range.upperBound - range.lowerBound + 1)
    }
}
