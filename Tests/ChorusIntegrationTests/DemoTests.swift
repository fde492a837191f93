import ChorusLocalCluster
import Foundation
import Testing

extension RealProcessTests {
    /// `chorus demo` is the README's first command: its tour must run to the
    /// end, make its claims only after checking them, and leave nothing running.
    @Suite struct DemoTests {
        @Test func theTourRunsToTheEndAndStopsEveryNode() async throws {
            guard let executable = ClusterHarness.executable else {
                print("skipping the demo test: no chorus executable next to the test bundle")
                return
            }
            let base = try #require(LocalCluster.freeBasePort(nodeCount: 3), "no free ports")
            let directory = NSTemporaryDirectory() + "chorus-demo-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { try? FileManager.default.removeItem(atPath: directory) }

            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["demo", "--no-wait", "--no-color", "--base-port", String(base), "--data-dir", directory]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            // Bounded: the tour takes a few seconds; kill it if it hangs.
            let deadline = ContinuousClock.now + .seconds(90)
            while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)

            #expect(process.terminationStatus == 0, "chorus demo failed:\n\(text)")
            for claim in [
                "elected a leader", "compare-and-set with the stale version", "New leader",
                "All 100 acknowledged writes are still there", "caught up to index",
                "(read-your-writes across processes)", "already_written", "409 wrong_expected_version",
                "the orders read model (SQLite) on n", "\"alice\",4200,\"paid\"]",
                "→ 200, the existing saga, nothing appended", "timed-out charge#1", "and applied it once — same Idempotency-Key",
                "failed ship#1 address_invalid final", "refunded, then released — reverse order, each applied once",
                "the order_status read model on n",
                "kill -STOP n3: it is cut off", "→ [honey tea] and GET items → 2 on every node",
                "a reader's write → 403 permission_denied",
            ] {
                #expect(text.contains(claim), "the tour did not report '\(claim)':\n\(text)")
            }
            #expect(!text.contains("\u{1B}["), "--no-color output has escape sequences")
            // Every node was stopped: no process is left running on the demo's data directory.
            #expect(processes(mentioning: directory).isEmpty, "nodes left running: \(processes(mentioning: directory))")
        }

        /// The PIDs whose command line mentions `text` (Linux `/proc`).
        func processes(mentioning text: String) -> [Int32] {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            return entries.compactMap { Int32($0) }.filter { pid in
                guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
                return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(text)
            }
        }
    }
}
