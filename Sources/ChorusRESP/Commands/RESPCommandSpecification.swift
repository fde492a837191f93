/// What `COMMAND`, `COMMAND INFO` and `COMMAND DOCS` report about one
/// command, and the arity `RESPCommand.parse` checks: the fields of
/// redis-server 7's command table (`commands.def`) that clients read.
///
/// Arity follows Redis: a positive arity is the exact argument count (the
/// name included), a negative one the minimum.
public struct RESPCommandSpecification: Sendable, Hashable {
    public var name: String
    public var arity: Int
    public var flags: [String]
    public var firstKey: Int
    public var lastKey: Int
    public var keyStep: Int
    public var group: String
    public var summary: String
    public var since: String
    public var subcommands: [RESPCommandSpecification]

    init(
        _ name: String, arity: Int, flags: [String], keys: (Int, Int, Int) = (0, 0, 0), group: String,
        since: String, _ summary: String, subcommands: [RESPCommandSpecification] = []
    ) {
        self.name = name
        self.arity = arity
        self.flags = flags
        self.firstKey = keys.0
        self.lastKey = keys.1
        self.keyStep = keys.2
        self.group = group
        self.summary = summary
        self.since = since
        self.subcommands = subcommands
    }

    /// Whether `count` arguments (the name included) satisfy the arity.
    public func accepts(argumentCount count: Int) -> Bool {
        arity > 0 ? count == arity : count >= -arity
    }

    /// The specification of `name` (lowercase), if this front end has the command.
    public static func named(_ name: String) -> RESPCommandSpecification? {
        byName[name]
    }

