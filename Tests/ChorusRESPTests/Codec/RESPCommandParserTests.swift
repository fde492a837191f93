import ChorusRESP
import Testing

@Suite struct RESPCommandParserTests {
    @Test func readsMultibulkCommandsWithBinarySafeArguments() {
        let binary: [UInt8] = [0, 13, 10, 255, 36, 42]
        let input = multibulk("GET", "k") + multibulk([bytes("SET"), bytes("k"), binary]) + multibulk([bytes("X"), []])
        let (outcomes, leftover) = feed([input])
        #expect(outcomes == [command("GET", "k"), .command([bytes("SET"), bytes("k"), binary]), .command([bytes("X"), []])])
        #expect(leftover == 0)
    }

    @Test func readsInlineCommandsAsRedisSplitsThem() {
        let input = bytes("PING\r\nset k \"a b\"\necho 'it\\'s'\r\n  \r\n\nGET \"\\x41\\n\"\r\n")
        let (outcomes, _) = feed([input])
        #expect(outcomes == [
            command("PING"), command("set", "k", "a b"), command("echo", "it's"), .command([bytes("GET"), [65, 10]]),
        ])
    }

    @Test func emptyMultibulksAreNoCommand() {
        let (outcomes, leftover) = feed([bytes("*0\r\n*-1\r\n") + multibulk("PING")])
        #expect(outcomes == [command("PING")])
        #expect(leftover == 0)
    }

    @Test func everySplitOfAStreamGivesTheSameCommands() {
        let input = multibulk("SET", "key", "va\r\nlue") + bytes("PING\r\n") + multibulk([bytes("X"), Array(repeating: 7, count: 300)])
            + bytes("echo \"q\"\r\n")
        let whole = feed([input]).outcomes
        #expect(whole.count == 4)
        // One byte at a time.
        #expect(feed(input.map { [$0] }).outcomes == whole)
        // Every single cut point.
        for cut in 1..<input.count {
            #expect(feed(chunks(input, cuts: [cut])).outcomes == whole, "cut at \(cut)")
        }
    }

    @Test func consumesAPartialBulkSoTheCallerHoldsNoCopy() {
        var parser = RESPCommandParser()
        let head = bytes("*2\r\n$3\r\nSET\r\n$1000\r\n") + Array(repeating: 1, count: 600)
        let first = parser.parse(head)
        #expect(first.outcome == .needMoreData)
        #expect(first.consumed == head.count, "the bytes of an unfinished bulk are taken, not left in the buffer")
        #expect(parser.isInsideCommand)
        let second = parser.parse(Array(repeating: 1, count: 400) + bytes("\r\n"))
        #expect(second.consumed == 402)
        #expect(second.outcome == .command([bytes("SET"), Array(repeating: 1, count: 1000)]))
        #expect(!parser.isInsideCommand)
    }

    @Test func anAnnouncedLengthReservesNothingUntilTheBytesArrive() {
        // The largest legal bulk, announced, with nothing behind it.
        var parser = RESPCommandParser()
        let header = bytes("*1\r\n$\(RESPLimits.default.maximumBulkBytes)\r\n")
        let result = parser.parse(header)
        #expect(result == (header.count, .needMoreData))
    }

    // MARK: Malformed input, each class

    static let malformed: [(input: String, reason: RESPProtocolError.Reason)] = [
        ("*abc\r\n", .invalidMultibulkLength),
        ("*\r\n", .invalidMultibulkLength),
        ("*01\r\n", .invalidMultibulkLength),
        ("*+1\r\n", .invalidMultibulkLength),
        ("* 1\r\n", .invalidMultibulkLength),
        ("*-0\r\n", .invalidMultibulkLength),
        ("*99999999999999999999999\r\n", .invalidMultibulkLength),
        ("*1048577\r\n", .invalidMultibulkLength),
        ("*1\r\n+OK\r\n", .expectedBulk(found: UInt8(ascii: "+"))),
        ("*2\r\n$1\r\na\r\n:1\r\n", .expectedBulk(found: UInt8(ascii: ":"))),
        ("*1\r\n$-1\r\n", .invalidBulkLength),
        ("*1\r\n$x\r\n", .invalidBulkLength),
        ("*1\r\n$\r\n", .invalidBulkLength),
        ("*1\r\n$16781313\r\n", .invalidBulkLength),
        ("*1\r\n$3\r\nabcXY", .missingBulkTerminator),
        ("*1\r\n$3\r\nabc\rX", .missingBulkTerminator),
        ("*1\r\n$3\r\nabcd", .missingBulkTerminator),
        ("*2\rX", .missingLineFeed),
        ("*1\r\n$3\rX", .missingLineFeed),
        ("set \"a\r\n", .unbalancedQuotes),
        ("set \"a\"b\r\n", .unbalancedQuotes),
        ("set 'a\r\n", .unbalancedQuotes),
        ("set 'a'b\n", .unbalancedQuotes),
    ]

    @Test(arguments: 0..<malformed.count) func malformedInputIsAProtocolError(case index: Int) {
        let (input, reason) = Self.malformed[index]
        let (outcomes, leftover) = feed([bytes(input)])
        #expect(outcomes == [.protocolError(RESPProtocolError(reason))], "\(input.debugDescription)")
        #expect(leftover == 0, "after an error the parser discards everything")
        // And byte by byte: the same error.
        #expect(feed(bytes(input).map { [$0] }).outcomes == [.protocolError(RESPProtocolError(reason))])
    }

    @Test func errorRepliesUseRedisWords() {
        let cases: [(RESPProtocolError.Reason, String)] = [
            (.invalidMultibulkLength, "-ERR Protocol error: invalid multibulk length\r\n"),
            (.invalidBulkLength, "-ERR Protocol error: invalid bulk length\r\n"),
            (.expectedBulk(found: UInt8(ascii: "+")), "-ERR Protocol error: expected '$', got '+'\r\n"),
            (.expectedBulk(found: 10), "-ERR Protocol error: expected '$', got '\\x0a'\r\n"),
            (.unbalancedQuotes, "-ERR Protocol error: unbalanced quotes in request\r\n"),
            (.inlineRequestTooBig, "-ERR Protocol error: too big inline request\r\n"),
            (.multibulkCountTooBig, "-ERR Protocol error: too big mbulk count string\r\n"),
            (.bulkCountTooBig, "-ERR Protocol error: too big bulk count string\r\n"),
            (.unauthenticatedMultibulkLength, "-ERR Protocol error: unauthenticated multibulk length\r\n"),
            (.unauthenticatedBulkLength, "-ERR Protocol error: unauthenticated bulk length\r\n"),
        ]
        for (reason, line) in cases {
            #expect(RESPEncoder.encoded(RESPProtocolError(reason).reply, version: .resp2) == bytes(line))
        }
    }

    @Test func longLinesAreRefusedWithOrWithoutTheirEnd() {
        let limits = RESPLimits(maximumInlineLineBytes: 64)
        let long = String(repeating: "a", count: 65)
        for input in [long + "\r\n", long] {
            #expect(feed([bytes(input)], limits: limits).outcomes == [.protocolError(RESPProtocolError(.inlineRequestTooBig))])
        }
        #expect(feed([bytes(String(repeating: "a", count: 64) + "\r\n")], limits: limits).outcomes
            == [.command([bytes(String(repeating: "a", count: 64))])])
        let countLine = "*" + String(repeating: "1", count: 70)
        for input in [countLine + "\r\n", countLine] {
            #expect(feed([bytes(input)], limits: limits).outcomes == [.protocolError(RESPProtocolError(.multibulkCountTooBig))])
        }
        let bulkLine = "*1\r\n$" + String(repeating: "1", count: 70)
        for input in [bulkLine + "\r\n", bulkLine] {
            #expect(feed([bytes(input)], limits: limits).outcomes == [.protocolError(RESPProtocolError(.bulkCountTooBig))])
        }
    }

    @Test func aCommandLargerThanItsLimitIsRefusedBeforeItsBytesArrive() {
        let limits = RESPLimits(maximumBulkBytes: 100, maximumCommandBytes: 150, maximumUnauthenticatedBulkBytes: 100)
        let input = bytes("*3\r\n$100\r\n") + Array(repeating: 0, count: 100) + bytes("\r\n$60\r\n")
        #expect(feed([input], limits: limits).outcomes == [.protocolError(RESPProtocolError(.commandTooBig))])
        #expect(feed([multibulk([Array(repeating: 0, count: 100), Array(repeating: 0, count: 50)])], limits: limits).outcomes.count == 1)
    }

    @Test func preAuthenticationBoundsApplyUntilAuthenticated() {
        let many = multibulk((0..<11).map { bytes("a\($0)") })
        #expect(feed([many], authenticated: false).outcomes == [.protocolError(RESPProtocolError(.unauthenticatedMultibulkLength))])
        #expect(feed([many], authenticated: true).outcomes.count == 1)
        let big = multibulk([bytes("AUTH"), Array(repeating: 1, count: 16 * 1024 + 1)])
        #expect(feed([big], authenticated: false).outcomes == [.protocolError(RESPProtocolError(.unauthenticatedBulkLength))])
        #expect(feed([multibulk([bytes("AUTH"), Array(repeating: 1, count: 16 * 1024)])], authenticated: false).outcomes.count == 1)
    }

    @Test func afterAnErrorEverythingIsDiscarded() {
        var parser = RESPCommandParser()
        let first = parser.parse(bytes("*x\r\n") + multibulk("PING"))
        #expect(first.outcome == .protocolError(RESPProtocolError(.invalidMultibulkLength)))
        #expect(parser.hasFailed)
        let rest = parser.parse(multibulk("PING"))
        #expect(rest == (multibulk("PING").count, .needMoreData))
    }

    @Test func limitsRelateToEachOther() {
        #expect(RESPLimits.default.violations().isEmpty)
        #expect(RESPLimits(maximumBulkBytes: 10, maximumCommandBytes: 5).violations()
            == ["maximumCommandBytes must allow one maximal bulk", "maximumUnauthenticatedBulkBytes must lie in 1...maximumBulkBytes"])
        #expect(RESPLimits(maximumUnauthenticatedArrayElements: 6).violations()
            == ["maximumUnauthenticatedArrayElements must lie in 7...maximumArrayElements"])
        #expect(RESPLimits(maximumInlineLineBytes: 8).violations() == ["maximumInlineLineBytes must be at least 32"])
    }
}
