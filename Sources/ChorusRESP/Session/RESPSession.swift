/// One connection's command loop without the IO: arguments in, one reply
/// (and whether to close) out, the connection's state kept in between. The
/// NIO server drives it; tests drive it directly.
///
/// ```
///  arguments ─▶ security check ─▶ auth gate ─▶ RESPCommand.parse ─▶ execute ─▶ RESPResponse
///                (POST, Host:)     (NOAUTH)     (arity, syntax)     (backend)
/// ```
///
/// Commands run one at a time, in arrival order: the server awaits each
/// `execute` before the next, which is what makes pipelining safe.
public struct RESPSession<Backend: RESPBackend>: Sendable {
    public private(set) var state: RESPConnectionState
    public let configuration: RESPSessionConfiguration
    public let backend: Backend
    /// How many connections the server has open (`INFO clients`).
    let connectedClients: @Sendable () -> Int

    public init(
        state: RESPConnectionState, configuration: RESPSessionConfiguration, backend: Backend,
        connectedClients: @escaping @Sendable () -> Int = { 1 }
    ) {
        self.state = state
        self.configuration = configuration
        self.backend = backend
        self.connectedClients = connectedClients
    }

    /// Runs one command.
    public mutating func execute(_ arguments: [[UInt8]]) async -> RESPResponse {
        // redis-server closes, without a reply, a connection whose first word
        // shows it is HTTP (a browser tricked into posting to the port).
        let name = RESPCommand.lowercased(arguments.first ?? [])
        if name == "post" || name == "host:" { return RESPResponse(reply: nil, closesConnection: true) }
        if !state.isAuthenticated {
            // Existence and arity are checked before authentication, as in `processCommand`.
            guard let specification = RESPCommandSpecification.named(name) else {
                return .error(.unknownCommand(arguments))
            }
            guard specification.accepts(argumentCount: arguments.count) else { return .error(.arity(name)) }
            guard ["auth", "hello", "quit", "reset"].contains(name) else { return .error(.authenticationRequired) }
        }
        let command: RESPCommand
        do {
            command = try RESPCommand.parse(arguments)
        } catch {
            return .error(error)
        }
        do {
            return try await execute(command)
        } catch {
            return .error(error)
        }
    }

    /// Runs one parsed command.
    public mutating func execute(_ command: RESPCommand) async throws(RESPError) -> RESPResponse {
        switch command {
        case .quit:
            return RESPResponse(reply: .ok, closesConnection: true)
        case .reset:
            state.reset(requiresAuthentication: backend.requiresAuthentication)
            return .reply(.simpleString("RESET"))
        case .ping(let message):
            return .reply(message.map(RESPValue.bulkString) ?? .simpleString("PONG"))
        case .echo(let message):
            return .reply(.bulkString(message))
        case .select(let database):
            guard configuration.databases.keyspace(forDatabase: database) != nil else { throw .databaseOutOfRange }
            state.database = database
            return .reply(.ok)
        case .hello(let request):
            return .reply(try await hello(request))
        case .auth(let username, let password):
            guard let username else {
                guard backend.requiresAuthentication else { throw .authWithoutPassword }
                try await authenticate(username: Array("default".utf8), password: password)
                return .reply(.ok)
            }
            try await authenticate(username: username, password: password)
            return .reply(.ok)
        case .client(let subcommand):
            return .reply(client(subcommand))
        case .command(let subcommand):
            return .reply(RESPCommandDocumentation.reply(subcommand))
        case .info(let sections):
            return .reply(.verbatimString(format: "txt", Array(info(sections).utf8)))
        default:
            return .reply(try await executeData(command))
        }
    }

    // MARK: Data commands

