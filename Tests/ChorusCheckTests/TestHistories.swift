import ChorusCheck
import ChorusCore

/// Shorthand for hand-written histories: `e(0, .invoke, "write", 1)`.
func e(
    _ process: Int64, _ type: EventType, _ function: String, _ value: HistoryValue = .null, key: HistoryValue? = nil
) -> HistoryEvent {
    HistoryEvent(process: ProcessID(process), type: type, function: function, key: key, value: value)
}

/// An operation with explicit instants, for `History(operations:)`.
func op(
    _ process: Int64, _ function: String, _ input: HistoryValue, _ output: HistoryValue?, _ outcome: Outcome,
    from invokedAt: Int, to completedAt: Int?, key: HistoryValue? = nil
) -> Operation {
    Operation(
        id: 0, process: ProcessID(process), function: function, key: key, input: input, output: output,
        outcome: outcome, invokedAt: invokedAt, completedAt: completedAt)
}

func verdict(
    _ events: [HistoryEvent], _ condition: ConsistencyCondition = .linearizable, model: ModelKind = .casRegister
) throws -> Verdict {
    try model.check(History(events: events), condition: condition).verdict
}

/// A correct in-memory register driven by concurrent simulated clients, for
/// property tests. Each operation takes effect atomically at a random moment
/// between its invocation and its completion; some complete `:info` (after
/// taking effect or without ever taking effect) and some never complete.
/// A failed cas is recorded `:fail`. A client whose operation ended
/// indeterminate continues under a fresh process number, as in Jepsen.
struct RandomRegisterHistory {
    var events: [HistoryEvent] = []

    /// With `keys` > 1 every operation names one of that many registers
    /// (`"k0"`, `"k1"`, …), so the checker must combine per-key orders.
    init(seed: UInt64, clients: Int, operations: Int, indeterminateChance: Double = 0.1, keys: Int = 1) {
        var random = SeededGenerator(seed: seed)
        enum ClientState { case idle, invoked, applied(HistoryValue, succeeded: Bool) }
        var states = [ClientState](repeating: .idle, count: clients)
        var processes = (0..<clients).map { Int64($0) }
        var nextProcess = Int64(clients)
        var functions = [String](repeating: "", count: clients)
        var inputs = [HistoryValue](repeating: .null, count: clients)
        var operationKeys = [Int](repeating: 0, count: clients)
        var registers = [HistoryValue](repeating: .null, count: keys)
        func key(_ index: Int) -> HistoryValue? { keys > 1 ? .string("k\(index)") : nil }
        var invoked = 0
        var rounds = 0
        while rounds < operations * 20 {
            rounds += 1
            let client = Int(random.next() % UInt64(clients))
            switch states[client] {
            case .idle:
                guard invoked < operations else { continue }
                invoked += 1
                let choice = random.next() % 3
                let function = choice == 0 ? "read" : (choice == 1 ? "write" : "cas")
                let input: HistoryValue
                switch function {
                case "write": input = .integer(Int64(random.next() % 3))
                case "cas": input = .list([.integer(Int64(random.next() % 3)), .integer(Int64(random.next() % 3))])
                default: input = .null
                }
                functions[client] = function
                inputs[client] = input
                // Only several keys draw one, so single-register seeds keep their histories.
                operationKeys[client] = keys > 1 ? Int(random.next() % UInt64(keys)) : 0
                events.append(e(processes[client], .invoke, function, input, key: key(operationKeys[client])))
                states[client] = .invoked
            case .invoked:
                if random.chance(indeterminateChance / 2) {
                    // Gives up without the operation ever taking effect.
                    events.append(e(processes[client], .info, functions[client], .keyword("timed-out"), key: key(operationKeys[client])))
                    states[client] = .idle
                    processes[client] = nextProcess
                    nextProcess += 1
                    continue
                }
                let target = operationKeys[client]
                switch functions[client] {
                case "read": states[client] = .applied(registers[target], succeeded: true)
                case "write":
                    registers[target] = inputs[client]
                    states[client] = .applied(inputs[client], succeeded: true)
                default:
                    let pair = inputs[client].listValue ?? []
                    if registers[target] == pair[0] {
                        registers[target] = pair[1]
                        states[client] = .applied(inputs[client], succeeded: true)
                    } else {
                        states[client] = .applied(inputs[client], succeeded: false)
                    }
                }
            case .applied(let value, let succeeded):
                if random.chance(indeterminateChance / 2) {
                    events.append(e(processes[client], .info, functions[client], .keyword("timed-out"), key: key(operationKeys[client])))
                    processes[client] = nextProcess
                    nextProcess += 1
                } else {
                    events.append(e(processes[client], succeeded ? .ok : .fail, functions[client], value, key: key(operationKeys[client])))
                }
                states[client] = .idle
            }
            if invoked == operations, states.allSatisfy({ if case .idle = $0 { return true } else { return false } }) {
                break
            }
        }
        // Whatever is still in flight stays pending: indeterminate.
    }

