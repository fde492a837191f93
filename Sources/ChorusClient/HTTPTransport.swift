import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Where an HTTP request goes: `http://host:port`, no path.
public struct HTTPOrigin: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `http://host:port[/path…]` into its origin and its path (with query), or nil.
    public static func parse(_ url: String) -> (origin: HTTPOrigin, path: String)? {
        guard url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        var host = Substring(authority)
        var port = 80
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let parsed = Int(after.dropFirst()), (1...65_535).contains(parsed) else { return nil }
                port = parsed
            } else if !after.isEmpty {
                return nil
            }
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.lastIndex(of: ":") {
            guard let parsed = Int(host[host.index(after: colon)...]), (1...65_535).contains(parsed) else { return nil }
            port = parsed
            host = host[..<colon]
        }
        guard !host.isEmpty else { return nil }
        return (HTTPOrigin(host: String(host), port: port), path)
    }

    public var description: String { host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)" }
}

/// A response as the client sees it.
public struct HTTPClientResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// Why an HTTP exchange failed below the HTTP level.
public enum HTTPTransportError: Error, Sendable, CustomStringConvertible {
    case connectFailed(HTTPOrigin, String)
    case timedOut(HTTPOrigin)
    case connectionClosed(HTTPOrigin)
    case responseTooLarge(HTTPOrigin, limit: Int)

    public var description: String {
        switch self {
        case .connectFailed(let origin, let reason): "cannot connect to \(origin): \(reason)"
        case .timedOut(let origin): "no answer from \(origin) in time"
        case .connectionClosed(let origin): "\(origin) closed the connection"
        case .responseTooLarge(let origin, let limit): "\(origin) sent a response over \(limit) bytes"
        }
    }
}

/// A small HTTP/1.1 client: keep-alive connections pooled per origin, one
/// request at a time per connection, a deadline per exchange.
///
/// Why not async-http-client: the client talks plain HTTP to nodes on
/// loopback or a LAN, needs no TLS, proxies, cookies or HTTP/2, and must
/// control redirects and retries itself (a write is retried only with its
/// idempotency session). A hundred-odd lines on NIOHTTP1 keep the
/// dependency graph (and the CI build) smaller than AHC's TLS/HTTP2 stack.
final class HTTPTransport: Sendable {
    let group: any EventLoopGroup
    let idle = Mutex<[HTTPOrigin: [Connection]]>([:])
    let maximumIdlePerOrigin: Int
    let maximumResponseBytes: Int

    init(group: any EventLoopGroup, maximumIdlePerOrigin: Int = 64, maximumResponseBytes: Int = 8 << 20) {
        self.group = group
        self.maximumIdlePerOrigin = maximumIdlePerOrigin
        self.maximumResponseBytes = maximumResponseBytes
    }

    final class Connection: Sendable {
        let channel: any Channel
        let origin: HTTPOrigin
        init(channel: any Channel, origin: HTTPOrigin) {
            self.channel = channel
            self.origin = origin
        }
    }

    func execute(
        method: HTTPMethod, origin: HTTPOrigin, path: String, headers: HTTPHeaders, body: [UInt8]?,
        timeout: TimeAmount
    ) async throws -> HTTPClientResponse {
        let deadline = NIODeadline.now() + timeout
        // A pooled connection may have been closed by the server meanwhile:
        // retry once on a fresh connection if the reused one fails before any answer.
        if let reused = takeIdle(origin) {
            do {
                return try await exchange(reused, method: method, path: path, headers: headers, body: body, deadline: deadline)
            } catch HTTPTransportError.connectionClosed {
                // fall through to a fresh connection
            }
        }
        let connection = try await connect(origin, deadline: deadline)
        return try await exchange(connection, method: method, path: path, headers: headers, body: body, deadline: deadline)
    }

