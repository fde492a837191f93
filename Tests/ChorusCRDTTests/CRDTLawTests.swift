import ChorusCRDT
import ChorusClocks
import ChorusCore
import Testing

// MARK: Fixtures

enum GCounterFixture: CRDTFixture {
    static let name = "GCounter"
    static func mutate(_ state: inout GCounter, by replica: ReplicaID, using random: inout SeededGenerator) throws -> GCounter {
        try state.increment(by: UInt64.random(in: 0...5, using: &random), by: replica)
    }
    static func observe(_ state: GCounter) -> UInt64 { state.value }
}

enum PNCounterFixture: CRDTFixture {
    static let name = "PNCounter"
    static func mutate(_ state: inout PNCounter, by replica: ReplicaID, using random: inout SeededGenerator) throws -> PNCounter {
        random.chance(0.5)
            ? try state.increment(by: UInt64.random(in: 1...5, using: &random), by: replica)
            : try state.decrement(by: UInt64.random(in: 1...5, using: &random), by: replica)
    }
    static func observe(_ state: PNCounter) -> Int64 { state.value }
}

enum LWWRegisterFixture: CRDTFixture {
    static let name = "LWWRegister"
    static func mutate(
        _ state: inout LWWRegister<String>, by replica: ReplicaID, using random: inout SeededGenerator
    ) throws -> LWWRegister<String> {
        // A fresh reading of a clock that has seen the state's latest write;
        // physical times collide often, to exercise the tie-breaks.
        var clock = HybridLogicalClock(latest: state.timestamp)
        let now = try clock.now(physical: UInt64.random(in: 0...3, using: &random))
        return state.assign("v\(Int.random(in: 0...9, using: &random))", at: now, by: replica)
    }
    static func observe(_ state: LWWRegister<String>) -> String? { state.value }
}

enum MVRegisterFixture: CRDTFixture {
    static let name = "MVRegister"
    static func mutate(
        _ state: inout MVRegister<String>, by replica: ReplicaID, using random: inout SeededGenerator
    ) throws -> MVRegister<String> {
        random.chance(0.1) ? state.clear() : state.assign("v\(Int.random(in: 0...9, using: &random))", by: replica)
    }
    static func observe(_ state: MVRegister<String>) -> [String] { state.values.sorted() }
}

enum GSetFixture: CRDTFixture {
    static let name = "GSet"
    static func mutate(_ state: inout GSet<UInt64>, by replica: ReplicaID, using random: inout SeededGenerator) throws -> GSet<UInt64> {
        state.insert(UInt64.random(in: 0...30, using: &random))
    }
    static func observe(_ state: GSet<UInt64>) -> Set<UInt64> { state.elements }
}

enum TwoPhaseSetFixture: CRDTFixture {
    static let name = "TwoPhaseSet"
    static func mutate(
        _ state: inout TwoPhaseSet<String>, by replica: ReplicaID, using random: inout SeededGenerator
    ) throws -> TwoPhaseSet<String> {
        if random.chance(0.4), let element = state.elements.sorted().first {
            return try state.remove(element)
        }
        for _ in 0..<50 {
            let element = "e\(Int.random(in: 0...40, using: &random))"
            if let delta = try? state.insert(element) { return delta }
        }
        return TwoPhaseSet()
    }
    static func observe(_ state: TwoPhaseSet<String>) -> Set<String> { state.elements }
}

enum ORSetFixture: CRDTFixture {
    static let name = "ORSet"
    static func mutate(_ state: inout ORSet<String>, by replica: ReplicaID, using random: inout SeededGenerator) throws -> ORSet<String> {
        let element = "e\(Int.random(in: 0...8, using: &random))"
        if random.chance(0.05) { return state.removeAll() }
        return random.chance(0.6) ? state.insert(element, by: replica) : state.remove(element)
    }
    static func observe(_ state: ORSet<String>) -> Set<String> { state.elements }
}

enum EWFlagFixture: CRDTFixture {
    static let name = "EWFlag"
    static func mutate(_ state: inout EWFlag, by replica: ReplicaID, using random: inout SeededGenerator) throws -> EWFlag {
        random.chance(0.5) ? state.enable(by: replica) : state.disable()
    }
    static func observe(_ state: EWFlag) -> Bool { state.isEnabled }
}

