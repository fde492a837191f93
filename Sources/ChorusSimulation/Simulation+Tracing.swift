import ChorusCore
import ChorusKeyValue
import ChorusRaft

/// The trace of a run and the hash that pins its determinism.
extension Simulation {
    func trace(_ line: @autoclosure () -> String) {
        guard let traceSink else { return }
        traceSink(TraceLine.stamped(at: now, line()))
    }

    @inline(__always)
    func hash(_ values: UInt64...) {
        mix(now)
        for value in values { mix(value) }
    }

    @inline(__always)
    func mix(_ value: UInt64) {
        traceHasher.combine(value)
    }

    func hashMessage(_ message: RaftMessage) {
        mix(now)
        mix(message.from.rawValue << 32 | message.to.rawValue)
        mix(message.term.rawValue)
        switch message.payload {
        case .appendEntries(let append):
            mix(1)
            mix(append.previousIndex.rawValue)
            mix(UInt64(append.entries.count))
            mix(append.commit.rawValue)
        case .appendEntriesResponse(let response):
            mix(2)
            mix(response.index.rawValue)
            mix(response.rejected ? 1 : 0)
        case .requestVote(let request): mix(request.isPreVote ? 3 : 4)
        case .requestVoteResponse(let response): mix(response.granted ? 5 : 6)
        case .heartbeat(let heartbeat): mix(7); mix(heartbeat.round)
        case .heartbeatResponse(let response): mix(8); mix(response.round)
        case .installSnapshot(let snapshot): mix(9); mix(snapshot.metadata.index.rawValue)
        case .timeoutNow: mix(10)
        case .proposal: mix(11)
        case .readIndex(let context): mix(12); mix(context)
        case .readIndexResponse(let index, _): mix(13); mix(index.rawValue)
        }
    }
}
