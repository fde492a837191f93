import ChorusCRDT
import ChorusClocks
import ChorusCore
import ChorusReplication
import Testing

@Suite struct WireCodecTests {
    static func samples() throws -> [LeaderlessPeerMessage] {
        let versionedKey = ObjectKey(keyspace: KeyspaceID(3), kind: .versioned, key: Array("doc".utf8))
        let setKey = ObjectKey(keyspace: KeyspaceID(3), kind: .set, key: Array("tags".utf8))
        let mapKey = ObjectKey(kind: .map, "profile")
        var siblings = SiblingSet()
        _ = siblings.update(value: [1, 2, 3], timestamp: HybridTimestamp(physical: 9, logical: 2), clientContext: VersionVector(), replica: 1, counter: 4)
        _ = siblings.update(value: nil, timestamp: .zero, clientContext: VersionVector([(ReplicaID(1), UInt64(2))]), replica: 2, counter: 7)
        var set = ReplicatedValue.empty(.set)
        _ = try set.apply(.setInsert([[9], [8, 7]]), by: 4)
        var map = ReplicatedValue.empty(.map)
        _ = try map.apply(.map([.update(FieldKey("n", .counter), .increment(-3)), .update(FieldKey("inner", .map), .map([.update(FieldKey("f", .flag), .enable)]))]), by: 2)
        let request = RequestID(coordinator: 5, boot: 3, sequence: 99)
        let vector = VersionVector([(ReplicaID(1), UInt64(5)), (ReplicaID(9), UInt64(1))])
        let gossip = [MembershipUpdate(member: 2, status: .suspect, incarnation: 4), MembershipUpdate(member: 3, status: .dead, incarnation: 0)]
        let tree = TreeID(keyspace: KeyspaceID(3), range: RingRangeIndex(17))
        let replication: [ReplicationMessage] = [
            .mint(MintRequest(
                request: request, key: versionedKey, operation: .put(value: [0, 1], context: .client(vector), timestamp: HybridTimestamp(physical: 1, logical: 0)),
                targets: [WriteTarget(node: 1, hintFor: nil), WriteTarget(node: 4, hintFor: 2)], requireDurable: true, dependencies: vector, returnValue: true)),
            .mint(MintRequest(
                request: request, key: versionedKey, operation: .delete(context: .observedAtCoordinatingReplica, timestamp: .zero),
                targets: [], requireDurable: false, dependencies: VersionVector(), returnValue: false)),
            .mint(MintRequest(
                request: request, key: mapKey,
                operation: .update(.map([.remove(FieldKey("x", .set)), .update(FieldKey("r", .register), .assign("v")),
                    .update(FieldKey("s", .set), .insert("a")), .update(FieldKey("s", .set), .remove("b")), .update(FieldKey("f", .flag), .disable)])),
                targets: [WriteTarget(node: 2, hintFor: nil)], requireDurable: false, dependencies: VersionVector(), returnValue: false)),
            .mint(MintRequest(
                request: request, key: setKey, operation: .update(.setRemove([[1], []])), targets: [], requireDurable: false,
                dependencies: VersionVector(), returnValue: false)),
            .mintRefused(request: request, reason: .tooManySiblings(count: 101, limit: 100)),
            .mintRefused(request: request, reason: .wrongKind(key: .set, operation: .counter)),
            .mintRefused(request: request, reason: .wrongFieldKind(FieldKey("a", .map))),
            .mintRefused(request: request, reason: .backlogFull),
            .replicate(Replication(
                request: request, coordinator: 5, key: versionedKey, value: .versioned(siblings), hintFor: 3, requireDurable: true,
                causal: CausalTag(origin: 2, sequence: 12, dependencies: vector))),
            .replicate(Replication(request: nil, coordinator: nil, key: setKey, value: set, hintFor: nil, requireDurable: false, causal: nil)),
            .writeAcknowledged(request: request, durable: true, primary: false, minted: MintResult(dot: Dot(replica: 2, counter: 7), value: .versioned(siblings), causalSequence: 7, causalDependencies: vector)),
            .writeAcknowledged(request: request, durable: false, primary: true, minted: nil),
            .read(request: request, key: setKey, dependencies: vector),
            .read(request: request, key: setKey, dependencies: nil),
            .readReply(request: request, value: map, primary: true, dependencies: vector),
            .readReply(request: request, value: nil, primary: false, dependencies: VersionVector()),
            .repair(key: mapKey, value: map, hintFor: nil, dependencies: vector),
            .hintDelivery(hint: HintID(4), version: 2, key: versionedKey, value: .versioned(siblings)),
            .hintAcknowledged(hint: HintID(4), version: 2),
            .causalAcknowledged(sequence: 77),
            .causalFrontier(attested: 76, frontier: vector),
            .collectTombstone(key: versionedKey, dot: Dot(replica: 2, counter: 7)),
            .antiEntropy(.roots(exchange: 8, [TreeHash(tree: tree, hash: 0xDEAD_BEEF)])),
            .antiEntropy(.nodes(exchange: 8, [TreeNodeHashes(tree: tree, level: 1, index: 3, childHashes: [1, 2, 3])])),
            .antiEntropy(.segments(exchange: 8, [SegmentEntries(tree: tree, segment: 200, entries: [SegmentEntry(key: setKey, entryHash: 5)])])),
            .antiEntropy(.fetch(exchange: 8, [setKey, versionedKey])),
            .antiEntropy(.repair(exchange: 8, [RepairEntry(key: setKey, value: set, dependencies: vector)])),
        ]
        let counterKey = ObjectKey(kind: .counter, "c")
        let registerKey = ObjectKey(kind: .register, "r")
        let flagKey = ObjectKey(kind: .flag, "f")
        let crdtMints: [ReplicationMessage] = [
            (counterKey, CRDTOperation.counterIncrement(-5)), (counterKey, .counterReset), (setKey, .setClear), (mapKey, .mapClear),
            (registerKey, .registerAssign(TimestampedBytes(bytes: [4], timestamp: HybridTimestamp(physical: 3, logical: 1)))),
            (registerKey, .registerClear), (flagKey, .flagEnable), (flagKey, .flagDisable),
        ].map { key, operation in
            .mint(MintRequest(request: request, key: key, operation: .update(operation), targets: [], requireDurable: false, dependencies: VersionVector(), returnValue: true))
        }
        let swim: [LeaderlessPeerMessage] = [
            .membership(.ping(sequence: 1, gossip: gossip)),
            .membership(.pingRequest(sequence: 2, target: 7, gossip: [])),
            .membership(.ack(sequence: 3, gossip: gossip)),
        ]
        return swim + (replication + crdtMints).map { .replication($0) }
    }

