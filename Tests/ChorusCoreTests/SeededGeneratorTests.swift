import ChorusCore
import Testing

@Suite struct SeededGeneratorTests {
    @Test func sameSeedSameStream() {
        var first = SeededGenerator(seed: 12_345)
        var second = SeededGenerator(seed: 12_345)
        for _ in 0..<1_000 { #expect(first.next() == second.next()) }
    }

    @Test func streamIsPinnedAcrossReleases() {
        // Simulation seeds printed in bug reports must replay forever, so the
        // generator's output for a fixed seed is part of the contract.
        var generator = SeededGenerator(seed: 0)
        let firstFour = (0..<4).map { _ in generator.next() }
        var again = SeededGenerator(seed: 0)
        #expect(firstFour == (0..<4).map { _ in again.next() })
        #expect(firstFour[0] == 0x99EC_5F36_CB75_F2B4)
    }

    @Test func differentSeedsDiverge() {
        var first = SeededGenerator(seed: 1)
        var second = SeededGenerator(seed: 2)
        let equal = (0..<64).filter { _ in first.next() == second.next() }.count
        #expect(equal == 0)
    }

    @Test func chanceRespectsItsBounds() {
        var generator = SeededGenerator(seed: 3)
        #expect(!(0..<1_000).contains { _ in generator.chance(0) })
        #expect((0..<1_000).allSatisfy { _ in generator.chance(1) })
        let hits = (0..<10_000).filter { _ in generator.chance(0.25) }.count
        #expect((2_200...2_800).contains(hits))
    }
}
