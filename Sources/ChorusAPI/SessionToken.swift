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
/// Text form (format 1): `s1.<epoch>.<index>[.<replica>-<counter>]*`, the
/// epoch in 16 lower-case hexadecimal digits, the index and each leaderless
/// vector entry (`VersionVectorText`) in 1 to 16. The grammar is regular, so
/// `openapi.yaml` gives the exact pattern a node accepts: the token stays
/// opaque in meaning (clients echo it), not in syntax.
public struct SessionToken: Sendable, Hashable, CustomStringConvertible {
    /// The text's prefix: the format's letter and version.
    public static let formatPrefix = "s1"
    /// Entries of the leaderless vector (one per replica that coordinated a write).
    public static let maximumReplicas = VersionVectorText.maximumEntries
    /// The longest `X-Chorus-Session` value a request may carry (every token in it).
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
        guard text.utf8.count <= Self.maximumTextBytes else {
            throw APIProblem(.invalidSessionToken, "a session token is at most \(Self.maximumTextBytes) bytes")
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[0] == Self.formatPrefix else {
            throw APIProblem(
                .invalidSessionToken,
                "\(JSONString.quoted(String(text.prefix(80)))) is not a Chorus session token of format \(Self.formatPrefix) (s1.<epoch>.<index>[.<replica>-<counter>]*)")
        }
        guard parts[1].utf8.count == 16, let epoch = VersionVectorText.hexadecimal(parts[1]),
            let index = VersionVectorText.hexadecimal(parts[2])
        else {
            throw APIProblem(.invalidSessionToken, "the session token's epoch (16 hexadecimal digits) or index (1 to 16) is malformed")
        }
        guard let leaderless = VersionVectorText.parse(parts.dropFirst(3)) else {
            throw APIProblem(
                .invalidSessionToken,
                "the session token's vector is malformed (at most \(Self.maximumReplicas) entries <replica>-<counter>, each 1 to 16 hexadecimal digits)")
        }
        self.epoch = epoch
        self.index = LogIndex(index)
        self.leaderless = leaderless
    }

    /// The tokens of one `X-Chorus-Session` value: comma-separated, with
    /// optional spaces or tabs around each comma, at most `maximumTextBytes` in all.
    public static func tokens(inHeader value: String) throws(APIProblem) -> [SessionToken] {
        guard value.utf8.count <= maximumTextBytes else {
            throw APIProblem(.invalidSessionToken, "X-Chorus-Session is at most \(maximumTextBytes) bytes")
        }
        var tokens: [SessionToken] = []
        for part in value.split(separator: ",", omittingEmptySubsequences: false) {
            var trimmed = part[...]
            while let first = trimmed.first, first == " " || first == "\t" { trimmed = trimmed.dropFirst() }
            while let last = trimmed.last, last == " " || last == "\t" { trimmed = trimmed.dropLast() }
            tokens.append(try SessionToken(parsing: String(trimmed)))
        }
        return tokens
    }

    public var text: String {
        var text = Self.formatPrefix + "."
        let epochDigits = String(epoch, radix: 16)
        text += String(repeating: "0", count: 16 - epochDigits.utf8.count) + epochDigits
        text += "." + String(index.rawValue, radix: 16)
        VersionVectorText.append(leaderless, to: &text)
        return text
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
