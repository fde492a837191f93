import Foundation

/// Data-driven tests in the style of etcd raft's `testdata/*.txt`: a script of
/// commands, each followed by `----` and the output it must produce.
///
///     # A comment.
///     propose 1 hello voters=(1,2,3)
///     ----
///     expected output, one or more lines
///     (a blank line ends the block)
///
/// A test hands each command to a handler that returns the actual output. When
/// the environment variable `CHORUS_REWRITE=1` is set, the file is rewritten
/// with the actual outputs instead (review the diff, then commit it), so a
/// behaviour change is reviewed as a trace diff.
public enum DataDrivenScript {
    /// One command line, parsed.
    public struct Command: Sendable, CustomStringConvertible {
        public var name: String
        /// Bare words after the name, in order.
        public var positional: [String]
        /// `key=value` and `key=(a,b,c)` arguments, in order.
        public var keyed: [(key: String, values: [String])]
        /// The 1-based line number in the script, for messages.
        public var line: Int
        public var text: String

        public var description: String { text }

        /// The values of `key=…`, or nil if absent.
        public func values(_ key: String) -> [String]? { keyed.first { $0.key == key }?.values }
        public func value(_ key: String) -> String? { values(key)?.first }
    }

    /// A command whose actual output differs from the expected one.
    public struct Mismatch: Sendable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var command: String
        public var expected: String
        public var actual: String

        public var description: String {
            "\(file):\(line): \(command)\n--- expected\n\(expected)\n--- actual\n\(actual)"
        }
    }

    public enum ScriptError: Error, CustomStringConvertible {
        case malformed(file: String, line: Int, reason: String)

        public var description: String {
            switch self {
            case .malformed(let file, let line, let reason): "\(file):\(line): \(reason)"
            }
        }
    }

    /// Whether scripts are being rewritten (`CHORUS_REWRITE=1`).
    public static var isRewriting: Bool { ProcessInfo.processInfo.environment["CHORUS_REWRITE"] == "1" }

    /// Runs every command of the script at `url` through `handler`. Returns the
    /// mismatches (empty when all outputs match, or after a rewrite).
    public static func run(
        _ url: URL, handler: (Command) throws -> String
    ) throws -> [Mismatch] {
        let name = url.lastPathComponent
        let text = try String(contentsOf: url, encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        var output: [String] = []
        var mismatches: [Mismatch] = []
        var index = 0
        while index < lines.count {
            let line = lines[index]
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") {
                output.append(line)
                index += 1
                continue
            }
            let command = try parse(line: trimmed, number: index + 1, file: name)
            output.append(line)
            index += 1
            guard index < lines.count, lines[index] == "----" else {
                throw ScriptError.malformed(file: name, line: index + 1, reason: "expected ---- after '\(trimmed)'")
            }
            output.append("----")
            index += 1
            var expected: [String] = []
            while index < lines.count, !lines[index].isEmpty {
                expected.append(lines[index])
                index += 1
            }
            var actual = try handler(command)
            if actual.hasSuffix("\n") { actual.removeLast() }
            if actual.isEmpty { actual = "ok" }
            // A blank line would end the block early: show it as an indented marker.
            let actualLines = actual.components(separatedBy: "\n").map { $0.isEmpty ? "  " : $0 }
            if actualLines != expected {
                mismatches.append(Mismatch(
                    file: name, line: command.line, command: command.text,
                    expected: expected.joined(separator: "\n"), actual: actualLines.joined(separator: "\n")))
            }
            output += actualLines
        }
        if isRewriting {
            var rewritten = output.joined(separator: "\n")
            if !rewritten.hasSuffix("\n") { rewritten += "\n" }
            try rewritten.write(to: url, atomically: true, encoding: .utf8)
            return []
        }
        return mismatches
    }

    /// Splits `name word key=value key=(a,b)` into a `Command`.
    public static func parse(line: String, number: Int, file: String) throws -> Command {
        var tokens: [String] = []
        var current = ""
        var depth = 0
        for character in line {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if character == " " && depth == 0 {
                if !current.isEmpty { tokens.append(current) }
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { tokens.append(current) }
        guard depth == 0, let name = tokens.first else {
            throw ScriptError.malformed(file: file, line: number, reason: "unbalanced parentheses or empty command")
        }
        var positional: [String] = []
        var keyed: [(key: String, values: [String])] = []
        for token in tokens.dropFirst() {
            guard let equals = token.firstIndex(of: "=") else {
                positional.append(token)
                continue
            }
            let key = String(token[..<equals])
            var value = String(token[token.index(after: equals)...])
            if value.hasPrefix("(") && value.hasSuffix(")") {
                value = String(value.dropFirst().dropLast())
                keyed.append((key, value.isEmpty ? [] : value.components(separatedBy: ",")))
            } else {
                keyed.append((key, [value]))
            }
        }
        return Command(name: name, positional: positional, keyed: keyed, line: number, text: line)
    }
}
