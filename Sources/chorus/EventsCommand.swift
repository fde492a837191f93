import ArgumentParser
import ChorusAPI
import ChorusClient
import ChorusCore
import ChorusEventStore
import ChorusService
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `chorus events append|read|subscribe|delete`: the event store of a running
/// cluster from the shell, over its HTTP API (`/v1/streams`, `/v1/all`).
struct EventsCLICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Append, read, subscribe to and delete event streams of a running cluster.",
        discussion: """
            Exit status: 0 success; 1 no node answered (or a 5xx); 2 the node refused the request \
            (invalid_event, append_too_large, invalid_stream_name, …); 3 wrong_expected_version; \
            4 stream_not_found; 5 stream_deleted; 64 bad arguments.
            """,
        subcommands: [EventsAppend.self, EventsRead.self, EventsSubscribe.self, EventsDelete.self]
    )
}

struct EventsAppend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append", abstract: "Append one event to STREAM; prints its revision and position.",
        discussion: """
            --data is the event's JSON (stored as application/json). The event's id is --id, or a random \
            UUID the command draws, so the command's own retries (another --endpoint after a lost answer) \
            append at most once; repeating the command with the same --id appends nothing and prints the \
            original revision ("already appended").
            """)

    @Argument(help: "The stream.") var stream: String
    @Option(help: "The event type.") var type: String
    @Option(help: "The event's data, as JSON.") var data: String
    @Option(help: "The event's metadata, as JSON.") var metadata: String?
    @Option(help: "The event id (a UUID).") var id: String?
    @Option(name: .customLong("expected-revision"), help: "any (default), no_stream, stream_exists or a revision N.")
    var expectedRevision: String?
    @OptionGroup var endpoint: EventsEndpointOptions

    func validate() throws {
        guard !stream.isEmpty, stream != "$all" else { throw ValidationError("give a stream name (not empty, not $all)") }
        guard !type.isEmpty else { throw ValidationError("--type must not be empty") }
        guard (try? JSONValue(parsing: data)) != nil else { throw ValidationError("--data must be JSON, e.g. '{\"total\":5}'") }
        if let metadata, (try? JSONValue(parsing: metadata)) == nil { throw ValidationError("--metadata must be JSON") }
        if let id, EventID(parsing: id) == nil { throw ValidationError("--id must be a UUID (8-4-4-4-12 hexadecimal)") }
        try validateExpectedRevision(expectedRevision)
    }

    func run() async throws {
        let connection = try EventsConnection(endpoint)
        defer { connection.shutdown() }
        var generator = SystemRandomNumberGenerator()
        let eventID = id ?? EventID.random(using: &generator).description
        var event: JSONObject = ["id": .string(eventID), "type": .string(type), "data": try JSONValue(parsing: data)]
        if let metadata { event["metadata"] = try JSONValue(parsing: metadata) }
        let headers = expectedRevision.map { [(ChorusHeader.expectedRevision, $0)] } ?? []
        let response = try await connection.send(
            .POST, eventsPath(stream), headers: headers, body: JSONValue.array([.object(event)]).utf8Bytes, retrySafe: true)
        let outcome = try eventsAnswer(response, expecting: 200)
        let written = outcome["disposition"]?.stringValue == "already_written" ? " (already appended)" : ""
        let revision = outcome["lastRevision"]?.text ?? "?"
        let position = outcome["lastPosition"]?.text ?? "?"
        print("OK stream=\(stream) revision=\(revision) position=\(position) id=\(eventID)\(written)")
    }
}

