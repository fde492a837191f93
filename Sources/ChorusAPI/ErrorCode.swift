/// The stable, machine-readable error codes of the Chorus API, shared by every
/// front end (HTTP, the Redis protocol) and the Swift client. A client
/// branches on the code, never on a message; a code, once published, keeps its
/// meaning.
///
/// The HTTP status of each code is part of the contract (`openapi.yaml` lists
/// them), so it lives here, once.
public enum ErrorCode: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The request is malformed in a way no more specific code names.
    case badRequest = "bad_request"
    case invalidKey = "invalid_key"
    case invalidHeader = "invalid_header"
    case invalidConsistency = "invalid_consistency"
    /// The `X-Chorus-Session` token is not one this node can read.
    case invalidSessionToken = "invalid_session_token"
    /// The session token belongs to another cluster epoch (a re-created or restored cluster).
    case foreignSessionToken = "foreign_session_token"
    /// A range read's prefix, limit or continuation is out of bounds.
    case invalidRange = "invalid_range"
    /// A keyspace name is malformed, or a keyspace definition is invalid.
    case invalidKeyspace = "invalid_keyspace"
    case keyspaceNotFound = "keyspace_not_found"
    /// A keyspace of that name (or, leaderless, of the same identifier) exists.
    case keyspaceExists = "keyspace_exists"
    /// The default keyspace cannot be deleted.
    case keyspaceProtected = "keyspace_protected"
    /// A leaderless keyspace asks for more replicas than the cluster has members.
    case tooFewMembers = "too_few_members"
    /// The operation needs a keyspace of another replication mode (Raft or leaderless).
    case wrongReplicationMode = "wrong_replication_mode"
    /// The state machine refused the command as malformed; nothing was applied.
    case rejected
    case notFound = "not_found"
    case keyNotFound = "key_not_found"
    case methodNotAllowed = "method_not_allowed"
    /// The client's idempotency session is unknown, evicted, or older than its latest request.
    case sessionExpired = "session_expired"
    case lengthRequired = "length_required"
    /// A compare-and-set's expected version did not hold.
    case versionMismatch = "version_mismatch"
    case payloadTooLarge = "payload_too_large"
    /// This node does not lead; the request belongs on the leader (a redirect).
    case notLeader = "not_leader"
    case noLeader = "no_leader"
    case overloaded
    /// The write lost its log position to another leader: definitely not applied.
    case proposalLost = "proposal_lost"
    case readTimeout = "read_timeout"
    case notCaughtUp = "not_caught_up"
    case stopped
    /// The write may or may not have been applied; retry it with its session.
    case outcomeUnknown = "outcome_unknown"
    case storeFull = "store_full"
    case `internal`

    // MARK: Client authorization (Sources/ChorusAuthorization)

    /// No bearer token, or one this cluster cannot verify (malformed, unknown key, bad signature, expired).
    case unauthenticated
    /// The verified caller's roles do not grant the operation's action on its resource.
    case permissionDenied = "permission_denied"

    // MARK: The event store (Sources/ChorusEventStore/README.md)

    /// An append's (or delete's) expected state did not hold; the error names
    /// the stream's actual state (`actualRevision`, or every violation of a
    /// multi-stream append).
    case wrongExpectedVersion = "wrong_expected_version"
    /// The stream is tombstoned (hard-deleted): every append, read and subscribe gets this, forever.
    case streamDeleted = "stream_deleted"
    /// An event or an append exceeds a size or count limit.
    case appendTooLarge = "append_too_large"
    /// An event is malformed: empty or over-long type, duplicate id, bad content, no events.
    case invalidEvent = "invalid_event"
    /// A stream name that is empty, too long, has control characters, or is reserved (`$`) for this operation.
    case invalidStreamName = "invalid_stream_name"
    /// A read of a stream that has no events, never had any, or was soft-deleted
    /// (KurrentDB's "stream not found" read result).
    case streamNotFound = "stream_not_found"
    case groupAlreadyExists = "group_already_exists"
    case groupNotFound = "group_not_found"
    /// A group with a bad name, filter, settings or start, or a group command the store refused.
    case invalidGroup = "invalid_group"
    /// No retained event at this position (never written, or scavenged).
    case eventNotFound = "event_not_found"
    /// An "as of" read the store cannot answer exactly (rules changed since, `maximumAge`, scavenged).
    case asOfNotRetained = "as_of_not_retained"
    /// A global position that is malformed or beyond the head (a bogus `Last-Event-ID`).
    case invalidPosition = "invalid_position"
    /// A stream revision that is malformed or out of range.
    case invalidRevision = "invalid_revision"
    /// An expected state other than `any`, `no_stream`, `stream_exists` or a revision.
    case invalidExpectedVersion = "invalid_expected_version"
    /// A `$all` filter the store refuses (too many or too long prefixes).
    case invalidFilter = "invalid_filter"
    /// A request body that is not acceptable JSON, or not of the documented shape.
    case invalidJSON = "invalid_json"
    /// A query parameter with a value outside its documented set.
    case invalidParameter = "invalid_parameter"
    /// A persistent group already has its maximum number of consumers.
    case maximumConsumersReached = "max_consumers_reached"
    /// No projection of that name is defined on this node.
    case projectionNotFound = "projection_not_found"
    /// The projection declares no query of that name.
    case queryNotFound = "query_not_found"
    /// A wait for a position ended because the projection is parked before it
    /// (the error carries the parked event); it will not get there without an operator.
    case projectionStalled = "projection_stalled"
    /// A wait for a position ended at its timeout with the projection still moving.
    case projectionTimedOut = "projection_timed_out"
    /// A named query failed in SQLite, or answered more rows than allowed.
    case projectionQueryFailed = "projection_query_failed"
    /// Retry or skip on a projection that is not parked.
    case projectionNotParked = "projection_not_parked"
    /// A rebuild while one is already in progress.
    case projectionRebuilding = "projection_rebuilding"
    /// No saga with that definition and id.
    case sagaNotFound = "saga_not_found"
    /// No saga definition of that name (and version) is registered.
    case sagaDefinitionNotFound = "saga_definition_not_found"
    /// A definition that does not parse or validate (cycles, unknown steps, a pivot with a compensation, bad templates).
    case invalidSagaDefinition = "invalid_saga_definition"
    /// That name and version is registered with a different definition; register a new version.
    case sagaDefinitionConflict = "saga_definition_conflict"
    /// The saga's state does not allow the operation (a cancel after the pivot, a retry of a saga that is not parked).
    case sagaConflict = "saga_conflict"
    /// A leaderless request needs more reachable replicas than there are now (nothing was written).
    case replicasUnavailable = "replicas_unavailable"
    /// A leaderless key holds another kind of value than the operation works on (Redis's `WRONGTYPE`).
    case wrongType = "wrong_type"
    /// A versioned write would leave more siblings than the limit: read, resolve, and write back with the context.
    case tooManySiblings = "too_many_siblings"
    /// A CRDT operation body that does not fit its type (`/v1/crdt/…`).
    case invalidOperation = "invalid_operation"

    /// The HTTP status this code is answered with.
    public var httpStatus: Int {
        switch self {
        case .badRequest, .invalidKey, .invalidHeader, .invalidConsistency, .rejected, .invalidSessionToken, .invalidRange,
            .invalidKeyspace:
            400
        case .invalidEvent, .invalidStreamName, .invalidGroup, .invalidPosition, .invalidRevision, .invalidExpectedVersion,
            .invalidFilter, .invalidJSON, .invalidParameter, .invalidOperation:
            400
        case .notFound, .keyNotFound, .keyspaceNotFound: 404
        case .streamNotFound, .groupNotFound, .eventNotFound: 404
        case .wrongExpectedVersion, .groupAlreadyExists, .maximumConsumersReached: 409
        case .streamDeleted, .asOfNotRetained: 410
        case .appendTooLarge: 413
        case .methodNotAllowed: 405
        case .sessionExpired, .foreignSessionToken, .keyspaceExists, .wrongReplicationMode: 409
        case .keyspaceProtected, .tooFewMembers: 409
        case .lengthRequired: 411
        case .versionMismatch: 412
        case .payloadTooLarge: 413
        case .notLeader: 307
        case .noLeader, .overloaded, .proposalLost, .readTimeout, .notCaughtUp, .stopped: 503
        case .outcomeUnknown: 504
        case .storeFull: 507
        case .projectionNotFound, .queryNotFound: 404
        case .projectionStalled, .projectionNotParked, .projectionRebuilding: 409
        case .projectionTimedOut: 503
        case .sagaNotFound, .sagaDefinitionNotFound: 404
        case .invalidSagaDefinition: 400
        case .sagaDefinitionConflict, .sagaConflict: 409
        case .replicasUnavailable: 503
        case .wrongType, .tooManySiblings: 409
        case .projectionQueryFailed: 500
        case .internal: 500
        case .unauthenticated: 401
        case .permissionDenied: 403
        }
    }

    /// Whether the same request may simply be sent again: nothing happened,
    /// and trying later (or elsewhere) can succeed. `outcomeUnknown` is not
    /// here: a write retried without its session could apply twice.
    public var isRetryable: Bool {
        switch self {
        case .notLeader, .noLeader, .overloaded, .proposalLost, .readTimeout, .notCaughtUp, .replicasUnavailable: true
        default: false
        }
    }

    public var description: String { rawValue }
}
