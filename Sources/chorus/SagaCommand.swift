import ArgumentParser
import ChorusAPI
import ChorusClient
import ChorusCore
import Foundation
import NIOHTTP1

/// `chorus saga define|participant|start|show|list|cancel|retry|resolve`:
/// the saga engine of a running cluster over its HTTP API (`/v1/sagas`).
struct SagaCLICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saga",
        abstract: "Define, start, inspect, cancel, retry and resolve sagas on a running cluster.",
        discussion: """
            A saga is named DEFINITION/ID (its stream is saga-DEFINITION-ID). Starts and operator commands go to the \
            leader (a follower redirects); show and list answer on any node. Exit status: 0 success; 1 no node \
            answered (or a 5xx); 2 the cluster refused the request (invalid_saga_definition, saga_not_found, \
            saga_conflict, …); 64 bad arguments.
            """,
        subcommands: [
            SagaDefine.self, SagaParticipant.self, SagaStart.self, SagaShow.self, SagaList.self, SagaCancel.self, SagaRetry.self,
            SagaResolve.self,
        ]
    )
}

/// `DEFINITION/ID` as path segments.
func sagaPath(_ name: String, _ suffix: String = "") throws -> String {
    let parts = name.split(separator: "/", maxSplits: 1).map(String.init)
    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
        throw ValidationError("a saga is named DEFINITION/ID (e.g. order/42), not '\(name)'")
    }
    return "/v1/sagas/\(ChorusClient.encodePathSegment(parts[0]))/\(ChorusClient.encodePathSegment(parts[1]))\(suffix)"
}

/// A JSON argument (`--input '{"a":1}'` or `--input @file.json`).
func sagaJSONArgument(_ text: String, option: String) throws -> JSONValue {
    var bytes = Array(text.utf8)
    if text.hasPrefix("@") {
        guard let data = FileManager.default.contents(atPath: String(text.dropFirst())) else {
            throw ValidationError("\(option): cannot read \(text.dropFirst())")
        }
        bytes = [UInt8](data)
    }
    do { return try JSONValue(parsing: bytes) } catch { throw ValidationError("\(option) is not JSON: \(error)") }
}

struct SagaDefine: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "define", abstract: "Register a definition from a JSON file (Sources/ChorusSagas/README.md, \"Definition format\").")

    @Argument(help: "The definition's JSON file.") var file: String
    @OptionGroup var endpoint: EventsEndpointOptions

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
        let definition: JSONValue
        do { definition = try JSONValue(parsing: [UInt8](data)) } catch { throw ValidationError("\(file) is not JSON: \(error)") }
        guard let name = definition["name"]?.stringValue else { throw ValidationError("\(file): the definition has no \"name\"") }
        let connection = try EventsConnection(endpoint)
        defer { connection.shutdown() }
        let response = try await connection.send(
            .PUT, "/v1/sagas/definitions/\(ChorusClient.encodePathSegment(name))", headers: [("Content-Type", "application/json")],
            body: [UInt8](data), retrySafe: true, command: "chorus saga")
        let answer = try eventsAnswer(response, expecting: response.status == 201 ? 201 : 200, command: "chorus saga")
        print("\(answer["created"] == .bool(true) ? "registered" : "unchanged") \(name) v\(answer["version"]?.text ?? "?")")
    }
}

struct SagaParticipant: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "participant", abstract: "Register a participant's base URL (steps name it in action.participant).")

    @Argument(help: "The participant's name.") var name: String
    @Argument(help: "Its base URL, http://host:port.") var url: String
    @OptionGroup var endpoint: EventsEndpointOptions

    func run() async throws {
        let connection = try EventsConnection(endpoint)
        defer { connection.shutdown() }
        let body: JSONValue = ["url": .string(url)]
        let response = try await connection.send(
            .PUT, "/v1/sagas/participants/\(ChorusClient.encodePathSegment(name))", headers: [("Content-Type", "application/json")],
            body: Array(body.text.utf8), retrySafe: true, command: "chorus saga")
        let answer = try eventsAnswer(response, expecting: response.status == 201 ? 201 : 200, command: "chorus saga")
        print("\(answer["created"] == .bool(true) ? "registered" : "unchanged") \(name) \(url)")
    }
}

struct SagaStart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Start a saga; a second start with the same id returns the existing one.")

    @Argument(help: "DEFINITION/ID.") var saga: String
    @Option(help: "The saga's input, JSON or @FILE.") var input: String = "{}"
    @Option(help: "The definition's version (default: the latest).") var version: Int?
    @OptionGroup var endpoint: EventsEndpointOptions

    func run() async throws {
        let parts = saga.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw ValidationError("a saga is named DEFINITION/ID (e.g. order/42), not '\(saga)'") }
        var body: JSONObject = ["definition": .string(parts[0]), "id": .string(parts[1]), "input": try sagaJSONArgument(input, option: "--input")]
        if let version { body["version"] = .integer(Int64(version)) }
        let connection = try EventsConnection(endpoint)
        defer { connection.shutdown() }
        let response = try await connection.send(
            .POST, "/v1/sagas", headers: [("Content-Type", "application/json")], body: Array(JSONValue.object(body).text.utf8),
            retrySafe: true, command: "chorus saga")
        let answer = try eventsAnswer(response, expecting: response.status == 201 ? 201 : 200, command: "chorus saga")
        print("\(answer["created"] == .bool(true) ? "started" : "exists") \(answer["stream"]?.stringValue ?? saga)")
    }
}

