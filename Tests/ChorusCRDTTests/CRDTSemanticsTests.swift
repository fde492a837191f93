import ChorusCRDT
import ChorusClocks
import ChorusCore
import Testing

/// What each type does under concurrency, case by case.
@Suite struct CRDTSemanticsTests {
    let alice: ReplicaID = 1
    let bob: ReplicaID = 2

    @Test func countersSumEveryReplicaAndRefuseOverflow() throws {
        var a = PNCounter()
        var b = PNCounter()
        try a.increment(by: 5, by: alice)
        try b.increment(by: 3, by: bob)
        try b.decrement(by: 10, by: bob)
        a.merge(b)
        #expect(a.value == -2)
        var counter = GCounter()
        try counter.increment(by: .max, by: alice)
        #expect(throws: CRDTError.counterOverflow) { try counter.increment(by: 1, by: alice) }
        var other = GCounter()
        try other.increment(by: .max, by: bob)
        counter.merge(other)
        #expect(counter.value == .max, "the sum saturates")
    }

    @Test func lastWriterWinsByHybridTimestampThenReplica() {
        var register = LWWRegister<String>()
        var other = register
        register.assign("early", at: HybridTimestamp(physical: 10, logical: 0), by: bob)
        other.assign("late", at: HybridTimestamp(physical: 10, logical: 1), by: alice)
        #expect(register.merging(other).value == "late")
        var tieA = LWWRegister<String>()
        var tieB = LWWRegister<String>()
        tieA.assign("from alice", at: HybridTimestamp(physical: 7, logical: 0), by: alice)
        tieB.assign("from bob", at: HybridTimestamp(physical: 7, logical: 0), by: bob)
        #expect(tieA.merging(tieB).value == "from bob")
        #expect(tieB.merging(tieA).value == "from bob")
    }

    @Test func multiValueRegisterKeepsConcurrentWritesUntilOneSupersedesThem() {
        var a = MVRegister<String>()
        var b = MVRegister<String>()
        a.assign("red", by: alice)
        b.assign("blue", by: bob)
        a.merge(b)
        #expect(a.values.sorted() == ["blue", "red"])
        a.assign("purple", by: alice)
        b.merge(a)
        #expect(b.values == ["purple"])
    }

    @Test func orSetAddWinsOverConcurrentRemove() {
        var a = ORSet<String>()
        a.insert("milk", by: alice)
        var b = a
        a.remove("milk")
        b.insert("milk", by: bob)
        a.merge(b)
        #expect(a.contains("milk"))
        // A remove that has seen every add removes for good.
        a.remove("milk")
        b.merge(a)
        #expect(!b.contains("milk"))
    }

    @Test func orSetLeavesNoTombstones() {
        var a = ORSet<UInt64>()
        var b = ORSet<UInt64>()
        for element in 0..<5_000 as Range<UInt64> {
            b.apply(a.insert(element, by: alice))
            a.apply(b.remove(element))
        }
        #expect(a.count == 0 && b.count == 0)
        #expect(a == b)
        #expect(a.context.cloud.isEmpty, "the context compacts to a version vector")
        #expect(a.context.compact.entries.count == 1)
        #expect(a.encodedBytes.count < 16, "5,000 removed elements cost \(a.encodedBytes.count) bytes")
    }

    @Test func enableWinsOverConcurrentDisable() {
        var a = EWFlag()
        a.enable(by: alice)
        var b = a
        a.disable()
        b.enable(by: bob)
        #expect(a.merging(b).isEnabled)
        #expect(!a.isEnabled)
    }

    @Test func twoPhaseSetRemovesForever() throws {
        var a = TwoPhaseSet<String>()
        try a.insert("x")
        var b = a
        try a.remove("x")
        #expect(throws: CRDTError.elementRemovedForever) { try a.insert("x") }
        #expect(throws: CRDTError.notAnElement) { try a.remove("y") }
        try b.insert("y")
        a.merge(b)
        #expect(a.elements == ["y"])
    }

