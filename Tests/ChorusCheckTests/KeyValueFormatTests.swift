import ChorusCheck
import Testing

/// Documents keep every field and the records; key-value histories read
/// sessions, versions, range reads and write orders from them, and refuse
/// what does not fit with the line.
@Suite struct KeyValueFormatTests {
    func document(_ text: String) throws(HistoryError) -> HistoryDocument {
        try HistoryDocument.read(from: Array(text.utf8))
    }

    func errorLine(_ text: String) -> Int? {
        do {
            _ = try KeyValueHistory(document: document(text))
            return nil
        } catch {
            return error.line ?? -1
        }
    }

    @Test func documentsKeepFieldsAndRecords() throws {
        let read = try document("""
            {"process": 0, "session": "a", "type": "invoke", "f": "write", "key": "x", "value": 1}
            {"type": "write-order", "key": "x", "value": [1]}
            {"process": 0, "type": "ok", "f": "write", "key": "x", "value": 1, "version": 4}

            """)
        #expect(read.history.operations.count == 1)
        #expect(read.records.count == 1)
        #expect(read.records[0].type == "write-order" && read.records[0].line == 2 && read.records[0].instant == 1)
        let operation = read.history.operations[0]
        #expect(read.field("session", of: operation) == "a")
        #expect(read.field("version", of: operation) == 4)
        #expect(read.completionFields(operation)?.field("version") == 4)
    }

    @Test func ednDocumentsToo() throws {
        let read = try document("""
            {:process 0, :session :a, :type :invoke, :f :read, :key "x"}
            {:process 0, :type :ok, :f :read, :key "x", :value 2, :version 7}
            {:type :write-order, :key "y", :value [1 2]}

            """)
        let history = try KeyValueHistory(document: read)
        #expect(history.operations[0].session == .keyword("a"))
        #expect(history.operations[0].version == 7 && history.operations[0].value == 2)
        #expect(history.writeOrders == [WriteOrder(key: "y", values: [1, 2], line: 3)])
    }

    @Test func keyValueOperations() throws {
        let history = try KeyValueHistory(document: document("""
            {"process": 0, "type": "invoke", "f": "put", "key": "x", "value": "v"}
            {"process": 0, "type": "ok", "f": "put", "key": "x", "value": "v", "version": 3}
            {"process": 1, "type": "invoke", "f": "get", "key": "x"}
            {"process": 1, "type": "ok", "f": "get", "key": "x", "value": null}
            {"process": 2, "type": "invoke", "f": "range", "key": "u/", "value": {"after": "u/a", "limit": 2}}
            {"process": 2, "type": "ok", "f": "range", "key": "u/", "value": [["u/b", 3], {"key": "u/c", "version": 5}]}
            {"process": 3, "type": "invoke", "f": "range", "key": "u/"}
            {"process": 3, "type": "ok", "f": "range", "key": "u/", "value": {"entries": [], "more": false}}
            {"process": 4, "type": "invoke", "f": "delete", "key": "x"}

            """))
        let operations = history.operations
        #expect(operations.map(\.function) == [.write, .read, .rangeRead, .rangeRead, .delete])
        #expect(operations[0].session == KeyValueOperation.defaultSession(0))
        #expect(operations[0].version == 3 && operations[1].value == .null && operations[1].version == nil)
        #expect(operations[2].rangeStartAfter == "u/a")
        // Two entries at a limit of two: cut short.
        #expect(operations[2].range == RangeReadResult(entries: [RangeEntry(key: "u/b", version: 3), RangeEntry(key: "u/c", version: 5)], truncated: true))
        #expect(operations[3].range == RangeReadResult(entries: [], truncated: false))
        #expect(operations[4].outcome == .pending)
        #expect(history.displayHistory.operations.count == 5)
    }