    private static let byName: [String: RESPCommandSpecification] = Dictionary(
        uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// Every command, sorted by name (`COMMAND` and `COMMAND LIST` return this order).
    public static let all: [RESPCommandSpecification] = [
        .init("auth", arity: -2, flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
              group: "connection", since: "1.0.0", "Authenticates the connection."),
        .init("client", arity: -2, flags: [], group: "connection", since: "2.4.0",
              "A container for client connection commands.", subcommands: [
                .init("client|getname", arity: 2, flags: ["noscript", "loading", "stale"],
                      group: "connection", since: "2.6.9", "Returns the name of the connection."),
                .init("client|help", arity: 2, flags: ["loading", "stale"],
                      group: "connection", since: "5.0.0", "Returns helpful text about the different subcommands."),
                .init("client|id", arity: 2, flags: ["noscript", "loading", "stale"],
                      group: "connection", since: "5.0.0", "Returns the unique client ID of the connection."),
                .init("client|info", arity: 2, flags: ["noscript", "loading", "stale"],
                      group: "connection", since: "6.2.0", "Returns information about the connection."),
                .init("client|setname", arity: 3, flags: ["noscript", "loading", "stale"],
                      group: "connection", since: "2.6.9", "Sets the connection name."),
              ]),
        .init("command", arity: -1, flags: ["loading", "stale"], group: "server", since: "2.8.13",
              "Returns detailed information about all commands.", subcommands: [
                .init("command|count", arity: 2, flags: ["loading", "stale"],
                      group: "server", since: "2.8.13", "Returns a count of commands."),
                .init("command|docs", arity: -2, flags: ["loading", "stale"],
                      group: "server", since: "7.0.0", "Returns documentary information about one, multiple or all commands."),
                .init("command|help", arity: 2, flags: ["loading", "stale"],
                      group: "server", since: "5.0.0", "Returns helpful text about the different subcommands."),
                .init("command|info", arity: -2, flags: ["loading", "stale"],
                      group: "server", since: "2.8.13", "Returns information about one, multiple or all commands."),
                .init("command|list", arity: -2, flags: ["loading", "stale"],
                      group: "server", since: "7.0.0", "Returns a list of command names."),
              ]),
        .init("dbsize", arity: 1, flags: ["readonly", "fast"], group: "server", since: "1.0.0",
              "Returns the number of keys in the database."),
        .init("decr", arity: 2, flags: ["write", "denyoom", "fast"], keys: (1, 1, 1), group: "string",
              since: "1.0.0", "Decrements the integer value of a key by one."),
        .init("decrby", arity: 3, flags: ["write", "denyoom", "fast"], keys: (1, 1, 1), group: "string",
              since: "1.0.0", "Decrements a number from the integer value of a key."),
        .init("del", arity: -2, flags: ["write"], keys: (1, -1, 1), group: "generic", since: "1.0.0",
              "Deletes one or more keys."),
        .init("echo", arity: 2, flags: ["fast"], group: "connection", since: "1.0.0", "Returns the given string."),
        .init("exists", arity: -2, flags: ["readonly", "fast"], keys: (1, -1, 1), group: "generic",
              since: "1.0.0", "Determines whether one or more keys exist."),
        .init("get", arity: 2, flags: ["readonly", "fast"], keys: (1, 1, 1), group: "string", since: "1.0.0",
              "Returns the string value of a key."),
        .init("hdel", arity: -3, flags: ["write", "fast"], keys: (1, 1, 1), group: "hash", since: "2.0.0",
              "Deletes one or more fields and their values from a hash."),
        .init("hello", arity: -1, flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
              group: "connection", since: "6.0.0", "Handshakes with the Redis server."),
        .init("hget", arity: 3, flags: ["readonly", "fast"], keys: (1, 1, 1), group: "hash", since: "2.0.0",
              "Returns the value of a field in a hash."),
        .init("hgetall", arity: 2, flags: ["readonly"], keys: (1, 1, 1), group: "hash", since: "2.0.0",
              "Returns all fields and values in a hash."),
        .init("hset", arity: -4, flags: ["write", "denyoom", "fast"], keys: (1, 1, 1), group: "hash",
              since: "2.0.0", "Creates or modifies the value of a field in a hash."),
        .init("incr", arity: 2, flags: ["write", "denyoom", "fast"], keys: (1, 1, 1), group: "string",
              since: "1.0.0", "Increments the integer value of a key by one."),
        .init("incrby", arity: 3, flags: ["write", "denyoom", "fast"], keys: (1, 1, 1), group: "string",
              since: "1.0.0", "Increments the integer value of a key by a number."),
        .init("info", arity: -1, flags: ["loading", "stale"], group: "server", since: "1.0.0",
              "Returns information and statistics about the server."),
        .init("mget", arity: -2, flags: ["readonly", "fast"], keys: (1, -1, 1), group: "string",
              since: "1.0.0", "Atomically returns the string values of one or more keys."),
        .init("mset", arity: -3, flags: ["write", "denyoom"], keys: (1, -1, 2), group: "string",
              since: "1.0.1", "Atomically creates or modifies the string values of one or more keys."),
        .init("ping", arity: -1, flags: ["fast"], group: "connection", since: "1.0.0",
              "Returns the server's liveliness response."),
        .init("quit", arity: -1, flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
              group: "connection", since: "1.0.0", "Closes the connection."),
        .init("reset", arity: 1, flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
              group: "connection", since: "6.2.0", "Resets the connection."),
        .init("sadd", arity: -3, flags: ["write", "denyoom", "fast"], keys: (1, 1, 1), group: "set",
              since: "1.0.0", "Adds one or more members to a set. Creates the key if it doesn't exist."),
        .init("select", arity: 2, flags: ["loading", "stale", "fast"], group: "connection", since: "1.0.0",
              "Changes the selected database."),
        .init("set", arity: -3, flags: ["write", "denyoom"], keys: (1, 1, 1), group: "string", since: "1.0.0",
              "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist."),
        .init("sismember", arity: 3, flags: ["readonly", "fast"], keys: (1, 1, 1), group: "set",
              since: "1.0.0", "Determines whether a member belongs to a set."),
        .init("smembers", arity: 2, flags: ["readonly"], keys: (1, 1, 1), group: "set", since: "1.0.0",
              "Returns all members of a set."),
        .init("srem", arity: -3, flags: ["write", "fast"], keys: (1, 1, 1), group: "set", since: "1.0.0",
              "Removes one or more members from a set. Deletes the set if the last member was removed."),
    ]
}
