import ChorusCore
import ChorusRaft

/// The binary form of every `RaftMessage` (one message per frame):
///
///     message = kind (u8) · from (varint) · to (varint) · term (varint) · body
///
///     1 appendEntries          previous index, previous term, commit (varints) · count · entry*
///     2 appendEntriesResponse  index (varint) · rejected (bool) · hint index, hint term (varints)
///     3 requestVote            flags (bit 0 pre-vote, bit 1 leadership transfer) · last index, last term
///     4 requestVoteResponse    flags (bit 0 pre-vote, bit 1 granted)
///     5 heartbeat              commit, round (varints)
///     6 heartbeatResponse      round (varint)
///     7 installSnapshot        snapshot (`RaftCoding`)
///     8 timeoutNow             (no body)
///     9 proposal               count · command (length-prefixed)*
///    10 readIndex              context (varint)
///    11 readIndexResponse      index, context (varints)
///
/// Entries, snapshots and configurations use `RaftCoding`, the same bytes the
/// write-ahead log stores, so a leader's log and its messages can never drift
/// apart in format. Integers are LEB128 varints (`ByteWriter`), so the common
/// small terms and indices take one or two bytes.
///
/// Decoding checks more than syntax: node ids are non-zero, AppendEntries
/// entries are consecutive from `previousIndex + 1` with non-decreasing terms
/// no newer than the message's, configurations are valid. The Raft core
/// asserts those things with preconditions (a broken invariant is a bug), so
/// the codec must stop such bytes at the door (bad input is an error, never a
/// trap). Encoding appends to a caller-owned `ByteWriter`, so a transport that
/// reuses one writer allocates nothing per message in steady state.
public enum MessageCodec {
    enum Kind: UInt8 {
        case appendEntries = 1
        case appendEntriesResponse = 2
        case requestVote = 3
        case requestVoteResponse = 4
        case heartbeat = 5
        case heartbeatResponse = 6
        case installSnapshot = 7
        case timeoutNow = 8
        case proposal = 9
        case readIndex = 10
        case readIndexResponse = 11
    }

    // MARK: Encoding

