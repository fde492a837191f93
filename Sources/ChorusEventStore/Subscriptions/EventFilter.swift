/// Which events of `$all` a read or subscription wants: by stream-name prefix
/// and by event-type prefix (KurrentDB's server-side filters). Within each
/// list any prefix may match; when both lists are given, both must match.
///
/// System streams (`$`-prefixed) are left out unless `includeSystemStreams`
/// is set or a matching stream-name prefix itself starts with `$` (so
/// `["$kv-"]` selects the key-value change feeds). Leaving them out by
/// default is what keeps a `$all` persistent group from receiving the parked
/// events it writes itself.
public struct EventFilter: Hashable, Sendable {
    public var streamNamePrefixes: [String]
    public var eventTypePrefixes: [String]
    public var includeSystemStreams: Bool

    public init(streamNamePrefixes: [String] = [], eventTypePrefixes: [String] = [], includeSystemStreams: Bool = false) {
        self.streamNamePrefixes = streamNamePrefixes
        self.eventTypePrefixes = eventTypePrefixes
        self.includeSystemStreams = includeSystemStreams
    }

    /// Every event of client streams.
    public static let clientStreams = EventFilter()
    /// Every event, system streams included.
    public static let everything = EventFilter(includeSystemStreams: true)

    /// Why this filter is refused, or nil.
    func problem(limits: EventStoreLimits) -> String? {
        if streamNamePrefixes.count > limits.maximumFilterPrefixes || eventTypePrefixes.count > limits.maximumFilterPrefixes {
            return "a filter may hold at most \(limits.maximumFilterPrefixes) prefixes of each kind"
        }
        if streamNamePrefixes.contains(where: { $0.utf8.count > limits.maximumSystemStreamNameBytes }) {
            return "a stream-name prefix is longer than any stream name"
        }
        if eventTypePrefixes.contains(where: { $0.utf8.count > limits.maximumEventTypeBytes }) {
            return "an event-type prefix is longer than any event type"
        }
        return nil
    }

    func matches(stream: StreamName) -> Bool {
        let isSystem = stream.isSystem
        if streamNamePrefixes.isEmpty { return !isSystem || includeSystemStreams }
        return streamNamePrefixes.contains { prefix in
            stream.hasBytePrefix(prefix) && (!isSystem || includeSystemStreams || prefix.utf8.first == UInt8(ascii: "$"))
        }
    }

    func matches<Bytes: Collection>(typeBytes: Bytes) -> Bool where Bytes.Element == UInt8 {
        if eventTypePrefixes.isEmpty { return true }
        return eventTypePrefixes.contains { prefix in typeBytes.starts(with: prefix.utf8) }
    }
}

/// What a subscription (catch-up or persistent) reads: one stream, or `$all`
/// through a filter.
public enum SubscriptionSource: Hashable, Sendable, CustomStringConvertible {
    case stream(StreamName)
    case all(EventFilter)

    /// The stream name the source is known by (`$all` for `$all`).
    public var streamName: StreamName {
        switch self {
        case .stream(let name): name
        case .all: .all
        }
    }

    public var description: String { streamName.text }
}

/// Where a subscription is in its source: before everything, or just after the
/// event (or the scanned position, for filtered `$all`) at a global position.
/// Streams and `$all` alike are tracked by global position, because every
/// event has one and a stream's events are in position order.
public enum SubscriptionCursor: Hashable, Sendable, Comparable, CustomStringConvertible {
    case start
    case after(GlobalPosition)

    /// The first position the cursor has not passed.
    var nextPosition: GlobalPosition {
        switch self {
        case .start: .zero
        case .after(let position): GlobalPosition(position.rawValue == .max ? .max : position.rawValue + 1)
        }
    }

    public static func < (lhs: SubscriptionCursor, rhs: SubscriptionCursor) -> Bool {
        switch (lhs, rhs) {
        case (.start, .after): true
        case (.after(let left), .after(let right)): left < right
        default: false
        }
    }

    public var description: String {
        switch self {
        case .start: "start"
        case .after(let position): "after \(position)"
        }
    }
}
