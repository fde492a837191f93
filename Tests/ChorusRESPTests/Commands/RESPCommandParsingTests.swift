import ChorusRESP
import Testing

@Suite struct RESPCommandParsingTests {
    func parse(_ words: String...) throws(RESPError) -> RESPCommand {
        try RESPCommand.parse(words.map(bytes))
    }

    /// The error line a command gets, or nil if it parses.
    func error(_ words: String...) -> String? {
        do {
            _ = try RESPCommand.parse(words.map(bytes))
            return nil
        } catch {
            return error.line
        }
    }

    @Test func namesAreCaseInsensitiveAndArgumentsKeepTheirBytes() throws {
        #expect(try parse("GeT", "Key") == .get(key: bytes("Key")))
        #expect(try parse("del", "a", "b") == .delete(keys: [bytes("a"), bytes("b")]))
        #expect(try parse("EXISTS", "a", "a") == .exists(keys: [bytes("a"), bytes("a")]))
        #expect(try parse("mget", "a") == .multipleGet(keys: [bytes("a")]))
        #expect(try parse("mset", "a", "1", "b", "2")
            == .multipleSet([RESPKeyValue(key: bytes("a"), value: bytes("1")), RESPKeyValue(key: bytes("b"), value: bytes("2"))]))
        #expect(try parse("incr", "c") == .incrementBy(key: bytes("c"), amount: 1))
        #expect(try parse("decr", "c") == .incrementBy(key: bytes("c"), amount: -1))
        #expect(try parse("incrby", "c", "-5") == .incrementBy(key: bytes("c"), amount: -5))
        #expect(try parse("decrby", "c", "9223372036854775807") == .incrementBy(key: bytes("c"), amount: -Int64.max))
        #expect(try parse("sadd", "s", "x", "y") == .setAdd(key: bytes("s"), members: [bytes("x"), bytes("y")]))
        #expect(try parse("srem", "s", "x") == .setRemove(key: bytes("s"), members: [bytes("x")]))
        #expect(try parse("smembers", "s") == .setMembers(key: bytes("s")))
        #expect(try parse("sismember", "s", "x") == .setIsMember(key: bytes("s"), member: bytes("x")))
        #expect(try parse("hset", "h", "f", "v") == .hashSet(key: bytes("h"), fields: [RESPKeyValue(key: bytes("f"), value: bytes("v"))]))
        #expect(try parse("hget", "h", "f") == .hashGet(key: bytes("h"), field: bytes("f")))
        #expect(try parse("hdel", "h", "f", "g") == .hashDelete(key: bytes("h"), fields: [bytes("f"), bytes("g")]))
        #expect(try parse("hgetall", "h") == .hashGetAll(key: bytes("h")))
        #expect(try parse("dbsize") == .databaseSize)
        #expect(try parse("ping") == .ping(message: nil))
        #expect(try parse("ping", "hi") == .ping(message: bytes("hi")))
        #expect(try parse("echo", "hi") == .echo(message: bytes("hi")))
        #expect(try parse("select", "3") == .select(database: 3))
        #expect(try parse("auth", "pw") == .auth(username: nil, password: bytes("pw")))
        #expect(try parse("auth", "u", "pw") == .auth(username: bytes("u"), password: bytes("pw")))
        #expect(try parse("info") == .info(sections: []))
        #expect(try parse("info", "Server", "CLIENTS") == .info(sections: ["server", "clients"]))
        #expect(try parse("quit") == .quit)
        #expect(try parse("reset") == .reset)
    }

    @Test func arityErrorsNameTheCommandAsRedisDoes() {
        #expect(error("GET") == "ERR wrong number of arguments for 'get' command")
        #expect(error("get", "a", "b") == "ERR wrong number of arguments for 'get' command")
        #expect(error("SET", "k") == "ERR wrong number of arguments for 'set' command")
        #expect(error("mset", "a", "1", "b") == "ERR wrong number of arguments for 'mset' command")
        #expect(error("hset", "h", "f") == "ERR wrong number of arguments for 'hset' command")
        #expect(error("hset", "h", "f", "v", "g") == "ERR wrong number of arguments for 'hset' command")
        #expect(error("ping", "a", "b") == "ERR wrong number of arguments for 'ping' command")
        #expect(error("incrby", "k") == "ERR wrong number of arguments for 'incrby' command")
        #expect(error("reset", "x") == "ERR wrong number of arguments for 'reset' command")
        #expect(error("client") == "ERR wrong number of arguments for 'client' command")
        #expect(error("client", "setname") == "ERR wrong number of arguments for 'client|setname' command")
        #expect(error("client", "id", "x") == "ERR wrong number of arguments for 'client|id' command")
        #expect(error("command", "count", "x") == "ERR wrong number of arguments for 'command|count' command")
    }

    @Test func unknownCommandsQuoteTheirArgumentsAsRedisDoes() {
        #expect(error("foo") == "ERR unknown command 'foo', with args beginning with: ")
        #expect(error("FOO", "a", "b c") == "ERR unknown command 'FOO', with args beginning with: 'a' 'b c' ")
        #expect(error("x", "a\r\nb") == "ERR unknown command 'x', with args beginning with: 'a  b' ")
        // The argument list stops once it reaches 128 bytes; each argument is cut to what is left.
        let long = String(repeating: "a", count: 200)
        let expected = "ERR unknown command 'x', with args beginning with: '" + String(repeating: "a", count: 128) + "' "
        #expect(error("x", long, "next") == expected)
        let name = String(repeating: "n", count: 130)
        #expect(error(name) == "ERR unknown command '\(String(repeating: "n", count: 128))', with args beginning with: ")
        #expect(error("client", "kill") == "ERR unknown subcommand 'kill'. Try CLIENT HELP.")
        #expect(error("command", "getkeys", "x") == "ERR unknown subcommand 'getkeys'. Try COMMAND HELP.")
    }

    @Test func integersAreReadAsStrictlyAsRedisReadsThem() {
        for text in ["1.5", "+1", " 1", "01", "", "-", "9223372036854775808", "0x10", "1e3"] {
            #expect(error("incrby", "k", text) == "ERR value is not an integer or out of range", "\(text.debugDescription)")
        }
        #expect(error("select", "x") == "ERR value is not an integer or out of range")
        #expect(error("select", "2147483648") == "ERR value is not an integer or out of range")
        #expect(error("decrby", "k", "-9223372036854775808") == "ERR decrement would overflow")
        #expect((try? parse("incrby", "k", "-9223372036854775808")) == .incrementBy(key: bytes("k"), amount: .min))
    }

    @Test func setOptionsParseAndConflictAsInRedis() throws {
        #expect(try parse("set", "k", "v") == .set(RESPSetRequest(key: bytes("k"), value: bytes("v"))))
        #expect(try parse("SET", "k", "v", "nx", "GET")
            == .set(RESPSetRequest(key: bytes("k"), value: bytes("v"), condition: .ifAbsent, returnsPrevious: true)))
        #expect(try parse("set", "k", "v", "XX", "xx")
            == .set(RESPSetRequest(key: bytes("k"), value: bytes("v"), condition: .ifPresent)))
        #expect(try parse("set", "k", "v", "EX", "10", "ex", "20")
            == .set(RESPSetRequest(key: bytes("k"), value: bytes("v"), expiry: .seconds(20))))
        #expect(try parse("set", "k", "v", "px", "5") == .set(RESPSetRequest(key: bytes("k"), value: bytes("v"), expiry: .milliseconds(5))))
        #expect(try parse("set", "k", "v", "exat", "5") == .set(RESPSetRequest(key: bytes("k"), value: bytes("v"), expiry: .unixTimeSeconds(5))))
        #expect(try parse("set", "k", "v", "pxat", "5")
            == .set(RESPSetRequest(key: bytes("k"), value: bytes("v"), expiry: .unixTimeMilliseconds(5))))
        #expect(try parse("set", "k", "v", "keepttl") == .set(RESPSetRequest(key: bytes("k"), value: bytes("v"), keepsTimeToLive: true)))

        for options in [["nx", "xx"], ["xx", "nx"], ["ex", "1", "px", "1"], ["keepttl", "ex", "1"], ["ex", "1", "keepttl"],
                        ["ex"], ["bogus"], ["exat", "1", "pxat", "2"]] {
            #expect(throws: RESPError.syntax, "\(options)") { try RESPCommand.parse((["set", "k", "v"] + options).map(bytes)) }
        }
        #expect(error("set", "k", "v", "ex", "abc") == "ERR value is not an integer or out of range")
        #expect(error("set", "k", "v", "ex", "0") == "ERR invalid expire time in 'set' command")
        #expect(error("set", "k", "v", "px", "-5") == "ERR invalid expire time in 'set' command")
        #expect(error("set", "k", "v", "ex", "9223372036854776") == "ERR invalid expire time in 'set' command")
        #expect(try parse("set", "k", "v", "px", "9223372036854776")
            == .set(RESPSetRequest(key: bytes("k"), value: bytes("v"), expiry: .milliseconds(9_223_372_036_854_776))))
    }

    @Test func helloParsesItsOptionsInRedisOrder() throws {
        #expect(try parse("hello") == .hello(RESPHelloRequest()))
        #expect(try parse("HELLO", "3") == .hello(RESPHelloRequest(version: .resp3)))
        #expect(try parse("hello", "2", "auth", "u", "p", "setname", "me")
            == .hello(RESPHelloRequest(version: .resp2, username: bytes("u"), password: bytes("p"), clientName: bytes("me"))))
        #expect(error("hello", "4") == "NOPROTO unsupported protocol version")
        #expect(error("hello", "1") == "NOPROTO unsupported protocol version")
        #expect(error("hello", "three") == "ERR Protocol version is not an integer or out of range")
        #expect(error("hello", "3", "auth", "u") == "ERR Syntax error in HELLO option 'auth'")
        #expect(error("hello", "3", "setname") == "ERR Syntax error in HELLO option 'setname'")
        #expect(error("hello", "3", "bogus") == "ERR Syntax error in HELLO option 'bogus'")
        #expect(error("hello", "3", "setname", "a b") == "ERR Client names cannot contain spaces, newlines or special characters.")
    }

    @Test func clientAndCommandSubcommands() throws {
        #expect(try parse("CLIENT", "SETNAME", "app") == .client(.setName(bytes("app"))))
        #expect(try parse("client", "setname", "") == .client(.setName([])))
        #expect(try parse("client", "getname") == .client(.getName))
        #expect(try parse("client", "id") == .client(.id))
        #expect(try parse("client", "info") == .client(.info))
        #expect(try parse("client", "help") == .client(.help))
        #expect(error("client", "setname", "a\nb") == "ERR Client names cannot contain spaces, newlines or special characters.")
        #expect(try parse("command") == .command(.all))
        #expect(try parse("command", "COUNT") == .command(.count))
        #expect(try parse("command", "docs") == .command(.docs([])))
        #expect(try parse("command", "docs", "GET", "set") == .command(.docs(["get", "set"])))
        #expect(try parse("command", "info", "get") == .command(.info(["get"])))
        #expect(try parse("command", "list") == .command(.list))
        #expect(error("command", "list", "filterby", "module", "x") == "ERR syntax error")
        #expect(error("auth", "a", "b", "c") == "ERR syntax error")
    }

    @Test func everySpecifiedCommandParsesWithItsMinimumArity() {
        for specification in RESPCommandSpecification.all {
            let count = abs(specification.arity)
            var arguments = [bytes(specification.name)] + (1..<max(count, 1)).map { _ in bytes("1") }
            if specification.name == "hello" { arguments = [bytes("hello")] }
            if !specification.subcommands.isEmpty && count >= 2 { arguments[1] = bytes("help") }
            #expect((try? RESPCommand.parse(arguments)) != nil, "\(specification.name)")
        }
        #expect(RESPCommandSpecification.all.map(\.name) == RESPCommandSpecification.all.map(\.name).sorted())
    }
}
