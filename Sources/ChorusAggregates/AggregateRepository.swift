import ChorusAPI
import ChorusClient
import ChorusCore

/// Loads aggregates from their streams and carries out commands on them, over
/// a cluster's event store (`ChorusClient`):
///
/// - **Load**: the newest usable snapshot (stream `S.snapshots`), then the
///   events of `S` after its revision, each upcast to its type's current
///   schema version (`Upcasters`) and folded in. Reads are linearizable
///   unless `consistency` says otherwise, so a decision sees every
///   acknowledged event.
/// - **Execute**: load, decide, append with the expected revision of what
///   was loaded; a `wrong_expected_version` (another writer moved the stream
///   on) starts over, up to `maximumAttempts`, then `AggregateError.conflict`.
///   An append whose outcome is unknown is not decided again (it may have
///   landed; the client already retried it under the same event ids).
/// - **Snapshots**: when a command takes the stream across a multiple of
///   `snapshotEvery` events, the state after it is appended to `S.snapshots`
///   (type `aggregate-snapshot`, the aggregate's bytes, the revision, position
///   and time it stands for in the metadata). A failed snapshot write fails
///   nothing: the next load reads more events.
/// - **As of**: the state as of a global position or a recorded time, from a
///   snapshot no later than it and the events up to it (time travel). A stream
///   whose early events are gone (truncated, scavenged) gives
///   `historyUnavailable`, never a state built from a part of its history.
public struct AggregateRepository<A: Aggregate>: Sendable {
    public let client: ChorusClient
    public var upcasters: Upcasters
    /// Snapshot every this many events; 0: never.
    public var snapshotEvery: Int
    public var maximumAttempts: Int
    public var pageSize = 500
    public var consistency: ConsistencyLevel = .linearizable

    public static var snapshotEventType: String { "aggregate-snapshot" }
    public static func snapshotStream(of stream: String) -> String { stream + ".snapshots" }

    public init(client: ChorusClient, upcasters: Upcasters = Upcasters(), snapshotEvery: Int = 100, maximumAttempts: Int = 5) {
        precondition(snapshotEvery >= 0 && maximumAttempts >= 1, "a snapshot interval of 0 or more, at least one attempt")
        self.client = client
        self.upcasters = upcasters
        self.snapshotEvery = snapshotEvery
        self.maximumAttempts = maximumAttempts
    }

    /// A point in the store's history.
    public enum AsOf: Sendable, Hashable {
        /// Every event at or before this global position (`$all`).
        case position(UInt64)
        /// Every event recorded at or before this time (microseconds since the Unix epoch).
        case time(microseconds: Int64)

        func includes(position: UInt64, time: Int64) -> Bool {
            switch self {
            case .position(let limit): position <= limit
            case .time(let limit): time <= limit
            }
        }
    }

    public struct Loaded: Sendable {
        public var state: A
        /// The last revision folded in; nil for a stream without events.
        public var revision: UInt64?
        /// The snapshot's revision, if one was used.
        public var snapshotRevision: UInt64?
        /// Events read from the stream itself (after the snapshot).
        public var eventsRead: Int
    }

    public struct Executed: Sendable {
        public var appended: AppendResult?
        public var attempts: Int
        public var snapshotWritten: Bool
    }

    // MARK: Load

    public func load(_ stream: String, asOf: AsOf? = nil, useSnapshots: Bool = true) async throws(AggregateError) -> Loaded {
        var loaded = Loaded(state: A(), revision: nil, snapshotRevision: nil, eventsRead: 0)
        if useSnapshots, let snapshot = try await newestSnapshot(of: stream, asOf: asOf) {
            loaded.state = try A(snapshot: snapshot.bytes)
            loaded.revision = snapshot.revision
            loaded.snapshotRevision = snapshot.revision
        }
        var from = loaded.revision.map { $0 + 1 } ?? 0
        while true {
            let page: StreamPage
            do {
                page = try await client.readStream(stream, from: from, limit: pageSize, consistency: consistency)
            } catch let error where error.code == .streamNotFound {
                return loaded
            } catch {
                throw .client(error)
            }
            for recorded in page.events {
                if let asOf, !asOf.includes(position: recorded.position, time: recorded.recordedTimeMicroseconds) { return loaded }
                guard recorded.revision == from else { throw .historyUnavailable(stream: stream, firstRevision: recorded.revision) }
                loaded.state.apply(try A.decode(upcasters.upcast(recorded)))
                loaded.revision = recorded.revision
                loaded.eventsRead += 1
                from = recorded.revision + 1
            }
            guard let next = page.nextRevision, !page.events.isEmpty else { return loaded }
            from = next
        }
    }