enum CausalCounterFixture: CRDTFixture {
    static let name = "CausalCounter"
    static func mutate(_ state: inout CausalCounter, by replica: ReplicaID, using random: inout SeededGenerator) throws -> CausalCounter {
        random.chance(0.1) ? state.reset() : try state.increment(by: Int64.random(in: -3...5, using: &random), by: replica)
    }
    static func observe(_ state: CausalCounter) -> Int64 { state.value }
}

/// A Riak-style map of maps: user → field → counter, plus user → tags.
enum NestedMapFixture: CRDTFixture {
    typealias Profile = ORMap<String, CausalCounter>
    static let name = "ORMap<String, ORMap<String, CausalCounter>>"
    static func mutate(
        _ state: inout ORMap<String, Profile>, by replica: ReplicaID, using random: inout SeededGenerator
    ) throws -> ORMap<String, Profile> {
        let user = "user\(Int.random(in: 0...3, using: &random))"
        let field = ["likes", "posts", "visits"][Int.random(in: 0...2, using: &random)]
        switch Int.random(in: 0..<10, using: &random) {
        case 0: return state.removeValue(forKey: user)
        case 1: return state.update(user) { (profile: inout Profile) in profile.removeValue(forKey: field) }
        default:
            let amount = Int64.random(in: 1...3, using: &random)
            return try state.update(user) { profile throws(CRDTError) in
                try profile.update(field) { counter throws(CRDTError) in try counter.increment(by: amount, by: replica) }
            }
        }
    }
    static func observe(_ state: ORMap<String, Profile>) -> [String: [String: Int64]] {
        var result: [String: [String: Int64]] = [:]
        for user in state.keys {
            var fields: [String: Int64] = [:]
            if let profile = state[user] { for field in profile.keys { fields[field] = profile[field]?.value } }
            result[user] = fields
        }
        return result
    }
}

enum MixedMapFixture: CRDTFixture {
    static let name = "ORMap<String, ORSet/MVRegister/EWFlag>"
    typealias Subject = ORMap<String, ORSet<String>>
    static func mutate(_ state: inout Subject, by replica: ReplicaID, using random: inout SeededGenerator) throws -> Subject {
        let key = "k\(Int.random(in: 0...3, using: &random))"
        let element = "e\(Int.random(in: 0...4, using: &random))"
        switch Int.random(in: 0..<8, using: &random) {
        case 0: return state.removeValue(forKey: key)
        case 1, 2: return state.update(key) { set in set.remove(element) }
        default: return state.update(key) { set in set.insert(element, by: replica) }
        }
    }
    static func observe(_ state: Subject) -> [String: Set<String>] {
        Dictionary(uniqueKeysWithValues: state.keys.map { ($0, state[$0]?.elements ?? []) })
    }
}

enum RegisterMapFixture: CRDTFixture {
    static let name = "ORMap<String, MVRegister<String>>"
    typealias Subject = ORMap<String, MVRegister<String>>
    static func mutate(_ state: inout Subject, by replica: ReplicaID, using random: inout SeededGenerator) throws -> Subject {
        let key = "k\(Int.random(in: 0...3, using: &random))"
        if random.chance(0.2) { return state.removeValue(forKey: key) }
        let value = "v\(Int.random(in: 0...9, using: &random))"
        return state.update(key) { register in register.assign(value, by: replica) }
    }
    static func observe(_ state: Subject) -> [String: [String]] {
        Dictionary(uniqueKeysWithValues: state.keys.map { ($0, state[$0]?.values.sorted() ?? []) })
    }
}

enum FlagMapFixture: CRDTFixture {
    static let name = "ORMap<UInt64, EWFlag>"
    typealias Subject = ORMap<UInt64, EWFlag>
    static func mutate(_ state: inout Subject, by replica: ReplicaID, using random: inout SeededGenerator) throws -> Subject {
        let key = UInt64.random(in: 0...5, using: &random)
        switch Int.random(in: 0..<5, using: &random) {
        case 0: return state.removeValue(forKey: key)
        case 1: return state.update(key) { flag in flag.disable() }
        default: return state.update(key) { flag in flag.enable(by: replica) }
        }
    }
    static func observe(_ state: Subject) -> [UInt64: Bool] {
        Dictionary(uniqueKeysWithValues: state.keys.map { ($0, state[$0]?.isEnabled ?? false) })
    }
}

