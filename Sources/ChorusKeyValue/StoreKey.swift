/// A key as the store compares it: by its UTF-8 bytes.
///
/// Swift's `String` equality is Unicode canonical equivalence, so "é" typed
/// precomposed (C3 A9) and as "e" plus a combining accent (65 CC 81) would be
/// one key. A store must keep apart keys whose bytes differ, as etcd does, so
/// the records are keyed by this instead, and ordered by bytes as well.
struct StoreKey: Hashable, Comparable, Sendable {
    let text: String

    init(_ text: String) { self.text = text }

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
