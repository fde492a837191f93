import AsyncHTTPClient
import ChorusAPI
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One HTTP answer as the client reads it: status, headers, the whole body.
public struct ChorusResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders, body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// The API's error body (`{"error":{"code":…,"message":…}}`), decoded;
    /// nil if the body is not one or names a code this release does not know.
    public var problem: APIProblem? { APIProblem(json: body) }

    /// A header holding a non-negative integer (`X-Chorus-Index`, …), or nil.
    public func unsignedInteger(_ name: String) -> UInt64? {
        headers.first(name: name).flatMap { UInt64($0.trimmingSpaces) }
    }

    /// The start of the body, for error messages about answers the client cannot read.
    var bodyExcerpt: String {
        let limit = 200
        return body.count <= limit ? bodyText : String(decoding: body.prefix(limit), as: UTF8.self) + "…"
    }
}

/// Why an exchange got no answer.
struct TransportFailure: Error, CustomStringConvertible {
    var origin: HTTPOrigin
    var reason: String
    /// False only when the request certainly never left this process (no
    /// connection, or no TLS session, was established): a write is then
    /// known not to have happened. Anything else may have reached the node.
    var requestMayHaveBeenSent: Bool

    var description: String { "\(origin): \(reason)" }
}

extension ChorusClient {
    /// One HTTP exchange through the pool, bounded by `deadline`, with the
    /// bearer token added. No retries and no redirects here.
    func exchange(
        _ method: HTTPMethod, origin: HTTPOrigin, path: String, headers: HTTPHeaders, body: [UInt8]?, deadline: NIODeadline
    ) async throws(TransportFailure) -> ChorusResponse {
        var request = HTTPClientRequest(url: origin.description + path)
        request.method = method
        request.headers = headers
        if let token = configuration.bearerToken, !headers.contains(name: StandardHeader.authorization) {
            request.headers.add(name: StandardHeader.authorization, value: "Bearer \(token)")
        }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await httpClient.execute(request, deadline: deadline)
            let collected = try await response.body.collect(upTo: configuration.maximumResponseBytes)
            return ChorusResponse(
                status: Int(response.status.code), headers: response.headers, body: Array(collected.readableBytesView))
        } catch {
            throw TransportFailure(
                origin: origin, reason: Self.describe(error), requestMayHaveBeenSent: !Self.neverConnected(error))
        }
    }

    /// Whether an AHC failure happened before any byte of the request could
    /// have been written: connection refused or timed out, or the TLS
    /// handshake failed (a request is written only after it succeeds).
    static func neverConnected(_ error: any Error) -> Bool {
        switch error {
        case is NIOConnectionError: return true
        case let error as HTTPClientError:
            return error == .connectTimeout || error == .tlsHandshakeTimeout || error == .alreadyShutdown
        case let error as NIOSSLError:
            if case .handshakeFailed = error { return true }
            return false
        case let error as IOError: return error.errnoCode == ECONNREFUSED
        case ChannelError.connectTimeout: return true
        default: return false
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as NIOConnectionError:
            let reasons = error.connectionErrors.map { "\($0.error)" }
            return "cannot connect to \(error.host):\(error.port)" + (reasons.isEmpty ? "" : " (\(reasons.joined(separator: "; ")))")
        case let error as HTTPClientError where error == .deadlineExceeded: return "no answer before the deadline"
        case is NIOTooManyBytesError: return "the response is larger than the client's limit"
        default: return "\(error)"
        }
    }
}

/// The standard HTTP header names the client sends or reads (the API's own
/// are `ChorusHeader`'s).
enum StandardHeader {
    static let authorization = "Authorization"
    static let location = "Location"
    static let ifMatch = "If-Match"
    static let ifNoneMatch = "If-None-Match"
}

extension String {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while slice.first == " " { slice = slice.dropFirst() }
        while slice.last == " " { slice = slice.dropLast() }
        return String(slice)
    }
}
