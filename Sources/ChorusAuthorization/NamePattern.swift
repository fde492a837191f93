/// Which names a grant covers: one name exactly, or every name that starts
/// with a prefix (written `prefix*`; `*` alone is every name). A `*` anywhere
/// but at the end is refused, so a pattern always means what it looks like.
public enum NamePattern: Sendable, Hashable, Comparable, CustomStringConvertible {
    case exact(String)
    case prefix(String)

    public static let everything = NamePattern.prefix("")

    /// The pattern written as `text`, or nil when it has a `*` before its
    /// end, is empty, or is longer than `AuthorizationLimits.maximumPatternBytes`.
    public init?(_ text: String) {
        guard !text.isEmpty, text.utf8.count <= AuthorizationLimits.maximumPatternBytes else { return nil }
        if text.hasSuffix("*") {
            let prefix = text.dropLast()
            guard !prefix.contains("*") else { return nil }
            self = .prefix(String(prefix))
        } else {
            guard !text.contains("*") else { return nil }
            self = .exact(text)
        }
    }

    public func matches(_ name: String) -> Bool {
        switch self {
        case .exact(let exact): name == exact
        case .prefix(let prefix): name.utf8.starts(with: prefix.utf8)
        }
    }

    public var description: String {
        switch self {
        case .exact(let name): name
        case .prefix(let prefix): prefix + "*"
        }
    }

    public static func < (left: NamePattern, right: NamePattern) -> Bool { left.description < right.description }
}
