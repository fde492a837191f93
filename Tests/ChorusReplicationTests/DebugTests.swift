import ChorusClocks
import ChorusCore
import ChorusReplication
import Testing

@Suite struct DebugTests {
    @Test func debugSeed() {
        for seed in [UInt64(64), 192, 200, 79] {
            print("seed \(seed): \(ClusterPropertyTests.run(seed: seed).violations)")
        }
    }
}
