/// The live text of a `ReplicatedText`, as Unicode scalar values in a gap
/// buffer.
///
/// The CRDT's tree holds only metadata (who inserted what, after what); the
/// characters themselves live here, in document order, deleted ones removed.
/// This is the split diamond-types makes between its content tree and its
/// rope. A gap buffer suits the editing it serves: consecutive edits land
/// near each other (a person types at a cursor), so moving the gap costs
/// little, and an edit is a `memmove` of the distance moved rather than a
/// tree walk. The worst case, alternating edits at the two ends of a long
/// document, moves the whole text per edit: 4 bytes a character, about 40 µs
/// per megabyte-sized move.
///
/// Invariant: `gapStart <= gapEnd <= storage.count`; the text is
/// `storage[..<gapStart] + storage[gapEnd...]`.
struct GapBuffer: Sendable {
    private(set) var storage: [UInt32]
    private(set) var gapStart: Int
    private(set) var gapEnd: Int

    init() {
        storage = []
        gapStart = 0
        gapEnd = 0
    }

    init(scalars: [UInt32]) {
        storage = scalars
        gapStart = scalars.count
        gapEnd = scalars.count
    }

    var count: Int { storage.count - (gapEnd - gapStart) }

    subscript(index: Int) -> UInt32 {
        index < gapStart ? storage[index] : storage[index + gapEnd - gapStart]
    }

    /// Moves the gap to start at `index` and makes it at least `size` long.
    private mutating func moveGap(to index: Int, reserving size: Int) {
        precondition(index >= 0 && index <= count, "gap position \(index) outside 0...\(count)")
        if gapEnd - gapStart < size {
            let newCapacity = Swift.max(storage.count * 2, storage.count + size, 64)
            let tail = storage.count - gapEnd
            var grown = [UInt32](repeating: 0, count: newCapacity)
            grown.withUnsafeMutableBufferPointer { target in
                storage.withUnsafeBufferPointer { source in
                    if gapStart > 0 {
                        target.baseAddress!.update(from: source.baseAddress!, count: gapStart)
                    }
                    if tail > 0 {
                        (target.baseAddress! + newCapacity - tail).update(from: source.baseAddress! + gapEnd, count: tail)
                    }
                }
            }
            storage = grown
            gapEnd = newCapacity - tail
        }
        if index == gapStart { return }
        let gapSize = gapEnd - gapStart
        storage.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            if index < gapStart {
                // Move storage[index ..< gapStart] to the end of the gap.
                let moved = gapStart - index
                (base + index + gapSize).update(from: base + index, count: moved)
            } else {
                // Move storage[gapEnd ..< gapEnd + moved] to the start of the gap.
                let moved = index - gapStart
                (base + gapStart).update(from: base + gapEnd, count: moved)
            }
        }
        gapStart = index
        gapEnd = index + gapSize
    }

    mutating func insert(_ scalars: UnsafeBufferPointer<UInt32>, at index: Int) {
        if scalars.isEmpty { return }
        moveGap(to: index, reserving: scalars.count)
        storage.withUnsafeMutableBufferPointer { buffer in
            (buffer.baseAddress! + gapStart).update(from: scalars.baseAddress!, count: scalars.count)
        }
        gapStart += scalars.count
    }

    mutating func remove(_ range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "removal \(range) outside 0..<\(count)")
        if range.isEmpty { return }
        moveGap(to: range.lowerBound, reserving: 0)
        gapEnd += range.count
    }

    /// Calls `body` with the text from `range`, in at most two contiguous pieces.
    func withPieces(of range: Range<Int>, _ body: (UnsafeBufferPointer<UInt32>) -> Void) {
        storage.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress
            let gapSize = gapEnd - gapStart
            if range.lowerBound < gapStart {
                let end = Swift.min(range.upperBound, gapStart)
                body(UnsafeBufferPointer(start: base! + range.lowerBound, count: end - range.lowerBound))
            }
            if range.upperBound > gapStart {
                let start = Swift.max(range.lowerBound, gapStart)
                body(UnsafeBufferPointer(start: base! + start + gapSize, count: range.upperBound - start))
            }
        }
    }

    /// The text as a `String`.
    var string: String {
        var scalars = String.UnicodeScalarView()
        withPieces(of: 0..<count) { piece in
            for value in piece {
                // Only valid scalars are ever inserted; see `ReplicatedText`.
                scalars.append(Unicode.Scalar(value)!)
            }
        }
        return String(scalars)
    }

    /// Whether the text equals `other`'s, wherever the two gaps are.
    func hasSameText(as other: GapBuffer) -> Bool {
        guard count == other.count else { return false }
        for index in 0..<count where self[index] != other[index] { return false }
        return true
    }
}
