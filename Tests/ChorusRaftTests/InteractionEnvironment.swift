import ChorusCore
import ChorusTesting
import Foundation

@testable import ChorusRaft

/// Drives a handful of `RaftNode`s by hand for the data-driven interaction
/// tests: it keeps each node's "disk" (what its `Ready`s asked to persist), a
/// mailbox of messages in flight, and prints every `Ready` and delivery.
struct InteractionEnvironment {
    struct Storage {
        var hardState = HardState()
        var snapshot: Snapshot
        var entries: [LogEntry] = []
        /// A node's `TERM` file: the highest term any persisted hard state had.
        var recordedTerm = Term.zero

        var persistentState: RaftPersistentState {
            RaftPersistentState(hardState: hardState, snapshot: snapshot, entries: entries)
        }

        mutating func append(_ newEntries: [LogEntry]) {
            guard let first = newEntries.first else { return }
            entries.removeAll { $0.index >= first.index }
            entries += newEntries
        }
    }

    var nodes: [NodeID: RaftNode] = [:]
    var storages: [NodeID: Storage] = [:]
    var configurations: [NodeID: RaftConfiguration] = [:]
    var mailbox: [RaftMessage] = []
    var restarts: [NodeID: UInt64] = [:]
    /// `log-level none` hides the output of the commands that follow (their
    /// blocks read `ok`) until `log-level all`, as etcd raft's directive does:
    /// a script's setup stays out of the way of its point.
    var quiet = false

    var sortedIDs: [NodeID] { nodes.keys.sorted() }

    mutating func handle(_ command: DataDrivenScript.Command) throws -> String {
        if command.name == "log-level" {
            switch command.positional.first {
            case "none": quiet = true
            case "all": quiet = false
            default: throw failure(command, "log-level none|all")
            }
            return ""
        }
        let output = try perform(command)
        return quiet && !output.hasPrefix("error:") ? "" : output
    }

    private mutating func perform(_ command: DataDrivenScript.Command) throws -> String {
        switch command.name {
        case "add-nodes": return try addNodes(command)
        case "campaign":
            let id = try node(command, 0)
            nodes[id]!.campaign()
            return ""
        case "tick":
            let id = try node(command, 0)
            let count = Int(command.value("count") ?? "1") ?? 1
            for _ in 0..<count { nodes[id]!.tick() }
            return ""
        case "process-ready":
            let ids = command.positional.isEmpty ? sortedIDs : try command.positional.map { try parseNode($0) }
            var output: [String] = []
            for id in ids { output += processReady(id) }
            return output.joined(separator: "\n")
        case "deliver-msgs":
            return try deliver(command).joined(separator: "\n")
        case "stabilize":
            return try stabilize(command).joined(separator: "\n")
        case "propose":
            let id = try node(command, 0)
            guard command.positional.count >= 2 else { throw failure(command, "propose ID DATA") }
            do {
                let outcome = try nodes[id]!.propose(Array(command.positional[1].utf8))
                return "\(outcome)"
            } catch { return "error: \(error)" }
        case "propose-conf-change":
            let id = try node(command, 0)
            guard command.positional.count == 3, let target = UInt64(command.positional[2]) else {
                throw failure(command, "propose-conf-change ID add-learner|promote|remove NODE")
            }
            let change: MembershipChange
            switch command.positional[1] {
            case "add-learner": change = .addLearner(NodeID(target))
            case "promote": change = .promoteLearner(NodeID(target))
            case "remove": change = .removeMember(NodeID(target))
            default: throw failure(command, "unknown change \(command.positional[1])")
            }
            do {
                return "\(try nodes[id]!.proposeMembershipChange(change))"
            } catch { return "error: \(error)" }
        case "read-index":
            let id = try node(command, 0)
            guard command.positional.count == 2, let context = UInt64(command.positional[1]) else {
                throw failure(command, "read-index ID CONTEXT")
            }
            do {
                try nodes[id]!.readIndex(context: context)
                return ""
            } catch { return "error: \(error)" }
        case "transfer-leadership":
            let id = try node(command, 0)
            guard command.positional.count == 2 else { throw failure(command, "transfer-leadership ID TARGET") }
            do {
                try nodes[id]!.transferLeadership(to: try parseNode(command.positional[1]))
                return ""
            } catch { return "error: \(error)" }
        case "compact":
            let id = try node(command, 0)
            guard command.positional.count == 2, let index = UInt64(command.positional[1]) else {
                throw failure(command, "compact ID INDEX")
            }
            let data = Array("state@\(index)".utf8)
            do {
                try nodes[id]!.compactLog(through: LogIndex(index), snapshotData: data)
            } catch { return "error: \(error)" }
            storages[id]!.snapshot = Snapshot(metadata: nodes[id]!.snapshotMetadata, data: data)
            storages[id]!.entries.removeAll { $0.index.rawValue <= index }
            return ""
        case "restart":
            // `restart ID [lose=K] [uncertain=suspend|ignore]`: `lose` drops the
            // last K stored entries and the hard state goes back to the term it
            // had (a final record cut on recovery); `uncertain=suspend` then
            // recovers as a node does from a complete record that failed its
            // check, `ignore` as if the record had been torn.
            let id = try node(command, 0)
            if let text = command.value("lose") {
                guard let count = Int(text) else { throw failure(command, "lose=K") }
                storages[id]!.entries.removeLast(min(count, storages[id]!.entries.count))
                let last = storages[id]!.entries.last?.index ?? storages[id]!.snapshot.metadata.index
                storages[id]!.hardState.commit = min(storages[id]!.hardState.commit, last)
            }
            switch command.value("uncertain") {
            case nil, "ignore": break
            case "suspend":
                let state = storages[id]!.persistentState.suspendingVotes(termHighWater: storages[id]!.recordedTerm)
                storages[id]!.hardState = state.hardState
                storages[id]!.recordedTerm = state.hardState.term
            default: throw failure(command, "uncertain=suspend|ignore")
            }
            restarts[id, default: 0] += 1
            nodes[id] = try RaftNode(
                configuration: configurations[id]!, persistentState: storages[id]!.persistentState,
                randomSeed: id.rawValue &* 1_000 &+ restarts[id]!)
            mailbox.removeAll { $0.to == id }
            return ""
        case "status":
            return status(try node(command, 0))
        case "raft-log":
            let id = try node(command, 0)
            let raft = nodes[id]!
            var lines = ["snapshot \(raft.snapshotMetadata)"]
            lines += raft.entries.map(\.description)
            lines.append("commit=\(raft.commitIndex.rawValue) applied=\(raft.appliedIndex.rawValue)")
            return lines.joined(separator: "\n")
        default:
            throw failure(command, "unknown command \(command.name)")
        }
    }