    @Test func everyMessageRoundTrips() throws {
        for message in try Self.samples() {
            let bytes = ReplicationWire.encode(message)
            #expect(try ReplicationWire.decode(bytes) == message)
        }
    }

    @Test func everyTruncationAndTrailingByteIsRefused() throws {
        for message in try Self.samples() {
            let bytes = ReplicationWire.encode(message)
            for cut in 0..<bytes.count {
                #expect(throws: BinaryDecodingError.self) { try ReplicationWire.decode(Array(bytes.prefix(cut))) }
            }
            #expect(throws: BinaryDecodingError.self) { try ReplicationWire.decode(bytes + [0]) }
        }
    }

    /// Random corruption never traps: it decodes to some message (which
    /// then re-encodes to the same bytes) or is refused with an error.
    @Test func randomCorruptionNeverTraps() throws {
        var generator = SeededGenerator(seed: 31337)
        let samples = try Self.samples()
        var refused = 0
        for round in 0..<4000 {
            var bytes = ReplicationWire.encode(samples[round % samples.count])
            for _ in 0..<(1 + Int(generator.next() % 3)) {
                let index = Int(generator.next() % UInt64(bytes.count))
                bytes[index] = UInt8(truncatingIfNeeded: generator.next())
            }
            do {
                let decoded = try ReplicationWire.decode(bytes)
                #expect(ReplicationWire.encode(decoded) == bytes, "a decoded message has one encoding")
            } catch {
                refused += 1
            }
        }
        print("wire: \(refused) of 4000 corrupted messages refused, the rest decoded canonically")
        #expect(refused > 1000)
    }