    private func executeData(_ command: RESPCommand) async throws(RESPError) -> RESPValue {
        guard let keyspace = configuration.databases.keyspace(forDatabase: state.database) else {
            preconditionFailure("the selected database \(state.database) left the table")
        }
        var context = RESPRequestContext(
            keyspace: keyspace, database: state.database, subject: state.subject, clientID: state.clientID, memory: state.memory)
        context.roles = state.roles
        do {
            return try await executeData(command, context: context)
        } catch let error as RESPBackendError {
            throw error.reply
        } catch let error as RESPError {
            throw error
        } catch {
            preconditionFailure("unexpected error type \(error)")
        }
    }

    private func executeData(_ command: RESPCommand, context: RESPRequestContext) async throws -> RESPValue {
        switch command {
        case .get(let key):
            return bulkOrNull(try await backend.get(key, context: context))
        case .set(let request):
            if request.expiry != nil { throw RESPError.expiryUnsupported }
            let outcome = try await backend.set(request, context: context)
            if request.returnsPrevious { return bulkOrNull(outcome.previous) }
            return outcome.written ? .ok : .null
        case .delete(let keys):
            return .integer(Int64(try await backend.delete(keys, context: context)))
        case .exists(let keys):
            return .integer(Int64(try await backend.exists(keys, context: context)))
        case .multipleGet(let keys):
            let values = try await backend.multipleGet(keys, context: context)
            precondition(values.count == keys.count, "MGET of \(keys.count) keys answered \(values.count) values")
            return .array(values.map(bulkOrNull))
        case .multipleSet(let pairs):
            try await backend.multipleSet(pairs, context: context)
            return .ok
        case .incrementBy(let key, let amount):
            return .integer(try await backend.incrementBy(key, amount: amount, context: context))
        case .setAdd(let key, let members):
            return .integer(Int64(try await backend.setAdd(key, members: members, context: context)))
        case .setRemove(let key, let members):
            return .integer(Int64(try await backend.setRemove(key, members: members, context: context)))
        case .setMembers(let key):
            return .set(try await backend.setMembers(key, context: context).map(RESPValue.bulkString))
        case .setIsMember(let key, let member):
            return .integer(try await backend.setIsMember(key, member: member, context: context) ? 1 : 0)
        case .hashSet(let key, let fields):
            return .integer(Int64(try await backend.hashSet(key, fields: fields, context: context)))
        case .hashGet(let key, let field):
            return bulkOrNull(try await backend.hashGet(key, field: field, context: context))
        case .hashDelete(let key, let fields):
            return .integer(Int64(try await backend.hashDelete(key, fields: fields, context: context)))
        case .hashGetAll(let key):
            let entries = try await backend.hashGetAll(key, context: context)
            return .map(entries.map { RESPMapEntry(.bulkString($0.key), .bulkString($0.value)) })
        case .databaseSize:
            return .integer(Int64(try await backend.databaseSize(context: context)))
        case .ping, .echo, .select, .hello, .auth, .client, .command, .info, .quit, .reset:
            preconditionFailure("\(command.name) is not a data command")
        }
    }

    private func bulkOrNull(_ bytes: [UInt8]?) -> RESPValue {
        bytes.map(RESPValue.bulkString) ?? .null
    }

    // MARK: Connection commands

    private mutating func authenticate(username: [UInt8], password: [UInt8]) async throws(RESPError) {
        do {
            let identity = try await backend.authenticateIdentity(username: username, password: password)
            state.subject = identity.subject
            state.roles = identity.roles
            state.isAuthenticated = true
        } catch {
            throw error.reply
        }
    }