struct SagaShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "A saga's state and timeline (one line per event, with the time since the start).")

    @Argument(help: "DEFINITION/ID.") var saga: String
    @Flag(help: "Print the JSON answer instead.") var json = false
    @OptionGroup var endpoint: EventsEndpointOptions

    func run() async throws {
        let connection = try EventsConnection(endpoint)
        defer { connection.shutdown() }
        let response = try await connection.send(.GET, try sagaPath(saga), retrySafe: true, command: "chorus saga")
        let answer = try eventsAnswer(response, expecting: 200, command: "chorus saga")
        if json {
            print(answer.text)
            return
        }
        print("\(answer["stream"]?.stringValue ?? "?") \(answer["status"]?.stringValue ?? "?")")
        if let failure = answer["parkedFailure"], failure != .null {
            print("parked on: \(failure["code"]?.stringValue ?? "?"): \(failure["message"]?.stringValue ?? "")")
        }
        for line in answer["timeline"]?.arrayValue ?? [] { print(line.stringValue ?? "") }
        let errors = answer["errors"]?.arrayValue ?? []
        if !errors.isEmpty {
            print("errors:")
            for error in errors {
                print("  \(error["step"]?.stringValue ?? "?")\(error["phase"]?.stringValue == "compensation" ? "/c" : "")#\(error["attempt"]?.text ?? "?") \(error["code"]?.stringValue ?? "?"): \(error["message"]?.stringValue ?? "")")
            }
        }
    }
}

struct SagaList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "One line per saga: stream, state, revision. --state parked lists the graveyard.")

    @Option(help: "running, compensating, parked, completed, compensated or cancelled.") var state: String?
    @Option(help: "Only sagas of this definition.") var definition: String?
    @Option(help: "At most this many.") var limit: Int = 100
    @Flag(help: "Print the JSON answer instead.") var json = false
    @OptionGroup var endpoint: EventsEndpointOptions

    func run() async throws {
        var query: [(String, String)] = [("limit", "\(limit)")]
        if let state { query.append(("state", state)) }
        if let definition { query.append(("definition", definition)) }
        let connection = try EventsConnection(endpoint)
        defer { connection.shutdown() }
        let response = try await connection.send(.GET, "/v1/sagas" + eventsQuery(query), retrySafe: true, command: "chorus saga")
        let answer = try eventsAnswer(response, expecting: 200, command: "chorus saga")
        if json {
            print(answer.text)
            return
        }
        for saga in answer["sagas"]?.arrayValue ?? [] {
            print("\(saga["stream"]?.stringValue ?? "?") \(saga["status"]?.stringValue ?? "?") revision=\(saga["revision"]?.text ?? "?")")
        }
    }
}

/// The three operator commands share their shape: POST a small JSON body to the saga.
struct SagaOperatorRequest {
    static func send(_ saga: String, _ command: String, _ body: JSONObject, endpoint: EventsEndpointOptions) async throws {
        let connection = try EventsConnection(endpoint)
        defer { connection.shutdown() }
        let response = try await connection.send(
            .POST, try sagaPath(saga, "/\(command)"), headers: [("Content-Type", "application/json")],
            body: Array(JSONValue.object(body).text.utf8), retrySafe: false, command: "chorus saga")
        let answer = try eventsAnswer(response, expecting: 200, command: "chorus saga")
        var line = "\(command) recorded for \(answer["stream"]?.stringValue ?? saga)"
        if let note = answer["note"]?.stringValue { line += " (\(note))" }
        print(line)
    }
}

struct SagaCancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Compensate what completed and end cancelled.")
    @Argument(help: "DEFINITION/ID.") var saga: String
    @Option(help: "Why (recorded in the stream).") var reason: String = "cancelled from the command line"
    @OptionGroup var endpoint: EventsEndpointOptions

    func run() async throws { try await SagaOperatorRequest.send(saga, "cancel", ["reason": .string(reason)], endpoint: endpoint) }
}

struct SagaRetry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry", abstract: "Give a parked saga's step or compensation a fresh attempt budget (same idempotency key).")
    @Argument(help: "DEFINITION/ID.") var saga: String
    @Option(help: "A note recorded in the stream.") var note: String = ""
    @OptionGroup var endpoint: EventsEndpointOptions

    func run() async throws { try await SagaOperatorRequest.send(saga, "retry", ["note": .string(note)], endpoint: endpoint) }
}

struct SagaResolve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve", abstract: "Settle a parked saga by hand: --succeeded [--result JSON], or --failed CODE for an uncertain pivot.")
    @Argument(help: "DEFINITION/ID.") var saga: String
    @Flag(help: "What parked the saga is done.") var succeeded = false
    @Option(help: "The result later steps read (with --succeeded).") var result: String?
    @Option(help: "The uncertain pivot did not take effect, with this error code.") var failed: String?
    @Option(help: "A note recorded in the stream.") var note: String = ""
    @OptionGroup var endpoint: EventsEndpointOptions

    func validate() throws {
        guard succeeded != (failed != nil) else { throw ValidationError("give exactly one of --succeeded and --failed CODE") }
        if result != nil && !succeeded { throw ValidationError("--result goes with --succeeded") }
    }

    func run() async throws {
        var body: JSONObject = ["note": .string(note)]
        if let failed {
            body["outcome"] = "failed"
            body["code"] = .string(failed)
        } else {
            body["outcome"] = "succeeded"
            if let result { body["result"] = try sagaJSONArgument(result, option: "--result") }
        }
        try await SagaOperatorRequest.send(saga, "resolve", body, endpoint: endpoint)
    }
}
