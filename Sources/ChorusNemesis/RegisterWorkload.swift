import ChorusCheck
import ChorusClient
import ChorusCore
import Synchronization

/// Jepsen's register workload against a real cluster, shared by the nemesis
/// tests and `chorus nemesis`: each client does put / linearizable get /
/// compare-and-set on a few keys, and now and then writes a key once (which
/// must survive everything once acknowledged). The history is recorded in
/// ChorusCheck's terms for the cas-register model, one register per key.
///
/// Mapping onto the model: every write writes a unique value, so a version
/// names exactly one value; a compare-and-set by version V is recorded as
/// `cas [value written at V, new value]` (V = 0: `[nil, new]`). A failed
/// condition (412) is `:fail`; a write whose outcome the client could not
/// learn is `:info`, after which the client continues as a new process, as
/// Jepsen does.
public enum RegisterWorkload {
    public static let keys = ["a", "b", "c", "d"]

    /// The history, appended in real-time order under one lock.
    public final class Recorder: Sendable {
        public struct State: Sendable {
            public var events: [HistoryEvent] = []
            public var acknowledgedFreshWrites: [(key: String, value: String)] = []
            public var completed = 0
            public var indeterminate = 0
        }

        /// More events than a bounded run makes: a runaway loop traps.
        public static let eventCountMaximum = 2_000_000
        public let state = Mutex(State())

        public init() {}

        public func record(_ event: HistoryEvent) {
            state.withLock {
                precondition($0.events.count < Self.eventCountMaximum, "the recorder's event limit was reached")
                $0.events.append(event)
            }
        }

        public var snapshot: State { state.withLock { $0 } }
    }

    /// Runs client `number` (of `clientCount`, which spaces the process ids
    /// it takes after an indeterminate operation) until `deadline`.
    public static func runClient(
        _ number: Int, of clientCount: Int, client: ChorusClient, recorder: Recorder, until deadline: ContinuousClock.Instant
    ) async {
        var random = SeededGenerator(seed: UInt64(number) &* 7_919 &+ 17)
        var process = Int64(number)
        var sequence = 0
        // What this client last saw of each key: (version, value).
        var observed: [String: (version: UInt64, value: String?)] = [:]
        while ContinuousClock.now < deadline {
            sequence += 1
            let key = keys[Int(random.next() % UInt64(keys.count))]
            let choice = random.next() % 10
            let unique = "c\(number)-\(sequence)"
            func event(_ type: EventType, _ function: String, _ value: HistoryValue, key: String = key) {
                recorder.record(HistoryEvent(process: ProcessID(process), type: type, function: function, key: .string(key), value: value))
            }
            func indeterminate(_ function: String, _ value: HistoryValue, key: String = key) {
                event(.info, function, value, key: key)
                recorder.state.withLock { $0.indeterminate += 1 }
                // An indeterminate operation stays open forever: continue as a new process.
                process += Int64(clientCount)
            }
            switch choice {
            case 0...3:
                event(.invoke, "read", .null)
                do {
                    let read = try await client.get(key)
                    let value = read.map { String(decoding: $0.value, as: UTF8.self) }
                    event(.ok, "read", value.map(HistoryValue.string) ?? .null)
                    observed[key] = (read?.version ?? 0, value)
                    recorder.state.withLock { $0.completed += 1 }
                } catch {
                    event(.fail, "read", .null)
                }
            case 4...6:
                event(.invoke, "write", .string(unique))
                do {
                    let version = try await client.put(key, Array(unique.utf8))
                    event(.ok, "write", .string(unique))
                    observed[key] = (version, unique)
                    recorder.state.withLock { $0.completed += 1 }
                } catch {
                    indeterminate("write", .string(unique))
                }
            case 7...8:
                let (expectedVersion, expectedValue) = observed[key] ?? (0, nil)
                let pair = HistoryValue.list([expectedValue.map(HistoryValue.string) ?? .null, .string(unique)])
                event(.invoke, "cas", pair)
                do {
                    let version = try await client.put(key, Array(unique.utf8), expectedVersion: expectedVersion)
                    event(.ok, "cas", pair)
                    observed[key] = (version, unique)
                    recorder.state.withLock { $0.completed += 1 }
                } catch ChorusClientError.versionMismatch {
                    event(.fail, "cas", pair)
                    observed[key] = nil
                    recorder.state.withLock { $0.completed += 1 }
                } catch {
                    indeterminate("cas", pair)
                }
            default:
                let freshKey = "fresh-\(unique)"
                event(.invoke, "write", .string(unique), key: freshKey)
                do {
                    _ = try await client.put(freshKey, Array(unique.utf8))
                    event(.ok, "write", .string(unique), key: freshKey)
                    recorder.state.withLock {
                        $0.acknowledgedFreshWrites.append((freshKey, unique))
                        $0.completed += 1
                    }
                } catch {
                    indeterminate("write", .string(unique), key: freshKey)
                }
            }
        }
    }

