import ChorusCheck
import ChorusCore
import Testing

/// Bad input gets an error naming the line or a verdict, never a trap: valid
/// key-value and event-store histories, mutated at random (a field's value
/// replaced by another type, an extreme number, a line dropped or repeated),
/// go through every property checker. A trap ends the test process, which
/// fails the run.
@Suite struct MutatedHistoryTests {
    static let keyValueLines = [
        #"{"process": 0, "session": "a", "type": "invoke", "f": "write", "key": "k/x", "value": 1, "time": 1}"#,
        #"{"process": 0, "session": "a", "type": "ok", "f": "write", "key": "k/x", "value": 1, "version": 1, "time": 2}"#,
        #"{"process": 1, "type": "invoke", "f": "read", "key": "k/x", "time": 3}"#,
        #"{"process": 1, "type": "ok", "f": "read", "key": "k/x", "value": 1, "version": 1, "time": 4}"#,
        #"{"process": 2, "type": "invoke", "f": "range", "key": "k/", "value": {"limit": 5}, "time": 5}"#,
        #"{"process": 2, "type": "ok", "f": "range", "key": "k/", "value": [["k/x", 1]], "time": 6}"#,
        #"{"process": 0, "session": "a", "type": "invoke", "f": "write", "key": "k/y", "value": 2, "time": 7}"#,
        #"{"process": 0, "session": "a", "type": "info", "f": "write", "key": "k/y", "value": 2, "time": 8}"#,
        #"{"process": 1, "type": "invoke", "f": "read", "key": "k/y", "time": 9}"#,
        #"{"process": 1, "type": "ok", "f": "read", "key": "k/y", "value": null, "time": 10}"#,
    ]

    static let eventStoreLines = [
        #"{"process": 0, "type": "invoke", "f": "append", "key": "s", "value": {"expected": "no_stream", "events": ["e1", "e2"]}}"#,
        #"{"process": 0, "type": "ok", "f": "append", "key": "s", "value": {"revisions": [0, 1], "positions": [0, 1]}}"#,
        #"{"process": 1, "type": "invoke", "f": "append", "key": "s", "value": {"expected": 0, "events": ["e3"]}}"#,
        #"{"process": 1, "type": "fail", "f": "append", "key": "s", "value": {"error": "wrong_expected_version", "actual": 1}}"#,
        #"{"process": 2, "type": "invoke", "f": "read", "key": "$all", "value": {"from": 0, "limit": 5}}"#,
        #"{"process": 2, "type": "ok", "f": "read", "key": "$all", "value": [{"id": "e1", "stream": "s", "revision": 0, "position": 0}]}"#,
        #"{"type": "subscribe", "subscriber": "c", "stream": "s", "group": "g", "from": 0}"#,
        #"{"type": "deliver", "subscriber": "c", "event": "e1", "revision": 0, "position": 0}"#,
        #"{"type": "ack", "subscriber": "c", "event": "e1"}"#,
        #"{"type": "caught-up", "subscriber": "c"}"#,
    ]

    static let replacements = [
        "null", "-1", "0", "9223372036854775807", "-9223372036854775808", "1e308", "\"\"", "\"$all\"", "[]", "{}",
        "[[\"k/x\"]]", "true", "\"any\"", "[1, 2]",
    ]

    /// Replaces one value after a `": ` with another, or drops or repeats a line.
    static func mutate(_ lines: [String], _ random: inout SeededGenerator) -> String {
        var lines = lines
        let index = Int(random.next() % UInt64(lines.count))
        switch random.next() % 4 {
        case 0: lines.remove(at: index)
        case 1: lines.insert(lines[index], at: index)
        default:
            let line = lines[index]
            let starts = line.indices.filter { line[$0...].hasPrefix(": ") }
            guard !starts.isEmpty else { break }
            let start = line.index(starts[Int(random.next() % UInt64(starts.count))], offsetBy: 2)
            var end = start
            var depth = 0
            while end < line.endIndex {
                let character = line[end]
                if character == "[" || character == "{" { depth += 1 }
                if character == "]" || character == "}" {
                    if depth == 0 { break }
                    depth -= 1
                }
                if character == "," && depth == 0 { break }
                end = line.index(after: end)
            }
            let replacement = replacements[Int(random.next() % UInt64(replacements.count))]
            lines[index] = String(line[..<start]) + replacement + String(line[end...])
        }
        return lines.joined(separator: "\n")
    }

    @Test func mutatedHistoriesNeverTrap() {
        let seed: UInt64 = 20_261_201
        var random = SeededGenerator(seed: seed)
        var checked = 0
        var refused = 0
        for round in 0..<400 {
            let keyValue = round % 2 == 0
            let text = Self.mutate(keyValue ? Self.keyValueLines : Self.eventStoreLines, &random)
            do {
                let document = try HistoryDocument.read(from: Array(text.utf8))
                if keyValue {
                    let history = try KeyValueHistory(document: document)
                    _ = try SessionChecker.check(history)
                    _ = try StalenessChecker.check(history, options: StalenessOptions(maximumVersions: 1, maximumLagMilliseconds: 1))
                    _ = try? ConsistentPrefixChecker.check(history)
                    _ = try? CausalChecker.check(history)
                } else {
                    _ = try EventStoreChecker.check(EventStoreHistory(document: document))
                }
                checked += 1
            } catch {
                #expect(!error.description.isEmpty)
                refused += 1
            }
        }
        // Both paths are exercised: some mutations still parse, most are refused.
        #expect(checked > 20 && refused > 20, "seed \(seed): \(checked) checked, \(refused) refused")
    }
}
