import ChorusCore

/// How one seed's network treats a message: a random delay with a long tail,
/// loss and duplication (the last three only while faults are on), and
/// delays stretched during the safety phase (a slow or congested network).
/// Both simulators draw one per seed and route every message through it;
/// partitions and clogging are `SimulatedNetwork`'s.
///
/// Times are virtual microseconds.
struct NetworkProfile: Sendable, Hashable {
    var delayMinimumMicroseconds: UInt64
    var delayMaximumMicroseconds: UInt64
    /// Probability that a message takes a long detour (up to 10× the maximum delay).
    var delayTailProbability: Double
    var lossProbability: Double
    var duplicationProbability: Double
    /// During the safety phase, delays are stretched by this factor.
    var safetyDelayStretch: UInt64

    /// Whether a message on a link that is `blocked` (or by bad luck) is lost.
    func isLost(blocked: Bool, faultsActive: Bool, random: inout SeededGenerator) -> Bool {
        faultsActive && (blocked || random.chance(lossProbability))
    }

    /// Whether a delivered message arrives a second time.
    func isDuplicated(faultsActive: Bool, random: inout SeededGenerator) -> Bool {
        faultsActive && random.chance(duplicationProbability)
    }

    /// One message's delay; messages draw independently, so they reorder.
    func delay(faultsActive: Bool, random: inout SeededGenerator) -> UInt64 {
        let stretch = faultsActive ? safetyDelayStretch : 1
        let minimum = delayMinimumMicroseconds * stretch
        var maximum = delayMaximumMicroseconds * stretch
        if faultsActive && random.chance(delayTailProbability) { maximum *= 10 }
        return minimum + random.next() % (maximum - minimum + 1)
    }
}