    /// The same events with the response of one completed read changed to a
    /// value the register never returned there. Nil when there is no such read.
    func corruptingOneRead(seed: UInt64) -> [HistoryEvent]? {
        let reads = events.indices.filter { events[$0].type == .ok && events[$0].function == "read" }
        guard !reads.isEmpty else { return nil }
        var random = SeededGenerator(seed: seed)
        let index = reads[Int(random.next() % UInt64(reads.count))]
        var corrupted = events
        let current = corrupted[index].value.integerValue ?? -1
        corrupted[index].value = .integer((current + 1 + Int64(random.next() % 2)) % 4)
        return corrupted
    }
}

/// The dumb reference: enumerate every subset of the indeterminate operations
/// and every order of the chosen operations, and accept if one order respects
/// the precedence rule and a plain register per key replays it. Exponential; for
/// histories of at most seven operations.
enum BruteForceChecker {
    static func isConsistent(_ history: History, condition: ConsistencyCondition) -> Bool {
        let operations = history.operations.filter { $0.outcome != .fail }
        precondition(operations.count <= 8, "brute force is for tiny histories")
        let determinate = operations.filter { !$0.outcome.isIndeterminate }
        let indeterminate = operations.filter { $0.outcome.isIndeterminate }
        for mask in 0..<(1 << indeterminate.count) {
            var chosen = determinate
            for (bit, operation) in indeterminate.enumerated() where mask & (1 << bit) != 0 { chosen.append(operation) }
            if anyOrderWorks(chosen, condition: condition) { return true }
        }
        return false
    }

    private static func precedes(_ a: Operation, _ b: Operation, _ condition: ConsistencyCondition) -> Bool {
        guard !a.outcome.isIndeterminate, let completed = a.completedAt else { return false }
        switch condition {
        case .linearizable: return completed < b.invokedAt
        case .sequential: return a.process == b.process && a.invokedAt < b.invokedAt
        }
    }

    private static func anyOrderWorks(_ operations: [Operation], condition: ConsistencyCondition) -> Bool {
        var permutation = operations
        func permute(_ start: Int) -> Bool {
            if start == permutation.count { return isLegal(permutation, condition) }
            for index in start..<permutation.count {
                permutation.swapAt(start, index)
                if permute(start + 1) { return true }
                permutation.swapAt(start, index)
            }
            return false
        }
        return permute(0)
    }

    private static func isLegal(_ order: [Operation], _ condition: ConsistencyCondition) -> Bool {
        for (position, operation) in order.enumerated() {
            for later in order[(position + 1)...] where precedes(later, operation, condition) { return false }
        }
        return replaysOnRegisters(order, knownOnly: { !$0.outcome.isIndeterminate })
    }
}

/// Checks a witness independently: every determinate, non-failed operation
/// appears once, the order respects the condition's precedence, and a plain
/// register replays it.
func witnessIsValid(_ witness: [Int], in history: History, condition: ConsistencyCondition) -> Bool {
    let placed = Set(witness)
    guard placed.count == witness.count else { return false }
    for operation in history.operations where operation.outcome == .ok && !placed.contains(operation.id) {
        return false
    }
    let order = witness.map { history.operations[$0] }
    for (position, operation) in order.enumerated() {
        if operation.outcome == .fail { return false }
        for later in order[(position + 1)...] {
            guard !later.outcome.isIndeterminate, let completed = later.completedAt else { continue }
            switch condition {
            case .linearizable: if completed < operation.invokedAt { return false }
            case .sequential:
                if later.process == operation.process && later.invokedAt < operation.invokedAt { return false }
            }
        }
    }
    return replaysOnRegisters(order, knownOnly: { $0.outcome == .ok })
}

/// Replays an order on one plain register per key (nil key: the single
/// register). Responses are checked only for operations `knownOnly` accepts.
func replaysOnRegisters(_ order: [Operation], knownOnly known: (Operation) -> Bool) -> Bool {
    var registers: [HistoryValue?: HistoryValue] = [:]
    for operation in order {
        let register = registers[operation.key] ?? .null
        switch operation.function {
        case "read":
            if known(operation) && (operation.output ?? .null) != register { return false }
        case "write":
            registers[operation.key] = operation.input
        default:
            let pair = operation.input.listValue ?? []
            if register == pair[0] {
                registers[operation.key] = pair[1]
            } else if known(operation) {
                return false
            }
        }
    }
    return true
}
