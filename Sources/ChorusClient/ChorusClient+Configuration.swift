import AsyncHTTPClient
import NIOCore
import NIOSSL

extension ChorusClient {
    /// Which certificate authorities an `https://` endpoint's certificate must chain to.
    public enum TrustRoots: Sendable, Hashable {
        /// The operating system's trust store.
        case system
        /// The PEM certificates in this file only (a cluster's own CA, `chorus certs create-ca`).
        case file(String)
    }

    /// The client's settings. Every time and size is a named limit, checked
    /// by `validate()` when the client is made.
    public struct Configuration: Sendable {
        /// The longest one HTTP exchange may take (connect, send, answer).
        public var requestTimeoutMilliseconds: Int = 2_000
        /// The longest a connection attempt may take (within the exchange's time).
        public var connectTimeoutMilliseconds: Int = 1_000
        /// The longest one call may take, retries and redirects included (an
        /// exchange gets the smaller of this and `requestTimeoutMilliseconds`).
        public var operationTimeoutMilliseconds: Int = 10_000
        /// A new attempt starts only while at least this much of the call's
        /// time remains: an attempt cut short by the call's deadline would leave
        /// a write of unknown outcome for nothing.
        public var minimumAttemptMilliseconds: Int = 50
        /// Retries back off exponentially from this to the maximum, with jitter.
        public var retryBackoffInitialMilliseconds: Int = 20
        public var retryBackoffMaximumMilliseconds: Int = 500
        /// Redirects followed by one call before it tries another endpoint.
        public var maximumRedirects: Int = 8
        /// The largest response body read; a larger one fails the exchange.
        public var maximumResponseBytes: Int = 8 << 20
        /// Pooled HTTP/1.1 connections per node (a soft limit: AHC's per-host limit).
        public var maximumConnectionsPerNode: Int = 64
        /// An idle pooled connection is closed after this long.
        public var idleConnectionTimeoutMilliseconds: Int = 60_000
        /// Idle idempotency sessions kept for reuse; beyond this they are dropped.
        public var maximumIdleSessions: Int = 1_024
        /// For `https://` endpoints.
        public var trustRoots: TrustRoots = .system
        /// Sent as `Authorization: Bearer <token>` on every request, if set.
        public var bearerToken: String?

        public init() {}

        /// Checks each limit and how they relate; reads the CA file.
        public func validate() throws(ChorusClientError) {
            func require(_ condition: Bool, _ reason: String) throws(ChorusClientError) {
                if !condition { throw .invalidConfiguration(reason) }
            }
            try require(requestTimeoutMilliseconds >= 1, "requestTimeoutMilliseconds must be positive")
            try require(
                (1...requestTimeoutMilliseconds).contains(connectTimeoutMilliseconds),
                "connectTimeoutMilliseconds must be in 1...requestTimeoutMilliseconds")
            try require(
                (1...requestTimeoutMilliseconds).contains(minimumAttemptMilliseconds),
                "minimumAttemptMilliseconds must be in 1...requestTimeoutMilliseconds")
            try require(
                operationTimeoutMilliseconds >= minimumAttemptMilliseconds,
                "operationTimeoutMilliseconds must be at least minimumAttemptMilliseconds")
            try require(retryBackoffInitialMilliseconds >= 1, "retryBackoffInitialMilliseconds must be positive")
            try require(
                retryBackoffMaximumMilliseconds >= retryBackoffInitialMilliseconds,
                "retryBackoffMaximumMilliseconds must be at least retryBackoffInitialMilliseconds")
            try require((0...64).contains(maximumRedirects), "maximumRedirects must be in 0...64")
            try require(maximumResponseBytes >= 1_024, "maximumResponseBytes must be at least 1024")
            try require((1...4_096).contains(maximumConnectionsPerNode), "maximumConnectionsPerNode must be in 1...4096")
            try require(idleConnectionTimeoutMilliseconds >= 1, "idleConnectionTimeoutMilliseconds must be positive")
            try require(maximumIdleSessions >= 1, "maximumIdleSessions must be positive")
            if let bearerToken {
                try require(Self.isToken68(bearerToken), "the bearer token must be token68 text (RFC 6750 §2.1)")
            }
            _ = try tlsConfiguration()
        }

        /// The TLS settings for `https://` endpoints: certificates are fully
        /// verified (chain and host name) against `trustRoots`.
        public func tlsConfiguration() throws(ChorusClientError) -> TLSConfiguration {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .fullVerification
            if case .file(let path) = trustRoots {
                let certificates: [NIOSSLCertificate]
                do { certificates = try NIOSSLCertificate.fromPEMFile(path) } catch {
                    throw .invalidConfiguration("cannot read the CA file \(path): \(error)")
                }
                guard !certificates.isEmpty else { throw .invalidConfiguration("the CA file \(path) holds no certificate") }
                tls.trustRoots = .certificates(certificates)
            }
            return tls
        }

        /// The async-http-client settings. Redirects are never followed by
        /// AHC: the client follows a 307 itself, to learn the leader from its
        /// `Location` and to replay a write only with its idempotency session.
        /// A refused connection fails at once (no AHC retry), so the client
        /// can move to the next endpoint.
        public func httpClientConfiguration() throws(ChorusClientError) -> HTTPClient.Configuration {
            var configuration = HTTPClient.Configuration(
                tlsConfiguration: try tlsConfiguration(), redirectConfiguration: .disallow,
                timeout: .init(connect: .milliseconds(Int64(connectTimeoutMilliseconds))),
                connectionPool: .init(
                    idleTimeout: .milliseconds(Int64(idleConnectionTimeoutMilliseconds)),
                    concurrentHTTP1ConnectionsPerHostSoftLimit: maximumConnectionsPerNode),
                decompression: .disabled)
            configuration.connectionPool.retryConnectionEstablishment = false
            configuration.httpVersion = .automatic
            return configuration
        }

        /// `token68` of RFC 9110 §11.2 (RFC 6750's `b64token`): no spaces, no
        /// control characters, so the header cannot be split.
        static func isToken68(_ text: String) -> Bool {
            let bytes = Array(text.utf8)
            let padding = bytes.reversed().prefix { $0 == UInt8(ascii: "=") }.count
            let body = bytes.dropLast(padding)
            return !body.isEmpty && body.count <= 8_192
                && body.allSatisfy { byte in
                    switch byte {
                    case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                        UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"):
                        true
                    default: false
                    }
                }
        }
    }
}
