import ArgumentParser
import ChorusAPI
import ChorusClient
import ChorusCore
import ChorusProjections
import ChorusReadModels
import ChorusService
import Foundation
import NIOHTTP1

/// Loads `chorus node --projections FILE`: decodes the definitions and opens
/// their SQLite files (checking the SQL), or refuses to start with the
/// definition's own error message.
enum ProjectionsLoader {
    static func open(file: String, directory: String) throws -> ProjectionsRuntime {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("--projections: cannot read \(file)")
        }
        let definitions: [ProjectionDefinition]
        do { definitions = try ProjectionDefinitionFile.decode([UInt8](data)) } catch {
            throw ValidationError("--projections \(file): \(error)")
        }
        let options = ProjectionServiceOptions(definitions: definitions, directory: directory)
        if let problem = options.problems.first { throw ValidationError("--projections: \(problem)") }
        do { return try ProjectionsRuntime(options: options) } catch {
            throw ValidationError("--projections \(file): \(error)")
        }
    }
}

/// `chorus projections list|show|query|retry|skip|rebuild`: a node's
/// projections over its HTTP API (`/v1/projections`).
struct ProjectionsCLICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections",
        abstract: "Inspect, query, retry, skip and rebuild the projections of a running node.",
        discussion: """
            Projections run on every node from its own log, so any node answers. Exit status: 0 success; \
            1 no node answered (or a 5xx, projection_timed_out included); 2 the node refused the request \
            (projection_not_found, query_not_found, invalid_parameter, projection_stalled, …); 64 bad arguments.
            """,
        subcommands: [ProjectionsList.self, ProjectionsQuery.self, ProjectionsRebuild.self, ProjectionsRetry.self, ProjectionsSkip.self]
    )
}

struct ProjectionsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "One line per projection: name, state, position, lag, and the parked event if any.")

    @Flag(help: "Print the JSON answer instead.") var json = false
    @OptionGroup var endpoint: EventsEndpointOptions

    func run() async throws {
        let connection = try EventsConnection(endpoint)
        defer { connection.shutdown() }
        let response = try await connection.send(.GET, "/v1/projections", retrySafe: true, command: "chorus projections")
        let answer = try eventsAnswer(response, expecting: 200, command: "chorus projections")
        if json {
            print(answer.text)
            return
        }
        for projection in answer["projections"]?.arrayValue ?? [] {
            var line = "\(projection["name"]?.stringValue ?? "?") v\(projection["version"]?.text ?? "?") \(projection["state"]?.stringValue ?? "?")"
            line += " passed=\(projection["passedThrough"]?.text ?? "null") head=\(projection["headPosition"]?.text ?? "?")"
            line += " lag_events=\(projection["lag"]?["events"]?.text ?? "?") lag_seconds=\(projection["lag"]?["seconds"]?.text ?? "?")"
            if let parked = projection["parked"], parked != .null {
                line += " parked_at=\(parked["position"]?.text ?? "?") error=\(parked["error"]?.text ?? "?")"
            }
            print(line)
        }
    }
}

struct ProjectionsQuery: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query", abstract: "Run a projection's named query; print its rows, one JSON array per line.",
        discussion: "Arguments are NAME=VALUE. --min-position waits until the projection passed that position (read-your-writes).")

    @Argument(help: "The projection.") var projection: String
    @Argument(help: "The query.") var query: String
    @Argument(help: "Query arguments, NAME=VALUE.") var arguments: [String] = []
    @Option(name: .customLong("min-position"), help: "Answer once the projection has passed this global position.") var minimumPosition: UInt64?
    @Option(name: .customLong("wait-ms"), help: "How long to wait for --min-position (the node's default otherwise).") var waitMilliseconds: Int?
    @OptionGroup var endpoint: EventsEndpointOptions

    func validate() throws {
        for argument in arguments where !argument.contains("=") { throw ValidationError("query arguments are NAME=VALUE, not '\(argument)'") }
    }

    func run() async throws {
        let connection = try EventsConnection(endpoint)
        defer { connection.shutdown() }
        var items: [(String, String)] = arguments.map { argument in
            let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), String(parts[1]))
        }
        if let minimumPosition { items.append(("min-position", "\(minimumPosition)")) }
        if let waitMilliseconds { items.append(("timeout-ms", "\(waitMilliseconds)")) }
        let path = "/v1/projections/\(ChorusClient.encodePathSegment(projection))/query/\(ChorusClient.encodePathSegment(query))" + eventsQuery(items)
        let answer = try eventsAnswer(try await connection.send(.GET, path, retrySafe: true, command: "chorus projections"), expecting: 200, command: "chorus projections")
        printError("-- columns: \(answer["columns"]?.text ?? "[]") passedThrough: \(answer["passedThrough"]?.text ?? "null")")
        for row in answer["rows"]?.arrayValue ?? [] { print(row.text) }
    }
}

/// The operator commands share their shape: POST, print the report.
protocol ProjectionsOperatorCommand: AsyncParsableCommand {
    var projection: String { get }
    var endpoint: EventsEndpointOptions { get }
    static var action: String { get }
}

extension ProjectionsOperatorCommand {
    func run() async throws {
        let connection = try EventsConnection(endpoint)
        defer { connection.shutdown() }
        let path = "/v1/projections/\(ChorusClient.encodePathSegment(projection))/\(Self.action)"
        print(try eventsAnswer(try await connection.send(.POST, path, retrySafe: false, command: "chorus projections"), expecting: 200, command: "chorus projections").text)
    }
}

struct ProjectionsRebuild: ProjectionsOperatorCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild", abstract: "Rebuild a projection into fresh tables from position 0; the old ones serve until the swap.")
    static let action = "rebuild"
    @Argument(help: "The projection.") var projection: String
    @OptionGroup var endpoint: EventsEndpointOptions
}

struct ProjectionsRetry: ProjectionsOperatorCommand {
    static let configuration = CommandConfiguration(commandName: "retry", abstract: "Try a parked projection's event again.")
    static let action = "retry"
    @Argument(help: "The projection.") var projection: String
    @OptionGroup var endpoint: EventsEndpointOptions
}

struct ProjectionsSkip: ProjectionsOperatorCommand {
    static let configuration = CommandConfiguration(commandName: "skip", abstract: "Pass a parked projection's event without its statements.")
    static let action = "skip"
    @Argument(help: "The projection.") var projection: String
    @OptionGroup var endpoint: EventsEndpointOptions
}
