import ChorusCore
import ChorusKeyValue
import FuzzedChorusMachines
import FuzzSupport

/// The state machines' decoders: `KeyValueCommand` (every write in the log),
/// the key-value store's snapshot (`KeyValueStore(restoring:)`), the
/// `StateMachineSnapshot` container and `ReplicatedMachines.restore`.
///
/// Properties: a decoded command re-encodes to bytes that decode to it; a
/// restored store's snapshot restores to a store with the same snapshot and
/// as many keys as the bytes declared; and a restored store keeps working:
/// the same commands applied to it and to its own re-restored copy give the
/// same results and the same state.
///
/// Input: a mode byte. 0: a command. 1: a key-value snapshot, then chunks of
/// commands to apply after it. 2: a machines snapshot (the container), then
/// commands.
enum MachinesHarness {
    static let limits = KeyValueLimits(maximumKeyBytes: 64, maximumValueBytes: 256, maximumSessions: 8, maximumKeys: 64)

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        switch input.byte() % 3 {
        case 0: command(input.rest())
        case 1:
            let snapshot = input.chunk()
            keyValueSnapshot(snapshot, then: input.chunks(limit: 16))
        default:
            let snapshot = input.chunk()
            machinesSnapshot(snapshot, then: input.chunks(limit: 16))
        }
    }

    static func command(_ bytes: [UInt8]) {
        guard let command = try? KeyValueCommand(decoding: bytes, limits: limits) else { return }
        Check.roundTrip(
            command, "KeyValueCommand", encode: { $0.encoded() },
            decode: { (bytes: [UInt8]) throws(BinaryDecodingError) in try KeyValueCommand(decoding: bytes, limits: limits) })
    }

    static func keyValueSnapshot(_ bytes: [UInt8], then commands: [[UInt8]]) {
        guard let store = try? KeyValueStore(restoring: bytes, limits: limits) else { return }
        // format (1 byte), applied index, then the key count.
        var reader = ByteReader(bytes)
        _ = try! reader.readByte()
        _ = try! reader.readVarint()
        precondition(UInt64(store.keyCount) == (try! reader.readVarint()), "a restored store lost keys the snapshot listed")
        let again = restoredCopy(of: store)
        var original = store
        var copy = again
        var index = store.appliedIndex
        for command in commands {
            guard index.rawValue < UInt64.max - 1 else { return }
            index = index.next
            let first = original.apply(command[...], at: index)
            let second = copy.apply(command[...], at: index)
            precondition(first == second, "a re-restored store answers a command differently")
        }
        precondition(original.snapshot() == copy.snapshot(), "a re-restored store diverges")
    }

    static func restoredCopy(of store: KeyValueStore) -> KeyValueStore {
        let snapshot = store.snapshot()
        let again: KeyValueStore
        do { again = try KeyValueStore(restoring: snapshot, limits: limits) } catch {
            preconditionFailure("a store's own snapshot does not restore: \(error)")
        }
        precondition(again.snapshot() == snapshot, "snapshot is not a fixed point")
        return again
    }

    static func machinesSnapshot(_ bytes: [UInt8], then commands: [[UInt8]]) {
        if let container = try? StateMachineSnapshot(decoding: bytes, maximumMachineBytes: 1 << 16) {
            Check.roundTrip(
                container, "StateMachineSnapshot", encode: { $0.encoded() },
                decode: { (bytes: [UInt8]) throws(BinaryDecodingError) in
                    try StateMachineSnapshot(decoding: bytes, maximumMachineBytes: 1 << 16)
                })
        }
        var machines = ReplicatedMachines(keyValueLimits: limits)
        var reader = ByteReader(bytes)
        // The container's applied index is where it is installed.
        _ = try? reader.readRaw(count: 5)
        let index = LogIndex((try? reader.readVarint()) ?? 0)
        do { try machines.restore(from: bytes, at: index) } catch { return }
        precondition(machines.appliedIndex == index, "restore did not move the applied index")
        var copy = ReplicatedMachines(keyValueLimits: limits)
        do { try copy.restore(from: machines.snapshot(), at: index) } catch {
            preconditionFailure("the machines' own snapshot does not restore: \(error)")
        }
        precondition(copy.snapshot() == machines.snapshot(), "machines snapshot is not a fixed point")
        var next = index
        for command in commands {
            guard next.rawValue < UInt64.max - 1 else { return }
            next = next.next
            let first = machines.apply(command[...], at: next)
            let second = copy.apply(command[...], at: next)
            precondition(first == second, "re-restored machines answer a command differently")
        }
        precondition(machines.stateDigest == copy.stateDigest, "re-restored machines diverge")
    }

    static func seeds() -> [Seed] {
        let commands = [
            KeyValueCommand(clientID: 1, sequence: 1, operation: .put(key: "x", value: Array("one".utf8))),
            KeyValueCommand(clientID: 1, sequence: 2, operation: .compareAndSet(key: "x", expectedVersion: LogIndex(1), value: [2])),
            KeyValueCommand(clientID: 0, sequence: 0, operation: .delete(key: "x")),
            KeyValueCommand(clientID: 2, sequence: 1, operation: .put(key: "é", value: [])),
            KeyValueCommand(clientID: 2, sequence: 1, operation: .put(key: "e\u{301}", value: [7])),
        ]
        var store = KeyValueStore(limits: limits)
        for (position, command) in commands.enumerated() {
            store.apply(command.encoded()[...], at: LogIndex(UInt64(position) + 1))
        }
        var machines = ReplicatedMachines(keyValueLimits: limits)
        for (position, command) in commands.enumerated() {
            _ = machines.apply(ReplicatedMachines.Command.keyValue(command).encoded()[...], at: LogIndex(UInt64(position) + 1))
        }
        let later = commands.map { $0.encoded() }
        return commands.enumerated().map { Seed("command-\($0.offset)", [0] + $0.element.encoded()) } + [
            Seed("key-value-snapshot", [1] + FuzzInput.chunked([store.snapshot()] + later)),
            Seed("machines-snapshot", [2] + FuzzInput.chunked([machines.snapshot()] + later.map { [1] + $0 })),
            Seed("machines-empty", [2] + FuzzInput.chunked([StateMachineSnapshot(appliedIndex: LogIndex(3), machines: []).encoded()])),
        ]
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMachines(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    MachinesHarness.run(FuzzMain.bytes(start, count))
    return 0
}

@main
struct FuzzMachinesMain {
    static func main() { FuzzMain.run(seeds: MachinesHarness.seeds, testOneInput: fuzzMachines) }
}
