/// The custom HTTP header names of the Chorus API, shared by the server and
/// the Swift client so neither spells them twice.
public enum ChorusHeader {
    /// On every key-value response: the replica's applied index.
    public static let index = "X-Chorus-Index"
    /// Sent by a client: serve a `sequential` read only from a state at least this new.
    public static let minimumIndex = "X-Chorus-Min-Index"
    /// The key's version (also in `ETag`).
    public static let version = "X-Chorus-Version"
    /// On a 412: the key's current version (0 if absent).
    public static let currentVersion = "X-Chorus-Current-Version"
    /// Idempotency: `<client>.<sequence>`, the client's session id and this
    /// request's sequence number in one header (two headers that must come
    /// together cannot be described in OpenAPI 3; one header with a pattern can).
    public static let idempotency = "X-Chorus-Idempotency"
    /// On a redirect: the leader's node id.
    public static let leader = "X-Chorus-Leader"
    /// Which node answered.
    public static let node = "X-Chorus-Node"
    /// The session token (`SessionToken`): returned on every key-value
    /// response, sent back on requests (several, comma-separated, are merged).
    public static let session = "X-Chorus-Session"
    /// On a read: the level that served it (with its bounds).
    public static let consistency = "X-Chorus-Consistency"
    /// On a read: the node whose state answered.
    public static let servedBy = "X-Chorus-Served-By"
    /// On a bounded-staleness read: what the replica proved about the answer.
    public static let stalenessVersions = "X-Chorus-Staleness-Versions"
    public static let stalenessMilliseconds = "X-Chorus-Staleness-Ms"
    /// An event-store append or delete: the state the stream must be in
    /// (`any`, `no_stream`, `stream_exists`, or a revision N).
    public static let expectedRevision = "X-Chorus-Expected-Revision"
    /// On a 409 `wrong_expected_version` of one stream: its actual state
    /// (a revision N, `no_stream`, or `deleted`).
    public static let actualRevision = "X-Chorus-Actual-Revision"
    /// On an append: the global position of its last event.
    public static let position = "X-Chorus-Position"
    /// Server-sent events: where a subscription resumes (the last `id:` received).
    public static let lastEventID = "Last-Event-ID"
}
