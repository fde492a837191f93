import Foundation

/// The projection definitions file of `Sources/ChorusProjections/README.md`
/// (the order summary and the customer balance), read from the README itself,
/// so the tests that load it prove the documented file works — one copy, the
/// one users read.
public enum ProjectionWorkedExample {
    /// The README's first ```` ```json ```` block.
    public static func json() throws -> String {
        // Sources/ChorusTesting/ProjectionWorkedExample.swift → Sources/ChorusProjections/README.md
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ChorusProjections").appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        guard let start = text.range(of: "```json\n"), let end = text.range(of: "\n```", range: start.upperBound..<text.endIndex)
        else { throw MissingExample(path: readme.path) }
        return String(text[start.upperBound..<end.lowerBound])
    }

    struct MissingExample: Error, CustomStringConvertible {
        var path: String
        var description: String { "no ```json block in \(path)" }
    }
}