struct EventsRead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read", abstract: "Print events of STREAM, or of '$all', one JSON object per line.",
        discussion: """
            --from is a revision for a stream and a position for $all (inclusive), or start or end. When \
            more events follow, standard error ends with '-- next: --from N'.
            """)

    @Argument(help: "The stream, or '$all'.") var stream: String
    @Flag(help: "Read from the end towards the start.") var backwards = false
    @Option(help: "start, end, or a revision (a position for $all).") var from: String?
    @Option(help: "At most this many events (1...4096).") var limit: Int = 100
    @Option(name: .customLong("stream-prefix"), help: "$all only: streams whose names start with this (repeatable).")
    var streamPrefixes: [String] = []
    @Option(name: .customLong("type-prefix"), help: "$all only: event types that start with this (repeatable).")
    var typePrefixes: [String] = []
    @Option(help: "linearizable (default), sequential, session, consistent-prefix or eventual.")
    var consistency: String?
    @OptionGroup var endpoint: EventsEndpointOptions

    func validate() throws {
        guard !stream.isEmpty else { throw ValidationError("give a stream name or '$all'") }
        guard (1...4_096).contains(limit) else { throw ValidationError("--limit must be in 1...4096") }
        try validateFrom(from)
        try validateFilters(stream, streamPrefixes, typePrefixes)
        if let consistency {
            do { _ = try ConsistencyLevel.parse(consistency) } catch { throw ValidationError("--consistency: \(error.message)") }
        }
    }

    func run() async throws {
        let connection = try EventsConnection(endpoint)
        defer { connection.shutdown() }
        var query = [("limit", "\(limit)")]
        if backwards { query.append(("direction", "backwards")) }
        if let from { query.append(("from", from)) }
        if let consistency { query.append(("consistency", consistency)) }
        query += streamPrefixes.map { ("stream-prefix", $0) } + typePrefixes.map { ("type-prefix", $0) }
        let response = try await connection.send(.GET, eventsPath(stream) + eventsQuery(query), retrySafe: true)
        let page = try eventsAnswer(response, expecting: 200)
        for event in page["events"]?.arrayValue ?? [] { print(event.text) }
        if let next = page[stream == "$all" ? "nextPosition" : "nextRevision"], next != .null {
            printError("-- next: --from \(next.text)")
        }
    }
}

struct EventsSubscribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscribe", abstract: "Print events of STREAM, or of '$all', as they arrive (history first).",
        discussion: """
            Prints history after --from (a revision for a stream, a position for $all), one JSON object per \
            line, then '-- caught up' on standard error, then live events, until Ctrl-C or --count events. \
            If the connection drops, it reconnects (to the next --endpoint too) and resumes after the last \
            event it printed (Last-Event-ID), so no event is printed twice or skipped; it gives up when no \
            node accepts it for --timeout-ms.
            """)

    @Argument(help: "The stream, or '$all'.") var stream: String
    @Option(help: "start (default), end, or a revision (a position for $all) to start after.") var from: String?
    @Option(help: "Stop after this many events.") var count: Int?
    @Option(name: .customLong("stream-prefix"), help: "$all only: streams whose names start with this (repeatable).")
    var streamPrefixes: [String] = []
    @Option(name: .customLong("type-prefix"), help: "$all only: event types that start with this (repeatable).")
    var typePrefixes: [String] = []
    @OptionGroup var endpoint: EventsEndpointOptions

    /// Redirects followed per connection attempt.
    static let maximumRedirects = 4
    /// The pause before reconnecting.
    static let reconnectDelayMilliseconds = 200

    func validate() throws {
        guard !stream.isEmpty else { throw ValidationError("give a stream name or '$all'") }
        try validateFrom(from)
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        guard !endpoint.endpoints.contains(where: { $0.hasPrefix("https://") }) else {
            throw ValidationError("subscribe reads server-sent events over http:// endpoints only (not https:// yet)")
        }
        try validateFilters(stream, streamPrefixes, typePrefixes)
    }

    func run() async throws {
        let connection = try EventsConnection(endpoint)
        let endpoints = connection.client.endpoints
        let token = connection.client.configuration.bearerToken
        connection.shutdown()
        var query: [(String, String)] = []
        if let from { query.append(("from", from)) }
        query += streamPrefixes.map { ("stream-prefix", $0) } + typePrefixes.map { ("type-prefix", $0) }
        let path = eventsPath(stream, "/subscribe") + eventsQuery(query)
        let reader = ServerSentEventsClient(connectTimeoutMilliseconds: Int64(endpoint.timeoutMilliseconds))
        var printed = 0
        var resumeAfter: String?
        var problem: APIProblem?
        var target = endpoints[0]
        var redirects = 0
        var lastProblem = ""
        var givingUpAt = ContinuousClock.now + .milliseconds(endpoint.timeoutMilliseconds)
        while true {
            let outcome: ServerSentEventsClient.Outcome
            do {
                var headers = resumeAfter.map { [(ChorusHeader.lastEventID, $0)] } ?? []
                if let token { headers.append(("Authorization", "Bearer \(token)")) }
                outcome = try await reader.read(target, path, headers: headers) { message in
                    switch message.event {
                    case "event":
                        writeLine(message.data)
                        printed += 1
                        resumeAfter = message.id ?? resumeAfter
                        return count.map { printed < $0 } ?? true
                    case "checkpoint":
                        resumeAfter = message.id ?? resumeAfter
                    case "caught-up":
                        resumeAfter = message.id ?? resumeAfter
                        printError("-- caught up")
                    case "fell-behind":
                        printError("-- fell behind; catching up")
                    case "error":
                        problem = APIProblem(json: Array(message.data.utf8))
                        if problem == nil { printError("chorus events: \(message.data)") }
                        return false
                    default:
                        break
                    }
                    return true
                }
            } catch {
                lastProblem = "\(error)"
                outcome = .ended
            }
            switch outcome {
            case .stopped:
                guard let problem else { return }
                eventsReport(problem, status: problem.code.httpStatus)
                throw ExitCode(EventsExitStatus.of(problem.code, status: problem.code.httpStatus))
            case .refused(307, let headers, _) where redirects < Self.maximumRedirects:
                if let location = headers.first(name: "Location"), let (leader, _) = HTTPOrigin.parse(location),
                    leader.scheme == .http
                {
                    redirects += 1
                    target = leader
                    continue
                }
                lastProblem = "\(target) redirected without a usable Location"
            case .refused(503, _, let body):
                lastProblem = "\(target): " + (APIProblem(json: body)?.description ?? "503")
            case .refused(let status, _, let body):
                try eventsFailure(status: status, body: body)
            case .ended:
                // Accepted, then closed (the node stopped, or the network failed): start the patience again.
                if lastProblem.isEmpty {
                    lastProblem = "\(target) ended the subscription"
                    givingUpAt = ContinuousClock.now + .milliseconds(endpoint.timeoutMilliseconds)
                }
            }
            guard ContinuousClock.now < givingUpAt else {
                printError("chorus events: \(lastProblem)")
                throw ExitCode(EventsExitStatus.unavailable)
            }
            printError("-- \(lastProblem); reconnecting")
            let next = (endpoints.firstIndex(of: target).map { $0 + 1 } ?? 0) % endpoints.count
            target = endpoints[next]
            redirects = 0
            lastProblem = ""
            try await Task.sleep(for: .milliseconds(Self.reconnectDelayMilliseconds))
        }
    }
}

