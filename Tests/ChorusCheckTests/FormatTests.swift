import ChorusCheck
import Testing

/// The three readers, format detection, and errors that name the line.
@Suite struct FormatTests {
    func parse(_ text: String, _ format: HistoryFormat? = nil) throws(HistoryError) -> History {
        try HistoryFormat.history(from: Array(text.utf8), format: format)
    }

    func errorLine(_ text: String, _ format: HistoryFormat? = nil) -> Int? {
        do {
            _ = try parse(text, format)
            return nil
        } catch {
            return error.line
        }
    }

    @Test func ednLines() throws {
        let history = try parse("""
            {:process 3, :type :invoke, :f :cas, :key "k", :value [1 2], :time 100}
            {:process 3, :type :ok, :f :cas, :key "k", :value [1 2], :time 200, :index 5}
            {:process :nemesis, :type :info, :f :start, :value nil}
            {:process 4, :type :invoke, :f :read, :value nil}

            """)
        #expect(history.operations.count == 2)
        let cas = history.operations[0]
        #expect(cas.process == 3 && cas.function == "cas" && cas.key == "k" && cas.input == [1, 2])
        #expect(cas.outcome == .ok && cas.invokeTime == 100 && cas.completeTime == 200)
        #expect(cas.invokeLine == 1 && cas.completeLine == 2)
        #expect(history.operations[1].outcome == .pending)
    }

    @Test func ednValues() throws {
        let history = try parse("""
            {:process 0, :type :invoke, :f :write, :value {:a #{1 2}, "s\\"q\\n" (x y), :t #inst "2020", :d #_ 9 -2.5}}

            """)
        guard case .map(let entries) = history.operations[0].input else {
            Issue.record("expected a map")
            return
        }
        #expect(entries.count == 4)
        #expect(entries[0].value == .set([1, 2]))
        #expect(entries[1].key == .string("s\"q\n"))
        #expect(entries[1].value == .list([.symbol("x"), .symbol("y")]))
        #expect(entries[2].value == .list([.symbol("#inst"), "2020"]))
        #expect(entries[3].value == .float(-2.5))
    }

    @Test func jepsenLogWithTabsOrSpacesAndNoise() throws {
        let history = try parse("""
            INFO  jepsen.util - 3\t:invoke\t:write\t4
            INFO  jepsen.core - Worker 2 starting
            INFO  jepsen.util - 3   :ok     :write  4
            INFO  jepsen.util - :nemesis\t:info\t:start\tnil
            INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]
            INFO  jepsen.util - 2\t:fail\t:cas\t[3 0]

            """)
        #expect(history.operations.count == 2)
        #expect(history.operations[0].outcome == .ok && history.operations[0].input == 4)
        #expect(history.operations[1].outcome == .fail)
        #expect(history.operations[1].completeLine == 6)
    }

    @Test func jsonLinesAndRoundTrip() throws {
        let text = """
            {"process": 1, "type": "invoke", "f": "append", "key": "k", "value": "x\\u00e9", "time": 5}
            {"process": 1, "type": "ok", "f": "append", "key": "k", "value": "x\\u00e9", "time": 9}
            {"process": 2, "type": "invoke", "f": "get", "key": "k", "value": null}
            {"process": 2, "type": "info", "f": "get", "key": "k", "value": null}

            """
        let history = try parse(text)
        #expect(history.operations.count == 2)
        #expect(history.operations[0].input == "xé")
        #expect(history.operations[1].outcome == .info)
        let written = HistoryFormat.jsonLines(history)
        let again = try parse(written, .jsonLines)
        #expect(again.operations.map(\.summary) == history.operations.map(\.summary))
        #expect(again.operations.map(\.invokeTime) == history.operations.map(\.invokeTime))
        #expect(HistoryFormat.detect(Array(written.utf8)) == .jsonLines)
    }

