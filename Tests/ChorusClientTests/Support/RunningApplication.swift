import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle

/// A logger that says nothing (the servers' request logs would drown the test output).
let quietLogger: Logger = {
    var logger = Logger(label: "chorus.client-tests")
    logger.logLevel = .critical
    return logger
}()

/// Runs `application` in a service group while `body` runs, then shuts it
/// down gracefully, whether `body` throws or not.
func withRunningApplication<App: ApplicationProtocol, Value: Sendable>(
    _ application: App, _ body: () async throws -> Value
) async throws -> Value {
    let services = ServiceGroup(configuration: .init(services: [application], logger: quietLogger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await services.run() }
        do {
            let value = try await body()
            await services.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return value
        } catch {
            await services.triggerGracefulShutdown()
            throw error
        }
    }
}

/// Tells the port a server bound (port 0 asks the kernel for a free one).
final class BoundPort: Sendable {
    private let stream: AsyncStream<Int>
    private let continuation: AsyncStream<Int>.Continuation

    init() { (stream, continuation) = AsyncStream.makeStream(of: Int.self) }

    @Sendable func serverRunning(_ channel: any Channel) async {
        continuation.yield(channel.localAddress?.port ?? 0)
        continuation.finish()
    }

    var port: Int {
        get async {
            for await port in stream { return port }
            return 0
        }
    }
}

/// `base` listening on an address the kernel picks (port 0), reporting the
/// port it bound: no race with other tests for a port found free earlier.
struct ApplicationOnFreePort<Base: ApplicationProtocol>: ApplicationProtocol {
    typealias Responder = Base.Responder

    let base: Base
    let bound: BoundPort

    var responder: Responder { get async throws { try await base.responder } }
    var server: HTTPServerBuilder { base.server }
    var eventLoopGroup: any EventLoopGroup { base.eventLoopGroup }
    var configuration: ApplicationConfiguration { base.configuration.with(address: .hostname("127.0.0.1", port: 0)) }
    var logger: Logger { base.logger }
    var services: [any Service] { base.services }
    var processesRunBeforeServerStart: [@Sendable () async throws -> Void] { base.processesRunBeforeServerStart }

    @Sendable func onServerRunning(_ channel: any Channel) async {
        await base.onServerRunning(channel)
        await bound.serverRunning(channel)
    }
}
