extension RESPCommand {
    /// Parses the arguments of one command (the name first) as redis-server 7
    /// validates them: the name case-insensitively; the arity from
    /// `RESPCommandSpecification`; then each command's own syntax, integers
    /// and option conflicts, in Redis's order, so the first error reported is
    /// the one Redis would report.
    ///
    /// `arguments` is never empty (the parser drops empty commands); an empty
    /// array is answered as an unknown empty command name.
    public static func parse(_ arguments: [[UInt8]]) throws(RESPError) -> RESPCommand {
        let name = lowercased(arguments.first ?? [])
        guard let specification = RESPCommandSpecification.named(name) else {
            throw .unknownCommand(arguments)
        }
        guard specification.accepts(argumentCount: arguments.count) else { throw .arity(name) }
        let count = arguments.count
        switch name {
        case "get": return .get(key: arguments[1])
        case "set": return .set(try parseSet(arguments))
        case "del": return .delete(keys: Array(arguments[1...]))
        case "exists": return .exists(keys: Array(arguments[1...]))
        case "mget": return .multipleGet(keys: Array(arguments[1...]))
        case "mset":
            guard count % 2 == 1 else { throw .arity(name) }
            return .multipleSet(pairs(arguments[1...]))
        case "incr": return .incrementBy(key: arguments[1], amount: 1)
        case "decr": return .incrementBy(key: arguments[1], amount: -1)
        case "incrby":
            return .incrementBy(key: arguments[1], amount: try integer(arguments[2]))
        case "decrby":
            let amount = try integer(arguments[2])
            guard amount != .min else { throw .decrementOverflow }
            return .incrementBy(key: arguments[1], amount: -amount)
        case "sadd": return .setAdd(key: arguments[1], members: Array(arguments[2...]))
        case "srem": return .setRemove(key: arguments[1], members: Array(arguments[2...]))
        case "smembers": return .setMembers(key: arguments[1])
        case "sismember": return .setIsMember(key: arguments[1], member: arguments[2])
        case "hset":
            guard count % 2 == 0 else { throw .arity(name) }
            return .hashSet(key: arguments[1], fields: pairs(arguments[2...]))
        case "hget": return .hashGet(key: arguments[1], field: arguments[2])
        case "hdel": return .hashDelete(key: arguments[1], fields: Array(arguments[2...]))
        case "hgetall": return .hashGetAll(key: arguments[1])
        case "dbsize": return .databaseSize
        case "ping":
            guard count <= 2 else { throw .arity(name) }
            return .ping(message: count == 2 ? arguments[1] : nil)
        case "echo": return .echo(message: arguments[1])
        case "select":
            // redis-server reads the index as a C int.
            guard let index = RESPDecimal.parse(arguments[1]), let database = Int32(exactly: index) else {
                throw .notAnInteger
            }
            return .select(database: Int(database))
        case "hello": return .hello(try parseHello(arguments))
        case "auth":
            guard count <= 3 else { throw .syntax }
            return count == 2
                ? .auth(username: nil, password: arguments[1]) : .auth(username: arguments[1], password: arguments[2])
        case "client": return .client(try parseClient(arguments))
        case "command": return .command(try parseCommand(arguments))
        case "info": return .info(sections: arguments.dropFirst().map(lowercased))
        case "quit": return .quit
        case "reset": return .reset
        default:
            preconditionFailure("command '\(name)' has a specification but no parser")
        }
    }

    // MARK: SET

    /// redis-server's `parseExtendedStringArgumentsOrReply` for `SET`: an
    /// option that conflicts with one already given, or lacks its argument,
    /// is a syntax error; repeating one is allowed (the last expiry counts).
    /// The expiry's integer is checked after all options, as in `setCommand`.
    static func parseSet(_ arguments: [[UInt8]]) throws(RESPError) -> RESPSetRequest {
        var request = RESPSetRequest(key: arguments[1], value: arguments[2])
        var expiryArgument: (unit: String, value: [UInt8])? = nil
        var index = 3
        while index < arguments.count {
            let option = lowercased(arguments[index])
            let hasNext = index + 1 < arguments.count
            let hasExpiry = expiryArgument != nil
            switch option {
            case "nx" where request.condition != .ifPresent:
                request.condition = .ifAbsent
            case "xx" where request.condition != .ifAbsent:
                request.condition = .ifPresent
            case "get":
                request.returnsPrevious = true
            case "keepttl" where !hasExpiry:
                request.keepsTimeToLive = true
            case "ex", "px", "exat", "pxat":
                // The same unit again is allowed; a different one, or KEEPTTL, conflicts.
                guard hasNext, !request.keepsTimeToLive, !hasExpiry || expiryArgument?.unit == option else {
                    throw .syntax
                }
                expiryArgument = (option, arguments[index + 1])
                index += 1
            default:
                throw .syntax
            }
            index += 1
        }
        if let (unit, text) = expiryArgument {
            guard let amount = RESPDecimal.parse(text) else { throw .notAnInteger }
            let inSeconds = unit == "ex" || unit == "exat"
            guard amount > 0, !inSeconds || amount <= Int64.max / 1000 else { throw .invalidExpireTime("set") }
            switch unit {
            case "ex": request.expiry = .seconds(amount)
            case "px": request.expiry = .milliseconds(amount)
            case "exat": request.expiry = .unixTimeSeconds(amount)
            default: request.expiry = .unixTimeMilliseconds(amount)
            }
        }
        return request
    }

