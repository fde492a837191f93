import ChorusReplica
import ChorusMachines
import ChorusKeyValue
import ChorusCore
import ChorusRaft
import ChorusStorage
import ChorusWire
import Logging
import NIOCore
import NIOPosix

/// What `/v1/cluster` and the leadership handoff see.
extension NodeCore {
    func status() -> NodeStatus {
        let raftStatus = raft.status
        let statistics = storage.log.statistics
        let leader = raft.leaderID
        let leaderURL = leader == configuration.nodeID ? configuration.advertisedHTTPURL : peerHTTPURLs[leader]
        return NodeStatus(
            node: configuration.nodeID, role: raft.role, term: raft.term, leader: leader, leaderURL: leaderURL,
            commitIndex: raft.commitIndex, appliedIndex: replica.machine.appliedIndex, lastIndex: raft.lastIndex,
            snapshotIndex: raft.snapshotMetadata.index,
            members: configuration.members.map {
                NodeStatus.Member(
                    id: $0.id, peerAddress: $0.address.description,
                    httpURL: $0.id == configuration.nodeID ? configuration.advertisedHTTPURL : peerHTTPURLs[$0.id])
            },
            followers: raftStatus.followers, keyCount: replica.machine.keyValue.keyCount,
            storage: NodeStatus.StorageStatus(
                fsyncCount: statistics.fsyncCount, acknowledgedRecords: statistics.acknowledgedRecords,
                recordsPerFsync: statistics.recordsPerFsync,
                fsyncMillisecondsAverage: statistics.fsyncCount == 0
                    ? 0 : Double(statistics.fsyncNanosecondsTotal) / Double(statistics.fsyncCount) / 1e6))
    }
}
