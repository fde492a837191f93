import ChorusAPI
import ChorusRESP
import Testing

/// A session over the reference backend, driven by argument lists.
struct SessionHarness {
    var session: RESPSession<InMemoryRESPBackend>
    let backend: InMemoryRESPBackend

    init(
        users: [String: String]? = nil, roles: [String: [String]] = [:],
        databases: RESPDatabaseTable = RESPDatabaseTable(defaultKeyspace: "ks0")
    ) {
        backend = InMemoryRESPBackend(users: users, roles: roles)
        session = RESPSession(
            state: RESPConnectionState(clientID: 7, requiresAuthentication: users != nil, remoteAddress: "127.0.0.1:5000",
                                       localAddress: "127.0.0.1:6379"),
            configuration: RESPSessionConfiguration(databases: databases, port: 6379), backend: backend)
    }

    mutating func run(_ words: String...) async -> RESPValue? {
        await session.execute(words.map(bytes)).reply
    }

    mutating func response(_ words: String...) async -> RESPResponse {
        await session.execute(words.map(bytes))
    }
}

@Suite struct RESPSessionTests {
    @Test func stringsCountersSetsAndHashes() async {
        var harness = SessionHarness()
        #expect(await harness.run("SET", "k", "v") == .ok)
        #expect(await harness.run("GET", "k") == .bulk("v"))
        #expect(await harness.run("GET", "missing") == .null)
        #expect(await harness.run("SET", "k", "w", "NX") == .null)
        #expect(await harness.run("SET", "k", "w", "XX", "GET") == .bulk("v"))
        #expect(await harness.run("SET", "new", "x", "XX") == .null)
        #expect(await harness.run("SET", "new", "x", "NX", "GET") == .null)
        #expect(await harness.run("GET", "new") == .bulk("x"))
        #expect(await harness.run("MSET", "a", "1", "b", "2") == .ok)
        #expect(await harness.run("MGET", "a", "nothing", "b") == .array([.bulk("1"), .null, .bulk("2")]))
        #expect(await harness.run("EXISTS", "a", "a", "nothing") == .integer(2))
        #expect(await harness.run("INCRBY", "counter", "5") == .integer(5))
        #expect(await harness.run("INCR", "counter") == .integer(6))
        #expect(await harness.run("DECRBY", "counter", "10") == .integer(-4))
        #expect(await harness.run("DECR", "counter") == .integer(-5))
        #expect(await harness.run("GET", "counter") == .bulk("-5"))
        #expect(await harness.run("INCR", "k") == .error("ERR value is not an integer or out of range"))
        #expect(await harness.run("SET", "max", "9223372036854775807") == .ok)
        #expect(await harness.run("INCR", "max") == .error("ERR increment or decrement would overflow"))

        #expect(await harness.run("SADD", "s", "b", "a", "b") == .integer(2))
        #expect(await harness.run("SMEMBERS", "s") == .set([.bulk("a"), .bulk("b")]))
        #expect(await harness.run("SISMEMBER", "s", "a") == .integer(1))
        #expect(await harness.run("SREM", "s", "a", "zz") == .integer(1))
        #expect(await harness.run("SISMEMBER", "s", "a") == .integer(0))
        #expect(await harness.run("GET", "s") == .error("WRONGTYPE Operation against a key holding the wrong kind of value"))

        #expect(await harness.run("HSET", "h", "f2", "v2", "f1", "v1") == .integer(2))
        #expect(await harness.run("HSET", "h", "f1", "again") == .integer(0))
        #expect(await harness.run("HGET", "h", "f1") == .bulk("again"))
        #expect(await harness.run("HGETALL", "h")
            == .map([RESPMapEntry(.bulk("f1"), .bulk("again")), RESPMapEntry(.bulk("f2"), .bulk("v2"))]))
        #expect(await harness.run("HDEL", "h", "f1", "none") == .integer(1))
        #expect(await harness.run("SADD", "h", "x") == .error("WRONGTYPE Operation against a key holding the wrong kind of value"))

