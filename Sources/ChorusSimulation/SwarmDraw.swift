import ChorusCore

/// The draws a seed's parameters are made of (swarm testing, Groce et al.,
/// "Swarm Testing", ISSTA 2012): each fault is absent in some seeds, mild in
/// others and violent in a few, so a campaign explores corners that one fixed
/// fault profile never reaches. Both simulators draw their worlds with it.
struct SwarmDraw {
    private var random: SeededGenerator

    init(seed: UInt64) { random = SeededGenerator(seed: seed) }

    mutating func next() -> UInt64 { random.next() }

    mutating func chance(_ probability: Double) -> Bool { random.chance(probability) }

    mutating func uniform(_ range: ClosedRange<UInt64>) -> UInt64 {
        range.lowerBound + random.next() % (range.upperBound - range.lowerBound + 1)
    }

    mutating func uniformInt(_ range: ClosedRange<Int>) -> Int {
        Int(uniform(UInt64(range.lowerBound)...UInt64(range.upperBound)))
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(random.next() >> 11) * 0x1.0p-53 }

    /// A fault rate: 0 in a quarter of the seeds, else up to 10%, 50% or all of `maximum`.
    mutating func swarm(_ maximum: Double) -> Double {
        switch random.next() % 4 {
        case 0: 0
        case 1: maximum * 0.1 * unit()
        case 2: maximum * 0.5 * unit()
        default: maximum * unit()
        }
    }

    /// A nemesis's mean interval, or 0 (never) when `never`.
    mutating func meanInterval(never: Bool, _ range: ClosedRange<UInt64>) -> UInt64 { never ? 0 : uniform(range) }
}
