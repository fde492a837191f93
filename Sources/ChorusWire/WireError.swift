import ChorusCore

/// Why bytes from a peer were refused, or why a value cannot be encoded.
///
/// Every decoding path of `ChorusWire` ends in one of these instead of a trap:
/// the transport logs it and closes the connection (the peer reconnects and
/// Raft retransmits), so a corrupt or hostile byte stream can cost a
/// connection but never a node.
public enum WireError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bytes do not parse (truncated, overlong varint, a length beyond its limit, bad UTF-8, …).
    case malformed(BinaryDecodingError)
    /// A message kind this version does not know.
    case unknownMessageKind(UInt8)
    /// The bytes parse but describe something impossible (an entry gap, node 0, …).
    case invalid(String)
    /// A frame header announcing more bytes than `WireLimits.maximumFrameBytes`.
    case frameTooLarge(length: UInt64, limit: Int)
    /// A frame whose CRC32C does not match its payload.
    case checksumMismatch(expected: UInt32, actual: UInt32)
    /// The first frame of a connection is not a Chorus handshake.
    case notAHandshake
    /// The peer speaks a protocol version this node does not.
    case unsupportedProtocolVersion(UInt64)
    /// The handshake is well formed but not for us (another cluster, an unknown node, …).
    case handshakeRejected(String)
    /// A value too large to encode under the limits (an encoder-side refusal, never a trap).
    case tooLarge(what: String, size: Int, limit: Int)
    /// A `WireLimits` that cannot be used.
    case invalidLimits(String)

    public var description: String {
        switch self {
        case .malformed(let error): "malformed bytes: \(error)"
        case .unknownMessageKind(let kind): "unknown message kind \(kind)"
        case .invalid(let reason): "invalid message: \(reason)"
        case .frameTooLarge(let length, let limit): "frame of \(length) bytes exceeds the limit of \(limit)"
        case .checksumMismatch(let expected, let actual):
            "frame checksum mismatch: header says \(hex(expected)), payload has \(hex(actual))"
        case .notAHandshake: "the first frame is not a Chorus handshake"
        case .unsupportedProtocolVersion(let version):
            "protocol version \(version) is not supported (this node speaks \(Handshake.protocolVersion))"
        case .handshakeRejected(let reason): "handshake rejected: \(reason)"
        case .tooLarge(let what, let size, let limit): "\(what) of \(size) exceeds the limit of \(limit)"
        case .invalidLimits(let reason): "invalid wire limits: \(reason)"
        }
    }
}

func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}
