import ChorusCheck
import ChorusCore

/// A correct in-memory string map driven by many concurrent simulated
/// clients, with `get`, `append` and `put` on a few keys: the shape of
/// Porcupine's kv histories, and the Swift twin of `Scripts/kv_history.py`
/// (same choices: 45 % get, 45 % append, 10 % put, values `"x CLIENT N y"`).
/// Each operation takes effect atomically at a random moment between its
/// invocation and its completion, so the history is linearizable until a
/// test corrupts it.
struct RandomKeyValueHistory {
    var events: [HistoryEvent] = []

    init(seed: UInt64, clients: Int, operations: Int, keys: Int) {
        enum ClientState { case idle, invoked, applied }
        var random = SeededGenerator(seed: seed)
        var store: [String: String] = [:]
        var states = [ClientState](repeating: .idle, count: clients)
        var pending = [(function: String, key: String, value: String)](repeating: ("", "", ""), count: clients)
        var invoked = 0
        var idle = clients
        while invoked < operations || idle < clients {
            let client = Int(random.next() % UInt64(clients))
            let process = ProcessID(Int64(client))
            switch states[client] {
            case .idle:
                guard invoked < operations else { continue }
                let key = "\(random.next() % UInt64(keys))"
                let roll = random.next() % 100
                let function = roll < 45 ? "get" : (roll < 90 ? "append" : "put")
                let value = function == "get" ? "" : "x \(client) \(invoked) y"
                invoked += 1
                idle -= 1
                pending[client] = (function, key, value)
                states[client] = .invoked
                events.append(HistoryEvent(
                    process: process, type: .invoke, function: function, key: .string(key),
                    value: function == "get" ? .null : .string(value)))
            case .invoked:
                let (function, key, value) = pending[client]
                switch function {
                case "get": pending[client].value = store[key] ?? ""
                case "append": store[key, default: ""] += value
                default: store[key] = value
                }
                states[client] = .applied
            case .applied:
                let (function, key, value) = pending[client]
                events.append(HistoryEvent(process: process, type: .ok, function: function, key: .string(key), value: .string(value)))
                states[client] = .idle
                idle += 1
            }
        }
    }

    /// The indices of the completed gets, in history order.
    var getCompletions: [Int] { events.indices.filter { events[$0].type == .ok && events[$0].function == "get" } }

    /// The events with the completed get at `index` returning a string no
    /// append or put could have produced, so its key is not linearizable.
    func corruptingGet(at index: Int) -> [HistoryEvent] {
        precondition(events[index].type == .ok && events[index].function == "get", "event \(index) is not a completed get")
        var corrupted = events
        corrupted[index].value = "corrupted"
        return corrupted
    }
}

/// `count` appends to `key`, all concurrent, and a get concurrent with all
/// of them that returns a string none of their orders gives. Refuting it takes
/// every order of every subset of the appends (each order is a distinct
/// string, so the memo never merges two): about e · count! placements, while
/// the read is never legal. Processes are numbered from `firstProcess`.
func unrefutableReadAfterAppends(key: String, count: Int, firstProcess: Int64) -> [HistoryEvent] {
    var events: [HistoryEvent] = []
    for index in 0..<count {
        events.append(HistoryEvent(
            process: ProcessID(firstProcess + Int64(index)), type: .invoke, function: "append", key: .string(key),
            value: .string("a\(index)")))
    }
    let reader = ProcessID(firstProcess + Int64(count))
    events.append(HistoryEvent(process: reader, type: .invoke, function: "get", key: .string(key)))
    for index in 0..<count {
        events.append(HistoryEvent(
            process: ProcessID(firstProcess + Int64(index)), type: .ok, function: "append", key: .string(key),
            value: .string("a\(index)")))
    }
    events.append(HistoryEvent(process: reader, type: .ok, function: "get", key: .string(key), value: "corrupted"))
    return events
}
