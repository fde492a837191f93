/// The built-in models by name, for callers that choose a model at run time
/// (the `chorus check --model` option). Dispatching here, inside the module,
/// lets the compiler specialize the search for each concrete model.
public enum ModelKind: String, CaseIterable, Sendable {
    case casRegister = "cas-register"
    case keyValue = "kv"
    case set
    case counter
    case queue

    /// Checks on the calling thread; see `Checker.check`.
    public func check(
        _ history: History, condition: ConsistencyCondition, options: CheckOptions = CheckOptions()
    ) throws(ModelError) -> CheckResult {
        switch self {
        case .casRegister: return try Checker.check(history, model: CASRegisterModel(), condition: condition, options: options)
        case .keyValue: return try Checker.check(history, model: KeyValueModel(), condition: condition, options: options)
        case .set: return try Checker.check(history, model: SetModel(), condition: condition, options: options)
        case .counter: return try Checker.check(history, model: CounterModel(), condition: condition, options: options)
        case .queue: return try Checker.check(history, model: QueueModel(), condition: condition, options: options)
        }
    }

    /// Checks partitions in parallel; see `Checker.checkConcurrently`.
    public func checkConcurrently(
        _ history: History, condition: ConsistencyCondition, options: CheckOptions = CheckOptions()
    ) async throws(ModelError) -> CheckResult {
        switch self {
        case .casRegister:
            return try await Checker.checkConcurrently(history, model: CASRegisterModel(), condition: condition, options: options)
        case .keyValue:
            return try await Checker.checkConcurrently(history, model: KeyValueModel(), condition: condition, options: options)
        case .set:
            return try await Checker.checkConcurrently(history, model: SetModel(), condition: condition, options: options)
        case .counter:
            return try await Checker.checkConcurrently(history, model: CounterModel(), condition: condition, options: options)
        case .queue:
            return try await Checker.checkConcurrently(history, model: QueueModel(), condition: condition, options: options)
        }
    }
}
