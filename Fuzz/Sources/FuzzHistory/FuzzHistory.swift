import ChorusCheck
import ChorusCore
import FuzzSupport

/// The history readers of ChorusCheck: EDN maps, Jepsen log lines and JSON
/// lines (`HistoryFormat`), `HistoryDocument` (every field, plus records),
/// and the key-value and event-store histories built from a document.
///
/// Properties: every reader ends in a value or a typed `HistoryError`; a
/// history written as JSON lines reads back to a history that writes the same
/// lines (the writer is lossy, keywords become strings, so the check is that
/// its output is a fixed point); the key-value and event-store histories'
/// `jsonLines()` read back to histories with the same operations, as their
/// documentation promises.
///
/// Input: a mode byte (0 detect, 1 EDN, 2 Jepsen log, 3 JSON lines, 4 a
/// key-value document, 5 an event-store document), then the text.
enum HistoryHarness {
    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let mode = input.byte() % 6
        let text = input.rest()
        switch mode {
        case 0...3:
            let format: HistoryFormat? = mode == 0 ? nil : [HistoryFormat.edn, .jepsenLog, .jsonLines][Int(mode) - 1]
            guard let history = try? HistoryFormat.history(from: text, format: format) else { return }
            let lines = HistoryFormat.jsonLines(history)
            let again: History
            do { again = try HistoryFormat.jsonLines.history(from: Array(lines.utf8)) } catch {
                preconditionFailure("a history's JSON lines do not read back: \(error)")
            }
            precondition(again.operations.count == history.operations.count, "JSON lines lost operations")
            precondition(HistoryFormat.jsonLines(again) == lines, "JSON lines are not a fixed point")
            _ = try? HistoryDocument.read(from: text, format: format)
        case 4:
            guard let document = try? HistoryDocument.read(from: text),
                let history = try? KeyValueHistory(document: document)
            else { return }
            let lines = history.jsonLines()
            let again: KeyValueHistory
            do { again = try KeyValueHistory(document: try HistoryDocument.read(from: Array(lines.utf8), format: .jsonLines)) } catch {
                preconditionFailure("a key-value history's JSON lines do not read back: \(error)")
            }
            precondition(again.operations.count == history.operations.count, "key-value JSON lines lost operations")
            precondition(again.jsonLines() == lines, "key-value JSON lines are not a fixed point")
        default:
            guard let document = try? HistoryDocument.read(from: text),
                let history = try? EventStoreHistory(document: document)
            else { return }
            let lines = history.jsonLines()
            let again: EventStoreHistory
            do {
                again = try EventStoreHistory(document: try HistoryDocument.read(from: Array(lines.utf8), format: .jsonLines))
            } catch {
                preconditionFailure("an event-store history's JSON lines do not read back: \(error)")
            }
            precondition(again.operations.count == history.operations.count, "event-store JSON lines lost operations")
            precondition(again.jsonLines() == lines, "event-store JSON lines are not a fixed point")
        }
    }

    static func seeds() -> [Seed] {
        // Lines in the shapes of ../shared/data's Jepsen histories (a few lines each, written here).
        let edn = """
            {:type :invoke, :f :write, :value 3, :process 0, :time 1000, :index 0}
            {:type :ok, :f :write, :value 3, :process 0, :time 2000, :index 1}
            {:type :invoke, :f :cas, :value [3 4], :process 1, :time 2500}
            {:type :info, :f :start, :value nil, :process :nemesis, :time 2600}
            {:type :fail, :f :cas, :value [3 4], :process 1, :time 3000, :error :timed-out}
            {:type :invoke, :f :read, :value nil, :process 2, :key "x", :time 3100}
            {:type :ok, :f :read, :value #{1 2}, :process 2, :key "x", :time 3200, :meta {"a" 1.5}}

            """
        let jepsenLog = """
            INFO  jepsen.util - 3\t:invoke\t:write\t4
            INFO  jepsen.util - 3\t:ok\t:write\t4
            WARN  jepsen.core - something else
            INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]
            INFO  jepsen.util - 2\t:fail\t:cas\t[3 0]
            INFO  jepsen.util - 0\t:invoke\t:read\tnil
            INFO  jepsen.util - 0\t:info\t:read\t:timed-out

            """
        let jsonLines = """
            {"process": 0, "type": "invoke", "f": "write", "key": "x", "value": 1, "time": 10}
            {"process": 0, "type": "ok", "f": "write", "key": "x", "value": 1, "time": 20}
            {"process": 1, "type": "invoke", "f": "read", "key": "x", "value": null}
            {"process": 1, "type": "ok", "f": "read", "key": "x", "value": 1}

            """
        let keyValue = """
            {"process": 0, "session": "a", "type": "invoke", "f": "write", "key": "x", "value": 1, "time": 1000}
            {"process": 0, "session": "a", "type": "ok", "f": "write", "key": "x", "value": 1, "version": 3, "time": 2000}
            {"process": 1, "type": "invoke", "f": "read", "key": "x"}
            {"process": 1, "type": "ok", "f": "read", "key": "x", "value": 1, "version": 3}
            {"process": 2, "type": "invoke", "f": "delete", "key": "x"}
            {"process": 2, "type": "ok", "f": "delete", "key": "x", "version": 7}
            {"process": 3, "type": "invoke", "f": "range", "key": "user/", "value": {"after": "user/a", "limit": 2}}
            {"process": 3, "type": "ok", "f": "range", "key": "user/", "value": {"entries": [["user/b", 3], ["user/c", 5]], "more": true}}
            {"type": "write-order", "key": "z", "value": [4, 2, 9]}

            """
        let eventStore = """
            {"process": 0, "type": "invoke", "f": "append", "key": "orders", "value": {"expected": "no_stream", "events": ["e1", "e2"]}}
            {"process": 0, "type": "ok", "f": "append", "key": "orders", "value": {"revisions": [0, 1], "positions": [7, 8]}}
            {"process": 1, "type": "invoke", "f": "append", "key": "orders", "value": {"expected": 5, "events": ["e3"]}}
            {"process": 1, "type": "fail", "f": "append", "key": "orders", "value": {"error": "wrong_expected_version", "actual": 1}}
            {"process": 2, "type": "invoke", "f": "read", "key": "$all", "value": {"from": 0, "limit": 10}}
            {"process": 2, "type": "ok", "f": "read", "key": "$all", "value": [{"id": "e1", "stream": "orders", "revision": 0, "position": 7}]}
            {"type": "subscribe", "subscriber": "s1", "stream": "orders", "from": 0}
            {"type": "deliver", "subscriber": "s1", "event": "e1", "revision": 0, "position": 7}
            {"type": "caught-up", "subscriber": "s1"}
            {"type": "subscribe", "subscriber": "c1", "group": "g", "stream": "orders"}
            {"type": "ack", "subscriber": "c1", "event": "e1"}
            {"type": "nack", "subscriber": "c1", "event": "e2", "action": "retry"}

            """
        return [
            Seed("detect-edn", [0] + Array(edn.utf8)),
            Seed("edn", [1] + Array(edn.utf8)),
            Seed("jepsen-log", [2] + Array(jepsenLog.utf8)),
            Seed("json-lines", [3] + Array(jsonLines.utf8)),
            Seed("key-value-document", [4] + Array(keyValue.utf8)),
            Seed("event-store-document", [5] + Array(eventStore.utf8)),
        ]
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHistory(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    HistoryHarness.run(FuzzMain.bytes(start, count))
    return 0
}

@main
struct FuzzHistoryMain {
    static func main() { FuzzMain.run(seeds: HistoryHarness.seeds, testOneInput: fuzzHistory) }
}
