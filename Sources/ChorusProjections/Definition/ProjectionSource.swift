import ChorusEventStore

/// The event feed a projection folds (KurrentDB's projection sources): one
/// stream, a category (every stream named `kind-…`, written `kind-*`), or
/// `$all` narrowed by event-type prefixes. System streams (`$…`) are never a
/// source: a projection reads what clients wrote.
public enum ProjectionSource: Sendable, Hashable, CustomStringConvertible {
    case stream(StreamName)
    /// Streams whose names start with `kind-` (the text holds `kind`).
    case category(String)
    /// Every client stream's events whose type starts with one of the prefixes
    /// (no prefix: every event).
    case all(eventTypePrefixes: [String])

    /// Parses `order-42`, `order-*` or `$all`.
    public init(text: String, eventTypePrefixes: [String], limits: ProjectionLimits) throws(ProjectionDefinitionError) {
        guard eventTypePrefixes.count <= limits.maximumTypePrefixes else {
            throw ProjectionDefinitionError("at most \(limits.maximumTypePrefixes) event-type prefixes are allowed")
        }
        if text == "$all" {
            guard !eventTypePrefixes.contains(where: \.isEmpty) else {
                throw ProjectionDefinitionError("an event-type prefix is empty (leave the list out to take every event)")
            }
            self = .all(eventTypePrefixes: eventTypePrefixes)
            return
        }
        guard eventTypePrefixes.isEmpty else {
            throw ProjectionDefinitionError("eventTypePrefixes only narrows a '$all' source; a stream or category source has handlers per type instead")
        }
        guard !text.isEmpty else { throw ProjectionDefinitionError("the source is empty (a stream, 'kind-*' or '$all')") }
        guard !text.hasPrefix("$") else {
            throw ProjectionDefinitionError("the source '\(text)' is a system stream; a projection reads a client stream, a category 'kind-*' or '$all'")
        }
        if text.hasSuffix("-*") {
            let kind = String(text.dropLast(2))
            guard !kind.isEmpty, !kind.contains("*") else { throw ProjectionDefinitionError("the category '\(text)' names no kind") }
            self = .category(kind)
            return
        }
        guard !text.contains("*") else {
            throw ProjectionDefinitionError("the source '\(text)' has a '*' that is not a category's '-*' suffix")
        }
        if let problem = StreamName(text).validate(limits: .default) {
            throw ProjectionDefinitionError("the source stream '\(text)' is not a valid stream name (\(problem))")
        }
        self = .stream(StreamName(text))
    }

    /// The catch-up subscription that feeds it (the store's own filters, so
    /// the node examines each event once and the cursor moves past skipped ones).
    public var subscriptionSource: SubscriptionSource {
        switch self {
        case .stream(let name): .stream(name)
        case .category(let kind): .all(EventFilter(streamNamePrefixes: [kind + "-"]))
        case .all(let prefixes): .all(EventFilter(eventTypePrefixes: prefixes))
        }
    }

    public var description: String {
        switch self {
        case .stream(let name): name.text
        case .category(let kind): kind + "-*"
        case .all: "$all"
        }
    }

    public var eventTypePrefixes: [String] {
        if case .all(let prefixes) = self { prefixes } else { [] }
    }
}
