import ChorusAPI
import ChorusClocks
import ChorusCore
import Testing

@Suite struct Base64URLTests {
    /// RFC 4648 §10's vectors (no padding, URL alphabet).
    @Test(arguments: [
        ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy"),
    ])
    func rfcVectors(_ plain: String, _ encoded: String) {
        #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
        #expect(Base64URL.decode(encoded) == Array(plain.utf8))
    }

    @Test func theURLAlphabetAndEveryByteRoundTrip() {
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
        var random = SeededGenerator(seed: 7)
        for length in 0..<70 {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes, "length \(length)")
        }
    }

    @Test(arguments: ["Zg==", "Z", "Zh", "Zm9=", "a+b/", "Zm9v\n", "é"])
    func nonCanonicalOrForeignTextIsRefused(_ text: String) {
        #expect(Base64URL.decode(text) == nil, "\(text)")
    }
}

@Suite struct SessionTokenTests {
    @Test func aTokenRoundTripsAndStaysSmall() throws {
        let vector = VersionVector([(3, 17), (1, 4)] as [(ReplicaID, UInt64)])
        let token = SessionToken(epoch: 0xDEAD_BEEF_0123_4567, index: LogIndex(123_456_789), leaderless: vector)
        let parsed = try SessionToken(parsing: token.text)
        #expect(parsed == token)
        #expect(token.text.utf8.count < 40, "\(token.text)")
        let many = VersionVector((1...16).map { (ReplicaID(UInt64($0)), UInt64.max) } as [(ReplicaID, UInt64)])
        #expect(SessionToken(epoch: .max, index: LogIndex(.max), leaderless: many).text.utf8.count < SessionToken.maximumTextBytes)
    }

    @Test func mergingCoversBothAndRefusesAnotherEpoch() throws {
        let left = SessionToken(epoch: 9, index: LogIndex(10), leaderless: VersionVector([(1, 5)] as [(ReplicaID, UInt64)]))
        let right = SessionToken(epoch: 9, index: LogIndex(7), leaderless: VersionVector([(1, 2), (2, 8)] as [(ReplicaID, UInt64)]))
        let merged = try left.merging(right)
        #expect(merged.index == LogIndex(10))
        #expect(merged.leaderless == VersionVector([(1, 5), (2, 8)] as [(ReplicaID, UInt64)]))
        #expect(try right.merging(left) == merged, "merging is commutative")
        #expect(try merged.merging(left) == merged, "and idempotent")
        let unestablished = SessionToken(epoch: 0, index: LogIndex(3))
        #expect(try unestablished.merging(left).epoch == 9, "a token without an epoch joins any")
        #expect(throws: APIProblem.self) { try left.merging(SessionToken(epoch: 10)) }
        do {
            _ = try left.merging(SessionToken(epoch: 10))
        } catch {
            #expect(error.code == .foreignSessionToken)
        }
    }

    @Test func theEpochCheckRefusesOnlyAnotherKnownEpoch() throws {
        let token = SessionToken(epoch: 5, index: LogIndex(1))
        try token.check(clusterEpoch: 5)
        try token.check(clusterEpoch: nil)
        try SessionToken(epoch: 0).check(clusterEpoch: 5)
        do {
            try token.check(clusterEpoch: 6)
            Issue.record("a token of epoch 5 was accepted by epoch 6")
        } catch {
            #expect(error.code == .foreignSessionToken)
            #expect(error.message.contains("epoch 5") && error.message.contains("6"))
        }
    }

    @Test func malformedTokensAreInvalid() throws {
        let good = SessionToken(epoch: 1, index: LogIndex(2)).text
        #expect(good == "s1.0000000000000001.2")
        let refused = [
            "", "!!", "s1", "s1.1.2", "s2.0000000000000001.2", "S1.0000000000000001.2", good + ".", good + ".1", good + ".1-",
            good + ".-1", good + ".1-2-3", "s1.0000000000000001.2.01234567890123456-1", "s1.000000000000000G.2", good + ".A-1",
            "s1.0000000000000001.", "s1.0000000000000001.12345678901234567",
            good + String(repeating: ".1-1", count: 65), String(repeating: "x", count: 1_025),
        ]
        for text in refused {
            do {
                _ = try SessionToken(parsing: text)
                Issue.record("'\(text)' parsed")
            } catch {
                #expect(error.code == .invalidSessionToken, "\(text)")
            }
        }
    }

    /// Every text of the documented grammar parses (openapi.yaml's pattern):
    /// entries in any order, repeated replicas (the larger counter wins), zero
    /// counters, leading zeros, 64 entries.
    @Test func everyTextOfTheGrammarParses() throws {
        let token = try SessionToken(parsing: "s1.00000000000000ff.0a.3-5.1-2.3-7.2-0.0000000000000009-1")
        #expect(token.epoch == 255)
        #expect(token.index == LogIndex(10))
        #expect(token.leaderless == VersionVector([(1, 2), (3, 7), (9, 1)] as [(ReplicaID, UInt64)]))
        #expect(token.text == "s1.00000000000000ff.a.1-2.3-7.9-1")
        let full = "s1.ffffffffffffffff.ffffffffffffffff" + (1...64).map { ".\(String($0, radix: 16))-ff" }.joined()
        #expect(try SessionToken(parsing: full).leaderless.entries.count == 64)
    }

    @Test func aHeaderCarriesSeveralTokens() throws {
        let one = SessionToken(epoch: 7, index: LogIndex(3)).text
        let two = SessionToken(epoch: 7, index: LogIndex(9)).text
        #expect(try SessionToken.tokens(inHeader: "\(one),\(two)").map(\.index) == [LogIndex(3), LogIndex(9)])
        #expect(try SessionToken.tokens(inHeader: "\(one) ,\t\(two)").count == 2)
        for value in ["\(one),", ",\(one)", "\(one),,\(two)", one + String(repeating: ",\(one)", count: 60)] {
            #expect(throws: APIProblem.self, "\(value)") { try SessionToken.tokens(inHeader: value) }
        }
    }
}

@Suite struct ReadConsistencyTests {
    @Test func boundsBelongToBoundedStalenessAndAreInRange() throws {
        let bounded = try ReadConsistency.parse(level: "bounded-staleness", maximumVersions: "10", maximumLagMilliseconds: nil)
        #expect(bounded == ReadConsistency(.boundedStaleness, maximumVersions: 10))
        #expect(bounded.description == "bounded-staleness;max-versions=10")
        #expect(try ReadConsistency.parse(level: "eventual", maximumVersions: nil, maximumLagMilliseconds: nil).level == .eventual)
        let refused: [(String, String?, String?)] = [
            ("bounded-staleness", nil, nil), ("bounded-staleness", "0", nil), ("bounded-staleness", nil, "3600001"),
            ("bounded-staleness", "x", nil), ("session", "1", nil), ("strong", nil, nil),
        ]
        for (level, versions, lag) in refused {
            do {
                _ = try ReadConsistency.parse(level: level, maximumVersions: versions, maximumLagMilliseconds: lag)
                Issue.record("\(level) \(String(describing: versions)) \(String(describing: lag)) parsed")
            } catch {
                #expect(error.code == .invalidConsistency)
            }
        }
    }
}
