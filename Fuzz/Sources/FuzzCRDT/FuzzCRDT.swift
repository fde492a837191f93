import ChorusCRDT
import ChorusClocks
import ChorusCore
import FuzzSupport

/// The compact encodings of every state CRDT and of the clocks they carry
/// (ChorusCRDT, ChorusClocks). For each type: a decoded value re-encodes to
/// bytes that decode to it (the encodings are canonical, so the second
/// encoding equals the first), and, for the CRDTs, the decoded states obey
/// the semilattice laws the type promises: merge is idempotent and
/// commutative, and merging the bottom changes nothing.
///
/// Input: a type selector byte; for a CRDT, a byte naming the replica that
/// mutates the decoded state; then chunks: the first value, and an optional
/// second value of the same type for the commutativity check.
enum CRDTHarness {
    typealias Decoder = @Sendable (inout FuzzInput) -> Void

    static let types: [(name: String, run: Decoder)] = [
        ("gcounter", crdt(GCounter.self) { state, replica in _ = try? state.increment(by: 3, by: replica) }),
        ("pncounter", crdt(PNCounter.self) { state, replica in _ = try? state.decrement(by: 2, by: replica) }),
        ("gset-string", crdt(GSet<String>.self) { state, _ in state.insert("x") }),
        ("gset-integer", crdt(GSet<UInt64>.self) { state, replica in state.insert(replica.rawValue) }),
        ("two-phase-set", crdt(TwoPhaseSet<String>.self) { state, _ in _ = try? state.remove("a") }),
        ("lww-register", crdt(LWWRegister<String>.self) { state, replica in
            state.assign("w", at: HybridTimestamp(physical: 5, logical: 0), by: replica)
        }),
        ("ew-flag", crdt(EWFlag.self) { state, replica in state.enable(by: replica) }),
        ("mv-register", crdt(MVRegister<[UInt8]>.self) { state, replica in state.assign([9], by: replica) }),
        ("or-set", crdt(ORSet<String>.self) { state, replica in state.insert("x", by: replica) }),
        ("causal-counter", crdt(CausalCounter.self) { state, replica in _ = try? state.increment(by: 1, by: replica) }),
        ("or-map", crdt(ORMap<String, MVRegister<Int64>>.self) { state, replica in
            state.update("k") { value in value.assign(1, by: replica) }
        }),
        ("riak-map", crdt(RiakMap.self) { state, replica in
            state.update(FieldKey("f", .flag)) { field in field.enable(by: replica) }
        }),
        ("version-vector", value(VersionVector.self)),
        ("causal-context", value(CausalContext.self)),
        ("dotted-version-vector", value(DottedVersionVector.self)),
        ("hybrid-timestamp", value(HybridTimestamp.self)),
        ("lamport-timestamp", value(LamportTimestamp.self)),
        ("dot", value(Dot.self)),
    ]

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let selector = Int(input.byte())
        types[selector % types.count].run(&input)
    }

    static func decode<Value: CompactCodable>(_ bytes: [UInt8], as type: Value.Type) -> Value? {
        try? Value(decodingAll: bytes)
    }

    static func roundTrip<Value: CompactCodable & Equatable>(_ value: Value) {
        Check.roundTrip(
            value, "CompactCodable", encode: { $0.encodedBytes },
            decode: { (bytes: [UInt8]) throws(BinaryDecodingError) in try Value(decodingAll: bytes) })
    }

    static func value<Value: CompactCodable & Equatable>(_ type: Value.Type) -> Decoder {
        { input in
            guard let value = decode(input.chunk(), as: type) else { return }
            roundTrip(value)
        }
    }

    /// A decoded state must also take a local mutation by any replica (a
    /// state from a peer may hold counters near their end): the mutation may
    /// refuse with a typed error, never trap, and the result round-trips.
    static func crdt<State: StateCRDT>(
        _ type: State.Type, mutate: @escaping @Sendable (inout State, ReplicaID) -> Void
    ) -> Decoder {
        { input in
            let replica = ReplicaID(UInt64(input.byte() % 4))
            guard let first = decode(input.chunk(), as: type) else { return }
            roundTrip(first)
            var mutated = first
            mutate(&mutated, replica)
            roundTrip(mutated)
            precondition(mutated.merging(first) == mutated, "a mutation lost part of the state")
            precondition(first.merging(first) == first, "merge is not idempotent")
            precondition(first.merging(State()) == first && State().merging(first) == first, "bottom is not neutral")
            guard !input.isAtEnd, let second = decode(input.chunk(), as: type) else { return }
            roundTrip(second)
            let joined = first.merging(second)
            precondition(joined == second.merging(first), "merge is not commutative")
            precondition(joined.merging(first) == joined && joined.merging(second) == joined, "merge is not an upper bound")
            roundTrip(joined)
        }
    }

    static func seeds() -> [Seed] {
        func index(_ name: String) -> UInt8 { UInt8(types.firstIndex { $0.name == name }!) }
        func seed(_ name: String, _ values: [some CompactCodable]) -> Seed {
            // The CRDTs (listed before the clocks) take a replica byte.
            let replica: [UInt8] = index(name) < index("version-vector") ? [1] : []
            return Seed(name, [index(name)] + replica + FuzzInput.chunked(values.map(\.encodedBytes)))
        }
        let a = ReplicaID(1)
        let b = ReplicaID(2)
        var counter = GCounter()
        try! counter.increment(by: 3, by: a)
        var other = GCounter()
        try! other.increment(by: 5, by: b)
        var pn = PNCounter()
        try! pn.increment(by: 4, by: a)
        try! pn.decrement(by: 1, by: b)
        var set = GSet<String>()
        set.insert("x")
        set.insert("é")
        var numbers = GSet<UInt64>()
        numbers.insert(1)
        numbers.insert(300)
        var twoPhase = TwoPhaseSet<String>()
        try! twoPhase.insert("a")
        try! twoPhase.insert("b")
        try! twoPhase.remove("a")
        var register = LWWRegister<String>()
        register.assign("v1", at: HybridTimestamp(physical: 1_000, logical: 2), by: a)
        var flag = EWFlag()
        flag.enable(by: a)
        var flagB = EWFlag()
        flagB.enable(by: b)
        flagB.disable()
        var mv = MVRegister<[UInt8]>()
        mv.assign([1], by: a)
        var mvB = MVRegister<[UInt8]>()
        mvB.assign([2], by: b)
        var orSet = ORSet<String>()
        orSet.insert("x", by: a)
        orSet.insert("y", by: b)
        orSet.remove("x")
        var orSetB = ORSet<String>()
        orSetB.insert("x", by: b)
        var causal = CausalCounter()
        try! causal.increment(by: 7, by: a)
        var map = ORMap<String, MVRegister<Int64>>()
        map.update("k") { value in value.assign(5, by: a) }
        var riak = RiakMap()
        riak.update(FieldKey("counter", .counter)) { field in try! field.increment(by: 2, by: a) }
        let vector = VersionVector([(a, UInt64(3)), (b, UInt64(1))])
        var context = CausalContext()
        context.insert(Dot(replica: a, counter: 1))
        context.insert(Dot(replica: b, counter: 3))
        return [
            seed("gcounter", [counter, other]),
            seed("pncounter", [pn]),
            seed("gset-string", [set]),
            seed("gset-integer", [numbers]),
            seed("two-phase-set", [twoPhase]),
            seed("lww-register", [register]),
            seed("ew-flag", [flag, flagB]),
            seed("mv-register", [mv, mvB]),
            seed("or-set", [orSet, orSetB]),
            seed("causal-counter", [causal]),
            seed("or-map", [map]),
            seed("riak-map", [riak]),
            seed("version-vector", [vector]),
            seed("causal-context", [context]),
            seed("dotted-version-vector", [DottedVersionVector(dot: Dot(replica: b, counter: 4), context: vector)]),
            seed("hybrid-timestamp", [HybridTimestamp(physical: 1_700_000_000_000, logical: 3)]),
            seed("lamport-timestamp", [LamportTimestamp(time: 9, replica: a)]),
            seed("dot", [Dot(replica: a, counter: 1)]),
        ]
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCRDT(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    CRDTHarness.run(FuzzMain.bytes(start, count))
    return 0
}

@main
struct FuzzCRDTMain {
    static func main() { FuzzMain.run(seeds: CRDTHarness.seeds, testOneInput: fuzzCRDT) }
}
