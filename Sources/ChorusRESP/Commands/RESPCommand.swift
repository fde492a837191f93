/// One client command, parsed and validated: the typed request the session
/// executes. Building it needs no storage (`RESPCommand.parse`), so every
/// arity, syntax and integer error is decided here with redis-server's exact
/// words, before a backend sees anything.
///
/// Keys, values, members and fields are binary-safe bytes, as in Redis.
public enum RESPCommand: Sendable, Hashable {
    // MARK: Strings (registers; a counter reads as its decimal value)
    case get(key: [UInt8])
    case set(RESPSetRequest)
    /// `DEL`: the number of keys that existed.
    case delete(keys: [[UInt8]])
    /// `EXISTS`: how many of the keys exist, a key counted as often as named.
    case exists(keys: [[UInt8]])
    case multipleGet(keys: [[UInt8]])
    case multipleSet([RESPKeyValue])
    /// `INCR`, `DECR`, `INCRBY`, `DECRBY`: one signed amount.
    case incrementBy(key: [UInt8], amount: Int64)

    // MARK: Sets (add-wins OR-sets)
    case setAdd(key: [UInt8], members: [[UInt8]])
    case setRemove(key: [UInt8], members: [[UInt8]])
    case setMembers(key: [UInt8])
    case setIsMember(key: [UInt8], member: [UInt8])

    // MARK: Hashes (maps of register fields)
    case hashSet(key: [UInt8], fields: [RESPKeyValue])
    case hashGet(key: [UInt8], field: [UInt8])
    case hashDelete(key: [UInt8], fields: [[UInt8]])
    case hashGetAll(key: [UInt8])

    // MARK: Keyspace
    case databaseSize

    // MARK: Connection and server
    case ping(message: [UInt8]?)
    case echo(message: [UInt8])
    case select(database: Int)
    case hello(RESPHelloRequest)
    /// `AUTH password` (the user `default`) or `AUTH username password`.
    case auth(username: [UInt8]?, password: [UInt8])
    case client(RESPClientSubcommand)
    case command(RESPCommandSubcommand)
    /// `INFO [section …]`, section names lowercased; empty for the default.
    case info(sections: [String])
    case quit
    case reset

    /// The command's name as redis-server names it in errors and `COMMAND`.
    public var name: String {
        switch self {
        case .get: "get"
        case .set: "set"
        case .delete: "del"
        case .exists: "exists"
        case .multipleGet: "mget"
        case .multipleSet: "mset"
        case .incrementBy: "incrby"
        case .setAdd: "sadd"
        case .setRemove: "srem"
        case .setMembers: "smembers"
        case .setIsMember: "sismember"
        case .hashSet: "hset"
        case .hashGet: "hget"
        case .hashDelete: "hdel"
        case .hashGetAll: "hgetall"
        case .databaseSize: "dbsize"
        case .ping: "ping"
        case .echo: "echo"
        case .select: "select"
        case .hello: "hello"
        case .auth: "auth"
        case .client: "client"
        case .command: "command"
        case .info: "info"
        case .quit: "quit"
        case .reset: "reset"
        }
    }

    /// Whether the command may run before the connection has authenticated
    /// (redis-server's `no-auth` flag: AUTH, HELLO, QUIT, RESET).
    public var isAllowedBeforeAuthentication: Bool {
        switch self {
        case .auth, .hello, .quit, .reset: true
        default: false
        }
    }
}

/// A key and its value (`MSET`), or a field and its value (`HSET`).
public struct RESPKeyValue: Sendable, Hashable {
    public var key: [UInt8]
    public var value: [UInt8]

    public init(key: [UInt8], value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

/// `SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]`.
public struct RESPSetRequest: Sendable, Hashable {
    public enum Condition: Sendable, Hashable {
        case always
        /// `NX`: only if the key holds no string.
        case ifAbsent
        /// `XX`: only if the key holds a string.
        case ifPresent
    }

    public var key: [UInt8]
    public var value: [UInt8]
    public var condition: Condition
    /// `GET`: reply with the value before the write (or null).
    public var returnsPrevious: Bool
    /// The expiry asked for, validated as redis-server validates it. The
    /// session refuses any expiry on a leaderless keyspace (README: no TTLs).
    public var expiry: RESPExpiry?
    /// `KEEPTTL`: accepted, and a no-op, since no key has a TTL.
    public var keepsTimeToLive: Bool

    public init(
        key: [UInt8], value: [UInt8], condition: Condition = .always, returnsPrevious: Bool = false,
        expiry: RESPExpiry? = nil, keepsTimeToLive: Bool = false
    ) {
        self.key = key
        self.value = value
        self.condition = condition
        self.returnsPrevious = returnsPrevious
        self.expiry = expiry
        self.keepsTimeToLive = keepsTimeToLive
    }
}

/// An expiry option of `SET`, always positive.
public enum RESPExpiry: Sendable, Hashable {
    case seconds(Int64)
    case milliseconds(Int64)
    case unixTimeSeconds(Int64)
    case unixTimeMilliseconds(Int64)
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`.
public struct RESPHelloRequest: Sendable, Hashable {
    /// Nil: keep the connection's version and only report.
    public var version: RESPProtocolVersion?
    public var username: [UInt8]?
    public var password: [UInt8]?
    public var clientName: [UInt8]?

    public init(
        version: RESPProtocolVersion? = nil, username: [UInt8]? = nil, password: [UInt8]? = nil,
        clientName: [UInt8]? = nil
    ) {
        self.version = version
        self.username = username
        self.password = password
        self.clientName = clientName
    }
}

public enum RESPClientSubcommand: Sendable, Hashable {
    /// An empty name removes the name.
    case setName([UInt8])
    case getName
    case id
    case info
    case help
}

public enum RESPCommandSubcommand: Sendable, Hashable {
    /// `COMMAND`: the information of every command.
    case all
    case count
    /// `COMMAND DOCS [name …]` (lowercased; empty for all).
    case docs([String])
    /// `COMMAND INFO [name …]` (lowercased; empty for all).
    case info([String])
    case list
    case help
}
