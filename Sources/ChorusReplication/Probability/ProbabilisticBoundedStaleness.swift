/// Probabilistically Bounded Staleness (Bailis, Venkataraman, Franklin,
/// Hellerstein and Stoica, "Probabilistically Bounded Staleness for
/// Practical Partial Quorums", VLDB 2012, §3.1, k-staleness).
///
/// With N replicas, writes to W random replicas and reads from R random
/// replicas and no anti-entropy, a read misses one given write's quorum
/// with probability C(N−W, R)/C(N, R); it returns one of the last K
/// versions unless it misses all K write quorums:
///
///     P(consistent within K versions) = 1 − (C(N−W, R) / C(N, R))^K
///
/// For N=3, R=W=1: 1/3 for K=1, 5/9 ≈ 0.556 for K=2. Strict quorums
/// (R + W > N) give 1. The simulator validates it against measured reads.
public enum ProbabilisticBoundedStaleness {
    /// The binomial coefficient C(n, k), exactly, for the small n of quorums.
    public static func binomial(_ n: Int, _ k: Int) -> Double {
        guard k >= 0, n >= 0, k <= n else { return 0 }
        var result = 1.0
        let smaller = Swift.min(k, n - k)
        if smaller == 0 { return 1 }
        for index in 1...smaller { result = result * Double(n - smaller + index) / Double(index) }
        return result.rounded()
    }

    /// The probability that a read returns one of the last `versions`
    /// versions. Precondition: 1 ≤ r, w ≤ n and versions ≥ 1.
    public static func probabilityOfConsistentRead(replicas n: Int, readQuorum r: Int, writeQuorum w: Int, versions k: Int) -> Double {
        precondition(n >= 1 && (1...n).contains(r) && (1...n).contains(w) && k >= 1, "PBS needs 1 ≤ r, w ≤ n and k ≥ 1")
        let missOne = binomial(n - w, r) / binomial(n, r)
        var missAll = 1.0
        for _ in 0..<k { missAll *= missOne }
        return 1 - missAll
    }
}
