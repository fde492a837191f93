import ChorusCheck
import Testing

/// The set, counter, queue and key-value models on small histories.
@Suite struct ModelTests {
    @Test func keyValueAppendsAndPartitions() throws {
        let events = [
            e(0, .invoke, "append", "a", key: "x"), e(0, .ok, "append", "a", key: "x"),
            e(1, .invoke, "append", "b", key: "x"), e(1, .ok, "append", "b", key: "x"),
            e(2, .invoke, "put", "z", key: "y"), e(2, .ok, "put", "z", key: "y"),
            e(3, .invoke, "get", key: "x"), e(3, .ok, "get", "ab", key: "x"),
            e(3, .invoke, "get", key: "y"), e(3, .ok, "get", "z", key: "y"),
            e(3, .invoke, "get", key: "w"), e(3, .ok, "get", .null, key: "w"),
        ]
        let result = try ModelKind.keyValue.check(History(events: events), condition: .linearizable)
        #expect(result.verdict == .satisfied)
        #expect(result.partitions.map(\.key) == ["x", "y", "w"])
        var wrong = events
        wrong[7].value = "ba"
        let violated = try ModelKind.keyValue.check(History(events: wrong), condition: .linearizable)
        #expect(violated.verdict == .violated)
        #expect(violated.counterexample?.key == "x")
        #expect(violated.counterexample?.stateAtEnd == "\"ab\"")
    }

    @Test func setReadsMustMatchExactly() throws {
        let base = [
            e(0, .invoke, "add", 1), e(1, .invoke, "add", 2), e(0, .ok, "add", 1), e(1, .ok, "add", 2),
        ]
        #expect(try verdict(base + [e(2, .invoke, "read"), e(2, .ok, "read", .set([2, 1]))], model: .set) == .satisfied)
        #expect(try verdict(base + [e(2, .invoke, "read"), e(2, .ok, "read", [1])], model: .set) == .violated)
        // A read concurrent with an add may or may not see it.
        #expect(try verdict([
            e(0, .invoke, "add", 1), e(2, .invoke, "read"), e(2, .ok, "read", []), e(0, .ok, "add", 1),
            e(0, .invoke, "remove", 1), e(0, .ok, "remove", 1), e(2, .invoke, "read"), e(2, .ok, "read", []),
        ], model: .set) == .satisfied)
    }

    @Test func counterAddsUp() throws {
        let events = [
            e(0, .invoke, "add", 2), e(1, .invoke, "add", 3), e(2, .invoke, "read"),
            e(2, .ok, "read", 3), e(0, .ok, "add", 2), e(1, .ok, "add", 3),
            e(2, .invoke, "read"), e(2, .ok, "read", 5),
        ]
        #expect(try verdict(events, model: .counter) == .satisfied)
        var wrong = events
        wrong[3].value = 4
        #expect(try verdict(wrong, model: .counter) == .violated)
        // An indeterminate increment explains a read that counts it, or not.
        #expect(try verdict([
            e(0, .invoke, "increment"), e(0, .info, "increment"),
            e(1, .invoke, "read"), e(1, .ok, "read", 0), e(1, .invoke, "read"), e(1, .ok, "read", 1),
        ], model: .counter) == .satisfied)
    }

    @Test func queueIsFirstInFirstOut() throws {
        let enqueues = [
            e(0, .invoke, "enqueue", 1), e(0, .ok, "enqueue", 1), e(0, .invoke, "enqueue", 2), e(0, .ok, "enqueue", 2),
        ]
        #expect(try verdict(enqueues + [
            e(1, .invoke, "dequeue"), e(1, .ok, "dequeue", 1), e(1, .invoke, "dequeue"), e(1, .ok, "dequeue", 2),
            e(1, .invoke, "dequeue"), e(1, .ok, "dequeue", .null),
        ], model: .queue) == .satisfied)
        #expect(try verdict(enqueues + [e(1, .invoke, "dequeue"), e(1, .ok, "dequeue", 2)], model: .queue) == .violated)
        // Concurrent enqueues may land in either order.
        #expect(try verdict([
            e(0, .invoke, "enqueue", 1), e(2, .invoke, "enqueue", 2), e(0, .ok, "enqueue", 1), e(2, .ok, "enqueue", 2),
            e(1, .invoke, "dequeue"), e(1, .ok, "dequeue", 2),
        ], model: .queue) == .satisfied)
        // An indeterminate dequeue may have consumed the head.
        #expect(try verdict(enqueues + [
            e(3, .invoke, "dequeue"), e(3, .info, "dequeue"),
            e(1, .invoke, "dequeue"), e(1, .ok, "dequeue", 2),
        ], model: .queue) == .satisfied)
    }

    @Test func keyedModelRendersEveryKey() {
        let operations = try! History(events: [
            e(0, .invoke, "write", 1, key: "a"), e(0, .ok, "write", 1, key: "a"),
            e(0, .invoke, "write", 2, key: "b"), e(0, .ok, "write", 2, key: "b"),
        ]).operations
        let keyed = KeyedModel(base: CASRegisterModel(), operations: operations)
        #expect(keyed.keys == ["a", "b"])
        var values = ValueTable()
        let state = keyed.step(keyed.initialState, try! keyed.translate(operations[1], values: &values).input, nil)
        #expect(state.map { keyed.describe($0, values: values) } == "{\"a\": nil, \"b\": 2}")
    }
}