    /// The negative controls' workload: one key, each client only reading it
    /// (`reads`) or only writing unique values to it (`tag` keeps values of
    /// several runs on one cluster apart), until `deadline`.
    public static func runOneKey(
        _ number: Int, of clientCount: Int, reads: Bool, key: String = "k", tag: String = "", client: ChorusClient,
        recorder: Recorder, until deadline: ContinuousClock.Instant
    ) async {
        var process = Int64(number)
        var sequence = 0
        while ContinuousClock.now < deadline {
            sequence += 1
            func record(_ type: EventType, _ function: String, _ value: HistoryValue) {
                recorder.record(HistoryEvent(process: ProcessID(process), type: type, function: function, key: .string(key), value: value))
            }
            if reads {
                record(.invoke, "read", .null)
                do {
                    let read = try await client.get(key)
                    record(.ok, "read", read.map { .string(String(decoding: $0.value, as: UTF8.self)) } ?? .null)
                } catch {
                    record(.fail, "read", .null)
                    try? await Task.sleep(for: .milliseconds(2))
                }
            } else {
                let text = "w\(number)-\(sequence)\(tag)"
                record(.invoke, "write", .string(text))
                if (try? await client.put(key, Array(text.utf8))) != nil {
                    record(.ok, "write", .string(text))
                } else {
                    record(.info, "write", .string(text))
                    process += Int64(clientCount)
                }
            }
        }
    }

    /// The write-once keys whose acknowledged value `client` does not read
    /// back: a read that answers, with another value or none. A read that
    /// fails (a timeout while the healed cluster settles) is retried, up to
    /// `attempts` times; a key no attempt could read is reported as such,
    /// never as lost (a campaign once reported six "lost" keys that every node
    /// held, read by requests that had timed out).
    public static func lostFreshWrites(_ recorder: Recorder, client: ChorusClient, attempts: Int = 10) async throws(NemesisError)
        -> [String]
    {
        var lost: [String] = []
        for (key, value) in recorder.snapshot.acknowledgedFreshWrites {
            var answer: VersionedValue??
            var lastError = ""
            for attempt in 0..<attempts where answer == nil {
                do {
                    answer = .some(try await client.get(key))
                } catch {
                    lastError = "\(error)"
                    try? await Task.sleep(for: .milliseconds(100 * (attempt + 1)))
                }
            }
            guard let read = answer else {
                throw .cluster("\(key) could not be read in \(attempts) attempts: \(lastError)")
            }
            if read.map({ String(decoding: $0.value, as: UTF8.self) }) != value { lost.append(key) }
        }
        return lost
    }

    /// Checks the recorded history against the cas-register model.
    public static func check(_ recorder: Recorder, timeoutSeconds: Int = 60) async throws -> CheckResult {
        let history = try History(events: recorder.snapshot.events)
        return try await Checker.checkConcurrently(
            history, model: CASRegisterModel(), condition: .linearizable, options: CheckOptions(timeout: .seconds(timeoutSeconds)))
    }
}