    @Test func forgedCountsAreRefusedBeforeAllocating() {
        // A roots message claiming 2^40 trees in a few bytes.
        var writer = ByteWriter()
        writer.write(ReplicationWire.formatVersion)
        writer.write(UInt8(1))
        writer.write(UInt8(12))
        writer.write(UInt8(0))
        writer.writeVarint(UInt64(1))
        writer.writeVarint(UInt64(1) << 40)
        #expect(throws: BinaryDecodingError.self) { try ReplicationWire.decode(writer.bytes) }
        // A SWIM ack with more gossip than the bound.
        var gossip = ByteWriter()
        gossip.write(ReplicationWire.formatVersion)
        gossip.write(UInt8(0))
        gossip.write(UInt8(2))
        gossip.writeVarint(UInt64(1))
        gossip.writeVarint(SwimLimits.maximumGossipPerMessage + 1)
        for index in 0...SwimLimits.maximumGossipPerMessage {
            gossip.writeVarint(UInt64(index))
            gossip.write(UInt8(0))
            gossip.writeVarint(UInt64(0))
        }
        #expect(throws: BinaryDecodingError.self) { try ReplicationWire.decode(gossip.bytes) }
        // A map operation nested past the bound.
        let deep = (0..<40).reduce(MapFieldOperation.enable) { inner, _ in .map([.update(FieldKey("m", .map), inner)]) }
        _ = deep
        var nested = ByteWriter()
        nested.write(ReplicationWire.formatVersion)
        nested.write(UInt8(1))
        nested.write(UInt8(0))
        nested.writeVarint(UInt64(1))
        nested.writeVarint(UInt64(1))
        ObjectKey(kind: .map, "m").encode(into: &nested)
        nested.write(UInt8(2))
        nested.write(UInt8(9))
        for _ in 0..<40 {
            nested.writeVarint(UInt64(1))
            nested.write(UInt8(1))
            FieldKey("m", .map).encode(into: &nested)
            nested.write(UInt8(6))
        }
        #expect(throws: BinaryDecodingError.self) { try ReplicationWire.decode(nested.bytes) }
    }

    @Test func anOperationThatDoesNotFitItsKeyIsRefused() {
        var writer = ByteWriter()
        writer.write(ReplicationWire.formatVersion)
        writer.write(UInt8(1))
        writer.write(UInt8(0))
        writer.writeVarint(UInt64(1))
        writer.writeVarint(UInt64(1))
        ObjectKey(kind: .counter, "c").encode(into: &writer)
        writer.write(UInt8(2))
        writer.write(UInt8(7))  // flag enable on a counter key
        writer.writeVarint(UInt64(0))
        writer.write(false)
        VersionVector().encode(into: &writer)
        writer.write(false)
        #expect(throws: BinaryDecodingError.self) { try ReplicationWire.decode(writer.bytes) }
    }

