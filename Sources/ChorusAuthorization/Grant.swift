/// One permission of a role: these actions on every resource whose name one
/// of these patterns matches (resources of each action's own kind; the
/// cluster has no name, so a cluster action is granted whatever the patterns).
///
/// Actions and patterns are kept sorted and without repeats, so a grant
/// built from any order compares and renders the same.
public struct Grant: Sendable, Hashable, CustomStringConvertible {
    public let actions: [Action]
    public let patterns: [NamePattern]

    public init(actions: [Action], patterns: [NamePattern]) {
        precondition(!actions.isEmpty && !patterns.isEmpty, "a grant names at least one action and one pattern")
        self.actions = Array(Set(actions)).sorted()
        self.patterns = Array(Set(patterns)).sorted()
    }

    /// Every action on every name.
    public static let everything = Grant(actions: Action.allCases, patterns: [.everything])

    public func allows(_ action: Action, _ resource: Resource) -> Bool {
        guard actions.contains(action) else { return false }
        if resource.kind == .cluster { return true }
        return patterns.contains { $0.matches(resource.name) }
    }

    public var description: String {
        "\(actions.map(\.rawValue).joined(separator: ",")) on \(patterns.map(\.description).joined(separator: ","))"
    }
}
