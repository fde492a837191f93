import ChorusCheck

/// Judges one level's recorded history with every checker the lab knows,
/// and measures it: the level's own checks decide the exit status, the
/// others show how far below the stronger levels it sits (issue 13: the
/// levels must be distinct, not just named).
enum LabAnalysis {
    static func report(level: LabLevel, operations: [KeyValueOperation], seconds: Double) throws(HistoryError) -> LevelReport {
        let history = try KeyValueHistory(operations: operations)
        let timeUnitsPerMillisecond = 1_000_000.0
        let fresh = try StalenessChecker.check(
            history, options: StalenessOptions(maximumVersions: 0, timeUnitsPerMillisecond: timeUnitsPerMillisecond))
        let bounded = try StalenessChecker.check(
            history,
            options: StalenessOptions(
                maximumVersions: Int(LabLevel.maximumVersions), maximumLagMilliseconds: Double(LabLevel.maximumLagMilliseconds),
                clockDriftMilliseconds: LabLevel.clockDriftMilliseconds, timeUnitsPerMillisecond: timeUnitsPerMillisecond))
        let session = try SessionChecker.check(history)
        let prefix = try ConsistentPrefixChecker.check(history)
        let measured = try StalenessChecker.measure(history, options: StalenessOptions(timeUnitsPerMillisecond: timeUnitsPerMillisecond))

        let sources: [(LabCheck, PropertyCheckResult, String)] = [
            (.staleReads, fresh, "max-versions"), (.maximumVersions, bounded, "max-versions"), (.maximumLag, bounded, "max-lag"),
            (.readYourWrites, session, SessionGuarantee.readYourWrites.rawValue),
            (.monotonicReads, session, SessionGuarantee.monotonicReads.rawValue),
            (.monotonicWrites, session, SessionGuarantee.monotonicWrites.rawValue),
            (.writesFollowReads, session, SessionGuarantee.writesFollowReads.rawValue),
            (.consistentPrefix, prefix, "consistent-prefix"), (.integrity, session, "integrity"),
        ]
        let own = level.ownChecks
        let checks = sources.map { source -> LevelReport.CheckReport in
            let (check, result, name) = source
            // Every property named here is one its checker always reports.
            guard let property = result.property(name) else { preconditionFailure("\(result.checker) reported no \(name)") }
            return LevelReport.CheckReport(
                check: check, own: own.contains(check), verdict: property.verdict.rawValue, violations: property.violationCount,
                example: property.violations.first?.explanation)
        }

        func counts(_ function: KeyValueFunction) -> LevelReport.Counts {
            let chosen = operations.filter { $0.function == function }
            return LevelReport.Counts(
                ok: chosen.filter { $0.outcome == .ok }.count, failed: chosen.filter { $0.outcome == .fail }.count,
                unknown: chosen.filter { $0.outcome == .info || $0.outcome == .pending }.count)
        }
        func latencies(_ function: KeyValueFunction) -> [Double] {
            operations.compactMap { operation in
                guard operation.function == function, operation.outcome == .ok, let start = operation.invokeTime,
                    let end = operation.completeTime
                else { return nil }
                return Double(end - start) / timeUnitsPerMillisecond
            }
        }
        let reads = counts(.read)
        return LevelReport(
            level: level, query: level.query, seconds: seconds, reads: reads, rangeReads: counts(.rangeRead),
            writes: counts(.write), readsPerSecond: seconds > 0 ? Double(reads.ok) / seconds : 0,
            readLatencyMilliseconds: Percentiles(latencies(.read)), writeLatencyMilliseconds: Percentiles(latencies(.write)),
            checks: checks, ownViolations: checks.filter(\.own).map(\.violations).reduce(0, +),
            staleness: LevelReport.Staleness(
                measuredReads: measured.count, staleReads: measured.filter { $0.versionsBehind > 0 }.count,
                versions: Percentiles(measured.map { Double($0.versionsBehind) }),
                milliseconds: Percentiles(measured.compactMap(\.lagMilliseconds))))
    }
}
