import ArgumentParser
import ChorusAPI
import ChorusClient
import ChorusCore
import NIOHTTP1

/// The exit statuses of `chorus events` (listed in its help).
enum EventsExitStatus {
    /// No node answered usefully: connection failures, 5xx, an unreadable answer.
    static let unavailable: Int32 = 1
    /// The node refused the request (a 4xx other than those below): `invalid_event`, `append_too_large`, ….
    static let refused: Int32 = 2
    static let wrongExpectedVersion: Int32 = 3
    static let streamNotFound: Int32 = 4
    static let streamDeleted: Int32 = 5
    // Bad arguments exit with ArgumentParser's usage status, 64 (EX_USAGE).

    static func of(_ code: ErrorCode, status: Int) -> Int32 {
        switch code {
        case .wrongExpectedVersion: wrongExpectedVersion
        case .streamNotFound: streamNotFound
        case .streamDeleted: streamDeleted
        default: (400..<500).contains(status) ? refused : unavailable
        }
    }
}

/// Where `chorus events` sends its requests (the `kv` commands' options
/// without the key-value session file).
struct EventsEndpointOptions: ParsableArguments {
    @Option(name: .customLong("endpoint"), help: "A node's HTTP URL; repeat for several (default http://127.0.0.1:8001).")
    var endpoints: [String] = []

    @Option(
        name: .customLong("timeout-ms"),
        help: "Give up on a request (a subscription: on reconnecting) after this many milliseconds.")
    var timeoutMilliseconds: Int = 10_000

    @OptionGroup var credentials: TokenOptions

    func validate() throws {
        guard timeoutMilliseconds >= 1 else { throw ValidationError("--timeout-ms must be positive") }
    }
}

/// The node `chorus events` talks to: the endpoints in order through
/// `ChorusClient`'s raw exchange, following leader redirects (307 with
/// `Location`) itself. A request that is `retrySafe` (a read, or an append
/// whose event ids the command chose) moves to the next endpoint when one
/// does not answer or has no leader; any other is sent to one node only, so
/// it is never applied twice.
struct EventsConnection {
    let client: ChorusClient
    /// Redirects followed per endpoint (a leader change mid-request can take two).
    static let maximumRedirects = 4

    init(_ options: EventsEndpointOptions) throws {
        var configuration = ChorusClient.Configuration()
        configuration.operationTimeoutMilliseconds = options.timeoutMilliseconds
        configuration.bearerToken = try options.credentials.resolve()
        do {
            client = try ChorusClient(
                endpoints: options.endpoints.isEmpty ? ["http://127.0.0.1:8001"] : options.endpoints,
                configuration: configuration)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// The answer to `method path`, or exit status 1 with the reason when no node gave one.
    func send(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil, retrySafe: Bool,
        command: String = "chorus events"
    ) async throws -> ChorusResponse {
        var lastProblem = "no endpoint"
        for endpoint in client.endpoints {
            var target = endpoint
            var redirects = 0
            while true {
                let response: ChorusResponse
                do {
                    response = try await client.send(method, url: target.description + path, headers: headers, body: body)
                } catch {
                    lastProblem = error.description
                    break
                }
                if response.status == 307, redirects < Self.maximumRedirects,
                    let location = response.headers.first(name: "Location"), let (leader, _) = HTTPOrigin.parse(location)
                {
                    redirects += 1
                    target = leader
                    continue
                }
                guard response.status == 503, retrySafe else { return response }
                lastProblem = "\(target): " + (response.problem.map(\.description) ?? "503")
                break
            }
            guard retrySafe else { break }
        }
        printError("\(command): \(lastProblem)")
        throw ExitCode(EventsExitStatus.unavailable)
    }

    func shutdown() { client.shutdown() }
}

/// The JSON body of a response with the expected status; otherwise prints
/// the API's error and exits with its status (`EventsExitStatus`).
func eventsAnswer(_ response: ChorusResponse, expecting status: Int, command: String = "chorus events") throws -> JSONValue {
    if response.status == status, let value = try? JSONValue(parsing: response.body) { return value }
    try eventsFailure(status: response.status, body: response.body, command: command)
}

/// Prints an error answer and exits with its status.
func eventsFailure(status: Int, body: [UInt8], command: String = "chorus events") throws -> Never {
    guard let problem = APIProblem(json: body) else {
        printError("\(command): HTTP \(status): \(String(decoding: body.prefix(500), as: UTF8.self))")
        throw ExitCode((400..<500).contains(status) ? EventsExitStatus.refused : EventsExitStatus.unavailable)
    }
    eventsReport(problem, status: status, command: command)
    throw ExitCode(EventsExitStatus.of(problem.code, status: status))
}

/// `code: message`, and the facts a person needs (the actual revision of a conflict).
func eventsReport(_ problem: APIProblem, status: Int, command: String = "chorus events") {
    var line = "\(command): \(problem.code.rawValue): \(problem.message)"
    if let actual = problem.details["actualRevision"] { line += " (actual revision: \(actual.text))" }
    printError(line)
}

/// `/v1/streams/{stream}` (percent-encoded), or `/v1/all` for `$all`, then `suffix`.
func eventsPath(_ stream: String, _ suffix: String = "") -> String {
    (stream == "$all" ? "/v1/all" : "/v1/streams/" + ChorusClient.encodePathSegment(stream)) + suffix
}

/// `?a=b&c=d` with each value percent-encoded, or nothing when empty.
func eventsQuery(_ items: [(String, String)]) -> String {
    items.isEmpty ? "" : "?" + items.map { "\($0.0)=\(ChorusClient.encodePathSegment($0.1))" }.joined(separator: "&")
}