    private func takeIdle(_ origin: HTTPOrigin) -> Connection? {
        idle.withLock { pool in
            while var list = pool[origin], let connection = list.popLast() {
                pool[origin] = list
                if connection.channel.isActive { return connection }
            }
            return nil
        }
    }

    private func giveBack(_ connection: Connection) {
        let kept = idle.withLock { pool in
            var list = pool[connection.origin] ?? []
            guard list.count < maximumIdlePerOrigin else { return false }
            list.append(connection)
            pool[connection.origin] = list
            return true
        }
        if !kept { connection.channel.close(promise: nil) }
    }

    private func connect(_ origin: HTTPOrigin, deadline: NIODeadline) async throws -> Connection {
        let limit = maximumResponseBytes
        let timeout = max(.milliseconds(1), deadline - .now())
        do {
            let channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(ResponseCollector(origin: origin, limit: limit))
                    }
                }
                .connect(host: origin.host, port: origin.port).get()
            return Connection(channel: channel, origin: origin)
        } catch {
            throw HTTPTransportError.connectFailed(origin, "\(error)")
        }
    }

    private func exchange(
        _ connection: Connection, method: HTTPMethod, path: String, headers: HTTPHeaders, body: [UInt8]?,
        deadline: NIODeadline
    ) async throws -> HTTPClientResponse {
        let channel = connection.channel
        let origin = connection.origin
        let future: EventLoopFuture<HTTPClientResponse> = channel.eventLoop.flatSubmit {
            let promise = channel.eventLoop.makePromise(of: HTTPClientResponse.self)
            do {
                let collector = try channel.pipeline.syncOperations.handler(type: ResponseCollector.self)
                collector.start(promise)
            } catch {
                promise.fail(HTTPTransportError.connectionClosed(origin))
                return promise.futureResult
            }
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
            head.headers.replaceOrAdd(name: "Host", value: "\(origin.host):\(origin.port)")
            if let body {
                head.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
            } else if method == .PUT || method == .POST {
                head.headers.replaceOrAdd(name: "Content-Length", value: "0")
            }
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if let body, !body.isEmpty {
                var buffer = channel.allocator.buffer(capacity: body.count)
                buffer.writeBytes(body)
                channel.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
            }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            let timeout = channel.eventLoop.scheduleTask(deadline: deadline) {
                promise.fail(HTTPTransportError.timedOut(origin))
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in timeout.cancel() }
            return promise.futureResult
        }
        do {
            let response = try await future.get()
            let closes = response.headers[canonicalForm: "connection"].contains { $0.lowercased() == "close" }
            if closes { channel.close(promise: nil) } else { giveBack(connection) }
            return response
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    func shutdown() {
        let all = idle.withLock { pool in
            let all = pool.values.flatMap { $0 }
            pool = [:]
            return all
        }
        for connection in all { connection.channel.close(promise: nil) }
    }
}

/// Collects one response at a time into an `HTTPClientResponse`.
final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    let origin: HTTPOrigin
    let limit: Int
    var promise: EventLoopPromise<HTTPClientResponse>?
    var head: HTTPResponseHead?
    var body: [UInt8] = []

    init(origin: HTTPOrigin, limit: Int) {
        self.origin = origin
        self.limit = limit
    }

    func start(_ promise: EventLoopPromise<HTTPClientResponse>) {
        self.promise = promise
        head = nil
        body = []
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let responseHead):
            head = responseHead
        case .body(let buffer):
            guard body.count + buffer.readableBytes <= limit else {
                promise?.fail(HTTPTransportError.responseTooLarge(origin, limit: limit))
                promise = nil
                context.close(promise: nil)
                return
            }
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            guard let head, let promise else { return }
            self.promise = nil
            promise.succeed(
                HTTPClientResponse(status: Int(head.status.code), headers: head.headers, body: body))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise?.fail(HTTPTransportError.connectionClosed(origin))
        promise = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise?.fail(HTTPTransportError.connectionClosed(origin))
        promise = nil
        context.close(promise: nil)
    }
}
