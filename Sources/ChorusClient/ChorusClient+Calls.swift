import ChorusAPI
import NIOCore
import NIOHTTP1

/// One call's request, sent (and re-sent) until it succeeds, fails, or its deadline passes.
struct Call {
    var method: HTTPMethod
    /// Path and query, the same on every node.
    var path: String
    var headers: HTTPHeaders
    var body: [UInt8]?
    /// A write carries an idempotency session; its outcome may be unknown.
    var isWrite: Bool
}

/// What the client does with one answer (redirects are handled before).
enum Decision {
    /// The answer is the call's result.
    case finish
    /// Try again after a backoff, at the same node or another.
    case retry(RetryTarget, because: String)
    /// The write may have been applied (`outcome_unknown`): retry it with its session.
    case retryOutcomeUnknown(because: String)
    /// The server does not know this session: nothing of this attempt was applied.
    case sessionExpired(APIProblem)
    case fail(ChorusClientError)
}

enum RetryTarget {
    case sameNode
    /// This node cannot serve it now (no leader, stopped, not caught up): forget it as leader, rotate.
    case anotherNode
}

extension ChorusClient {
    /// Sends `call` until `decide` accepts an answer or the deadline passes
    /// (no attempt starts with less than `minimumAttemptMilliseconds` left).
    ///
    /// A write that got no answer after its request may have left, or got
    /// `outcome_unknown`, ends in `.outcomeUnknown` if nothing better is
    /// learned before the deadline; otherwise an exhausted call ends in
    /// `.unavailable`. A session-expired answer after such an attempt is
    /// also an unknown outcome (the session may have applied it, then been
    /// evicted); before any, it is `.api(session_expired)`, and nothing happened.
    func perform(
        _ call: Call, deadline: NIODeadline, decide: (ChorusResponse) -> Decision
    ) async throws(ChorusClientError) -> ChorusResponse {
        var target = startingOrigin(forWrite: call.isWrite)
        var attempt = 0
        var redirects = 0
        var mayHaveApplied = false
        var lastProblem = "no attempt was made before the deadline"
        let minimumAttempt = TimeAmount.milliseconds(Int64(configuration.minimumAttemptMilliseconds))
        while deadline - .now() >= minimumAttempt, !Task.isCancelled {
            attempt += 1
            let exchangeDeadline = min(deadline, .now() + .milliseconds(Int64(configuration.requestTimeoutMilliseconds)))
            let response: ChorusResponse
            var headers = call.headers
            if let token = sessionToken { headers.replaceOrAdd(name: ChorusHeader.session, value: token.text) }
            do {
                response = try await exchange(
                    call.method, origin: target, path: call.path, headers: headers, body: call.body,
                    deadline: exchangeDeadline)
            } catch {
                if call.isWrite && error.requestMayHaveBeenSent { mayHaveApplied = true }
                lastProblem = error.description
                forgetLeader(target)
                target = rotate(after: target)
                await backoff(attempt, deadline: deadline)
                continue
            }
            noteIndex(response)
            if response.status == 307 {
                redirects += 1
                if redirects <= configuration.maximumRedirects, let next = redirectTarget(response, from: target) {
                    target = next
                    continue
                }
                lastProblem = "\(target) redirected without a usable Location, or too often"
                forgetLeader(target)
                target = rotate(after: target)
                await backoff(attempt, deadline: deadline)
                continue
            }
            switch decide(response) {
            case .finish:
                if call.isWrite { rememberLeader(target) }
                return response
            case .retry(let retryTarget, let reason):
                lastProblem = "\(target): \(reason)"
                if case .anotherNode = retryTarget {
                    forgetLeader(target)
                    target = rotate(after: target)
                }
                await backoff(attempt, deadline: deadline)
            case .retryOutcomeUnknown(let reason):
                mayHaveApplied = true
                lastProblem = "\(target): \(reason)"
                await backoff(attempt, deadline: deadline)
            case .sessionExpired(let problem):
                if mayHaveApplied {
                    throw .outcomeUnknown("the session expired after an attempt whose outcome is unknown: \(problem.message)")
                }
                throw .api(problem, status: response.status)
            case .fail(let error):
                throw error
            }
        }
        if Task.isCancelled { lastProblem = "cancelled; last: \(lastProblem)" }
        throw mayHaveApplied ? .outcomeUnknown(lastProblem) : .unavailable(lastProblem)
    }

    /// How a read or write treats an error answer the call did not accept
    /// itself: retryable codes again, known refusals as `.api`, anything
    /// unknown as `.unexpectedResponse`, except a bare 503, which HTTP defines
    /// as "try later" (RFC 9110 §15.6.4) whatever its body says.
    static func decideError(_ response: ChorusResponse, isWrite: Bool) -> Decision {
        guard let problem = response.problem else {
            if response.status == 503 { return .retry(.anotherNode, because: "503 \(response.bodyExcerpt)") }
            return .fail(.unexpectedResponse(status: response.status, body: response.bodyExcerpt))
        }
        let reason = "\(problem.code): \(problem.message)"
        switch problem.code {
        case .outcomeUnknown where isWrite:
            return .retryOutcomeUnknown(because: reason)
        case .sessionExpired where isWrite:
            return .sessionExpired(problem)
        case .noLeader, .notLeader, .notCaughtUp:
            return .retry(.anotherNode, because: reason)
        case .stopped:
            // Not `isRetryable` (this node will not recover), but another node may answer.
            return .retry(.anotherNode, because: reason)
        case let code where code.isRetryable:
            return .retry(.sameNode, because: reason)
        default:
            return .fail(.api(problem, status: response.status))
        }
    }
}