    private mutating func addNodes(_ command: DataDrivenScript.Command) throws -> String {
        guard let countText = command.positional.first, let count = Int(countText) else {
            throw failure(command, "add-nodes COUNT [voters=(…)] [learners=(…)] [options]")
        }
        let voters = try (command.values("voters") ?? []).map { try parseNode($0) }
        let learners = try (command.values("learners") ?? []).map { try parseNode($0) }
        let joining = command.value("joining") == "true"
        var created: [String] = []
        let firstID = (nodes.keys.max()?.rawValue ?? 0) + 1
        for raw in firstID..<(firstID + UInt64(count)) {
            let id = NodeID(raw)
            var configuration = RaftConfiguration(nodeID: id)
            if let value = command.value("prevote") { configuration.preVoteEnabled = value == "true" }
            if let value = command.value("checkquorum") { configuration.checkQuorumEnabled = value == "true" }
            if let value = command.value("read-mode"), let mode = RaftConfiguration.ReadMode(rawValue: value) {
                configuration.readMode = mode
            }
            if let value = command.value("election"), let ticks = Int(value) { configuration.electionTimeoutTicks = ticks }
            if let value = command.value("heartbeat"), let ticks = Int(value) { configuration.heartbeatIntervalTicks = ticks }
            if let value = command.value("lease"), let ticks = Int(value) { configuration.leaseDurationTicks = ticks }
            if let value = command.value("max-entries"), let limit = Int(value) { configuration.maximumEntriesPerMessage = limit }
            if let value = command.value("max-inflight"), let limit = Int(value) { configuration.maximumInflightMessages = limit }
            if let value = command.value("max-uncommitted"), let limit = Int(value) {
                configuration.maximumUncommittedEntries = limit
            }
            if let value = command.value("catch-up"), let margin = Int(value) {
                configuration.learnerCatchUpMarginEntries = margin
            }
            if let value = command.value("forwarding") { configuration.proposalForwardingEnabled = value == "true" }
            if let value = command.value("bug") { configuration.injectedBug = InjectedBug(rawValue: value) }
            let state: RaftPersistentState =
                joining ? .joining : .bootstrap(voters: voters, learners: learners)
            nodes[id] = try RaftNode(configuration: configuration, persistentState: state, randomSeed: raw &* 1_000)
            storages[id] = Storage(hardState: state.hardState, snapshot: state.snapshot, entries: state.entries)
            configurations[id] = configuration
            created.append("\(id) \(joining ? "joining" : state.snapshot.metadata.configuration.description)")
        }
        return created.joined(separator: "\n")
    }

