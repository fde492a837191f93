/// The storage behind the RESP front end: one async method per data
/// operation, typed requests in, typed replies out, failures as
/// `RESPBackendError`. The integrator implements it on the leaderless
/// keyspaces (README, "Semantics"); this target never sees how.
///
/// Contract every implementation keeps:
/// - **Types.** Redis has one value per key name; Chorus keys carry their
///   kind (`ObjectKey(keyspace, kind, key)`). A method that finds the name
///   holding another kind fails with `.wrongType` (`-WRONGTYPE …`), except
///   where Redis itself ignores the type (`DEL`, `EXISTS`, `MGET` answers
///   null for a non-string, `SET` overwrites any type). "String" means a
///   register, or a counter, which reads as its decimal value.
/// - **Order.** One connection's commands are executed one after another,
///   each awaited before the next starts; an implementation needs no
///   ordering of its own, but must give read-your-writes to one caller
///   (a `session` or stronger level on the keyspace, or the coordinator's
///   own state), since pipelined `SET k v` / `GET k` expect it.
/// - **Determinism of replies.** Members, fields and entries are returned
///   sorted by their bytes, never in dictionary order.
/// - **Errors.** An expected failure is thrown, never trapped; a write that
///   may have been applied fails with `ErrorCode.outcomeUnknown`.
public protocol RESPBackend: Sendable {
    /// Whether a connection must authenticate (`AUTH`, `HELLO … AUTH`)
    /// before any data command.
    var requiresAuthentication: Bool { get }

    /// Checks credentials; returns the authenticated subject (the caller
    /// later requests carry), or throws `.wrongPassword`.
    func authenticate(username: [UInt8], password: [UInt8]) async throws(RESPBackendError) -> String

    /// Checks credentials and returns who they name with what roles: for
    /// Chorus's signed tokens, `AUTH <token>` (user `default`) or
    /// `AUTH <user> <token>` (the user must be the token's subject); the
    /// roles travel in every later request's context, where the backend
    /// builds the service's `Caller` from them. By default, `authenticate`'s
    /// subject with no roles.
    func authenticateIdentity(username: [UInt8], password: [UInt8]) async throws(RESPBackendError) -> RESPIdentity

    // MARK: Strings

    /// The string at `key`, or nil if there is none.
    func get(_ key: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> [UInt8]?
    /// Writes the register as the request asks (`NX`/`XX` decided against the
    /// value the coordinator reads). Expiry never reaches a backend.
    func set(_ request: RESPSetRequest, context: RESPRequestContext) async throws(RESPBackendError) -> RESPSetOutcome
    /// Removes every kind held under each name; returns how many names held something.
    func delete(_ keys: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int
    /// How many of `keys` hold something (repeats count again).
    func exists(_ keys: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int
    /// One entry per key, in order: the string, or nil (absent or another kind).
    func multipleGet(_ keys: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> [[UInt8]?]
    /// Sets each pair (each key independently: not atomic across keys here).
    func multipleSet(_ pairs: [RESPKeyValue], context: RESPRequestContext) async throws(RESPBackendError)
    /// Adds `amount` to the counter at `key` and returns the value the
    /// coordinating replica holds after it. Fails with `.notAnInteger` if
    /// the key holds a string that is not an integer, `.incrementOverflow`
    /// if the result leaves `Int64`.
    func incrementBy(_ key: [UInt8], amount: Int64, context: RESPRequestContext) async throws(RESPBackendError) -> Int64

    // MARK: Sets

    /// Adds members; returns how many were not present (at the coordinator).
    func setAdd(_ key: [UInt8], members: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int
    /// Removes the members' observed instances; returns how many were present.
    func setRemove(_ key: [UInt8], members: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int
    /// Every member, sorted by bytes (empty for an absent key).
    func setMembers(_ key: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> [[UInt8]]
    func setIsMember(_ key: [UInt8], member: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> Bool

    // MARK: Hashes

    /// Sets fields; returns how many were new.
    func hashSet(_ key: [UInt8], fields: [RESPKeyValue], context: RESPRequestContext) async throws(RESPBackendError) -> Int
    func hashGet(_ key: [UInt8], field: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> [UInt8]?
    /// Removes fields; returns how many were present.
    func hashDelete(_ key: [UInt8], fields: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int
    /// Every field and value, sorted by field bytes (empty for an absent key).
    func hashGetAll(_ key: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> [RESPKeyValue]

    // MARK: Keyspace

    /// The number of keys in the keyspace, as cheaply as the backend can
    /// count them (a leaderless node may count the keys it holds).
    func databaseSize(context: RESPRequestContext) async throws(RESPBackendError) -> Int
}

/// Who a connection authenticated as: the subject and the roles its token grants.
public struct RESPIdentity: Sendable, Hashable {
    public var subject: String
    public var roles: [String]

    public init(subject: String, roles: [String] = []) {
        self.subject = subject
        self.roles = roles
    }
}

extension RESPBackend {
    public func authenticateIdentity(username: [UInt8], password: [UInt8]) async throws(RESPBackendError) -> RESPIdentity {
        RESPIdentity(subject: try await authenticate(username: username, password: password))
    }
}

/// Who asks, and where: what every data request carries.
public struct RESPRequestContext: Sendable, Hashable {
    /// The keyspace the connection's selected database maps to.
    public var keyspace: String
    /// The database index the connection selected.
    public var database: Int
    /// The authenticated subject, nil before authentication (or when none is required).
    public var subject: String?
    /// The roles of the authenticated identity (empty before authentication).
    public var roles: [String] = []
    /// The connection's `CLIENT ID`.
    public var clientID: UInt64
    /// What the backend keeps for the connection between commands.
    public var memory: RESPConnectionMemory

    public init(
        keyspace: String, database: Int, subject: String?, clientID: UInt64, memory: RESPConnectionMemory = RESPConnectionMemory()
    ) {
        self.keyspace = keyspace
        self.database = database
        self.subject = subject
        self.clientID = clientID
        self.memory = memory
    }
}

/// What `SET` did.
public struct RESPSetOutcome: Sendable, Hashable {
    /// False when `NX`/`XX` kept the write from happening.
    public var written: Bool
    /// The string before the write, when the request asked for it (`GET`).
    public var previous: [UInt8]?

    public init(written: Bool, previous: [UInt8]? = nil) {
        self.written = written
        self.previous = previous
    }
}
