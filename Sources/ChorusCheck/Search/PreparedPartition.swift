/// One partition's operations translated into a model's inputs and outputs,
/// in the flat arrays the searches index. Built once per check.
///
/// Invariants: all arrays have `count` elements; `deadline[i] == nil` exactly
/// when operation `i` is indeterminate; `invokedAt[i] <= deadline[i]`.
struct PreparedPartition<M: Model>: Sendable {
    let model: M
    /// The history's key for this partition (nil for unkeyed operations or a single whole-history search).
    let key: HistoryValue?
    /// History operation ids, in the order the partition indexes them (invocation order).
    var operationIDs: [Int] = []
    var inputs: [M.Input] = []
    var outputs: [M.Output?] = []
    var processes: [ProcessID] = []
    var invokedAt: [Int] = []
    /// Completion instant of a determinate operation; nil for an indeterminate one.
    var deadline: [Int?] = []
    /// Operations translated but dropped before the search (failed, or
    /// indeterminate and read-only), kept for reports.
    var droppedOperationIDs: [Int] = []
    /// The values the model interned while translating.
    var values = ValueTable()

    var count: Int { operationIDs.count }
    var determinateCount: Int { deadline.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }

    init(model: M, key: HistoryValue?) {
        self.model = model
        self.key = key
    }

    /// Adds the operations (already in history order) that matter to the
    /// search: a `:fail` operation did not happen and is dropped; so is an
    /// indeterminate operation that cannot change the state.
    mutating func add(_ operations: [Operation]) throws(ModelError) {
        for operation in operations {
            if operation.outcome == .fail {
                droppedOperationIDs.append(operation.id)
                continue
            }
            let translated = try model.translate(operation, values: &values)
            let determinate = !operation.outcome.isIndeterminate
            if determinate && translated.output == nil {
                throw ModelError("model \(model.name) gave no output for a completed operation", operation: operation)
            }
            if !determinate && model.isReadOnly(translated.input) {
                droppedOperationIDs.append(operation.id)
                continue
            }
            operationIDs.append(operation.id)
            inputs.append(translated.input)
            outputs.append(determinate ? translated.output : nil)
            processes.append(operation.process)
            invokedAt.append(operation.invokedAt)
            deadline.append(determinate ? operation.completedAt : nil)
        }
    }
}
