import ChorusCore
import ChorusKeyValue
import ChorusRaft
import FuzzedChorusMachines
import FuzzedChorusWire
import FuzzSupport

/// What a node reads back from its own disk at start-up (`ChorusNode.rebuild`):
/// a `Checkpoint` (the storage snapshot's payload), then `PersistenceRecord`s
/// (the WAL records after it), replayed into a `RecoveredRaftState`, the
/// state-machine snapshot restored into `ReplicatedMachines`, and finally a
/// `RaftNode` resumed from the result. Each decoder round-trips, and the whole
/// pipeline must end in a value or a typed error, never a trap: the bytes
/// passed their checksums, but a bug or a bit flip before the checksum was
/// taken can still make them anything.
///
/// Input: chunks (`FuzzInput.chunk`): the first is the checkpoint (empty for
/// none), each later one a log record.
enum PersistenceHarness {
    static let limits = RaftCoding.Limits(
        maximumCommandBytes: 1 << 16, maximumMembers: 64, maximumSnapshotBytes: 1 << 18, maximumEntriesPerRecord: 1 << 12)
    static let voters = [NodeID(1), NodeID(2), NodeID(3)]

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let checkpointBytes = input.chunk()
        let recordBytes = input.chunks(limit: 64)

        var checkpoint: Checkpoint?
        if !checkpointBytes.isEmpty {
            guard let decoded = try? Checkpoint(decoding: checkpointBytes, limits: limits) else { return }
            Check.roundTrip(
                decoded, "Checkpoint", encode: { $0.encoded() },
                decode: { (bytes: [UInt8]) throws(WireError) in try Checkpoint(decoding: bytes, limits: limits) })
            checkpoint = decoded
        }
        var state = RecoveredRaftState(checkpoint: checkpoint, initial: .bootstrap(voters: voters))
        for bytes in recordBytes {
            guard let record = try? PersistenceRecord(decoding: bytes, limits: limits) else { return }
            Check.roundTrip(
                record, "PersistenceRecord", encode: { $0.encoded() },
                decode: { (bytes: [UInt8]) throws(WireError) in try PersistenceRecord(decoding: bytes, limits: limits) })
            let before = state
            do { try state.apply(record) } catch {
                precondition(state == before, "a refused record changed the recovered state")
                return
            }
            checkInvariants(state)
        }

        var machines = ReplicatedMachines()
        let snapshot = state.snapshot
        do {
            try machines.restore(from: snapshot.metadata.index == .zero ? [] : snapshot.data, at: snapshot.metadata.index)
        } catch {
            return
        }
        var node: RaftNode
        do {
            node = try RaftNode(
                configuration: RaftConfiguration(nodeID: NodeID(1)), persistentState: state.persistentState, randomSeed: 7)
        } catch {
            return
        }
        // A resumed node must be able to run: tick it through an election timeout.
        for _ in 0..<24 {
            node.tick()
            while node.hasReady { node.advance(node.ready()) }
        }
    }

    /// What replay promises: the entries follow the snapshot, consecutively.
    static func checkInvariants(_ state: RecoveredRaftState) {
        var expected = state.snapshot.metadata.index.next
        for entry in state.entries {
            precondition(entry.index == expected, "recovered entries not consecutive after the snapshot")
            expected = expected.next
        }
    }

    static func seeds() -> [Seed] {
        let configuration = MembershipConfiguration(voters: voters)
        var store = KeyValueStore()
        store.apply(KeyValueCommand(clientID: 1, sequence: 1, operation: .put(key: "x", value: [1])).encoded()[...], at: LogIndex(1))
        store.apply(KeyValueCommand(clientID: 1, sequence: 2, operation: .delete(key: "y")).encoded()[...], at: LogIndex(2))
        let machineSnapshot = StateMachineSnapshot(appliedIndex: LogIndex(2), machines: [(.keyValue, store.snapshot())]).encoded()
        let checkpoint = Checkpoint(
            hardState: HardState(term: Term(2), vote: NodeID(2), commit: LogIndex(3)),
            snapshot: Snapshot(
                metadata: SnapshotMetadata(index: LogIndex(2), term: Term(1), configuration: configuration),
                data: machineSnapshot),
            entries: [
                LogEntry(term: Term(2), index: LogIndex(3), payload: .empty),
                LogEntry(
                    term: Term(2), index: LogIndex(4),
                    payload: .command(ReplicatedMachines.Command.keyValue(
                        KeyValueCommand(clientID: 2, sequence: 1, operation: .put(key: "z", value: [9]))).encoded())),
            ])
        let records: [PersistenceRecord] = [
            .hardState(HardState(term: Term(3), vote: NodeID(1), commit: LogIndex(4))),
            .entries([
                LogEntry(term: Term(3), index: LogIndex(4), payload: .empty),
                LogEntry(term: Term(3), index: LogIndex(5), payload: .configuration(configuration)),
            ]),
            .snapshot(Snapshot(
                metadata: SnapshotMetadata(index: LogIndex(5), term: Term(3), configuration: configuration),
                data: StateMachineSnapshot(appliedIndex: LogIndex(5), machines: []).encoded())),
            .entries([LogEntry(term: Term(3), index: LogIndex(6), payload: .command([1, 0, 1, 1, 97, 1, 98]))]),
        ]
        return [
            Seed("checkpoint-and-records", FuzzInput.chunked([checkpoint.encoded()] + records.map { $0.encoded() })),
            Seed("checkpoint-only", FuzzInput.chunked([checkpoint.encoded()])),
            Seed("records-from-bootstrap", FuzzInput.chunked([[]] + records.map { $0.encoded() })),
            Seed("hard-state", FuzzInput.chunked([[], records[0].encoded()])),
        ]
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPersistence(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    PersistenceHarness.run(FuzzMain.bytes(start, count))
    return 0
}

@main
struct FuzzPersistenceMain {
    static func main() { FuzzMain.run(seeds: PersistenceHarness.seeds, testOneInput: fuzzPersistence) }
}
