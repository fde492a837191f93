import ChorusClient

/// Why an aggregate could not be loaded or a command not carried out.
public enum AggregateError: Error, CustomStringConvertible, Sendable {
    /// An event could not be brought to its current schema version.
    case upcasting(String)
    /// An event or snapshot the aggregate could not decode.
    case decoding(String)
    /// The command was refused by the aggregate's own rules.
    case rejected(String)
    /// Every attempt met a stream another writer had moved on.
    case conflict(stream: String, attempts: Int)
    /// An as-of read reaches before what the stream still holds (truncated or
    /// scavenged): the state there cannot be rebuilt, so none is given.
    case historyUnavailable(stream: String, firstRevision: UInt64)
    /// The cluster refused or failed a call.
    case client(ChorusClientError)

    public var description: String {
        switch self {
        case .upcasting(let reason): "upcasting: \(reason)"
        case .decoding(let reason): "decoding: \(reason)"
        case .rejected(let reason): "rejected: \(reason)"
        case .conflict(let stream, let attempts): "\(stream) kept changing: \(attempts) attempts met a newer revision"
        case .historyUnavailable(let stream, let first):
            "\(stream) holds events from revision \(first) only (truncated or scavenged): no state before it can be rebuilt"
        case .client(let error): "\(error)"
        }
    }
}
