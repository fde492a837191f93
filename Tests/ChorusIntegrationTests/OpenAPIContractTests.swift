import Foundation
import Testing

extension RealProcessTests {
    /// The exact API contract (issue 15, "An exact API contract"): schemathesis
    /// runs every check it has (`--checks all`: response schemas and headers,
    /// status codes documented, schema-valid requests accepted, invalid ones
    /// refused, 405 with `Allow` for undeclared methods, …) against a real
    /// three-node cluster from `Sources/ChorusHTTP/openapi.yaml`, and must find
    /// nothing. The run is bounded (`maximumExamples` per operation, one seed,
    /// `maximumSeconds`), so it is a regression gate, not a campaign; more seeds
    /// and examples by hand (README, "Testing").
    ///
    /// Skipped when no schemathesis executable is found: `$CHORUS_SCHEMATHESIS`,
    /// else `.venv-schemathesis/bin/schemathesis` in the package root (which
    /// `.ci/run` creates with `pip install schemathesis==4.32.5`).
    @Suite struct OpenAPIContractTests {
        static let maximumExamples = 10
        static let seed = 1
        static let maximumSeconds = 120
        /// The run's own limit, past `maximumSeconds` (start-up, the stateful phase finishing its step).
        static let processTimeoutSeconds = 200

        static var packageRoot: String {
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        }

        static var schemathesis: String? {
            var candidates: [String] = []
            if let configured = ProcessInfo.processInfo.environment["CHORUS_SCHEMATHESIS"], !configured.isEmpty {
                candidates.append(configured)
            }
            candidates.append(packageRoot + "/.venv-schemathesis/bin/schemathesis")
            return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
        }

        @Test(.enabled(if: schemathesis != nil, "needs schemathesis ($CHORUS_SCHEMATHESIS or .venv-schemathesis/, which .ci/run creates)"))
        func schemathesisFindsNoFailureAgainstAThreeNodeCluster() async throws {
            let executable = try #require(Self.schemathesis)
            try await ClusterHarness.withCluster(name: "openapi-contract") { harness in
                let leader = try await harness.leader()
                let report = harness.directory + "/schemathesis.txt"
                let arguments = [
                    "run", Self.packageRoot + "/Sources/ChorusHTTP/openapi.yaml", "--url", harness.cluster.httpURL(leader.node),
                    "--checks", "all", "--header", "Authorization: Bearer \(harness.token)", "--max-examples", "\(Self.maximumExamples)",
                    "--seed", "\(Self.seed)", "--max-time", "\(Self.maximumSeconds)", "--max-redirects", "0", "--workers", "2",
                    "--no-color",
                ]
                let (status, output) = try Self.run(executable, arguments, timeoutSeconds: Self.processTimeoutSeconds)
                try? output.write(toFile: report, atomically: true, encoding: .utf8)
                let summary = output.split(separator: "\n").suffix(30).joined(separator: "\n")
                print("schemathesis (seed \(Self.seed), \(Self.maximumExamples) examples): exit \(status)\n\(summary)")
                #expect(status == 0, "schemathesis exited \(status); the full report is kept in \(report):\n\(summary)")
                #expect(!output.contains("FAILURES"), "schemathesis reported failures:\n\(summary)")
                #expect(output.contains(" passed") && !output.contains(" failed"), "\(summary)")
                if status != 0 { throw ContractError.failures }
            }
        }

        enum ContractError: Error { case failures, timedOut }

        /// Runs `executable` with its output in a file (a pipe could fill and
        /// block it), killed after `timeoutSeconds`.
        static func run(_ executable: String, _ arguments: [String], timeoutSeconds: Int) throws -> (Int32, String) {
            let outputPath = NSTemporaryDirectory() + "chorus-schemathesis-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).txt"
            FileManager.default.createFile(atPath: outputPath, contents: nil)
            defer { try? FileManager.default.removeItem(atPath: outputPath) }
            let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.standardOutput = output
            process.standardError = output
            var environment = ProcessInfo.processInfo.environment
            environment["NO_COLOR"] = "1"
            environment["SCHEMATHESIS_TELEMETRY"] = "false"
            process.environment = environment
            try process.run()
            let deadline = Date().addingTimeInterval(TimeInterval(timeoutSeconds))
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
                try output.close()
                throw ContractError.timedOut
            }
            process.waitUntilExit()
            try output.close()
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            return (process.terminationStatus, text)
        }
    }
}
