/// A key as the store compares it: its keyspace, then its UTF-8 bytes.
///
/// Swift's `String` equality is Unicode canonical equivalence, so "é" typed
/// precomposed (C3 A9) and as "e" plus a combining accent (65 CC 81) would be
/// one key. A store must keep apart keys whose bytes differ, as etcd does, so
/// the records are keyed by this instead, and ordered by bytes as well.
///
/// The keyspace and the key are one string, `keyspace · 0x00 · key`: keyspace
/// names never hold a NUL, so the byte order of the joined text is the order
/// of (keyspace, key), and a keyspace's keys with one prefix are contiguous.
struct StoreKey: Hashable, Comparable, Sendable {
    let text: String

    init(keyspace: String, key: String) { self.text = keyspace + "\u{0}" + key }

    private init(joined: String) { self.text = joined }

    /// The smallest key of `keyspace` that starts with `prefix`.
    static func start(keyspace: String, prefix: String) -> StoreKey { StoreKey(keyspace: keyspace, key: prefix) }

    var keyspace: String {
        String(decoding: text.utf8.prefix { $0 != 0 }, as: UTF8.self)
    }

    var key: String {
        let bytes = text.utf8
        guard let separator = bytes.firstIndex(of: 0) else { return "" }
        return String(decoding: bytes[bytes.index(after: separator)...], as: UTF8.self)
    }

    /// Whether this key is in `keyspace` and starts with `prefix` (by bytes).
    func belongs(to keyspace: String, prefix: String) -> Bool {
        let head = StoreKey(keyspace: keyspace, key: prefix).text.utf8
        return text.utf8.starts(with: head)
    }

    static func == (left: StoreKey, right: StoreKey) -> Bool { left.text.utf8.elementsEqual(right.text.utf8) }

    static func < (left: StoreKey, right: StoreKey) -> Bool {
        left.text.utf8.lexicographicallyPrecedes(right.text.utf8)
    }

    func hash(into hasher: inout Hasher) {
        let hashed: Void? = text.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if hashed == nil {
            for byte in text.utf8 { hasher.combine(byte) }
        }
        hasher.combine(text.utf8.count)
    }
}
