import ChorusClocks
import ChorusCore

/// What a session has seen, as a small opaque string (header
/// `X-Chorus-Session`): returned on every response and sent back on
/// requests, so that `session` reads give read-your-writes, monotonic reads,
/// monotonic writes and writes-follow-reads (Terry et al., PDIS 1994).
///
/// - **Transferable**: it names no connection, node or client; any process
///   can hand it to another, and the receiver's reads see what the sender saw.
/// - **Mergeable**: `merging(_:)` covers both tokens (the larger Raft index,
///   the pointwise maximum of the leaderless vectors).
/// - **Bounded**: one Raft index plus at most `maximumReplicas` vector
///   entries, whatever the number of keys written.
/// - **Epoch-bound**: it carries the cluster's epoch (drawn once by the first
///   leader and replicated); a node of another epoch (a re-created cluster, or
///   one restored from a loss) refuses it with `foreign_session_token` instead
///   of silently serving older data than the token promises.
///
/// Wire form: `base64url(version 1 · epoch (8 bytes) · varint index · vector)`.
public struct SessionToken: Sendable, Hashable, CustomStringConvertible {
    public static let formatVersion: UInt8 = 1
    /// Entries of the leaderless vector (one per replica that coordinated a write).
    public static let maximumReplicas = 64
    /// The longest token text a request may carry.
    public static let maximumTextBytes = 1_024

    /// The cluster epoch this token belongs to; 0 before any is known.
    public var epoch: UInt64
    /// The highest Raft log index the session has seen (written or read at).
    public var index: LogIndex
    /// What the session has seen of leaderless keyspaces, per coordinating replica.
    public var leaderless: VersionVector

    public init(epoch: UInt64, index: LogIndex = .zero, leaderless: VersionVector = VersionVector()) {
        self.epoch = epoch
        self.index = index
        self.leaderless = leaderless
    }

    /// The token `text`, or `invalid_session_token`.
    public init(parsing text: String) throws(APIProblem) {
        guard text.utf8.count <= Self.maximumTextBytes, let bytes = Base64URL.decode(text) else {
            throw APIProblem(.invalidSessionToken, "the session token is not a Chorus token (base64url, at most \(Self.maximumTextBytes) bytes)")
        }
        var reader = ByteReader(bytes)
        let version: UInt8
        do throws(BinaryDecodingError) {
            version = try reader.readByte()
            epoch = try reader.readFixedUInt64()
            index = LogIndex(try reader.readVarint())
            leaderless = try VersionVector(decoding: &reader)
        } catch {
            throw APIProblem(.invalidSessionToken, "the session token is malformed: \(error)")
        }
        guard version == Self.formatVersion else {
            throw APIProblem(.invalidSessionToken, "session token format \(version) is unknown; this node reads format \(Self.formatVersion)")
        }
        guard reader.isAtEnd else { throw APIProblem(.invalidSessionToken, "the session token has trailing bytes") }
        guard leaderless.entries.count <= Self.maximumReplicas else {
            throw APIProblem(.invalidSessionToken, "the session token names more than \(Self.maximumReplicas) replicas")
        }
    }

    public var text: String {
        var writer = ByteWriter(capacity: 24)
        writer.write(Self.formatVersion)
        writer.writeFixed(epoch)
        writer.writeVarint(index.rawValue)
        leaderless.encode(into: &writer)
        return Base64URL.encode(writer.bytes)
    }

    public var description: String { "session(epoch \(epoch), index \(index.rawValue), \(leaderless))" }

    /// One token covering both, or `foreign_session_token` when they belong
    /// to different epochs (a token without an epoch joins any).
    public func merging(_ other: SessionToken) throws(APIProblem) -> SessionToken {
        guard epoch == 0 || other.epoch == 0 || epoch == other.epoch else {
            throw APIProblem(.foreignSessionToken, "session tokens of epochs \(epoch) and \(other.epoch) cannot be merged")
        }
        return SessionToken(
            epoch: max(epoch, other.epoch), index: max(index, other.index), leaderless: leaderless.merging(other.leaderless))
    }

    /// Checks that a node of cluster epoch `clusterEpoch` may honour this token.
    public func check(clusterEpoch: UInt64?) throws(APIProblem) {
        guard epoch != 0, let clusterEpoch, clusterEpoch != epoch else { return }
        throw APIProblem(
            .foreignSessionToken,
            "the session token belongs to cluster epoch \(epoch), but this cluster's epoch is \(clusterEpoch): it was re-created or restored since; start a new session"
        )
    }
}
