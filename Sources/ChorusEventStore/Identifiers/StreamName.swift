/// A stream's name: a UTF-8 string compared, hashed and ordered by its bytes.
///
/// Swift's `String` equality is Unicode canonical equivalence, so two spellings
/// of "é" would be one stream; a store must keep apart names whose bytes differ
/// (as KurrentDB does), so names are compared as bytes, like the key-value
/// store's keys.
///
/// Names that start with `$` are reserved for system streams (`$all`, the
/// key-value change feeds `$kv-<keyspace>`, the parked streams of persistent
/// subscription groups): clients cannot append to, delete or otherwise write
/// them; the store writes them itself.
public struct StreamName: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let text: String

    /// A name, unchecked: `validate(limits:)` says whether a client may write it.
    public init(_ text: String) { self.text = text }
    public init(stringLiteral value: String) { self.text = value }

    /// The name of the store-wide stream every event belongs to.
    public static let all = StreamName("$all")
    /// The prefix that marks system streams.
    public static let systemPrefix = "$"

    public var isSystem: Bool { text.utf8.first == UInt8(ascii: "$") }
    public var byteCount: Int { text.utf8.count }

    public var description: String { text }

    /// Why a client may not use this name for a stream it writes, or nil if it may.
    public func validate(limits: EventStoreLimits) -> StreamNameProblem? {
        if let problem = Self.problem(in: text, maximumBytes: limits.maximumStreamNameBytes) { return problem }
        if isSystem { return .reservedForSystemStreams }
        return nil
    }

    /// Why this name cannot name any stream (system streams included), or nil.
    func validateAnyStream(limits: EventStoreLimits) -> StreamNameProblem? {
        if self == .all { return .reservedForSystemStreams }
        return Self.problem(in: text, maximumBytes: isSystem ? limits.maximumSystemStreamNameBytes : limits.maximumStreamNameBytes)
    }

    static func problem(in text: String, maximumBytes: Int) -> StreamNameProblem? {
        let count = text.utf8.count
        if count == 0 { return .empty }
        if count > maximumBytes { return .tooLong(bytes: count, limit: maximumBytes) }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return .controlCharacter }
        return nil
    }

    public static func == (left: StreamName, right: StreamName) -> Bool { left.text.utf8.elementsEqual(right.text.utf8) }

    public static func < (left: StreamName, right: StreamName) -> Bool {
        left.text.utf8.lexicographicallyPrecedes(right.text.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        let hashed: Void? = text.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if hashed == nil {
            for byte in text.utf8 { hasher.combine(byte) }
        }
        hasher.combine(text.utf8.count)
    }

    /// True when this name's bytes start with `prefix`'s.
    func hasBytePrefix(_ prefix: String) -> Bool {
        var name = text.utf8.makeIterator()
        for byte in prefix.utf8 {
            guard name.next() == byte else { return false }
        }
        return true
    }
}

/// Why a stream name was refused.
public enum StreamNameProblem: Hashable, Sendable, CustomStringConvertible {
    case empty
    case tooLong(bytes: Int, limit: Int)
    /// A control character (U+0000–U+001F or U+007F).
    case controlCharacter
    /// `$`-prefixed names (and `$all`) belong to the store.
    case reservedForSystemStreams

    public var description: String {
        switch self {
        case .empty: "a stream name must not be empty"
        case .tooLong(let bytes, let limit): "a stream name of \(bytes) bytes exceeds the limit of \(limit)"
        case .controlCharacter: "a stream name must not contain control characters"
        case .reservedForSystemStreams: "stream names starting with $ are reserved for system streams"
        }
    }
}
