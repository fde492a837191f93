import Synchronization

/// The cluster epoch once seen: established once by the first leader and
/// never changed, so the service asks the replica only until it knows it.
final class EpochCache: Sendable {
    private let storage = Mutex<UInt64?>(nil)

    var value: UInt64? { storage.withLock { $0 } }

    func remember(_ epoch: UInt64) { storage.withLock { $0 = epoch } }
}
