import Logging
import ChorusRESP
import NIOCore
import NIOPosix

/// The tests' raw client is the shipped one (`RESPClientConnection`).
typealias RESPTestConnection = RESPClientConnection

/// Connects to 127.0.0.1:`port` and runs `body`, closing afterwards.
func withConnection<Result: Sendable>(
    port: Int, _ body: (inout RESPTestConnection) async throws -> Result
) async throws -> Result {
    try await RESPClientConnection.with(port: port, body)
}

/// Starts a server on an ephemeral port over `backend`, runs `body`, shuts it down.
func withServer<Backend: RESPBackend, Result: Sendable>(
    _ backend: Backend, configuration: RESPServerConfiguration = RESPServerConfiguration(),
    _ body: (RESPServer) async throws -> Result
) async throws -> Result {
    let server = try await RESPServer.start(
        host: "127.0.0.1", port: 0, backend: backend, group: MultiThreadedEventLoopGroup.singleton,
        logger: .init(label: "resp-test"), configuration: configuration)
    do {
        let result = try await body(server)
        await server.shutdown()
        return result
    } catch {
        await server.shutdown()
        throw error
    }
}
