/// The two versions of the Redis serialization protocol a connection may
/// speak. Every connection starts in RESP2 and switches with `HELLO 3`
/// (redis.io, "Redis serialization protocol specification", RESP3).
public enum RESPProtocolVersion: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case resp2 = 2
    case resp3 = 3

    public var description: String { "RESP\(rawValue)" }
}