    struct Snapshot {
        var bytes: [UInt8]
        var revision: UInt64
    }

    /// The newest snapshot of `stream` no later than `asOf`, or nil.
    func newestSnapshot(of stream: String, asOf: AsOf?) async throws(AggregateError) -> Snapshot? {
        let snapshots = Self.snapshotStream(of: stream)
        var from: UInt64?
        while true {
            let page: StreamPage
            do {
                page = try await client.readStream(snapshots, from: from, backwards: true, limit: 20, consistency: consistency)
            } catch let error where error.code == .streamNotFound {
                return nil
            } catch {
                throw .client(error)
            }
            for event in page.events where event.type == Self.snapshotEventType {
                guard let metadata = try? JSONValue(parsing: event.metadata), let revision = metadata["revision"]?.int64Value,
                    let position = metadata["position"]?.int64Value, let time = metadata["time"]?.int64Value, revision >= 0,
                    position >= 0
                else { throw .decoding("\(snapshots)@\(event.revision): a snapshot without revision, position and time") }
                if let asOf, !asOf.includes(position: UInt64(position), time: time) { continue }
                return Snapshot(bytes: event.data, revision: UInt64(revision))
            }
            guard let next = page.nextRevision, !page.events.isEmpty else { return nil }
            from = next
        }
    }

    // MARK: Execute

    public func execute(_ command: A.Command, on stream: String) async throws(AggregateError) -> Executed {
        for attempt in 1...maximumAttempts {
            let loaded = try await load(stream)
            let events = try loaded.state.decide(command)
            guard !events.isEmpty else { return Executed(appended: nil, attempts: attempt, snapshotWritten: false) }
            let result: AppendResult
            do {
                result = try await client.append(
                    events.map(A.encode), to: stream, expected: loaded.revision.map(ExpectedRevision.exactly) ?? .noStream)
            } catch let error where error.code == .wrongExpectedVersion {
                continue
            } catch {
                throw .client(error)
            }
            var snapshotWritten = false
            let before = loaded.revision.map { Int($0) + 1 } ?? 0
            let after = Int(result.lastRevision) + 1
            if snapshotEvery > 0, after / snapshotEvery > before / snapshotEvery {
                var state = loaded.state
                for event in events { state.apply(event) }
                snapshotWritten = await writeSnapshot(state, of: stream, at: result)
            }
            return Executed(appended: result, attempts: attempt, snapshotWritten: snapshotWritten)
        }
        throw .conflict(stream: stream, attempts: maximumAttempts)
    }

    /// Appends the state after `result` as a snapshot; false if the write failed.
    func writeSnapshot(_ state: A, of stream: String, at result: AppendResult) async -> Bool {
        // The time it stands for is its last event's recorded time (the leader
        // stamps events, not appends), so an as-of-time read can use it too.
        let last = try? await client.readStream(stream, from: result.lastRevision, limit: 1, consistency: consistency)
        let time = last?.events.first.map(\.recordedTimeMicroseconds) ?? Int64.max
        let metadata = JSONValue.object([
            "revision": .number(JSONNumber(Int(result.lastRevision))), "position": .number(JSONNumber(Int(result.lastPosition))),
            "time": .number(JSONNumber(Int(time))),
        ])
        let snapshot = EventToAppend(type: Self.snapshotEventType, data: state.snapshot(), metadata: Array(metadata.text.utf8))
        do {
            _ = try await client.append([snapshot], to: Self.snapshotStream(of: stream))
            return true
        } catch {
            return false
        }
    }
}
