import Metrics

/// The node's metrics, created once through swift-metrics' global factory
/// (the `chorus` executable bootstraps Prometheus; a library never does).
/// Names follow Prometheus conventions: `_total` counters, base units.
struct NodeMetrics: Sendable {
    let proposals = Counter(label: "chorus_proposals_total")
    let proposalBatches = Counter(label: "chorus_proposal_batches_total")
    let proposalBatchSize = Recorder(label: "chorus_proposal_batch_size", aggregate: true)
    let proposalsRefused = Counter(label: "chorus_proposals_refused_total")
    let committedEntries = Counter(label: "chorus_committed_entries_total")
    let appliedCommands = Counter(label: "chorus_applied_commands_total")
    let writesLost = Counter(label: "chorus_writes_lost_total")
    let fsyncs = Counter(label: "chorus_wal_fsyncs_total")
    let fsyncDuration = Timer(label: "chorus_wal_fsync_duration_seconds", preferredDisplayUnit: .seconds)
    let recordsPerFsync = Recorder(label: "chorus_wal_records_per_fsync", aggregate: true)
    let entriesPersisted = Counter(label: "chorus_entries_persisted_total")
    let entriesPerReady = Recorder(label: "chorus_entries_per_ready", aggregate: true)
    let readies = Counter(label: "chorus_readies_total")
    let elections = Counter(label: "chorus_elections_won_total")
    let campaigns = Counter(label: "chorus_campaigns_total")
    let leaderChanges = Counter(label: "chorus_leader_changes_total")
    let readIndexRequests = Counter(label: "chorus_read_index_requests_total")
    let readIndexBatchSize = Recorder(label: "chorus_read_index_batch_size", aggregate: true)
    /// Leader heartbeat rounds that confirmed at least one read.
    let readIndexRounds = Counter(label: "chorus_read_index_rounds_total")
    let readStates = Counter(label: "chorus_read_states_total")
    let reads = Counter(label: "chorus_reads_total")
    let messagesSent = Counter(label: "chorus_peer_messages_sent_total")
    let messagesReceived = Counter(label: "chorus_peer_messages_received_total")
    let messagesDropped = Counter(label: "chorus_peer_messages_dropped_total")
    let peerConnections = Counter(label: "chorus_peer_connections_total")
    let snapshotsTaken = Counter(label: "chorus_snapshots_taken_total")
    let snapshotsInstalled = Counter(label: "chorus_snapshots_installed_total")
    let appliedIndex = Gauge(label: "chorus_applied_index")
    let commitIndex = Gauge(label: "chorus_commit_index")
    let term = Gauge(label: "chorus_term")
    let isLeader = Gauge(label: "chorus_is_leader")
}

extension NodeMetrics {
    /// `chorus_peer_tls_rejections_total{reason}`: peer connections refused at
    /// TLS, by reason (`PeerCertificateRejection.label`, `handshake` for a
    /// failed TLS handshake, `no_certificate`). Rare, so made on demand.
    func peerTLSRejected(reason: String) {
        Counter(label: "chorus_peer_tls_rejections_total", dimensions: [("reason", reason)]).increment()
    }
}