    @Test func durableRecordsRoundTripAndRefuseTruncation() throws {
        var siblings = SiblingSet()
        _ = siblings.update(value: [5], timestamp: .zero, clientContext: VersionVector(), replica: 3, counter: 1)
        let key = ObjectKey(kind: .versioned, "k")
        let records: [DurableRecord] = [
            .boot(4),
            .stored(key: key, value: .versioned(siblings), dependencies: VersionVector([(ReplicaID(2), UInt64(1))]), condition: VersionVector([(ReplicaID(3), UInt64(4))])),
            .minted(key: key, value: .versioned(siblings), sequence: 1, causal: CausalOrigin(dependencies: VersionVector(), destinations: [1, 2, 3]), request: RequestID(coordinator: 2, boot: 4, sequence: 1)),
            .minted(key: key, value: .versioned(siblings), sequence: 2, causal: nil, request: nil),
            .hintRemoved(HintID(3)),
            .originAcknowledged(9),
            .frontier(VersionVector([(ReplicaID(1), UInt64(3))])),
            .counter(12),
        ]
        for record in records {
            let bytes = record.encodedBytes
            #expect(try DurableRecord(decodingAll: bytes) == record)
            for cut in 0..<bytes.count { #expect(throws: BinaryDecodingError.self) { try DurableRecord(decodingAll: Array(bytes.prefix(cut))) } }
        }
        let configuration = ReplicationConfiguration(myself: 1, members: [1, 2, 3], keyspaces: [KeyspaceConfiguration(id: KeyspaceID(0))])
        #expect(throws: ReplicationStartError.self) { _ = try ReplicationNode(configuration: configuration, recovering: [[200]]) }
    }
}

@Suite struct HostilePeerTests {
    /// A peer sends a counter whose context names this replica's counter at
    /// 2^64 − 1; minting the next increment would overflow. It is refused.
    /// A mint is remembered under its request identifier, which names the
    /// coordinator: a mint naming another coordinator than its sender is
    /// dropped, not minted, remembered or answered.
    @Test func aMintNamingAnotherCoordinatorIsDropped() throws {
        let configuration = ReplicationConfiguration(myself: 1, members: [1, 2, 3], keyspaces: [KeyspaceConfiguration(id: KeyspaceID(0))])
        var node = try ReplicationNode(configuration: configuration)
        let mint = MintRequest(
            request: RequestID(coordinator: 2, boot: 1, sequence: 1), key: ObjectKey(kind: .counter, "c"),
            operation: .update(.counterIncrement(1)), targets: [], requireDurable: false, dependencies: VersionVector(), returnValue: false)
        let dropped = node.receive(.mint(mint), from: 3)
        #expect(dropped.messages.isEmpty && node.counter == 0)
        let minted = node.receive(.mint(mint), from: 2)
        #expect(minted.messages.count == 1 && node.counter == 1, "from its own coordinator the same mint is applied")
    }

    @Test func aForgedContextCannotOverflowADot() throws {
        let configuration = ReplicationConfiguration(myself: 1, members: [1, 2, 3], keyspaces: [KeyspaceConfiguration(id: KeyspaceID(0))])
        var node = try ReplicationNode(configuration: configuration)
        let key = ObjectKey(kind: .counter, "c")
        let forged = CausalCounter(store: DotFunction(), context: CausalContext(VersionVector([(ReplicaID(1), UInt64.max)])))
        _ = node.receive(.replicate(Replication(
            request: nil, coordinator: nil, key: key, value: .counter(forged), hintFor: nil, requireDurable: false, causal: nil)), from: 2)
        let request = RequestID(coordinator: 2, boot: 1, sequence: 1)
        let effects = node.receive(.mint(MintRequest(
            request: request, key: key, operation: .update(.counterIncrement(1)), targets: [], requireDurable: false,
            dependencies: VersionVector(), returnValue: false)), from: 2)
        #expect(effects.messages.map(\.message) == [.mintRefused(request: request, reason: .counterOverflow)])
        let versioned = ObjectKey(kind: .versioned, "v")
        let refused = node.receive(.mint(MintRequest(
            request: RequestID(coordinator: 2, boot: 1, sequence: 2), key: versioned,
            operation: .put(value: [1], context: .client(VersionVector([(ReplicaID(1), UInt64.max)])), timestamp: .zero),
            targets: [], requireDurable: false, dependencies: VersionVector(), returnValue: false)), from: 2)
        #expect(refused.messages.map(\.message) == [.mintRefused(request: RequestID(coordinator: 2, boot: 1, sequence: 2), reason: .counterOverflow)])
    }
}