    mutating func processReady(_ id: NodeID) -> [String] {
        guard nodes[id]!.hasReady else { return [] }
        let ready = nodes[id]!.ready()
        var storage = storages[id]!
        if let snapshot = ready.snapshot {
            storage.snapshot = snapshot
            storage.entries.removeAll { $0.index <= snapshot.metadata.index }
        }
        storage.append(ready.entries)
        if let hardState = ready.hardState {
            storage.hardState = hardState
            storage.recordedTerm = max(storage.recordedTerm, hardState.term)
        }
        storages[id] = storage
        mailbox += ready.messages
        nodes[id]!.advance(ready)
        return ["> \(id) handling Ready"] + ready.description.split(separator: "\n").map { "  " + $0 }
    }

    mutating func deliver(_ command: DataDrivenScript.Command) throws -> [String] {
        let targets = command.positional.isEmpty ? sortedIDs : try command.positional.map { try parseNode($0) }
        let dropped = try (command.values("drop") ?? []).map { try parseNode($0) }
        var output: [String] = []
        for id in targets { output += deliver(to: id, dropping: dropped.contains(id)) }
        return output
    }

    mutating func deliver(to id: NodeID, dropping: Bool) -> [String] {
        let messages = mailbox.filter { $0.to == id }
        guard !messages.isEmpty else { return [] }
        mailbox.removeAll { $0.to == id }
        if dropping { return ["> \(id) dropping messages"] + messages.map { "  \($0)" } }
        guard nodes[id] != nil else { return [] }
        var output = ["> \(id) receiving messages"]
        for message in messages {
            output.append("  \(message)")
            nodes[id]!.step(message)
        }
        return output
    }

    mutating func stabilize(_ command: DataDrivenScript.Command) throws -> [String] {
        let ids = command.positional.isEmpty ? sortedIDs : try command.positional.map { try parseNode($0) }
        let dropped = try (command.values("drop") ?? []).map { try parseNode($0) }
        var output: [String] = []
        for _ in 0..<200 {
            var progressed = false
            for id in ids where nodes[id]!.hasReady {
                output += processReady(id)
                progressed = true
            }
            for id in ids where mailbox.contains(where: { $0.to == id }) {
                output += deliver(to: id, dropping: dropped.contains(id))
                progressed = true
            }
            if !progressed { return output }
        }
        output.append("stabilize did not settle in 200 rounds")
        return output
    }

    func status(_ id: NodeID) -> String {
        let status = nodes[id]!.status
        var lines = [
            "\(id) \(status.role) term=\(status.term.rawValue) vote=\(status.vote.rawValue) lead=\(status.leader.rawValue) commit=\(status.commitIndex.rawValue) applied=\(status.appliedIndex.rawValue) last=\(status.lastIndex.rawValue) \(status.configuration)"
                + (status.votingSuspendedThrough == .zero ? "" : " votes-suspended-through=\(status.votingSuspendedThrough.rawValue)")
        ]
        for follower in status.followers {
            lines.append(
                "  \(follower.node): match=\(follower.matchIndex.rawValue) next=\(follower.nextIndex.rawValue) \(follower.state)")
        }
        return lines.joined(separator: "\n")
    }

    private func node(_ command: DataDrivenScript.Command, _ position: Int) throws -> NodeID {
        guard position < command.positional.count else { throw failure(command, "missing node id") }
        let id = try parseNode(command.positional[position])
        guard nodes[id] != nil else { throw failure(command, "no node \(id)") }
        return id
    }

    private func parseNode(_ text: String) throws -> NodeID {
        guard let raw = UInt64(text), raw != 0 else {
            throw DataDrivenScript.ScriptError.malformed(file: "", line: 0, reason: "bad node id \(text)")
        }
        return NodeID(raw)
    }

    private func failure(_ command: DataDrivenScript.Command, _ reason: String) -> Error {
        DataDrivenScript.ScriptError.malformed(file: "", line: command.line, reason: reason)
    }
}
