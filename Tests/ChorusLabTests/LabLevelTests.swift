import ChorusCheck
@testable import ChorusLab
import Testing

@Suite struct LabLevelTests {
    @Test func aListOfLevelsParsesInTheOrderGiven() throws {
        #expect(try LabLevel.parseList("eventual,linearizable") == [.eventual, .linearizable])
        #expect(try LabLevel.parseList("bounded-staleness-k10, consistent-prefix") == [.boundedStalenessVersions, .consistentPrefix])
        #expect(try LabLevel.parseList(LabLevel.allCases.map(\.rawValue).joined(separator: ",")) == LabLevel.allCases)
    }

    @Test func unknownRepeatedAndEmptyNamesAreUsageErrors() {
        #expect(throws: LabUsageError(
            "unknown level 'strong': the levels are linearizable, sequential, session, bounded-staleness-k10, "
                + "bounded-staleness-t100, consistent-prefix, eventual, leaderless-r1w1, leaderless-r2w2")) { try LabLevel.parseList("linearizable,strong") }
        #expect(throws: LabUsageError("level 'session' is named twice")) { try LabLevel.parseList("session,session") }
        #expect(throws: LabUsageError.self) { try LabLevel.parseList("") }
        #expect(throws: LabUsageError.self) { try LabLevel.parseList("eventual,") }
    }

    @Test func eachLevelAsksForItsOwnBounds() {
        #expect(LabLevel.linearizable.query == "consistency=linearizable")
        #expect(LabLevel.boundedStalenessVersions.query == "consistency=bounded-staleness&max-versions=10")
        #expect(LabLevel.boundedStalenessLag.query == "consistency=bounded-staleness&max-lag=100")
        #expect(LabLevel.eventual.query == "consistency=eventual")
    }

    /// Stronger levels promise more: each level's own checks include those
    /// of every level it is documented to be at least as strong as.
    @Test func ownGuaranteesGrowWithTheLevel() {
        #expect(LabLevel.linearizable.ownChecks == Set(LabCheck.allCases))
        #expect(LabLevel.eventual.ownChecks == [.integrity])
        #expect(LabLevel.consistentPrefix.ownChecks == [.consistentPrefix, .integrity])
        #expect(LabLevel.session.ownChecks.isSuperset(of: LabLevel.consistentPrefix.ownChecks))
        #expect(LabLevel.sequential.ownChecks.isSuperset(of: LabLevel.session.ownChecks))
        #expect(LabLevel.boundedStalenessVersions.ownChecks == [.maximumVersions, .consistentPrefix, .integrity])
        #expect(LabLevel.boundedStalenessLag.ownChecks == [.maximumLag, .consistentPrefix, .integrity])
        for level in LabLevel.allCases where level != .linearizable && level != .leaderlessStrictQuorum {
            #expect(!level.ownChecks.contains(.staleReads), "\(level) does not promise the latest write")
        }
        // Strict quorums (R + W > N) promise no stale read; partial ones only integrity.
        #expect(LabLevel.leaderlessStrictQuorum.ownChecks == [.staleReads, .integrity])
        #expect(LabLevel.leaderlessPartialQuorum.ownChecks == [.integrity])
        #expect(LabLevel.leaderlessPartialQuorum.query == "r=1&w=1" && LabLevel.leaderlessStrictQuorum.query == "r=2&w=2")
    }
}

@Suite struct LabConfigurationTests {
    func configuration(_ change: (inout LabConfiguration) -> Void = { _ in }) -> LabConfiguration {
        var configuration = LabConfiguration(executable: "/usr/bin/true")
        change(&configuration)
        return configuration
    }

    @Test func theDefaultsAreValid() throws {
        try configuration().validate()
        #expect(configuration().durationSeconds == 60)
        #expect(configuration().levels == LabLevel.allCases)
        #expect(configuration().phaseMilliseconds == 60_000 / LabLevel.allCases.count)
    }

    @Test func outOfRangeSettingsAreUsageErrors() {
        #expect(throws: LabUsageError("--duration must be in 1...3600 seconds")) { try configuration { $0.durationSeconds = 0 }.validate() }
        #expect(throws: LabUsageError("--duration must be in 1...3600 seconds")) { try configuration { $0.durationSeconds = 3_601 }.validate() }
        #expect(throws: LabUsageError("--clients must be in 1...64")) { try configuration { $0.clients = 0 }.validate() }
        #expect(throws: LabUsageError("--clients must be in 1...64")) { try configuration { $0.clients = 65 }.validate() }
        #expect(throws: LabUsageError("--peer-delay-ms must be in 0...1000")) { try configuration { $0.peerDelayMilliseconds = -1 }.validate() }
        #expect(throws: LabUsageError("--peer-delay-ms must be in 0...1000")) { try configuration { $0.peerDelayMilliseconds = 1_001 }.validate() }
        #expect(throws: LabUsageError("--levels names no level")) { try configuration { $0.levels = [] }.validate() }
        #expect(throws: LabUsageError("--levels names a level twice")) { try configuration { $0.levels = [.session, .session] }.validate() }
        #expect(throws: LabUsageError("--binary is empty")) { try configuration { $0.executable = "" }.validate() }
    }

    /// Every client and writer may invoke one operation after the level's
    /// check says there is room: the recorder's hard limit must cover them all.
    @Test func aFullLevelStopsBeforeTheRecordersLimit() {
        #expect(
            LabWorkload.operationCountMaximum + LabConfiguration.clientsRange.upperBound + LabConfiguration.writerCount
                <= KeyValueRecorder.operationCountMaximum)
        #expect(LabWorkload.operationCountMaximum > 0)
    }

    @Test func theRecorderCountsWhatWasInvoked() {
        let recorder = KeyValueRecorder()
        #expect(recorder.count == 0)
        let handle = recorder.invoke(group: "g", process: 1, function: .write, key: "k", value: .string("v"))
        #expect(recorder.count == 1)
        recorder.complete(handle, outcome: .ok, version: 3)
        #expect(recorder.count == 1)
        #expect(recorder.entries.first?.operation.version == 3)
        #expect(recorder.entries.first?.operation.outcome == .ok)
    }

    @Test func theEdgesOfEachRangeAreAccepted() throws {
        try configuration { $0.durationSeconds = 1; $0.clients = 1; $0.peerDelayMilliseconds = 0 }.validate()
        try configuration { $0.durationSeconds = 3_600; $0.clients = 64; $0.peerDelayMilliseconds = 1_000 }.validate()
    }
}