    /// Appends `message` to `writer`. Throws, writing nothing usable, when the
    /// message exceeds the limits (the peer would refuse it anyway).
    public static func encode(
        _ message: RaftMessage, into writer: inout ByteWriter, limits: WireLimits = .default
    ) throws(WireError) {
        let start = writer.count
        switch message.payload {
        case .appendEntries(let append):
            guard append.entries.count <= limits.maximumEntriesPerMessage else {
                throw .tooLarge(what: "entry count", size: append.entries.count, limit: limits.maximumEntriesPerMessage)
            }
            writeHeader(.appendEntries, message, into: &writer)
            writer.writeVarint(append.previousIndex.rawValue)
            writer.writeVarint(append.previousTerm.rawValue)
            writer.writeVarint(append.commit.rawValue)
            writer.writeVarint(append.entries.count)
            for entry in append.entries {
                if case .command(let bytes) = entry.payload, bytes.count > limits.maximumCommandBytes {
                    throw .tooLarge(what: "command", size: bytes.count, limit: limits.maximumCommandBytes)
                }
                RaftCoding.write(entry, to: &writer)
            }
        case .appendEntriesResponse(let response):
            writeHeader(.appendEntriesResponse, message, into: &writer)
            writer.writeVarint(response.index.rawValue)
            writer.write(response.rejected)
            writer.writeVarint(response.rejectHintIndex.rawValue)
            writer.writeVarint(response.rejectHintTerm.rawValue)
        case .requestVote(let request):
            writeHeader(.requestVote, message, into: &writer)
            writer.write(UInt8((request.isPreVote ? 1 : 0) | (request.isLeadershipTransfer ? 2 : 0)))
            writer.writeVarint(request.lastLogIndex.rawValue)
            writer.writeVarint(request.lastLogTerm.rawValue)
        case .requestVoteResponse(let response):
            writeHeader(.requestVoteResponse, message, into: &writer)
            writer.write(UInt8((response.isPreVote ? 1 : 0) | (response.granted ? 2 : 0)))
        case .heartbeat(let heartbeat):
            writeHeader(.heartbeat, message, into: &writer)
            writer.writeVarint(heartbeat.commit.rawValue)
            writer.writeVarint(heartbeat.round)
        case .heartbeatResponse(let response):
            writeHeader(.heartbeatResponse, message, into: &writer)
            writer.writeVarint(response.round)
        case .installSnapshot(let snapshot):
            guard snapshot.data.count <= limits.maximumSnapshotBytes else {
                throw .tooLarge(what: "snapshot", size: snapshot.data.count, limit: limits.maximumSnapshotBytes)
            }
            writeHeader(.installSnapshot, message, into: &writer)
            RaftCoding.write(snapshot, to: &writer)
        case .timeoutNow:
            writeHeader(.timeoutNow, message, into: &writer)
        case .proposal(let commands):
            guard commands.count <= limits.maximumCommandsPerProposal else {
                throw .tooLarge(what: "proposal command count", size: commands.count, limit: limits.maximumCommandsPerProposal)
            }
            writeHeader(.proposal, message, into: &writer)
            writer.writeVarint(commands.count)
            for command in commands {
                guard command.count <= limits.maximumCommandBytes else {
                    throw .tooLarge(what: "command", size: command.count, limit: limits.maximumCommandBytes)
                }
                writer.writeLengthPrefixed(command)
            }
        case .readIndex(let context):
            writeHeader(.readIndex, message, into: &writer)
            writer.writeVarint(context)
        case .readIndexResponse(let index, let context):
            writeHeader(.readIndexResponse, message, into: &writer)
            writer.writeVarint(index.rawValue)
            writer.writeVarint(context)
        }
        let size = writer.count - start
        guard size <= limits.maximumFrameBytes else {
            throw .tooLarge(what: "encoded message", size: size, limit: limits.maximumFrameBytes)
        }
    }

