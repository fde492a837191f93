import NIOCore
import Testing

@testable import ChorusNode

@Suite struct DelayedFramesTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func at(_ milliseconds: Int64) -> NIODeadline { start + .milliseconds(milliseconds) }

    @Test func framesLeaveInTheOrderSentAndOnlyOnceDue() {
        var queue = DelayedFrames()
        #expect(queue.isEmpty)
        #expect(queue.nextDeadline == nil)
        for (number, sent) in [0, 0, 3, 5, 9].enumerated() {
            let accepted = queue.append([UInt8(number)], deadline: Self.at(Int64(sent) + 20), byteLimit: 100)
            #expect(accepted)
        }
        #expect(queue.count == 5)
        #expect(queue.byteCount == 5)
        #expect(queue.nextDeadline == Self.at(20))
        let earlyRelease = queue.release(through: Self.at(19))
        #expect(earlyRelease == [])
        let firstRelease = queue.release(through: Self.at(23))
        #expect(firstRelease == [[0], [1], [2]])
        #expect(queue.nextDeadline == Self.at(25))
        #expect(queue.byteCount == 2)
        let lastRelease = queue.release(through: Self.at(100))
        #expect(lastRelease == [[3], [4]])
        #expect(queue.isEmpty)
        #expect(queue.byteCount == 0)
    }

    /// A frame never overtakes an earlier one, even one due later.
    @Test func anEarlierDeadlineBehindALaterOneWaitsForIt() {
        var queue = DelayedFrames()
        let acceptedLate = queue.append([1], deadline: Self.at(50), byteLimit: 100)
        #expect(acceptedLate)
        let acceptedEarly = queue.append([2], deadline: Self.at(10), byteLimit: 100)
        #expect(acceptedEarly)
        let beforeTheFirstIsDue = queue.release(through: Self.at(20))
        #expect(beforeTheFirstIsDue == [])
        let onceTheFirstIsDue = queue.release(through: Self.at(50))
        #expect(onceTheFirstIsDue == [[1], [2]])
    }

    @Test func theByteLimitRefusesWhatDoesNotFit() {
        var queue = DelayedFrames()
        let acceptedFirst = queue.append([1, 2, 3], deadline: Self.at(1), byteLimit: 4)
        #expect(acceptedFirst)
        let acceptedOverLimit = queue.append([4, 5], deadline: Self.at(2), byteLimit: 4)
        #expect(!acceptedOverLimit)
        let acceptedWithinLimit = queue.append([6], deadline: Self.at(3), byteLimit: 4)
        #expect(acceptedWithinLimit)
        #expect(queue.byteCount == 4)
        let releasedAll = queue.release(through: Self.at(3))
        #expect(releasedAll == [[1, 2, 3], [6]])
        queue.removeAll()
        #expect(queue.isEmpty)
    }

    /// Seeded: many appends and partial releases in any rhythm give back
    /// every frame exactly once, in order.
    @Test func interleavedReleasesKeepTheOrder() {
        let seed: UInt64 = 20_261_201
        print("DelayedFramesTests seed \(seed)")
        var random = seed
        func next() -> UInt64 {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return random >> 33
        }
        var queue = DelayedFrames()
        var released: [Int] = []
        var now: Int64 = 0
        var sent = 0
        for _ in 0..<2_000 {
            now += Int64(next() % 3)
            if next() % 2 == 0 {
                let bytes = withUnsafeBytes(of: UInt32(sent).littleEndian) { Array($0) }
                let accepted = queue.append(bytes, deadline: Self.at(now + 7), byteLimit: 1 << 20)
                #expect(accepted)
                sent += 1
            } else {
                for frame in queue.release(through: Self.at(now)) {
                    released.append(Int(frame.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }.littleEndian))
                }
            }
        }
        for frame in queue.release(through: Self.at(now + 7)) {
            released.append(Int(frame.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }.littleEndian))
        }
        #expect(released == Array(0..<sent), "seed \(seed)")
        #expect(queue.isEmpty)
    }
}