    @Test func mapRemoveConcurrentWithUpdateKeepsOnlyTheUpdate() throws {
        typealias Tags = ORMap<String, ORSet<String>>
        var a = Tags()
        a.update("post") { $0.insert("swift", by: alice) }
        a.update("post") { $0.insert("crdt", by: alice) }
        var b = a
        // Alice removes the field; Bob concurrently tags it again.
        a.removeValue(forKey: "post")
        b.update("post") { $0.insert("news", by: bob) }
        a.merge(b)
        b.merge(a)
        #expect(a == b)
        #expect(a["post"]?.elements == ["news"], "only the concurrent update survives")

        typealias Scores = ORMap<String, CausalCounter>
        var c = Scores()
        try c.update("score") { counter throws(CRDTError) in try counter.increment(by: 10, by: alice) }
        var d = c
        try d.update("score") { counter throws(CRDTError) in try counter.increment(by: 1, by: bob) }
        c.removeValue(forKey: "score")
        c.merge(d)
        #expect(c["score"]?.value == 1, "alice's observed 10 is removed, bob's concurrent 1 stays")

        // A remove that saw everything deletes the field and leaves no trace
        // beyond the context.
        c.removeValue(forKey: "score")
        d.merge(c)
        #expect(d["score"] == nil)
        #expect(d.count == 0)
    }

    @Test func nestedMapsMergeFieldByField() throws {
        typealias Profile = ORMap<String, MVRegister<String>>
        typealias Directory = ORMap<String, Profile>
        var a = Directory()
        var b = Directory()
        a.update("ada") { $0.update("name") { $0.assign("Ada", by: alice) } }
        b.update("ada") { $0.update("city") { $0.assign("London", by: bob) } }
        a.merge(b)
        #expect(a["ada"]?["name"]?.values == ["Ada"])
        #expect(a["ada"]?["city"]?.values == ["London"])
        #expect(a.keys == ["ada"])
    }

    @Test func causalContextsRejectNonCanonicalEncodings() throws {
        var set = ORSet<String>()
        set.insert("a", by: alice)
        var bytes = set.encodedBytes
        // The store's dot is alice.1; make the context claim it never saw it.
        bytes[bytes.count - 2] = 0  // context: version vector count 0
        bytes.removeLast()
        #expect(throws: BinaryDecodingError.self) { try ORSet<String>(decodingAll: bytes) }
        // Repeated set elements are not canonical.
        var writer = ByteWriter()
        writer.writeVarint(2)
        "a".encode(into: &writer)
        "a".encode(into: &writer)
        #expect(throws: BinaryDecodingError.self) { try GSet<String>(decodingAll: writer.bytes) }
    }

    @Test func riakMapHoldsFieldsOfEveryKindAndNests() throws {
        var a = RiakMap()
        try a.update(FieldKey("visits", .counter)) { field throws(CRDTError) in try field.increment(by: 3, by: alice) }
        a.update(FieldKey("visits", .set)) { $0.insert("monday", by: alice) }
        a.update(FieldKey("name", .register)) { $0.assign("Ada", by: alice) }
        a.update(FieldKey("active", .flag)) { $0.enable(by: alice) }
        a.update(FieldKey("address", .map)) { address in
            address.update(FieldKey("city", .register)) { $0.assign("London", by: alice) }
        }
        var b = a
        // Concurrently: Alice removes the address, Bob adds a postcode to it.
        a.removeValue(forKey: FieldKey("address", .map))
        b.update(FieldKey("address", .map)) { address in
            address.update(FieldKey("postcode", .register)) { $0.assign("NW1", by: bob) }
        }
        a.merge(b)
        b.merge(a)
        #expect(a == b)
        #expect(a[FieldKey("visits", .counter)]?.counter.value == 3)
        #expect(a[FieldKey("visits", .set)]?.set.elements == ["monday"])
        #expect(a[FieldKey("name", .register)]?.register.values == ["Ada"])
        #expect(a[FieldKey("active", .flag)]?.flag.isEnabled == true)
        let address = a[FieldKey("address", .map)]?.map
        #expect(address?.keys == [FieldKey("postcode", .register)], "only the concurrent update survives the remove")
        #expect(try RiakMap(decodingAll: a.encodedBytes) == a)
    }

    @Test func riakMapDecodingBoundsNesting() throws {
        // A map nested 100 deep, built by hand: decoding refuses it with an
        // error instead of recursing without bound.
        func nested(_ depth: Int) -> [UInt8] {
            var writer = ByteWriter()
            writer.write(UInt8(16))  // only the map component
            writer.writeVarint(1)
            FieldKey("m", .map).encode(into: &writer)
            if depth == 0 {
                var leaf = ByteWriter()
                leaf.write(UInt8(4))  // a flag with one dot
                leaf.writeVarint(1)
                Dot(replica: 1, counter: 1).encode(into: &leaf)
                writer.writeRaw(leaf.bytes)
            } else {
                writer.writeRaw(nested(depth - 1))
            }
            return writer.bytes
        }
        #expect(throws: BinaryDecodingError.self) { try FieldStore(decodingAll: nested(100)) }
        _ = try FieldStore(decodingAll: nested(5))
    }
}