    /// One message as a fresh byte array (tests and tools; the transport uses `encode(_:into:)`).
    public static func encoded(_ message: RaftMessage, limits: WireLimits = .default) throws(WireError) -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        try encode(message, into: &writer, limits: limits)
        return writer.bytes
    }

    private static func writeHeader(_ kind: Kind, _ message: RaftMessage, into writer: inout ByteWriter) {
        writer.write(kind.rawValue)
        writer.writeVarint(message.from.rawValue)
        writer.writeVarint(message.to.rawValue)
        writer.writeVarint(message.term.rawValue)
    }

    // MARK: Decoding

    /// Decodes one message that must fill `bytes` exactly.
    public static func decode(_ bytes: [UInt8], limits: WireLimits = .default) throws(WireError) -> RaftMessage {
        guard bytes.count <= limits.maximumFrameBytes else {
            throw .frameTooLarge(length: UInt64(bytes.count), limit: limits.maximumFrameBytes)
        }
        var reader = ByteReader(bytes)
        let message = try read(&reader, limits: limits)
        do { try reader.expectEnd() } catch { throw .malformed(error) }
        try validate(message)
        return message
    }

    private static func read(_ reader: inout ByteReader, limits: WireLimits) throws(WireError) -> RaftMessage {
        let rawKind: UInt8
        let from: NodeID
        let to: NodeID
        let term: Term
        do {
            rawKind = try reader.readByte()
            from = NodeID(try reader.readVarint())
            to = NodeID(try reader.readVarint())
            term = Term(try reader.readVarint())
        } catch {
            throw .malformed(error)
        }
        guard let kind = Kind(rawValue: rawKind) else { throw .unknownMessageKind(rawKind) }
        do {
            let payload = try readPayload(kind, &reader, limits: limits)
            return RaftMessage(from: from, to: to, term: term, payload: payload)
        } catch {
            switch error {
            case .binary(let binary): throw .malformed(binary)
            case .invalid(let reason): throw .invalid(reason)
            }
        }
    }

    /// Decoding failures before they are mapped to `WireError` (one typed-throws
    /// channel for the byte reader's errors and the codec's own).
    enum WireDecodingFailure: Error {
        case binary(BinaryDecodingError)
        case invalid(String)
    }

    private static func readPayload(
        _ kind: Kind, _ reader: inout ByteReader, limits: WireLimits
    ) throws(WireDecodingFailure) -> RaftMessage.Payload {
        do {
            switch kind {
            case .appendEntries:
                let previousIndex = LogIndex(try reader.readVarint())
                let previousTerm = Term(try reader.readVarint())
                let commit = LogIndex(try reader.readVarint())
                // An entry takes at least three bytes (term, index, tag).
                let count = try reader.readCount(limit: limits.maximumEntriesPerMessage, minimumElementBytes: 3)
                var entries: [LogEntry] = []
                entries.reserveCapacity(count)
                let codingLimits = limits.raftCodingLimits
                for _ in 0..<count { entries.append(try RaftCoding.readEntry(&reader, limits: codingLimits)) }
                return .appendEntries(
                    .init(previousIndex: previousIndex, previousTerm: previousTerm, entries: entries, commit: commit))
            case .appendEntriesResponse:
                let index = LogIndex(try reader.readVarint())
                let rejected = try reader.readBool()
                let hintIndex = LogIndex(try reader.readVarint())
                let hintTerm = Term(try reader.readVarint())
                return .appendEntriesResponse(
                    .init(index: index, rejected: rejected, rejectHintIndex: hintIndex, rejectHintTerm: hintTerm))
            case .requestVote:
                let flags = try reader.readByte()
                guard flags & ~3 == 0 else { throw WireDecodingFailure.invalid("vote request flags \(flags)") }
                let lastIndex = LogIndex(try reader.readVarint())
                let lastTerm = Term(try reader.readVarint())
                return .requestVote(
                    .init(
                        isPreVote: flags & 1 != 0, lastLogIndex: lastIndex, lastLogTerm: lastTerm,
                        isLeadershipTransfer: flags & 2 != 0))
            case .requestVoteResponse:
                let flags = try reader.readByte()
                guard flags & ~3 == 0 else { throw WireDecodingFailure.invalid("vote response flags \(flags)") }
                return .requestVoteResponse(.init(isPreVote: flags & 1 != 0, granted: flags & 2 != 0))
            case .heartbeat:
                let commit = LogIndex(try reader.readVarint())
                let round = try reader.readVarint()
                return .heartbeat(.init(commit: commit, round: round))
            case .heartbeatResponse:
                return .heartbeatResponse(.init(round: try reader.readVarint()))
            case .installSnapshot:
                return .installSnapshot(try RaftCoding.readSnapshot(&reader, limits: limits.raftCodingLimits))
            case .timeoutNow:
                return .timeoutNow
            case .proposal:
                // A command takes at least its one-byte length prefix.
                let count = try reader.readCount(limit: limits.maximumCommandsPerProposal, minimumElementBytes: 1)
                var commands: [[UInt8]] = []
                commands.reserveCapacity(count)
                for _ in 0..<count {
                    commands.append(Array(try reader.readLengthPrefixed(limit: limits.maximumCommandBytes)))
                }
                guard !commands.isEmpty else { throw WireDecodingFailure.invalid("a proposal with no commands") }
                return .proposal(commands)
            case .readIndex:
                return .readIndex(context: try reader.readVarint())
            case .readIndexResponse:
                let index = LogIndex(try reader.readVarint())
                let context = try reader.readVarint()
                return .readIndexResponse(index: index, context: context)
            }
        } catch let failure as WireDecodingFailure {
            throw failure
        } catch let error as BinaryDecodingError {
            throw .binary(error)
        } catch {
            preconditionFailure("unreachable decoding error \(error)")
        }
    }

    /// The largest term or index accepted from the wire or the disk. No real
    /// cluster comes near 2^62 elections or entries; the bound keeps every
    /// `next` and `+ margin` in the core from overflowing on hostile values.
    public static let maximumTermOrIndex: UInt64 = 1 << 62

    /// The semantic checks that keep the core's preconditions out of a peer's reach.
    static func validate(_ message: RaftMessage) throws(WireError) {
        guard message.from != .none, message.to != .none else { throw .invalid("a message from or to node 0") }
        guard message.from != message.to else { throw .invalid("a message from \(message.from) to itself") }
        try checkBound(message.term.rawValue, "term")
        switch message.payload {
        case .proposal, .readIndex:
            guard message.term == .zero else { throw .invalid("a forwarded request carries term 0, not \(message.term)") }
        default:
            guard message.term != .zero else { throw .invalid("a \(message.kindName) at term 0") }
        }
        switch message.payload {
        case .appendEntries(let append):
            try checkBound(append.previousIndex.rawValue, "previous index")
            try checkBound(append.commit.rawValue, "commit index")
            guard append.previousTerm <= message.term else {
                throw .invalid("previous term \(append.previousTerm) beyond the message's \(message.term)")
            }
            try checkEntries(append.entries, after: append.previousIndex, previousTerm: append.previousTerm)
            if let last = append.entries.last, last.term > message.term {
                throw .invalid("entry \(last.index) has term \(last.term) beyond the message's \(message.term)")
            }
        case .appendEntriesResponse(let response):
            try checkBound(response.index.rawValue, "index")
            try checkBound(response.rejectHintIndex.rawValue, "hint index")
            try checkBound(response.rejectHintTerm.rawValue, "hint term")
        case .requestVote(let request):
            try checkBound(request.lastLogIndex.rawValue, "last log index")
            try checkBound(request.lastLogTerm.rawValue, "last log term")
        case .heartbeat(let heartbeat):
            try checkBound(heartbeat.commit.rawValue, "commit index")
        case .installSnapshot(let snapshot):
            try checkSnapshot(snapshot)
            guard snapshot.metadata.term <= message.term else {
                throw .invalid("snapshot term \(snapshot.metadata.term) beyond the message's \(message.term)")
            }
        case .readIndexResponse(let index, _):
            try checkBound(index.rawValue, "read index")
        case .requestVoteResponse, .heartbeatResponse, .timeoutNow, .proposal, .readIndex:
            break
        }
    }

    static func checkBound(_ value: UInt64, _ what: String) throws(WireError) {
        guard value <= maximumTermOrIndex else { throw .invalid("\(what) \(value) exceeds 2^62") }
    }

    /// Entries must be consecutive from `previous + 1`, with non-decreasing terms from `previousTerm`.
    static func checkEntries(_ entries: [LogEntry], after previous: LogIndex, previousTerm: Term) throws(WireError) {
        var expected = previous.rawValue + 1
        var lastTerm = previousTerm
        for entry in entries {
            try checkBound(entry.index.rawValue, "entry index")
            try checkBound(entry.term.rawValue, "entry term")
            guard entry.index.rawValue == expected else {
                throw .invalid("entry \(entry.index) where i\(expected) was expected")
            }
            guard entry.term >= lastTerm else {
                throw .invalid("entry \(entry.index) has term \(entry.term) after term \(lastTerm)")
            }
            lastTerm = entry.term
            expected += 1
        }
    }

    static func checkSnapshot(_ snapshot: Snapshot) throws(WireError) {
        try checkBound(snapshot.metadata.index.rawValue, "snapshot index")
        try checkBound(snapshot.metadata.term.rawValue, "snapshot term")
        guard !snapshot.metadata.configuration.voters.isEmpty || snapshot.metadata.index == .zero else {
            throw .invalid("a snapshot with no voters")
        }
    }

    static func checkHardState(_ hardState: HardState) throws(WireError) {
        try checkBound(hardState.term.rawValue, "term")
        try checkBound(hardState.commit.rawValue, "commit index")
        guard hardState.votingSuspendedThrough == .zero || hardState.votingSuspendedThrough < hardState.term else {
            throw .invalid("votes suspended through term \(hardState.votingSuspendedThrough), not below the term \(hardState.term)")
        }
    }
}
