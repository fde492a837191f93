import ArgumentParser
import ChorusAPI
import ChorusClient

/// `chorus kv put|get|delete`: talk to a cluster from the shell.
struct KeyValueCLICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kv",
        abstract: "Read and write keys of a running cluster.",
        subcommands: [KeyValuePut.self, KeyValueGet.self, KeyValueDelete.self]
    )
}

struct EndpointOptions: ParsableArguments {
    @Option(name: .customLong("endpoint"), help: "A node's HTTP URL; repeat for several (default http://127.0.0.1:8001).")
    var endpoints: [String] = []

    @Option(name: .customLong("timeout-ms"), help: "Give up after this many milliseconds, retries included.")
    var timeoutMilliseconds: Int = 10_000

    func makeClient() throws -> ChorusClient {
        var configuration = ChorusClient.Configuration()
        configuration.operationTimeoutMilliseconds = timeoutMilliseconds
        do {
            return try ChorusClient(
                endpoints: endpoints.isEmpty ? ["http://127.0.0.1:8001"] : endpoints, configuration: configuration)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

struct KeyValuePut: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put", abstract: "Write KEY = VALUE; prints the new version.",
        discussion: "With --if-version V the write happens only if the key's version is V (0: only if absent); otherwise exit status 3.")

    @Argument var key: String
    @Argument var value: String
    @Option(name: .customLong("if-version"), help: "Compare-and-set: the version the key must have (0 = absent).")
    var ifVersion: UInt64?
    @OptionGroup var endpoint: EndpointOptions

    func run() async throws {
        let client = try endpoint.makeClient()
        defer { client.shutdown() }
        do {
            let version = try await client.put(key, Array(value.utf8), expectedVersion: ifVersion)
            print("OK version=\(version)")
        } catch {
            try report(error)
        }
    }
}

struct KeyValueGet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Print KEY's value (exit status 4 if absent).")

    @Argument var key: String
    @Option(help: "linearizable (default) or sequential.")
    var consistency: String = "linearizable"
    @Flag(name: .customLong("show-version"), help: "Print the version before the value.")
    var showVersion = false
    @OptionGroup var endpoint: EndpointOptions

    func run() async throws {
        let level: ConsistencyLevel
        do { level = try ConsistencyLevel.parse(consistency) } catch { throw ValidationError("--consistency: \(error.message)") }
        let client = try endpoint.makeClient()
        defer { client.shutdown() }
        do {
            guard let value = try await client.get(key, consistency: level) else {
                printError("(not found)")
                throw ExitCode(4)
            }
            if showVersion { print("version=\(value.version)") }
            print(String(decoding: value.value, as: UTF8.self))
        } catch let exit as ExitCode {
            throw exit
        } catch {
            try report(error)
        }
    }
}

struct KeyValueDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete KEY.")

    @Argument var key: String
    @OptionGroup var endpoint: EndpointOptions

    func run() async throws {
        let client = try endpoint.makeClient()
        defer { client.shutdown() }
        do {
            let existed = try await client.delete(key)
            print(existed ? "OK deleted" : "OK (was absent)")
        } catch {
            try report(error)
        }
    }
}

/// Prints a client error and exits: 3 for a failed compare-and-set, 1 otherwise.
private func report(_ error: any Error) throws -> Never {
    if case ChorusClientError.versionMismatch(let current) = error {
        printError("version mismatch: the key's version is \(current)")
        throw ExitCode(3)
    }
    printError("chorus kv: \(error)")
    throw ExitCode(1)
}