    /// `helloCommand`: authenticate if asked, refuse if still
    /// unauthenticated, then name, then switch version; the reply is in the
    /// new version.
    private mutating func hello(_ request: RESPHelloRequest) async throws(RESPError) -> RESPValue {
        if let username = request.username, let password = request.password {
            try await authenticate(username: username, password: password)
        }
        guard state.isAuthenticated else { throw .helloUnauthenticated }
        if let name = request.clientName { state.clientName = name.isEmpty ? nil : name }
        if let version = request.version { state.protocolVersion = version }
        return .map([
            RESPMapEntry(.bulk("server"), .bulk(configuration.serverName)),
            RESPMapEntry(.bulk("version"), .bulk(configuration.compatibilityVersion)),
            RESPMapEntry(.bulk("proto"), .integer(Int64(state.protocolVersion.rawValue))),
            RESPMapEntry(.bulk("id"), .integer(Int64(state.clientID))),
            RESPMapEntry(.bulk("mode"), .bulk("standalone")),
            RESPMapEntry(.bulk("role"), .bulk("master")),
            RESPMapEntry(.bulk("modules"), .array([])),
        ])
    }

    private mutating func client(_ subcommand: RESPClientSubcommand) -> RESPValue {
        switch subcommand {
        case .setName(let name):
            state.clientName = name.isEmpty ? nil : name
            return .ok
        case .getName:
            return bulkOrNull(state.clientName)
        case .id:
            return .integer(Int64(state.clientID))
        case .info:
            return .verbatimString(format: "txt", Array(clientInfoLine().utf8))
        case .help:
            return .array([
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GETNAME", "    Return the name of the current connection.",
                "ID", "    Return the ID of the current connection.",
                "INFO", "    Return information about the current client connection.",
                "SETNAME <name>", "    Assign the name <name> to the current connection.",
                "HELP", "    Print this help.",
            ].map(RESPValue.simpleString))
        }
    }

    /// The `CLIENT INFO` line: redis-server's fields that this front end has.
    func clientInfoLine() -> String {
        let name = String(decoding: state.clientName ?? [], as: UTF8.self)
        let user = state.subject ?? "default"
        return "id=\(state.clientID) addr=\(state.remoteAddress) laddr=\(state.localAddress) name=\(name) "
            + "db=\(state.database) user=\(user) resp=\(state.protocolVersion.rawValue)\n"
    }

    /// `INFO`: the `server` and `clients` sections (`all`, `everything` and
    /// `default` give both; an unknown section gives nothing, as in Redis).
    func info(_ sections: [String]) -> String {
        let everything = sections.isEmpty || sections.contains { ["all", "everything", "default"].contains($0) }
        var text = ""
        if everything || sections.contains("server") {
            text += "# Server\r\n"
            text += "redis_version:\(configuration.compatibilityVersion)\r\n"
            text += "redis_mode:standalone\r\n"
            text += "chorus_server:\(configuration.serverName)\r\n"
            text += "arch_bits:\(Int.bitWidth)\r\n"
            text += "tcp_port:\(configuration.port)\r\n"
            text += "\r\n"
        }
        if everything || sections.contains("clients") {
            text += "# Clients\r\n"
            text += "connected_clients:\(connectedClients())\r\n"
            text += "\r\n"
        }
        return text
    }
}

/// What the connection does after one command.
public struct RESPResponse: Sendable, Hashable {
    /// Nil only when the connection closes without a word (an HTTP request).
    public var reply: RESPValue?
    /// Close once the reply is written (`QUIT`, a protocol error).
    public var closesConnection: Bool

    public init(reply: RESPValue?, closesConnection: Bool) {
        self.reply = reply
        self.closesConnection = closesConnection
    }

    public static func reply(_ value: RESPValue) -> RESPResponse {
        RESPResponse(reply: value, closesConnection: false)
    }

    public static func error(_ error: RESPError) -> RESPResponse {
        RESPResponse(reply: error.reply, closesConnection: false)
    }
}

extension RESPError {
    /// `SET … EX/PX/EXAT/PXAT`: a leaderless keyspace has no TTLs. An expiry
    /// is a delete at a wall-clock time, which replicas with skewed clocks
    /// would apply at different moments, and which a concurrent write could
    /// not be ordered against; refusing it says so instead of ignoring it.
    public static let expiryUnsupported = RESPError(
        "ERR", "SET with an expiry is not supported: leaderless keyspaces have no TTLs")
}
