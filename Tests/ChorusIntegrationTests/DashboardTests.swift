import ChorusAPI
import ChorusClient
import ChorusLocalCluster
import ChorusCore
import Foundation
import Testing

extension RealProcessTests {
    /// The dashboard at `/` in a real browser (headless Chromium, Debian's
    /// `chromium`, which `.ci/run` installs): after its script has run, the
    /// page names the cluster's real leader and term and shows indexes that
    /// the node itself reported around the time it rendered.
    @Suite struct DashboardTests {
        static var chromium: String? {
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        }

        @Test(.enabled(if: chromium != nil, "needs Debian's chromium (apt-get install chromium)"))
        func theDashboardShowsTheRealLeaderAndIndexes() async throws {
            try await ClusterHarness.withCluster(name: "dashboard") { harness in
                for index in 0..<5 { try await harness.client.put("dash-\(index)", Array("v".utf8)) }
                let leader = try #require(await harness.cluster.waitForLeader(client: harness.client))
                let url = harness.cluster.httpURL(leader.node)
                // Three eventual reads on the leader: its per-level table counts exactly those.
                let leaderClient = try harness.client(for: leader.node)
                defer { leaderClient.shutdown() }
                for index in 0..<3 { _ = try await leaderClient.get("dash-\(index)", consistency: .eventual) }
                // One saga whose participant never answers: it fails, its compensation fails, it parks.
                try await harness.client.registerSagaParticipant("nowhere", url: "http://127.0.0.1:9")
                try await harness.client.defineSaga(#"{"name":"dash","version":1,"steps":[{"id":"a","action":{"participant":"nowhere","method":"POST","path":"/a"},"compensation":{"participant":"nowhere","method":"POST","path":"/b","retry":{"maximumAttempts":1}},"retry":{"maximumAttempts":1}}]}"#)
                try await harness.client.startSaga("dash", id: "1", input: .object(JSONObject()))
                let parked = try await harness.client.waitForSaga("dash", id: "1", states: ["parked"])
                #expect(parked["state"]?.stringValue == "parked")
                let before = try #require(await harness.cluster.view(of: leader.node, client: harness.client))
                let page = try Self.render(url + "/#token=" + harness.token)
                let after = try #require(await harness.cluster.view(of: leader.node, client: harness.client))

                #expect(page.contains("node n\(leader.node) (leader, term \(leader.term))"), "\(page.prefix(2_000))")
                #expect(page.contains("n\(leader.node) (leader)"), "the members table marks the leader")
                let commit = try #require(Self.value(after: "commit index", in: page), "no commit index on the page")
                #expect((before.commitIndex...after.commitIndex).contains(commit), "rendered \(commit), node said \(before.commitIndex)…\(after.commitIndex)")
                for member in harness.cluster.nodes { #expect(page.contains(harness.cluster.httpURL(member)), "n\(member) is listed") }
                #expect(!page.contains("401"), "the token from the fragment was used")
                #expect(page.contains(" eventual 3 "), "reads per level: \(page.prefix(2_000))")
                #expect(page.contains("sagas started (decided here) 1 "), "sagas: \(page.prefix(3_000))")
                #expect(page.contains("sagas parked (decided here) 1 "), "sagas: \(page.prefix(3_000))")

                // Without a token the page still loads, and says what it needs.
                let anonymous = try Self.render(url + "/")
                #expect(anonymous.contains("unauthenticated"), "\(anonymous.prefix(2_000))")
            }
        }

        /// The page's DOM after its script ran (virtual time: no sleeping), as text.
        static func render(_ url: String) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try #require(chromium))
            let profile = NSTemporaryDirectory() + "chorus-chromium-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { try? FileManager.default.removeItem(atPath: profile) }
            process.arguments = [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--user-data-dir=\(profile)", "--virtual-time-budget=3000", "--dump-dom", url,
            ]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Bounded: a browser that hangs is killed, and the test fails on its status.
            let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
            DispatchQueue.global().asyncAfter(deadline: .now() + 90, execute: watchdog)
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            watchdog.cancel()
            try #require(process.terminationStatus == 0, "chromium exited \(process.terminationStatus)")
            // Tags become spaces: the assertions read the text a person would see.
            let html = String(decoding: data, as: UTF8.self)
            return html.replacingOccurrences(of: "<[^>]*>", with: " ", options: .regularExpression)
                .replacingOccurrences(of: "\\s+", with: " ", options: .regularExpression)
        }

        /// The number after `label` in the page's text ("commit index 12").
        static func value(after label: String, in page: String) -> UInt64? {
            guard let range = page.range(of: label + " ") else { return nil }
            return UInt64(page[range.upperBound...].prefix { $0.isNumber })
        }
    }
}