        #expect(await harness.run("DBSIZE") == .integer(8))
        #expect(await harness.run("DEL", "a", "b", "nothing") == .integer(2))
        #expect(await harness.run("DBSIZE") == .integer(6))
    }

    @Test func expiryIsRefusedAndNothingIsWritten() async {
        var harness = SessionHarness()
        #expect(await harness.run("SET", "k", "v", "EX", "10")
            == .error("ERR SET with an expiry is not supported: leaderless keyspaces have no TTLs"))
        #expect(await harness.run("SET", "k", "v", "EX", "0") == .error("ERR invalid expire time in 'set' command"))
        #expect(await harness.run("GET", "k") == .null)
        #expect(await harness.run("SET", "k", "v", "KEEPTTL") == .ok)
    }

    @Test func selectMapsDatabasesToKeyspaces() async {
        var harness = SessionHarness(databases: RESPDatabaseTable(defaultKeyspace: "ks0", others: [3: "ks3"]))
        #expect(await harness.run("SET", "k", "zero") == .ok)
        #expect(await harness.run("SELECT", "3") == .ok)
        #expect(await harness.run("GET", "k") == .null)
        #expect(await harness.run("SET", "k", "three") == .ok)
        #expect(await harness.run("SELECT", "1") == .error("ERR DB index is out of range"))
        #expect(await harness.run("SELECT", "-1") == .error("ERR DB index is out of range"))
        #expect(harness.session.state.database == 3)
        #expect(await harness.run("SELECT", "0") == .ok)
        #expect(await harness.run("GET", "k") == .bulk("zero"))
        #expect(harness.backend.value("k", keyspace: "ks3") == .string(bytes("three")))
    }

    @Test func helloSwitchesProtocolAndReportsTheConnection() async {
        var harness = SessionHarness()
        let reply = await harness.run("HELLO", "3", "SETNAME", "app")
        #expect(reply == .map([
            RESPMapEntry(.bulk("server"), .bulk("chorus")), RESPMapEntry(.bulk("version"), .bulk("7.0.0")),
            RESPMapEntry(.bulk("proto"), .integer(3)), RESPMapEntry(.bulk("id"), .integer(7)),
            RESPMapEntry(.bulk("mode"), .bulk("standalone")), RESPMapEntry(.bulk("role"), .bulk("master")),
            RESPMapEntry(.bulk("modules"), .array([])),
        ]))
        #expect(harness.session.state.protocolVersion == .resp3)
        #expect(await harness.run("CLIENT", "GETNAME") == .bulk("app"))
        #expect(await harness.run("HELLO", "4") == .error("NOPROTO unsupported protocol version"))
        #expect(harness.session.state.protocolVersion == .resp3)
        #expect(await harness.run("CLIENT", "ID") == .integer(7))
        #expect(await harness.run("CLIENT", "INFO") == .verbatimString(
            format: "txt", bytes("id=7 addr=127.0.0.1:5000 laddr=127.0.0.1:6379 name=app db=0 user=default resp=3\n")))
        #expect(await harness.run("CLIENT", "SETNAME", "") == .ok)
        #expect(await harness.run("CLIENT", "GETNAME") == .null)
    }

    @Test func authenticationGatesDataCommandsAsRedisDoes() async {
        var harness = SessionHarness(users: ["default": "secret", "alice": "pw"])
        #expect(await harness.run("GET", "k") == .error("NOAUTH Authentication required."))
        // Existence and arity are checked first.
        #expect(await harness.run("FOO") == .error("ERR unknown command 'FOO', with args beginning with: "))
        #expect(await harness.run("GET") == .error("ERR wrong number of arguments for 'get' command"))
        #expect(await harness.run("HELLO", "3") == .error(RESPError.helloUnauthenticated.line))
        #expect(await harness.run("AUTH", "wrong") == .error("WRONGPASS invalid username-password pair or user is disabled."))
        #expect(await harness.run("AUTH", "secret") == .ok)
        #expect(harness.session.state.subject == "default")
        #expect(await harness.run("SET", "k", "v") == .ok)
        #expect(await harness.run("RESET") == .simpleString("RESET"))
        #expect(await harness.run("GET", "k") == .error("NOAUTH Authentication required."))
        let hello = await harness.run("HELLO", "3", "AUTH", "alice", "pw")
        guard case .map(let entries) = hello else {
            Issue.record("HELLO with AUTH did not succeed: \(String(describing: hello))")
            return
        }
        #expect(entries.first(where: { $0.key == .bulk("proto") })?.value == .integer(3))
        #expect(harness.session.state.subject == "alice")
        #expect(await harness.run("GET", "k") == .bulk("v"))
    }

    /// `AUTH` establishes roles with the subject; they reach the backend in
    /// every request's context, a refusal is `NOPERM`, and `RESET` forgets them.
    @Test func authenticatedRolesTravelToTheBackend() async {
        var harness = SessionHarness(
            users: ["default": "token-w", "alice": "token-r"], roles: ["alice": ["reader"], "default": ["writer"]])
        #expect(await harness.run("AUTH", "alice", "token-r") == .ok)
        #expect(harness.session.state.roles == ["reader"])
        #expect(await harness.run("SET", "k", "v") == .error("NOPERM alice may not keyspace.write on keyspace 'ks0'"))
        #expect(await harness.run("GET", "k") == .null)
        #expect(await harness.run("AUTH", "token-w") == .ok)
        #expect(harness.session.state.subject == "default" && harness.session.state.roles == ["writer"])
        #expect(await harness.run("SET", "k", "v") == .ok)
        #expect(await harness.run("RESET") == .simpleString("RESET"))
        #expect(harness.session.state.roles == [])
    }

    @Test func authWithoutConfiguredPasswordsIsRedisError() async {
        var harness = SessionHarness()
        #expect(await harness.run("AUTH", "pw") == .error(RESPError.authWithoutPassword.line))
        #expect(await harness.run("AUTH", "u", "pw") == .error("WRONGPASS invalid username-password pair or user is disabled."))
    }

    @Test func connectionCommands() async {
        var harness = SessionHarness()
        #expect(await harness.run("PING") == .simpleString("PONG"))
        #expect(await harness.run("PING", "x") == .bulk("x"))
        #expect(await harness.run("ECHO", "hi") == .bulk("hi"))
        #expect(await harness.response("QUIT") == RESPResponse(reply: .ok, closesConnection: true))
        #expect(await harness.response("POST", "/", "HTTP/1.1") == RESPResponse(reply: nil, closesConnection: true))
        #expect(await harness.response("Host:", "x") == RESPResponse(reply: nil, closesConnection: true))
        #expect(await harness.run("NOPE", "a") == .error("ERR unknown command 'NOPE', with args beginning with: 'a' "))
        #expect(await harness.run("SELECT", "0") == .ok)
        _ = await harness.run("HELLO", "3", "SETNAME", "n")
        #expect(await harness.run("RESET") == .simpleString("RESET"))
        #expect(harness.session.state.protocolVersion == .resp2)
        #expect(harness.session.state.clientName == nil)
    }

    @Test func infoAndCommandDescribeTheServer() async {
        var harness = SessionHarness()
        guard case .verbatimString("txt", let info)? = await harness.run("INFO", "server") else {
            Issue.record("INFO is not text")
            return
        }
        #expect(String(decoding: info, as: UTF8.self)
            == "# Server\r\nredis_version:7.0.0\r\nredis_mode:standalone\r\nchorus_server:chorus\r\narch_bits:64\r\ntcp_port:6379\r\n\r\n")
        #expect(await harness.run("INFO", "nonsense") == .verbatimString(format: "txt", []))
        let count = RESPCommandSpecification.all.count
        #expect(await harness.run("COMMAND", "COUNT") == .integer(Int64(count)))
        #expect(await harness.run("COMMAND", "INFO", "get", "nope") == .array([
            .array([.bulk("get"), .integer(2), .set([.simpleString("readonly"), .simpleString("fast")]), .integer(1), .integer(1),
                    .integer(1), .set([.simpleString("@read"), .simpleString("@string"), .simpleString("@fast")]), .array([]),
                    .array([]), .array([])]),
            .nullArray,
        ]))
        #expect(await harness.run("COMMAND", "DOCS", "echo") == .map([RESPMapEntry(.bulk("echo"), .map([
            RESPMapEntry(.bulk("summary"), .bulk("Returns the given string.")),
            RESPMapEntry(.bulk("since"), .bulk("1.0.0")), RESPMapEntry(.bulk("group"), .bulk("connection")),
        ]))]))
        guard case .array(let all)? = await harness.run("COMMAND") else {
            Issue.record("COMMAND is not an array")
            return
        }
        #expect(all.count == count)
        guard case .array(let names)? = await harness.run("COMMAND", "LIST") else {
            Issue.record("COMMAND LIST is not an array")
            return
        }
        #expect(names == RESPCommandSpecification.all.map { .bulk($0.name) })
    }

    @Test func backendErrorsKeepTheirCodes() async {
        let cases: [(RESPBackendError, String)] = [
            (RESPBackendError(.outcomeUnknown, "the write may have been applied"), "OUTCOME_UNKNOWN the write may have been applied"),
            (RESPBackendError(.overloaded, "too many pending requests"), "OVERLOADED too many pending requests"),
            (RESPBackendError(.badRequest, "key too long"), "ERR key too long"),
            (RESPBackendError(RESPBackendError.Code.permissionDenied, "no write on ks0"), "NOPERM no write on ks0"),
            // The service's authorization codes, in Redis's words.
            (RESPBackendError(ErrorCode.permissionDenied, "reader may not keyspace.write"), "NOPERM reader may not keyspace.write"),
            (RESPBackendError(ErrorCode.unauthenticated, "the token expired"), "NOAUTH the token expired"),
            (.wrongType, "WRONGTYPE Operation against a key holding the wrong kind of value"),
        ]
        for (failure, line) in cases {
            var session = RESPSession(
                state: RESPConnectionState(clientID: 1, requiresAuthentication: false),
                configuration: RESPSessionConfiguration(databases: RESPDatabaseTable(defaultKeyspace: "ks0")),
                backend: FailingRESPBackend(error: failure))
            #expect(await session.execute([bytes("GET"), bytes("k")]).reply == .error(line))
            #expect(await session.execute([bytes("PING")]).reply == .simpleString("PONG"), "the connection stays usable")
        }
    }

    @Test func errorLinesNeverCarryLineBreaks() {
        #expect(RESPError("ERR", "a\r\nb\nc").line == "ERR a  b c")
    }
}
