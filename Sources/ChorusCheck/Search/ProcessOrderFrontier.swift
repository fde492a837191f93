/// The sequential-consistency frontier (Lamport, "How to make a
/// multiprocessor computer that correctly executes multiprocess programs",
/// IEEE TC 1979): one total order that keeps each process's operations in the
/// order the process issued them, with no real-time constraint between
/// processes.
///
/// An operation may go next once every earlier determinate operation of its
/// process is placed. An indeterminate operation orders after its process's
/// earlier operations but constrains nothing after it (the process moved on
/// without knowing whether it took effect), and it may stay unplaced.
struct ProcessOrderFrontier: SearchFrontier {
    /// The nearest earlier determinate operation of the same process, or -1.
    private let previousDeterminate: [Int]
    private var placed: BitSet

    init<M: Model>(_ partition: PreparedPartition<M>) {
        var previousDeterminate = [Int](repeating: -1, count: partition.count)
        var lastDeterminateByProcess: [ProcessID: Int] = [:]
        for operation in 0..<partition.count {
            let process = partition.processes[operation]
            previousDeterminate[operation] = lastDeterminateByProcess[process] ?? -1
            if partition.deadline[operation] != nil { lastDeterminateByProcess[process] = operation }
        }
        self.previousDeterminate = previousDeterminate
        placed = BitSet(count: partition.count)
    }

    func first() -> Int? { available(from: 0) }

    func next(after operation: Int) -> Int? { available(from: operation + 1) }

    private func available(from start: Int) -> Int? {
        var operation = start
        while operation < previousDeterminate.count {
            if !placed.contains(operation) {
                let before = previousDeterminate[operation]
                if before < 0 || placed.contains(before) { return operation }
            }
            operation += 1
        }
        return nil
    }

    mutating func place(_ operation: Int) { placed.insert(operation) }

    mutating func unplace(_ operation: Int) { placed.remove(operation) }
}
