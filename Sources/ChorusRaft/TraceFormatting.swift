import ChorusCore

/// Readable one-line forms of entries and messages, as traces and the
/// data-driven tests print them (in etcd raft's vocabulary):
///
///     n1->n2 MsgApp Term:2 Log:1/5 Commit:5 Entries:[2/6 EntryNormal "x"]
extension LogEntry: CustomStringConvertible {
    public var description: String {
        switch payload {
        case .empty: "\(term.rawValue)/\(index.rawValue) EntryEmpty"
        case .command(let bytes): "\(term.rawValue)/\(index.rawValue) EntryNormal \(TraceText.quoted(bytes))"
        case .configuration(let configuration): "\(term.rawValue)/\(index.rawValue) EntryConfig \(configuration)"
        }
    }
}

extension RaftMessage: CustomStringConvertible {
    public var description: String {
        var line = "\(from)->\(to) \(kindName) Term:\(term.rawValue)"
        switch payload {
        case .appendEntries(let append):
            line += " Log:\(append.previousTerm.rawValue)/\(append.previousIndex.rawValue) Commit:\(append.commit.rawValue)"
            if !append.entries.isEmpty {
                line += " Entries:[" + append.entries.map(\.description).joined(separator: ", ") + "]"
            }
        case .appendEntriesResponse(let response):
            line += " Index:\(response.index.rawValue)"
            if response.rejected {
                line += " Rejected (Hint: \(response.rejectHintTerm.rawValue)/\(response.rejectHintIndex.rawValue))"
            }
        case .requestVote(let request):
            line += " Log:\(request.lastLogTerm.rawValue)/\(request.lastLogIndex.rawValue)"
            if request.isLeadershipTransfer { line += " Transfer" }
        case .requestVoteResponse(let response):
            if !response.granted { line += " Rejected" }
        case .heartbeat(let heartbeat):
            line += " Commit:\(heartbeat.commit.rawValue) Round:\(heartbeat.round)"
        case .heartbeatResponse(let response):
            line += " Round:\(response.round)"
        case .installSnapshot(let snapshot):
            line += " Snapshot:[\(snapshot.metadata) Bytes:\(snapshot.data.count)]"
        case .timeoutNow:
            break
        case .proposal(let commands):
            line += " Entries:[" + commands.map { TraceText.quoted($0) }.joined(separator: ", ") + "]"
        case .readIndex(let context):
            line += " Context:\(context)"
        case .readIndexResponse(let index, let context):
            line += " Index:\(index.rawValue) Context:\(context)"
        }
        return line
    }
}

extension Ready: CustomStringConvertible {
    /// The multi-line form the interaction tests print for one `Ready`.
    public var description: String {
        var lines: [String] = ["Ready MustSync=\(mustSync):"]
        if let softState { lines.append(softState.description) }
        if let hardState { lines.append(hardState.description) }
        if !entries.isEmpty {
            lines.append("Entries:")
            lines += entries.map(\.description)
        }
        if let snapshot { lines.append("Snapshot \(snapshot.metadata) Bytes:\(snapshot.data.count)") }
        if !committedEntries.isEmpty {
            lines.append("CommittedEntries:")
            lines += committedEntries.map(\.description)
        }
        if !messages.isEmpty {
            lines.append("Messages:")
            lines += messages.map(\.description)
        }
        if !readStates.isEmpty {
            lines.append("ReadStates:")
            lines += readStates.map(\.description)
        }
        return lines.joined(separator: "\n")
    }
}

enum TraceText {
    /// Printable ASCII as a quoted string, anything else as hex.
    static func quoted(_ bytes: [UInt8]) -> String {
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }) {
            return "\"" + String(decoding: bytes, as: UTF8.self) + "\""
        }
        let digits: [Character] = Array("0123456789abcdef")
        var hex = "0x"
        for byte in bytes.prefix(32) {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0xF)])
        }
        if bytes.count > 32 { hex += "…(\(bytes.count) bytes)" }
        return hex
    }
}
