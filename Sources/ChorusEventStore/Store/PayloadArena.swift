/// The bytes of every retained event (type, data, metadata, back to back),
/// packed into fixed-size chunks so that a million events cost a few hundred
/// buffers, not a few million, and appending never copies the bytes already
/// held (a growing single buffer would copy all of them at each doubling).
///
/// A payload never spans two chunks; one larger than a chunk gets a chunk of
/// its own. Chunks are only appended to; a scavenge builds a new arena.
struct PayloadArena: Sendable {
    private(set) var chunks: [[UInt8]] = []
    let chunkBytes: Int
    /// Payload bytes held (without the unused tails of chunks).
    private(set) var byteCount = 0

    init(chunkBytes: Int) {
        precondition(chunkBytes > 0 && chunkBytes <= Int(UInt32.max), "payload chunk size \(chunkBytes) out of range")
        self.chunkBytes = chunkBytes
    }

    /// Appends three parts as one payload and returns where it starts.
    mutating func append<First: Collection, Second: Collection, Third: Collection>(
        _ first: First, _ second: Second, _ third: Third
    ) -> (chunk: UInt32, offset: UInt32) where First.Element == UInt8, Second.Element == UInt8, Third.Element == UInt8 {
        append(count: first.count + second.count + third.count) { chunk in
            chunk.append(contentsOf: first)
            chunk.append(contentsOf: second)
            chunk.append(contentsOf: third)
        }
    }

    /// Appends a payload copied from another arena.
    mutating func append(_ bytes: ArraySlice<UInt8>) -> (chunk: UInt32, offset: UInt32) {
        append(count: bytes.count) { chunk in chunk.append(contentsOf: bytes) }
    }

    private mutating func append(count: Int, write: (inout [UInt8]) -> Void) -> (chunk: UInt32, offset: UInt32) {
        if chunks.isEmpty || chunks[chunks.count - 1].count + count > chunkBytes && !chunks[chunks.count - 1].isEmpty {
            var fresh: [UInt8] = []
            fresh.reserveCapacity(Swift.max(chunkBytes, count))
            chunks.append(fresh)
        }
        let chunk = chunks.count - 1
        let offset = chunks[chunk].count
        write(&chunks[chunk])
        precondition(chunks[chunk].count == offset + count, "payload arena wrote \(chunks[chunk].count - offset) of \(count) bytes")
        byteCount += count
        return (UInt32(chunk), UInt32(offset))
    }

    func bytes(chunk: UInt32, offset: UInt32, count: Int) -> ArraySlice<UInt8> {
        let start = Int(offset)
        return chunks[Int(chunk)][start..<(start + count)]
    }
}
