/// The consistency an operation asks for (DESIGN.md §2), by the names the API
/// uses. Leaving it out of a request gives the default, `linearizable`.
public enum ConsistencyLevel: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The latest write acknowledged anywhere: a ReadIndex round confirmed by a
    /// quorum (thesis §6.4), then served once the replica has applied that far.
    case linearizable
    /// From one replica's applied state, never older than the session's last
    /// seen index: one total order, monotonic per session.
    case sequential

    public static let `default` = ConsistencyLevel.linearizable

    /// The level named `text`, or an error listing the levels.
    public static func parse(_ text: String) throws(APIProblem) -> ConsistencyLevel {
        guard let level = ConsistencyLevel(rawValue: text) else {
            throw APIProblem(
                .invalidConsistency,
                "consistency must be one of \(allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
        }
        return level
    }

    public var description: String { rawValue }
}