struct EventsDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete STREAM: soft (it reads as absent; a later append continues its numbering), or --hard (for good).")

    @Argument(help: "The stream.") var stream: String
    @Flag(help: "Tombstone the stream: it can never be written, read or subscribed to again.") var hard = false
    @Option(name: .customLong("expected-revision"), help: "any (default), no_stream, stream_exists or a revision N.")
    var expectedRevision: String?
    @OptionGroup var endpoint: EventsEndpointOptions

    func validate() throws {
        guard !stream.isEmpty, stream != "$all" else { throw ValidationError("give a stream name (not empty, not $all)") }
        try validateExpectedRevision(expectedRevision)
    }

    func run() async throws {
        let connection = try EventsConnection(endpoint)
        defer { connection.shutdown() }
        let headers = expectedRevision.map { [(ChorusHeader.expectedRevision, $0)] } ?? []
        let response = try await connection.send(
            .DELETE, eventsPath(stream) + (hard ? "?hard=true" : ""), headers: headers, retrySafe: false)
        let deleted = try eventsAnswer(response, expecting: 200)
        let kind = deleted["kind"]?.stringValue ?? "soft"
        print("OK \(kind)-deleted stream=\(stream) revision=\(deleted["lastRevision"]?.text ?? "?")")
    }
}

/// `--expected-revision`: any, no_stream, stream_exists or a revision.
private func validateExpectedRevision(_ text: String?) throws {
    guard let text else { return }
    do { _ = try ExpectedState.parse(text) } catch { throw ValidationError("--expected-revision: \(error.message)") }
}

/// `--from`: start, end or a non-negative integer.
private func validateFrom(_ from: String?) throws {
    if let from, from != "start", from != "end", UInt64(from) == nil {
        throw ValidationError("--from must be start, end or a non-negative integer")
    }
}

/// The filters apply to `$all` only.
private func validateFilters(_ stream: String, _ streamPrefixes: [String], _ typePrefixes: [String]) throws {
    if stream != "$all" && !(streamPrefixes.isEmpty && typePrefixes.isEmpty) {
        throw ValidationError("--stream-prefix and --type-prefix filter $all only")
    }
}