    @Test func badLinesNameTheirLine() {
        let invoke = "{\"process\": 0, \"type\": \"invoke\", \"f\": \"read\", \"key\": \"x\"}\n"
        #expect(errorLine("{\"process\": 0, \"type\": \"invoke\", \"f\": \"cas\", \"key\": \"x\"}") == 1)
        #expect(errorLine("{\"process\": 0, \"type\": \"invoke\", \"f\": \"read\"}") == 1)
        #expect(errorLine(invoke + "{\"process\": 0, \"type\": \"ok\", \"f\": \"read\", \"key\": \"x\", \"value\": 1, \"version\": 0}") == 2)
        #expect(errorLine(invoke + "{\"process\": 0, \"type\": \"ok\", \"f\": \"read\", \"key\": \"x\", \"value\": 1, \"version\": \"3\"}") == 2)
        #expect(errorLine(invoke + "{\"type\": \"deliver\", \"subscriber\": \"s\"}") == 2)
        #expect(errorLine(invoke + "{\"type\": \"write-order\", \"key\": \"x\", \"value\": 3}") == 2)
        #expect(errorLine(invoke + "{\"process\": 0}") == 2)
        let range = "{\"process\": 0, \"type\": \"invoke\", \"f\": \"range\", \"key\": \"u/\"}\n"
        #expect(errorLine(range + "{\"process\": 0, \"type\": \"ok\", \"f\": \"range\", \"key\": \"u/\", \"value\": [[\"u/b\", 3], [\"u/a\", 4]]}") == 2)
        #expect(errorLine(range + "{\"process\": 0, \"type\": \"ok\", \"f\": \"range\", \"key\": \"u/\", \"value\": [[\"u/b\"]]}") == 2)
        #expect(errorLine("{\"process\": 0, \"type\": \"invoke\", \"f\": \"range\", \"key\": 3}") == 1)
        #expect(errorLine("INFO  jepsen.util - 3\t:invoke\t:write\t4") == 1)
    }

    @Test func jsonLinesRoundTrip() throws {
        var store = ReplicatedStoreSimulation(seed: 3, replicas: 3)
        store.run(sessions: 3, keys: 2, operations: 60, sessionConsistent: false)
        store.builder.range("r", "k", [("k0", 1)], truncated: true, after: "j")
        store.builder.write("w", "k1", 99, outcome: .info)
        store.builder.delete("w", "k0", v: 1_000)
        store.builder.order("z", [1])
        store.builder.write("w", "z", 1)
        let original = try store.builder.history()
        let text = original.jsonLines()
        let read = try KeyValueHistory(document: document(text))
        #expect(read.operations.count == original.operations.count)
        for (before, after) in zip(original.operations, read.operations) {
            #expect(before.session == after.session && before.function == after.function && before.key == after.key)
            #expect(before.value == after.value && before.version == after.version && before.outcome == after.outcome)
            #expect(before.range == after.range && before.rangeStartAfter == after.rangeStartAfter)
            #expect(before.invokeTime == after.invokeTime)
        }
        #expect(read.writeOrders.map(\.values) == [[1]])
        #expect(try verdicts(SessionChecker.check(read)) == verdicts(SessionChecker.check(original)))
    }

    @Test func writeOrdersMustFitTheWrites() throws {
        var duplicate = KeyValueHistoryBuilder()
        duplicate.write("a", "x", 1)
        duplicate.order("x", [1, 1])
        #expect(throws: HistoryError.self) { try SessionChecker.check(duplicate.history()) }
        var unwritten = KeyValueHistoryBuilder()
        unwritten.write("a", "x", 1)
        unwritten.order("x", [1, 2])
        #expect(throws: HistoryError.self) { try SessionChecker.check(unwritten.history()) }
        var missing = KeyValueHistoryBuilder()
        missing.write("a", "x", 1)
        missing.write("a", "x", 2)
        missing.order("x", [1])
        #expect(throws: HistoryError.self) { try SessionChecker.check(missing.history()) }
    }
}
