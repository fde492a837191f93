import ChorusAPI
import ChorusClient
import ChorusLab
import ChorusLocalCluster
import Foundation
import Testing

extension RealProcessTests {
    /// `chorus lab` as a user runs it: the real binary, its own three-node cluster.
    @Suite struct LabTests {
        struct Run {
            var status: Int32
            var output: String
            var errors: String
        }

        static func lab(_ arguments: [String]) throws -> Run? {
            guard let executable = ClusterHarness.executable else {
                print("skipping chorus lab: no chorus executable next to the test bundle")
                return nil
            }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["lab", "--binary", executable] + arguments
            let output = Pipe()
            let errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            let outputData = output.fileHandleForReading.readDataToEndOfFile()
            let errorData = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Run(
                status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                errors: String(decoding: errorData, as: UTF8.self))
        }

        /// `--peer-delay-ms D` holds every peer frame D ms: a write the leader
        /// acknowledges needs a follower's answer, one round trip between
        /// nodes, so it takes at least 2 D; and the cluster still elects and commits.
        @Test func aPeerDelayDelaysEveryCommit() async throws {
            let delay = 60
            try await ClusterHarness.withCluster(extraArguments: ["--peer-delay-ms", "\(delay)"], name: "peer-delay") { harness in
                let leader = try await harness.leader()
                let client = try harness.client(for: leader.node)
                defer { client.shutdown() }
                var latencies: [Duration] = []
                for number in 0..<8 {
                    let start = ContinuousClock.now
                    let version = try await client.put("delayed/\(number % 2)", Array("v\(number)".utf8))
                    latencies.append(ContinuousClock.now - start)
                    #expect(version > 0)
                }
                print("peer delay \(delay) ms: write latencies \(latencies.map { $0.components.attoseconds / 1_000_000_000_000_000 + $0.components.seconds * 1_000 }) ms")
                #expect(latencies.allSatisfy { $0 >= .milliseconds(2 * delay) }, "a write committed faster than one delayed round trip")
                #expect(try await client.get("delayed/1", consistency: .linearizable)?.value == Array("v7".utf8))
            }
        }

        @Test func usageErrorsExitWith64BeforeAnyNodeStarts() throws {
            for (arguments, message) in [
                (["--levels", "linearizable,strong"], "unknown level 'strong'"),
                (["--duration", "0"], "--duration must be in 1...3600 seconds"),
                (["--clients", "65"], "--clients must be in 1...64"),
                (["--peer-delay-ms", "5000"], "--peer-delay-ms must be in 0...1000"),
            ] {
                guard let run = try Self.lab(arguments) else { return }
                #expect(run.status == 64, "\(arguments): exit \(run.status)")
                #expect(run.errors.contains(message), "\(arguments): \(run.errors)")
                #expect(run.output.isEmpty)
            }
        }

        /// A six-second run of every level: each keeps its own guarantee, the
        /// numbers add up, and the HTML page stands alone.
        @Test func aShortRunKeepsEveryLevelsOwnGuarantee() throws {
            let html = NSTemporaryDirectory() + "chorus-lab-\(getpid()).html"
            defer { try? FileManager.default.removeItem(atPath: html) }
            guard let run = try Self.lab(["--duration", "6", "--clients", "2", "--json", "--html", html]) else { return }
            print(run.errors)
            #expect(run.status == 0, "exit \(run.status): \(run.errors)")
            let report = try LabReport.decode(json: run.output)
            print(report.table())
            #expect(report.levels.map(\.level) == LabLevel.allCases)
            #expect(report.levelsViolatingOwnGuarantee == [])
            #expect(report.configuration.clients == 2)
            #expect(report.configuration.durationSeconds == 6)
            for level in report.levels {
                let name = level.level.rawValue
                #expect(level.ownViolations == 0, "\(name): \(level.checks.filter { $0.own && $0.violations > 0 })")
                #expect(level.ownViolations == level.checks.filter(\.own).map(\.violations).reduce(0, +))
                #expect(Set(level.checks.filter(\.own).map(\.check)) == level.level.ownChecks)
                #expect(level.checks.map(\.check) == LabCheck.allCases)
                #expect(level.reads.ok > 0, "\(name) completed no read")
                #expect(level.writes.ok > 0, "\(name) completed no write")
                #expect(level.readLatencyMilliseconds.count == level.reads.ok)
                #expect(level.writeLatencyMilliseconds.count == level.writes.ok)
                #expect(level.staleness.measuredReads <= level.reads.ok)
                #expect(level.staleness.staleReads == level.check(.staleReads)?.violations)
                #expect(abs(level.readsPerSecond - Double(level.reads.ok) / level.seconds) < 1e-6)
                for percentiles in [level.readLatencyMilliseconds, level.writeLatencyMilliseconds, level.staleness.milliseconds] {
                    #expect(percentiles.p50 <= percentiles.p99 && percentiles.p99 <= percentiles.p999 && percentiles.p999 <= percentiles.max)
                }
            }
            let page = try String(contentsOfFile: html, encoding: .utf8)
            #expect(page.contains("<svg "))
            #expect(!page.contains("<script"))
            #expect(!page.contains("http"), "the page refers to nothing outside itself")
            #expect(!page.contains("src="))
            for level in LabLevel.allCases { #expect(page.contains(">\(level.rawValue)<")) }
        }
    }
}
