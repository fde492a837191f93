import ChorusClocks
import ChorusCore

/// The runtime's name for one client request, echoed in its response.
public struct ClientRequestID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (lhs: ClientRequestID, rhs: ClientRequestID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "client\(rawValue)" }
}

public enum ClientOperation: Equatable, Sendable {
    case get(ObjectKey)
    case put(ObjectKey, value: [UInt8], context: WriteContext, timestamp: HybridTimestamp)
    case delete(ObjectKey, context: WriteContext, timestamp: HybridTimestamp)
    case update(ObjectKey, CRDTOperation)

    public var key: ObjectKey {
        switch self {
        case .get(let key), .put(let key, _, _, _), .delete(let key, _, _), .update(let key, _): key
        }
    }
}

/// Per-request overrides of the keyspace's defaults (nil: the default).
public struct RequestOptions: Hashable, Sendable {
    public var replicas: Int?
    public var readQuorum: Int?
    public var writeQuorum: Int?
    public var primaryReadQuorum: Int?
    public var primaryWriteQuorum: Int?
    public var durableWriteQuorum: Int?
    public var timeoutTicks: UInt64?
    /// A causal keyspace's session; reads wait for it, writes depend on it.
    public var session: LeaderlessSessionState?
    /// Return the value after the write (CRDT keys; versioned writes always do).
    public var returnValue: Bool = false

    public init() {}
}

public struct ClientRequest: Equatable, Sendable {
    public var id: ClientRequestID
    public var operation: ClientOperation
    public var options: RequestOptions
    public init(id: ClientRequestID, operation: ClientOperation, options: RequestOptions = RequestOptions()) {
        self.id = id
        self.operation = operation
        self.options = options
    }
}

public struct ReadReply: Equatable, Sendable {
    public var key: ObjectKey
    /// The merge of the replies; nil when no replica held the key.
    public var value: ReplicatedValue?
    /// For versioned keys, the context to write back with.
    public var context: VersionVector
    public var replies: Int
    /// The session after this read (causal keyspaces).
    public var session: LeaderlessSessionState?
}

public struct WriteReply: Equatable, Sendable {
    public var key: ObjectKey
    public var acknowledgements: Int
    public var durableAcknowledgements: Int
    public var primaryAcknowledgements: Int
    public var minted: MintResult
    public var session: LeaderlessSessionState?
}

public enum ClientReply: Equatable, Sendable {
    case read(ReadReply)
    case write(WriteReply)
}

/// Why a request failed. A failed write may still have been stored on some
/// replicas (`timeout` is indeterminate); a refused one was not.
public enum RequestFailure: Error, Hashable, Sendable, CustomStringConvertible {
    case unknownKeyspace(KeyspaceID)
    case invalidOptions(String)
    /// Fewer reachable replicas than the request needs (or no reachable
    /// primary to coordinate the write).
    case unavailable(reachable: Int, required: Int)
    case timeout(replies: Int, required: Int)
    case refused(OperationError)
    case overloaded

    public var description: String {
        switch self {
        case .unknownKeyspace(let id): "unknown keyspace \(id)"
        case .invalidOptions(let reason): "invalid options: \(reason)"
        case .unavailable(let reachable, let required): "\(reachable) reachable replicas, \(required) required"
        case .timeout(let replies, let required): "timed out with \(replies) of \(required) replies"
        case .refused(let error): "refused: \(error)"
        case .overloaded: "too many pending requests"
        }
    }
}

public struct ClientResponse: Equatable, Sendable {
    public var id: ClientRequestID
    public var result: Result<ClientReply, RequestFailure>
}
