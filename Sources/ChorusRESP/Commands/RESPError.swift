/// An error reply: a code (the first word, which clients branch on: `ERR`,
/// `WRONGTYPE`, `NOAUTH`, …) and a message. The messages of the cases Redis
/// has are redis-server 7's, byte for byte (server.c `shared` replies,
/// `addReplyErrorArity`, `commandCheckExistence`), so client libraries that
/// match on them behave the same.
public struct RESPError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: String
    public var message: String

    /// CR and LF in user text become spaces, as redis-server maps them, so an
    /// error line can never break the framing.
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = String(
            String.UnicodeScalarView(message.unicodeScalars.map { $0 == "\r" || $0 == "\n" ? " " : $0 }))
    }

    /// The line after `-`.
    public var line: String { "\(code) \(message)" }
    public var reply: RESPValue { .error(line) }
    public var description: String { line }

    // MARK: redis-server's errors

    public static let syntax = RESPError("ERR", "syntax error")
    public static let notAnInteger = RESPError("ERR", "value is not an integer or out of range")
    public static let wrongType = RESPError("WRONGTYPE", "Operation against a key holding the wrong kind of value")
    public static let incrementOverflow = RESPError("ERR", "increment or decrement would overflow")
    public static let decrementOverflow = RESPError("ERR", "decrement would overflow")
    public static let databaseOutOfRange = RESPError("ERR", "DB index is out of range")
    public static let authenticationRequired = RESPError("NOAUTH", "Authentication required.")
    public static let wrongPassword = RESPError("WRONGPASS", "invalid username-password pair or user is disabled.")
    public static let unsupportedProtocol = RESPError("NOPROTO", "unsupported protocol version")
    public static let protocolVersionNotAnInteger = RESPError("ERR", "Protocol version is not an integer or out of range")
    public static let invalidClientName = RESPError(
        "ERR", "Client names cannot contain spaces, newlines or special characters.")
    public static let helloUnauthenticated = RESPError(
        "NOAUTH",
        "HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
    )
    public static let authWithoutPassword = RESPError(
        "ERR",
        "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    )
    public static let maximumClients = RESPError("ERR", "max number of clients reached")

    public static func arity(_ name: String) -> RESPError {
        RESPError("ERR", "wrong number of arguments for '\(name)' command")
    }

    public static func invalidExpireTime(_ name: String) -> RESPError {
        RESPError("ERR", "invalid expire time in '\(name)' command")
    }

    public static func helloOption(_ option: [UInt8]) -> RESPError {
        RESPError("ERR", "Syntax error in HELLO option '\(String(decoding: option, as: UTF8.self))'")
    }

    /// `unknown command 'foo', with args beginning with: 'a' 'b' ` — the name
    /// cut at 128 bytes; arguments quoted and each followed by a space while
    /// the list is under 128 bytes, the last one cut to fit (server.c).
    public static func unknownCommand(_ arguments: [[UInt8]]) -> RESPError {
        var list: [UInt8] = []
        for argument in arguments.dropFirst() {
            guard list.count < 128 else { break }
            let room = 128 - list.count
            list.append(UInt8(ascii: "'"))
            list.append(contentsOf: cString(argument).prefix(room))
            list.append(contentsOf: Array("' ".utf8))
        }
        let name = cString(arguments.first ?? []).prefix(128)
        return RESPError(
            "ERR",
            "unknown command '\(String(decoding: name, as: UTF8.self))', with args beginning with: \(String(decoding: list, as: UTF8.self))"
        )
    }

    /// `unknown subcommand 'foo'. Try CLIENT HELP.`
    public static func unknownSubcommand(_ subcommand: [UInt8], of container: String) -> RESPError {
        let name = String(decoding: cString(subcommand).prefix(128), as: UTF8.self)
        return RESPError("ERR", "unknown subcommand '\(name)'. Try \(container.uppercased()) HELP.")
    }

    /// redis-server formats arguments with `%s`: text stops at a NUL byte.
    static func cString(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        bytes.prefix(while: { $0 != 0 })
    }
}
