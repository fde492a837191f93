import ChorusClient
import NIOCore
import NIOHTTP1
import NIOPosix

/// Reads one server-sent-events response (WHATWG HTML, "Server-sent
/// events") over plain HTTP/1.1, message by message: what subscriptions
/// need (`ChorusClient.subscribe`, `chorus events subscribe`) and the pooled
/// exchanges do not offer (they collect whole bodies). One connection per
/// subscription, closed when it ends.
public struct ServerSentEventsClient: Sendable {
    /// One message: its `event:` (`message` if none), `id:` and `data:` lines.
    public struct Message: Sendable, Hashable {
        public var event: String
        public var id: String?
        public var data: String
    }

    public enum Outcome: Sendable {
        /// The handler asked to stop.
        case stopped
        /// The server ended the stream.
        case ended
        /// The server answered something other than 200: the whole answer.
        case refused(status: Int, headers: HTTPHeaders, body: [UInt8])
    }

    public struct ConnectionFailure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The longest message (or refusal body) read; a longer one fails the read.
    public static let maximumMessageBytes = 16 << 20

    public let connectTimeoutMilliseconds: Int64

    public init(connectTimeoutMilliseconds: Int64) { self.connectTimeoutMilliseconds = connectTimeoutMilliseconds }

    /// Sends `GET path` to `origin` and calls `onMessage` with each message
    /// until it returns false or the stream ends.
    public func read(
        _ origin: HTTPOrigin, _ path: String, headers: [(String, String)],
        onMessage: (Message) throws -> Bool
    ) async throws -> Outcome {
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(connectTimeoutMilliseconds))
                .connect(host: origin.host, port: origin.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                            wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw ConnectionFailure(description: "cannot connect to \(origin): \(error)")
        }
        // A cancelled reader (a subscriber that stopped iterating) closes the
        // connection at once rather than at the next message or heartbeat.
        let underlying = channel.channel
        return try await withTaskCancellationHandler {
            try await exchange(channel, origin, path, headers: headers, onMessage: onMessage)
        } onCancel: {
            underlying.close(promise: nil)
        }
    }

    private func exchange(
        _ channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>, _ origin: HTTPOrigin, _ path: String,
        headers: [(String, String)], onMessage: (Message) throws -> Bool
    ) async throws -> Outcome {
        try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
            head.headers.add(name: "Host", value: "\(origin.host):\(origin.port)")
            head.headers.add(name: "Accept", value: "text/event-stream")
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            try await outbound.write(.head(head))
            try await outbound.write(.end(nil))
            var parts = inbound.makeAsyncIterator()
            var status = 0
            var responseHeaders = HTTPHeaders()
            while status == 0 {
                guard let part = try await parts.next() else {
                    throw ConnectionFailure(description: "\(origin) closed before answering")
                }
                if case .head(let received) = part {
                    status = Int(received.status.code)
                    responseHeaders = received.headers
                }
            }
            var pending: [UInt8] = []
            if status != 200 {
                while let part = try await parts.next() {
                    if case .body(let buffer) = part {
                        guard pending.count + buffer.readableBytes <= Self.maximumMessageBytes else {
                            throw ConnectionFailure(
                                description: "\(origin) sent an error body over \(Self.maximumMessageBytes) bytes")
                        }
                        pending += buffer.readableBytesView
                    }
                    if case .end = part { break }
                }
                return .refused(status: status, headers: responseHeaders, body: pending)
            }
            var parser = Parser()
            while let part = try await parts.next() {
                guard case .body(let buffer) = part else {
                    if case .end = part { break }
                    continue
                }
                pending += buffer.readableBytesView
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = String(decoding: pending[..<newline], as: UTF8.self)
                    pending.removeSubrange(...newline)
                    if let message = parser.take(line), try !onMessage(message) { return .stopped }
                }
                guard pending.count <= Self.maximumMessageBytes else {
                    throw ConnectionFailure(description: "\(origin) sent a line over \(Self.maximumMessageBytes) bytes")
                }
            }
            return .ended
        }
    }

    /// The field lines of one message, gathered until the blank line that ends it.
    struct Parser {
        var event = "message"
        var id: String?
        var data: [String] = []

        /// The message a blank line completes (none for a comment-only block).
        mutating func take(_ rawLine: String) -> Message? {
            let line = rawLine.hasSuffix("\r") ? String(rawLine.dropLast()) : rawLine
            guard !line.isEmpty else {
                defer { self = Parser() }
                return data.isEmpty ? nil : Message(event: event, id: id, data: data.joined(separator: "\n"))
            }
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else { return nil }
            var value = line[line.index(after: colon)...]
            if value.first == " " { value = value.dropFirst() }
            switch line[..<colon] {
            case "event": event = String(value)
            case "id": id = String(value)
            case "data": data.append(String(value))
            default: break
            }
            return nil
        }
    }
}