/// Fields of every kind, nested two levels deep.
enum RiakMapFixture: CRDTFixture {
    static let name = "RiakMap"
    static func mutate(_ state: inout RiakMap, by replica: ReplicaID, using random: inout SeededGenerator) throws -> RiakMap {
        let name = ["a", "b", "c"][Int.random(in: 0...2, using: &random)]
        let element = "e\(Int.random(in: 0...3, using: &random))"
        let kind = FieldKind.allCases[Int.random(in: 0..<FieldKind.allCases.count, using: &random)]
        let key = FieldKey(name, kind)
        if random.chance(0.12) { return state.removeValue(forKey: key) }
        switch kind {
        case .counter:
            return try state.update(key) { field throws(CRDTError) in try field.increment(by: 2, by: replica) }
        case .register:
            return state.update(key) { $0.assign(element, by: replica) }
        case .flag:
            return state.update(key) { random.chance(0.5) ? $0.enable(by: replica) : $0.disable() }
        case .set:
            return state.update(key) { random.chance(0.7) ? $0.insert(element, by: replica) : $0.remove(element) }
        case .map:
            let inner = FieldKey(element, random.chance(0.5) ? .counter : .set)
            if random.chance(0.2) { return state.update(key) { $0.removeValue(forKey: inner) } }
            return try state.update(key) { field throws(CRDTError) in
                try field.update(inner) { nested throws(CRDTError) in
                    inner.kind == .counter ? try nested.increment(by: 1, by: replica) : nested.insert("x", by: replica)
                }
            }
        }
    }
    static func observe(_ state: RiakMap) -> String { describe(state) }

    /// A canonical rendering of every field's value, recursively.
    static func describe(_ map: RiakMap) -> String {
        map.keys.sorted().map { key -> String in
            guard let field = map[key] else { return "" }
            switch key.kind {
            case .counter: return "\(key)=\(field.counter.value)"
            case .register: return "\(key)=\(field.register.values.sorted())"
            case .flag: return "\(key)=\(field.flag.isEnabled)"
            case .set: return "\(key)=\(field.set.elements.sorted())"
            case .map: return "\(key)={\(describe(field.map))}"
            }
        }.joined(separator: ",")
    }
}

enum TextFixture: CRDTFixture {
    static let name = "ReplicatedText"
    static func mutate(_ state: inout ReplicatedText, by replica: ReplicaID, using random: inout SeededGenerator) throws -> TextDelta {
        var editor = TextEditor(seed: random.next())
        var delta = TextDelta()
        try editor.edit(&state, by: replica, recordingInto: &delta)
        return delta
    }
    static func observe(_ state: ReplicatedText) -> String { state.string }
}

// MARK: Tests

@Suite struct CRDTLawTests {
    @Test func gCounter() throws { try CRDTLaws.check(GCounterFixture.self) }
    @Test func pnCounter() throws { try CRDTLaws.check(PNCounterFixture.self) }
    @Test func lwwRegister() throws { try CRDTLaws.check(LWWRegisterFixture.self) }
    @Test func mvRegister() throws { try CRDTLaws.check(MVRegisterFixture.self) }
    @Test func gSet() throws { try CRDTLaws.check(GSetFixture.self) }
    @Test func twoPhaseSet() throws { try CRDTLaws.check(TwoPhaseSetFixture.self) }
    @Test func orSet() throws { try CRDTLaws.check(ORSetFixture.self) }
    @Test func ewFlag() throws { try CRDTLaws.check(EWFlagFixture.self) }
    @Test func causalCounter() throws { try CRDTLaws.check(CausalCounterFixture.self) }
    @Test func nestedMap() throws { try CRDTLaws.check(NestedMapFixture.self) }
    @Test func setMap() throws { try CRDTLaws.check(MixedMapFixture.self) }
    @Test func registerMap() throws { try CRDTLaws.check(RegisterMapFixture.self) }
    @Test func flagMap() throws { try CRDTLaws.check(FlagMapFixture.self) }
    @Test func riakMap() throws { try CRDTLaws.check(RiakMapFixture.self) }
    @Test func replicatedText() throws { try CRDTLaws.check(TextFixture.self, steps: 80) }
}
