import ArgumentParser
import ChorusAPI
import ChorusClient
import Foundation

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

    @Option(
        name: .customLong("session"),
        help: "A file holding the session token: read before the command (if present), written after it, so successive commands (or processes) share one session.")
    var sessionFile: String?

    @OptionGroup var credentials: TokenOptions

    func makeClient() throws -> ChorusClient {
        var configuration = ChorusClient.Configuration()
        configuration.operationTimeoutMilliseconds = timeoutMilliseconds
        configuration.bearerToken = try credentials.resolve()
        let client: ChorusClient
        do {
            client = try ChorusClient(
                endpoints: endpoints.isEmpty ? ["http://127.0.0.1:8001"] : endpoints, configuration: configuration)
        } catch {
            throw ValidationError("\(error)")
        }
        if let sessionFile, FileManager.default.fileExists(atPath: sessionFile) {
            guard let data = FileManager.default.contents(atPath: sessionFile) else {
                throw ValidationError("--session: cannot read \(sessionFile)")
            }
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            do {
                try client.adopt(try SessionToken(parsing: text))
            } catch {
                throw ValidationError("--session: \(sessionFile) does not hold a session token: \(error)")
            }
        }
        return client
    }

    /// Writes the client's session token back to `--session FILE`.
    func saveSession(of client: ChorusClient) {
        guard let sessionFile, let token = client.sessionToken else { return }
        do {
            try Data((token.text + "\n").utf8).write(to: URL(fileURLWithPath: sessionFile), options: .atomic)
        } catch {
            printError("chorus kv: could not write the session token to \(sessionFile): \(error)")
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
        defer {
            endpoint.saveSession(of: client)
            client.shutdown()
        }
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
    @Option(help: "linearizable, sequential, bounded-staleness, session, consistent-prefix or eventual (default: the keyspace's).")
    var consistency: String?
    @Option(name: .customLong("max-versions"), help: "bounded-staleness: at most K versions behind.")
    var maximumVersions: UInt64?
    @Option(name: .customLong("max-lag"), help: "bounded-staleness: at most T milliseconds behind.")
    var maximumLag: UInt64?
    @Flag(name: .customLong("show-version"), help: "Print the version before the value.")
    var showVersion = false
    @OptionGroup var endpoint: EndpointOptions

    func run() async throws {
        var read: ReadConsistency?
        if let consistency {
            do {
                read = try ReadConsistency.parse(
                    level: consistency, maximumVersions: maximumVersions.map(String.init), maximumLagMilliseconds: maximumLag.map(String.init))
            } catch {
                throw ValidationError("--consistency: \(error.message)")
            }
        } else if maximumVersions != nil || maximumLag != nil {
            throw ValidationError("--max-versions and --max-lag need --consistency bounded-staleness")
        }
        let client = try endpoint.makeClient()
        defer {
            endpoint.saveSession(of: client)
            client.shutdown()
        }
        do {
            guard
                let value = try await client.get(
                    key, consistency: read?.level, maximumVersions: read?.maximumVersions,
                    maximumLagMilliseconds: read?.maximumLagMilliseconds)
            else {
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
        defer {
            endpoint.saveSession(of: client)
            client.shutdown()
        }
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
