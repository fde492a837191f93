import ChorusCore
import ChorusReplication
import Testing

@Suite struct StableHashTests {
    /// Outputs of the reference XXH64 library (libxxhash 0.8).
    @Test func matchesTheReferenceImplementation() {
        #expect(StableHash.hash([UInt8]()) == 0xEF46_DB37_51D8_E999)
        #expect(StableHash.hash(Array("a".utf8)) == 0xD24E_C4F1_A98C_6E5B)
        #expect(StableHash.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        #expect(StableHash.hash(Array("Nobody inspects the spammish repetition".utf8)) == 0xFBCE_A83C_8A37_8BF1)
        #expect(StableHash.hash((0..<100).map { UInt8($0) }) == 0x6AC1_E580_3216_6597)
        #expect(StableHash.hash((0..<100).map { UInt8($0) }, seed: 0x9E37_79B9_7F4A_7C15) == 0x3B97_D91E_BA03_E785)
        #expect(StableHash.hash(Array("chorus".utf8), seed: 42) == 0x2E3C_66CE_2661_AF60)
    }
}

@Suite struct HashRingTests {
    let keys = (0..<20_000).map { ObjectKey(kind: .versioned, "key-\($0)") }

    @Test func preferenceListsHoldDistinctMembersInRingOrder() {
        let ring = HashRing(members: [1, 2, 3, 4, 5], virtualNodesPerMember: 64)
        #expect(ring.rangeCount == 320)
        for key in keys.prefix(500) {
            let list = ring.preferenceList(forPosition: key.ringPosition, count: 3)
            #expect(list.count == 3 && Set(list).count == 3)
            let range = ring.range(containing: key.ringPosition)
            #expect(list.first == ring.tokenOwners[range.rawValue], "the first replica owns the key's range")
            let fallbacks = ring.fallbacks(for: range, count: 3)
            #expect(Set(fallbacks + list) == Set([1, 2, 3, 4, 5] as [NodeID]) && fallbacks.count == 2)
        }
        #expect(ring == HashRing(members: [5, 4, 3, 2, 1], virtualNodesPerMember: 64), "placement is independent of order")
    }

    /// Adding a sixth member moves about 1/6 of the replica placements, and
    /// only onto the new member; removing it moves them back.
    @Test func addingOrRemovingAMemberMovesAboutOneNthOfTheKeys() {
        let before = HashRing(members: [1, 2, 3, 4, 5], virtualNodesPerMember: 64)
        let after = HashRing(members: [1, 2, 3, 4, 5, 6], virtualNodesPerMember: 64)
        var primaryMoved = 0
        var placementsMoved = 0
        for key in keys {
            let old = before.preferenceList(forPosition: key.ringPosition, count: 3)
            let new = after.preferenceList(forPosition: key.ringPosition, count: 3)
            if old[0] != new[0] {
                primaryMoved += 1
                #expect(new[0] == 6, "a key's primary changes only to the new member")
            }
            let lost = Set(old).subtracting(new)
            let gained = Set(new).subtracting(old)
            if !gained.isEmpty {
                #expect(gained == [6] && lost.count == 1, "a changed list gains the new member and loses exactly one")
            } else {
                #expect(old == new)
            }
            placementsMoved += gained.count
        }
        let primaryFraction = Double(primaryMoved) / Double(keys.count)
        let placementFraction = Double(placementsMoved) / Double(keys.count * 3)
        print("ring: primaries moved \(primaryFraction), replica placements moved \(placementFraction) (ideal 1/6 = 0.167)")
        #expect(abs(primaryFraction - 1.0 / 6) < 0.05)
        #expect(abs(placementFraction - 1.0 / 6) < 0.05)
        for key in keys.prefix(2000) {
            let old = before.preferenceList(forPosition: key.ringPosition, count: 3)
            let new = after.preferenceList(forPosition: key.ringPosition, count: 3)
            if !new.contains(6) { #expect(old == new, "removing member 6 changes only keys that listed it") }
        }
    }
}