    @Test func detection() {
        #expect(HistoryFormat.detect(Array("\n  {:process 1}".utf8)) == .edn)
        #expect(HistoryFormat.detect(Array("{\"process\": 1}".utf8)) == .jsonLines)
        #expect(HistoryFormat.detect(Array("INFO  jepsen.util - 1\t:invoke\t:read\tnil".utf8)) == .jepsenLog)
        #expect(HistoryFormat.detect(Array("hello".utf8)) == nil)
        #expect(errorLine("\n\nhello\n") == 3)
    }

    @Test(arguments: [
        ("{:process 0, :type :invoke, :f :read, :value nil}\n{:process 0, :type :ok, :f :read, :value [1 2}\n", 2),
        ("{:process 0, :type :invoke, :f :read}\n{:process 0, :type :okay, :f :read}\n", 2),
        ("{:process 0, :type :invoke, :f :read}\n{:process x, :type :ok, :f :read}\n", 2),
        ("{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok}\n", 2),
        ("{:process 0, :type :invoke, :f :read} extra\n", 1),
        ("{:process 0, :type :invoke, :f :read}\n\n{:process 0, :type :invoke, :f :read}\n", 3),
        ("{:process 0, :type :ok, :f :read, :value 1}\n", 1),
        ("{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :write}\n", 2),
        ("{:process 0, :type :invoke, :f :read, :value 99999999999999999999999}\n", 1),
        ("{:process 0, :type :invoke, :f :read, :value \"unterminated}\n", 1),
        ("{:process 0, :type :invoke, :f :read, :value " + String(repeating: "[", count: 500) + "}\n", 1),
        ("{\"process\": 0, \"type\": \"invoke\", \"f\": \"read\"}\n{\"process\": 0, \"type\": \"ok\", \"f\": \"read\", \"value\": 01x}\n", 2),
        ("{\"process\": 0, \"type\": \"invoke\", \"f\": \"read\", \"time\": \"noon\"}\n", 1),
        ("{\"process\": 0, \"type\": \"invoke\", \"f\": \"read\", \"value\": \"\\q\"}\n", 1),
        ("INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\tread\tnil\n", 2),
        ("INFO  jepsen.util - 0\t:invoke\t:read\tnil\ngarbage line\n", 2),
        ("INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2\n", 1),
    ])
    func malformedInputNamesTheLine(_ text: String, _ line: Int) {
        #expect(errorLine(text) == line, "input: \(text.prefix(80))")
    }

    @Test func invalidUTF8IsAnErrorNotACrash() {
        var bytes = Array("{:process 0, :type :invoke, :f :read, :value \"".utf8)
        bytes += [0xFF, 0xFE]
        bytes += Array("\"}\n".utf8)
        #expect(throws: HistoryError.self) { try HistoryFormat.history(from: bytes, format: .edn) }
    }

    @Test func emptyInputIsAnError() {
        #expect(throws: HistoryError(.empty, line: nil)) { try HistoryFormat.edn.history(from: []) }
        #expect(throws: HistoryError.self) { try HistoryFormat.history(from: Array("\n\n".utf8), format: nil) }
    }

    @Test func errorMessagesAreReadable() {
        let error = HistoryError(.invokeWhilePending(process: 4, pendingLine: 2), line: 7)
        #expect(error.description == "line 7: process 4 invokes again while its previous operation is open (still open since line 2)")
    }

    @Test func modelErrorsNameTheLine() throws {
        let history = try parse("""
            {:process 0, :type :invoke, :f :append, :key "k", :value "x"}
            {:process 0, :type :ok, :f :append, :key "k", :value "x"}

            """)
        #expect(throws: ModelError("model cas-register has no function :append (it knows :read, :write, :cas)", line: 1)) {
            try ModelKind.casRegister.check(history, condition: .linearizable)
        }
        let badCas = try parse("{:process 0, :type :invoke, :f :cas, :value 3}\n")
        #expect(throws: ModelError.self) { try ModelKind.casRegister.check(badCas, condition: .linearizable) }
    }
}
