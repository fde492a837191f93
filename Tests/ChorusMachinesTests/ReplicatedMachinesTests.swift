import ChorusCore
import ChorusKeyValue
import Testing

@testable import ChorusMachines

/// The machine host: tags route commands, every machine follows the log, and
/// the snapshot container restores exactly or refuses with a reason.
@Suite struct ReplicatedMachinesTests {
    static func put(_ key: String, _ value: UInt8) -> [UInt8] {
        ReplicatedMachines.Command.keyValue(
            KeyValueCommand(clientID: 0, sequence: 0, operation: .put(key: key, value: [value]))
        ).encoded()
    }

    @Test func tagsRouteCommandsAndUnknownOnesAreRefusedAlike() {
        var machines = ReplicatedMachines()
        let put = Self.put("a", 1)
        #expect(put.first == MachineTag.keyValue.rawValue)
        guard case .keyValue(let applied) = machines.apply(put[...], at: 1) else {
            Issue.record("a key-value command went elsewhere")
            return
        }
        #expect(applied.result == .written(version: 1))
        #expect(machines.apply([0xEE, 1, 2][...], at: 2) == .rejected(.unknownMachine(MachineTag(0xEE))))
        #expect(machines.apply([][...], at: 3) == .rejected(.emptyCommand))
        machines.skip(index: 4)
        #expect(machines.appliedIndex == 4)
        #expect(machines.keyValue.appliedIndex == 4, "every machine follows the log, whatever the entry")
        #expect(machines.read(.keyValue(.get(key: "a"))) == .keyValue(.record(KeyValueStore.Record(value: [1], version: 1))))
    }

    @Test func snapshotsRoundTripAndForeignOnesAreRefused() throws {
        var machines = ReplicatedMachines()
        for index in 1...50 { _ = machines.apply(Self.put("k\(index % 7)", UInt8(index))[...], at: LogIndex(UInt64(index))) }
        let snapshot = machines.snapshot()
        var restored = ReplicatedMachines()
        try restored.restore(from: snapshot, at: 50)
        #expect(restored.snapshot() == snapshot)
        #expect(restored.stateDigest == machines.stateDigest)
        // The same next command gives the same state on both.
        _ = machines.apply(Self.put("x", 9)[...], at: 51)
        _ = restored.apply(Self.put("x", 9)[...], at: 51)
        #expect(restored.stateDigest == machines.stateDigest)

        #expect(throws: BinaryDecodingError.self, "installed at another index") {
            var other = ReplicatedMachines()
            try other.restore(from: snapshot, at: 49)
        }
        #expect(throws: BinaryDecodingError.self, "a key-value snapshot of the earlier release (no container)") {
            var other = ReplicatedMachines()
            try other.restore(from: machines.keyValue.snapshot(), at: 51)
        }
        var future = StateMachineSnapshot(appliedIndex: 50, machines: [(.keyValue, machines.keyValue.snapshot())]).encoded()
        future[4] = 9
        do {
            var other = ReplicatedMachines()
            try other.restore(from: future, at: 50)
            Issue.record("a container of version 9 was accepted")
        } catch {
            #expect(error.description.contains("version 9"), "the refusal names the version: \(error)")
        }
        for cut in stride(from: 1, to: snapshot.count, by: max(1, snapshot.count / 40)) {
            var other = ReplicatedMachines()
            #expect(throws: BinaryDecodingError.self) { try other.restore(from: Array(snapshot[0..<cut]), at: 50) }
        }
        var empty = ReplicatedMachines()
        try empty.restore(from: [], at: 12)
        #expect(empty.appliedIndex == 12 && empty.keyValue.keyCount == 0)
    }
}
