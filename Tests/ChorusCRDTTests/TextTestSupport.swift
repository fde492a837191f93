import ChorusCRDT
import ChorusClocks
import ChorusCore

/// Random edits for the text CRDT's property tests.
struct TextEditor {
    var random: SeededGenerator
    /// Per replica, where it last edited: edits cluster around a cursor, as
    /// people's do, so runs form and split the way they do in real traces.
    var cursors: [ReplicaID: Int] = [:]

    init(seed: UInt64) { random = SeededGenerator(seed: seed) }

    static let alphabet: [Unicode.Scalar] = ["a", "b", "c", "d", "e", " ", "\n", "é", "ß", "中", "😀"]

    mutating func randomString(maximumLength: Int) -> String {
        let length = Int.random(in: 1...maximumLength, using: &random)
        var scalars = String.UnicodeScalarView()
        for _ in 0..<length { scalars.append(Self.alphabet[Int.random(in: 0..<Self.alphabet.count, using: &random)]) }
        return String(scalars)
    }

    enum Edit {
        case insert(String, at: Int)
        case delete(Range<Int>)

        func apply(to model: inout [Unicode.Scalar]) {
            switch self {
            case .insert(let string, let offset): model.insert(contentsOf: string.unicodeScalars, at: offset)
            case .delete(let range): model.removeSubrange(range)
            }
        }
    }

    /// One random insertion or deletion by `replica`, recorded into `delta`.
    @discardableResult
    mutating func edit(
        _ document: inout ReplicatedText, by replica: ReplicaID, recordingInto delta: inout TextDelta
    ) throws -> Edit {
        let edit: Edit
        let count = document.count
        var cursor = Swift.min(cursors[replica] ?? 0, count)
        if random.chance(0.3) { cursor = Int.random(in: 0...count, using: &random) }
        if count == 0 || random.chance(0.62) {
            let string = randomString(maximumLength: random.chance(0.1) ? 12 : 3)
            try document.insert(string, at: cursor, by: replica, recordingInto: &delta)
            edit = .insert(string, at: cursor)
            cursor += string.unicodeScalars.count
        } else {
            let start = cursor == count ? Swift.max(0, count - 1) : cursor
            let end = Swift.min(count, start + Int.random(in: 1...4, using: &random))
            if random.chance(0.5) && start > 0 {
                // Backspace: delete before the cursor.
                let lower = Swift.max(0, start - (end - start))
                try document.delete(lower..<start, recordingInto: &delta)
                edit = .delete(lower..<start)
                cursor = lower
            } else {
                try document.delete(start..<end, recordingInto: &delta)
                edit = .delete(start..<end)
                cursor = start
            }
        }
        cursors[replica] = cursor
        return edit
    }
}

/// A concurrent editing session: replicas edit and synchronize at random;
/// every edit's recorded delta is kept in creation order (a causal order).
struct EditingSession {
    var replicas: [ReplicatedText]
    var identifiers: [ReplicaID]
    var operations: [TextDelta] = []
    var editor: TextEditor

    init(replicaCount: Int, seed: UInt64) {
        replicas = Array(repeating: ReplicatedText(), count: replicaCount)
        identifiers = (0..<replicaCount).map { ReplicaID(UInt64($0) * 7 + 3) }
        editor = TextEditor(seed: seed)
    }

    /// `steps` random steps: mostly edits, sometimes a one-way sync.
    mutating func run(steps: Int) throws {
        for _ in 0..<steps {
            let replica = Int.random(in: 0..<replicas.count, using: &editor.random)
            if editor.random.chance(0.15) {
                let source = Int.random(in: 0..<replicas.count, using: &editor.random)
                if editor.random.chance(0.5) {
                    replicas[replica].merge(replicas[source])
                } else {
                    replicas[replica].apply(replicas[source].delta(since: replicas[replica].version))
                }
            } else {
                var delta = TextDelta()
                try editor.edit(&replicas[replica], by: identifiers[replica], recordingInto: &delta)
                operations.append(delta)
            }
        }
    }

    /// Every replica merges every other.
    mutating func synchronizeAll() {
        for target in replicas.indices {
            for source in replicas.indices where source != target { replicas[target].merge(replicas[source]) }
        }
    }
}
