import NIOCore

/// The frames one peer link holds back under `NodeConfiguration.peerDelayMilliseconds`
/// (experiments only): a FIFO queue of encoded frames, each with the
/// deadline after which it may be written.
///
/// Order is the invariant: `release(through:)` hands back only a prefix of
/// what was appended, so a frame never overtakes one sent before it, even
/// if deadlines were to go backwards (they do not: each is the send time
/// plus one constant delay). Bounded by `byteLimit` per append: a frame that
/// does not fit is refused (the caller counts it dropped; Raft retransmits).
struct DelayedFrames {
    private var frames: [(deadline: NIODeadline, bytes: [UInt8])] = []
    /// Frames before this index were released; compacted once it passes half the array.
    private var head = 0
    private(set) var byteCount = 0

    var isEmpty: Bool { head == frames.count }
    var count: Int { frames.count - head }
    /// When the oldest frame may go, nil if none waits.
    var nextDeadline: NIODeadline? { isEmpty ? nil : frames[head].deadline }

    /// Queues `bytes` until `deadline`; false (nothing queued) if it would take the queue past `byteLimit`.
    mutating func append(_ bytes: [UInt8], deadline: NIODeadline, byteLimit: Int) -> Bool {
        guard byteCount + bytes.count <= byteLimit else { return false }
        frames.append((deadline, bytes))
        byteCount += bytes.count
        return true
    }

    /// The oldest frames whose deadline is at or before `now`, in the order they were appended.
    mutating func release(through now: NIODeadline) -> [[UInt8]] {
        var released: [[UInt8]] = []
        while head < frames.count, frames[head].deadline <= now {
            released.append(frames[head].bytes)
            byteCount -= frames[head].bytes.count
            head += 1
        }
        if head == frames.count {
            frames.removeAll(keepingCapacity: true)
            head = 0
        } else if head > frames.count / 2 {
            frames.removeFirst(head)
            head = 0
        }
        precondition(byteCount >= 0, "released more bytes than were queued")
        return released
    }

    mutating func removeAll() {
        frames.removeAll()
        head = 0
        byteCount = 0
    }
}