    // MARK: HELLO

    /// `helloCommand`: the version first (an integer, 2 or 3), then `AUTH`
    /// with two arguments and `SETNAME` with one, in any order.
    static func parseHello(_ arguments: [[UInt8]]) throws(RESPError) -> RESPHelloRequest {
        var request = RESPHelloRequest()
        var index = 1
        if arguments.count >= 2 {
            guard let version = RESPDecimal.parse(arguments[1]) else { throw .protocolVersionNotAnInteger }
            guard version == 2 || version == 3 else { throw .unsupportedProtocol }
            request.version = RESPProtocolVersion(rawValue: Int(version))
            index = 2
        }
        while index < arguments.count {
            let remaining = arguments.count - 1 - index
            switch lowercased(arguments[index]) {
            case "auth" where remaining >= 2:
                request.username = arguments[index + 1]
                request.password = arguments[index + 2]
                index += 3
            case "setname" where remaining >= 1:
                let name = arguments[index + 1]
                guard isValidClientName(name) else { throw .invalidClientName }
                request.clientName = name
                index += 2
            default:
                throw .helloOption(arguments[index])
            }
        }
        return request
    }

    // MARK: CLIENT and COMMAND

    static func parseClient(_ arguments: [[UInt8]]) throws(RESPError) -> RESPClientSubcommand {
        let subcommand = lowercased(arguments[1])
        let subcommands = ["setname", "getname", "id", "info", "help"]
        guard subcommands.contains(subcommand),
            let specification = RESPCommandSpecification.named("client")?.subcommands.first(where: {
                $0.name == "client|\(subcommand)"
            })
        else { throw .unknownSubcommand(arguments[1], of: "client") }
        guard specification.accepts(argumentCount: arguments.count) else { throw .arity(specification.name) }
        switch subcommand {
        case "setname":
            guard isValidClientName(arguments[2]) else { throw .invalidClientName }
            return .setName(arguments[2])
        case "getname": return .getName
        case "id": return .id
        case "info": return .info
        default: return .help
        }
    }

    static func parseCommand(_ arguments: [[UInt8]]) throws(RESPError) -> RESPCommandSubcommand {
        guard arguments.count >= 2 else { return .all }
        let subcommand = lowercased(arguments[1])
        guard let specification = RESPCommandSpecification.named("command")?.subcommands.first(where: {
            $0.name == "command|\(subcommand)"
        })
        else { throw .unknownSubcommand(arguments[1], of: "command") }
        guard specification.accepts(argumentCount: arguments.count) else { throw .arity(specification.name) }
        let names = arguments.dropFirst(2).map(lowercased)
        switch subcommand {
        case "count": return .count
        case "docs": return .docs(names)
        case "info": return .info(names)
        case "list":
            // `FILTERBY` is not supported: every command is listed.
            guard names.isEmpty else { throw .syntax }
            return .list
        default: return .help
        }
    }

    // MARK: Pieces

    /// redis-server's `validateClientName`: printable ASCII without spaces.
    static func isValidClientName(_ name: [UInt8]) -> Bool {
        name.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    static func integer(_ bytes: [UInt8]) throws(RESPError) -> Int64 {
        guard let value = RESPDecimal.parse(bytes) else { throw .notAnInteger }
        return value
    }

    static func pairs(_ arguments: ArraySlice<[UInt8]>) -> [RESPKeyValue] {
        var result: [RESPKeyValue] = []
        result.reserveCapacity(arguments.count / 2)
        var index = arguments.startIndex
        while index + 1 < arguments.endIndex {
            result.append(RESPKeyValue(key: arguments[index], value: arguments[index + 1]))
            index += 2
        }
        return result
    }

    /// ASCII-lowercased text of a name or option (other bytes kept as decoded).
    static func lowercased(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
    }
}
